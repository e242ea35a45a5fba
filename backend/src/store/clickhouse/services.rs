//! The service catalog and service map on ClickHouse.

use shared::api::{ServiceMapResponse, ServicesResponse};
use shared::query::Bounds;

use super::super::StoreError;
use super::client::Ch;
use super::schema::Schema;

pub async fn services(
    _ch: &Ch,
    _schema: &Schema,
    _bounds: Bounds,
) -> Result<ServicesResponse, StoreError> {
    Err(StoreError::ClickHouse(
        "the service catalog is not built yet".into(),
    ))
}

pub async fn service_map(
    _ch: &Ch,
    _schema: &Schema,
    _bounds: Bounds,
) -> Result<ServiceMapResponse, StoreError> {
    Err(StoreError::ClickHouse(
        "the service map is not built yet".into(),
    ))
}
