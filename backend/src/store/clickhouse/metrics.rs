//! Metric catalog, metric queries and raw series on ClickHouse.

use shared::api::{MetricQueryResponse, MetricsResponse, RawSeriesResponse};
use shared::query::{MetricListQuery, MetricQuery};

use super::super::StoreError;
use super::super::contract::MetricQueryError;
use super::client::Ch;
use super::schema::Schema;

pub async fn metric_list(
    _ch: &Ch,
    _schema: &Schema,
    _q: &MetricListQuery,
) -> Result<MetricsResponse, StoreError> {
    Err(StoreError::ClickHouse(
        "the metric catalog is not built yet".into(),
    ))
}

pub async fn metric_query(
    _ch: &Ch,
    _schema: &Schema,
    _name: &str,
    _q: &MetricQuery,
    _now: u64,
) -> Result<Option<MetricQueryResponse>, MetricQueryError> {
    Err(StoreError::ClickHouse("metric queries are not built yet".into()).into())
}

pub async fn raw_series(
    _ch: &Ch,
    _schema: &Schema,
    _name: &str,
) -> Result<Option<RawSeriesResponse>, StoreError> {
    Err(StoreError::ClickHouse(
        "raw series are not built yet".into(),
    ))
}
