//! Query API request and response types (JSON under `/api/`).

use serde::{Deserialize, Serialize};

/// `GET /api/health`: liveness for load balancers and the dashboard footer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    /// `"ok"` while the server can serve and store.
    pub status: String,
    /// The server's version (the crate version).
    pub version: String,
    /// Seconds since the process started.
    pub uptime_seconds: u64,
    /// The data directory, as given on the command line.
    pub data_dir: String,
    /// Bytes used by the database file and its write-ahead log.
    pub db_size_bytes: u64,
}

/// The body of every 4xx/5xx answer of the query API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong, in words the user can act on.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_round_trip() {
        let h = HealthResponse {
            status: "ok".into(),
            version: "0.1.0".into(),
            uptime_seconds: 3,
            data_dir: "./sightline-data".into(),
            db_size_bytes: 4096,
        };
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains("\"uptimeSeconds\":3"));
        assert_eq!(serde_json::from_str::<HealthResponse>(&json).unwrap(), h);
    }
}
