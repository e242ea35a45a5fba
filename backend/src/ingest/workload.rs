//! Log block size on a real workload, its OTLP protobuf requests decoded
//! as the receivers decode them. Not a correctness test: run by hand with
//! `SIGHTLINE_LOG_WORKLOAD=<dir with logs/*.pb> cargo test -p sightline --lib
//! ingest::workload -- --ignored --nocapture`. Prints the compressed bytes
//! per log of every column, as compaction would write the blocks; with
//! `SIGHTLINE_LOG_DUMP=<dir>` also writes each column's raw bytes,
//! concatenated over the blocks, for comparison with other compressors.

use prost::Message;

use crate::store::sqlite::blocks::TARGET_ITEMS;
use crate::store::sqlite::blocks::codec::{ContainerReader, Effort};
use crate::store::sqlite::blocks::logs::{
    FORMAT_VERSION, LogItem, MAGIC, decode, encode, sort_for_block,
};

const NAMES: [&str; 16] = [
    "count",
    "dictionary",
    "resources",
    "scopes",
    "trace runs",
    "span ids",
    "times",
    "observed",
    "severity",
    "bodies",
    "attributes",
    "refs",
    "misc",
    "span refs",
    "trace ids",
    "dict text",
];

fn load(dir: &std::path::Path) -> Vec<LogItem> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pb"))
        .collect();
    files.sort();
    let mut items = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let req =
            opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest::decode(
                bytes.as_slice(),
            )
            .unwrap();
        items.extend(LogItem::from_request(
            super::decode::logs(req).unwrap().batch,
        ));
    }
    items
}

#[test]
#[ignore = "needs a benchmark workload"]
fn log_block_column_sizes() {
    let dir = std::env::var("SIGHTLINE_LOG_WORKLOAD")
        .expect("SIGHTLINE_LOG_WORKLOAD names a workload directory (an absolute path)");
    let dump = std::env::var("SIGHTLINE_LOG_DUMP").ok();
    let mut items = load(std::path::Path::new(&dir));
    items.sort_by_key(|i| i.record.effective_time().0);
    let n = items.len();
    let mut packed = [0usize; 256];
    let mut raw = [0usize; 256];
    let mut total = 0usize;
    let mut dumps: Vec<Vec<u8>> = vec![Vec::new(); 256];
    let levels = [9, 12, 15, 17, 19, 22];
    let mut at_level = [[0usize; 6]; 256];
    let (mut enc_time, mut dec_time) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for chunk in items.chunks(TARGET_ITEMS as usize) {
        let mut block = chunk.to_vec();
        sort_for_block(&mut block);
        let t = std::time::Instant::now();
        let bytes = encode(&block, Effort::Archive).unwrap();
        enc_time += t.elapsed();
        total += bytes.len();
        let c = ContainerReader::parse(&bytes, MAGIC, FORMAT_VERSION).unwrap();
        for (id, r, p) in c.column_sizes() {
            raw[id as usize] += r;
            packed[id as usize] += p;
            let col = c.column(id).unwrap();
            if std::env::var_os("SIGHTLINE_LOG_LEVELS").is_some() && !col.is_empty() {
                for (k, l) in levels.iter().enumerate() {
                    at_level[id as usize][k] += zstd::bulk::compress(&col, *l).unwrap().len();
                }
            }
            if dump.is_some() {
                dumps[id as usize].extend(col);
            }
        }
        let t = std::time::Instant::now();
        let back = decode(&bytes, |_| true).unwrap();
        dec_time += t.elapsed();
        assert_eq!(back.records.len(), block.len());
        for (item, (_, _, r)) in block.iter().zip(&back.records) {
            assert_eq!(&item.record, r);
        }
    }
    println!("{n} logs, format {FORMAT_VERSION}");
    println!(
        "{:<12} {:>10} {:>10} {:>8}",
        "column", "raw B", "packed B", "B/log"
    );
    for id in 0..256 {
        if raw[id] == 0 && packed[id] == 0 {
            continue;
        }
        let name = NAMES.get(id).copied().unwrap_or("?");
        println!(
            "{name:<12} {:>10} {:>10} {:>8.2}",
            raw[id],
            packed[id],
            packed[id] as f64 / n as f64
        );
        if at_level[id][0] > 0 {
            let per: Vec<String> = levels
                .iter()
                .zip(at_level[id])
                .map(|(l, b)| format!("L{l} {:.2}", b as f64 / n as f64))
                .collect();
            println!("    {}", per.join("  "));
        }
        if let Some(d) = &dump {
            std::fs::write(
                format!("{d}/{id:02}-{}.raw", name.replace(' ', "-")),
                &dumps[id],
            )
            .unwrap();
        }
    }
    let columns: usize = packed.iter().sum();
    println!(
        "{:<12} {:>10} {:>10} {:>8.2}",
        "headers",
        "",
        total - columns,
        (total - columns) as f64 / n as f64
    );
    println!(
        "{:<12} {:>10} {total:>10} {:>8.2}",
        "total",
        "",
        total as f64 / n as f64
    );
    println!("encode {enc_time:?}, decode {dec_time:?} (debug build)");
}
