//! The functions the fuzz targets (`fuzz/`) drive, kept in the library so
//! the inputs a fuzzer once crashed on are replayed by the normal test
//! suite (`fuzz/regressions/<target>/`), without the fuzzer.
//!
//! Each takes arbitrary bytes and must return, never panic, whatever the
//! bytes are: they are the decoders that meet untrusted input (OTLP
//! requests) or bytes read back from disk (blocks and chunks of a database
//! that may be damaged or hand-edited).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::ingest::{decode, json};
use crate::store::duration_hist;
use crate::store::sqlite::blocks::{logs, spans};
use crate::store::sqlite::metrics::{chunk, metric_chunks, point_codec};
use crate::store::sqlite::varlist;

/// An OTLP/protobuf request body; the first byte picks the signal.
pub fn otlp_protobuf(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(req) = ExportTraceServiceRequest::decode(body) {
                let _ = decode::traces(req);
            }
        }
        1 => {
            if let Ok(req) = ExportLogsServiceRequest::decode(body) {
                let _ = decode::logs(req);
            }
        }
        _ => {
            if let Ok(req) = ExportMetricsServiceRequest::decode(body) {
                let _ = decode::metrics(req);
            }
        }
    }
}

/// An OTLP/JSON request body; the first byte picks the signal.
pub fn otlp_json(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(req) = json::trace_request(body) {
                let _ = decode::traces(req);
            }
        }
        1 => {
            if let Ok(req) = json::logs_request(body) {
                let _ = decode::logs(req);
            }
        }
        _ => {
            if let Ok(req) = json::metrics_request(body) {
                let _ = decode::metrics(req);
            }
        }
    }
}

/// Stored bytes; the first byte picks the decoder: span block, log block,
/// metric chunk, Gorilla sample chunk, metric head row, duration
/// histogram, integer list.
pub fn stored_block(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 7 {
        0 => {
            if let Ok(reader) = spans::SpanBlockReader::open(bytes) {
                let _ = reader.decode(|_, _| true);
                let _ = reader.heads();
            }
            let _ = spans::trace_ids(bytes);
        }
        1 => {
            let _ = logs::decode(bytes, |_| true);
            let _ = logs::trace_ids(bytes);
        }
        2 => {
            let _ = metric_chunks::decode(bytes, &[]);
        }
        3 => {
            let _ = chunk::decode(bytes);
            let _ = chunk::time_range(bytes);
        }
        4 => {
            let _ = point_codec::decode_head_row(bytes);
        }
        5 => {
            let _ = duration_hist::DurationHistogram::decode(bytes);
        }
        _ => {
            let _ = varlist::decode(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::store::sqlite::blocks::codec::Effort;
    use crate::store::sqlite::blocks::logs::LogItem;
    use crate::store::sqlite::blocks::spans::SpanItem;

    fn golden(path: &str) -> Vec<u8> {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/data/otlp")
                .join(path),
        )
        .unwrap()
    }

    fn write(dir: &Path, name: &str, selector: u8, body: &[u8]) {
        std::fs::create_dir_all(dir).unwrap();
        let mut data = vec![selector];
        data.extend_from_slice(body);
        std::fs::write(dir.join(name), data).unwrap();
    }

    /// Writes valid inputs for every fuzz target into `fuzz/corpus/`, the
    /// starting points the fuzzer mutates (`./x fuzz` runs this first).
    #[test]
    #[ignore = "writes the fuzz seed corpus; run by ./x fuzz"]
    fn write_fuzz_seeds() {
        let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        for (i, signal) in ["traces", "logs", "metrics"].into_iter().enumerate() {
            let sel = u8::try_from(i).unwrap();
            let pb = golden(&format!("python-http-protobuf/{signal}.pb"));
            write(
                &corpus.join("otlp_protobuf"),
                &format!("seed-{signal}"),
                sel,
                &pb,
            );
            let js = golden(&format!("node-http-json/{signal}.json"));
            write(
                &corpus.join("otlp_json"),
                &format!("seed-{signal}"),
                sel,
                &js,
            );
        }
        let traces =
            crate::ingest::json::trace_request(&golden("node-http-json/traces.json")).unwrap();
        let mut span_items: Vec<SpanItem> =
            SpanItem::from_request(decode::traces(traces).unwrap().batch).collect();
        spans::sort_for_block(&mut span_items);
        let blocks = corpus.join("stored_block");
        write(
            &blocks,
            "seed-spans",
            0,
            &spans::encode(&span_items, Effort::Ingest).unwrap(),
        );
        let logs_req =
            crate::ingest::json::logs_request(&golden("node-http-json/logs.json")).unwrap();
        let mut log_items: Vec<LogItem> =
            LogItem::from_request(decode::logs(logs_req).unwrap().batch).collect();
        logs::sort_for_block(&mut log_items);
        write(
            &blocks,
            "seed-logs",
            1,
            &logs::encode(&log_items, Effort::Ingest).unwrap(),
        );
        let samples: Vec<chunk::Sample> = (0..120u64)
            .map(|i| chunk::Sample {
                time: 1_800_000_000_000_000_000 + i * 10_000_000_000,
                bits: (i as f64 * 1.5).to_bits(),
            })
            .collect();
        write(&blocks, "seed-chunk", 3, &chunk::encode(&samples));
        write(
            &blocks,
            "seed-varlist",
            6,
            &varlist::encode(&[1, -5, 300, 70_000]),
        );
    }

    /// Every input kept under `fuzz/regressions/<target>/` still decodes
    /// without a panic.
    #[test]
    fn fuzz_regressions_replay_without_panics() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
        type Target = (&'static str, fn(&[u8]));
        let targets: [Target; 3] = [
            ("otlp_protobuf", super::otlp_protobuf),
            ("otlp_json", super::otlp_json),
            ("stored_block", super::stored_block),
        ];
        let mut replayed = 0;
        for (name, run) in targets {
            let Ok(dir) = std::fs::read_dir(root.join(name)) else {
                continue;
            };
            for entry in dir.flatten() {
                let data = std::fs::read(entry.path()).unwrap();
                run(&data);
                replayed += 1;
            }
        }
        // Each target keeps at least its seed input.
        assert!(replayed >= 3, "only {replayed} regression inputs found");
    }
}
