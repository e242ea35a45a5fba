//! `GET /api/backup`: the database as a download, for the dashboard's
//! settings view. The copy is made with the online backup API into a
//! temporary file in the data directory, which is unlinked as soon as it is
//! open: the download streams from the open file, and nothing is left
//! behind if the client goes away.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use super::{ApiError, ApiState};
use crate::backup;

/// Streams a consistent copy of the database as `sightline-<UTC time>.db`.
pub async fn download(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let (db, dir) = match &state.inner.storage {
        super::Storage::Sqlite {
            db_path, data_dir, ..
        } => (db_path.clone(), data_dir.clone()),
        super::Storage::ClickHouse { location } => {
            return Err(ApiError::NotFound(format!(
                "no backup download: the data is in ClickHouse ({location}); back it up with \
                 ClickHouse's BACKUP statement or clickhouse-backup"
            )));
        }
    };
    let now = SystemTime::now();
    let nanos = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".backup-{nanos}.db"));
    let (file, bytes) = tokio::task::spawn_blocking(move || {
        let report = backup::backup(&db, &tmp, true)
            .map_err(|e| ApiError::Internal(format!("backup: {e}")))?;
        let file = std::fs::File::open(&tmp);
        // Unlinked at once: the open handle keeps the bytes until streamed.
        let _ = std::fs::remove_file(&tmp);
        let file = file.map_err(|e| ApiError::Internal(format!("backup: {e}")))?;
        Ok::<_, ApiError>((file, report.bytes))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("backup task: {e}")))??;
    let stream = ReaderStream::new(tokio::fs::File::from_std(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.sqlite3".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(now)),
            ),
            (header::CONTENT_LENGTH, bytes.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `sightline-20261122T101500Z.db`: sortable, and legal on every file system.
fn file_name(at: SystemTime) -> String {
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    format!("sightline-{stamp}.db")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn file_names_carry_a_compact_utc_time() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(file_name(at), "sightline-20261118T110640Z.db");
    }
}
