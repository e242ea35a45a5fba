//! Log search on ClickHouse.

use shared::api::LogsResponse;
use shared::query::{Bounds, LogQuery};

use super::super::StoreError;
use super::super::contract::SearchError;
use super::client::Ch;
use super::schema::Schema;

/// Log records matching `q` within `bounds`, newest first.
pub async fn search(
    _ch: &Ch,
    _schema: &Schema,
    _q: &LogQuery,
    _bounds: Bounds,
) -> Result<LogsResponse, SearchError> {
    Err(StoreError::ClickHouse("log search is not built yet".into()).into())
}
