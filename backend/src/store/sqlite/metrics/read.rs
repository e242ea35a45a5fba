//! Reading metric points back: sealed chunks, then the head; and every
//! series of a metric with its raw points.

use rusqlite::{Connection, params};
use shared::KeyValue;
use shared::api::{RawSeries, RawSeriesResponse};
use shared::metrics::{MetricData, MetricKind, Temporality};

use super::metric_chunks;
use super::point_codec::StoredPoint;
use super::sealing::series_attributes;
use crate::store::StoreError;
use crate::store::sqlite::strings;

/// Every point of a series in time order (stable for equal times).
pub fn series_points(conn: &Connection, series_id: i64) -> Result<Vec<StoredPoint>, StoreError> {
    let attributes = series_attributes(conn, series_id)?;
    let mut out: Vec<StoredPoint> = Vec::new();
    let chunks: Vec<Vec<u8>> = conn
        .prepare_cached(
            "SELECT data FROM metric_chunks WHERE series_id = ?1 ORDER BY min_time, id",
        )?
        .query_map(params![series_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for c in chunks {
        out.extend(
            metric_chunks::decode(&c, &attributes)
                .map_err(|e| StoreError::Corrupt(series_id, e.to_string()))?,
        );
    }
    let blobs: Vec<Vec<u8>> = conn
        .prepare_cached("SELECT point FROM metric_head WHERE series_id = ?1 ORDER BY time, seq")?
        .query_map(params![series_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for b in blobs {
        let point = super::point_codec::decode_head_row(&b)
            .map_err(|e| StoreError::Corrupt(series_id, e.to_string()))?;
        out.push(metric_chunks::with_attributes(point, &attributes));
    }
    out.sort_by_key(|p| p.time());
    Ok(out)
}

#[derive(serde::Deserialize)]
struct Identity {
    resource: Vec<KeyValue>,
    scope_name: String,
    scope_version: String,
    attributes: Vec<KeyValue>,
}

/// Every series of metric `name` with its raw points in time order.
pub fn raw_series(conn: &Connection, name: &str) -> Result<Option<RawSeriesResponse>, StoreError> {
    let Some(name_id) = strings::lookup(conn, name)? else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, unit, description, temporality, monotonic, service_id, identity
         FROM metric_series WHERE name_id = ?1 ORDER BY id",
    )?;
    type SeriesRow = (i64, u8, String, String, i32, bool, i64, Vec<u8>);
    let rows: Vec<SeriesRow> = stmt
        .query_map(params![name_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut series = Vec::with_capacity(rows.len());
    for (id, kind, unit, description, temporality, monotonic, service_id, identity) in rows {
        let kind = MetricKind::from_code(kind)
            .ok_or_else(|| StoreError::Corrupt(id, "metric kind".into()))?;
        let ident: Identity = serde_json::from_slice(&identity)
            .map_err(|e| StoreError::Corrupt(id, e.to_string()))?;
        let points = series_points(conn, id)?;
        let temporality = Temporality::from_otlp(temporality);
        let data = assemble(kind, temporality, monotonic, points);
        series.push(RawSeries {
            name: name.to_owned(),
            description,
            unit,
            kind,
            temporality,
            is_monotonic: monotonic,
            service: strings::value(conn, service_id)?,
            resource: ident.resource,
            scope_name: ident.scope_name,
            scope_version: ident.scope_version,
            attributes: ident.attributes,
            data,
        });
    }
    Ok(Some(RawSeriesResponse { series }))
}

fn assemble(
    kind: MetricKind,
    temporality: Temporality,
    is_monotonic: bool,
    points: Vec<StoredPoint>,
) -> MetricData {
    let points = points.into_iter();
    match kind {
        MetricKind::Gauge => MetricData::Gauge {
            points: points.filter_map(StoredPoint::into_number).collect(),
        },
        MetricKind::Sum => MetricData::Sum {
            points: points.filter_map(StoredPoint::into_number).collect(),
            temporality,
            is_monotonic,
        },
        MetricKind::Histogram => MetricData::Histogram {
            points: points.filter_map(StoredPoint::into_histogram).collect(),
            temporality,
        },
        MetricKind::ExponentialHistogram => MetricData::ExponentialHistogram {
            points: points.filter_map(StoredPoint::into_exp_histogram).collect(),
            temporality,
        },
        MetricKind::Summary => MetricData::Summary {
            points: points.filter_map(StoredPoint::into_summary).collect(),
        },
    }
}
