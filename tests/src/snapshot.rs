//! Golden (snapshot) files for API answers: `tests/snapshots/<name>.json`.
//!
//! A test renders an answer as pretty JSON and compares it with the file.
//! With `SIGHTLINE_UPDATE_SNAPSHOTS=1` a mismatch (or a missing file)
//! rewrites the file instead of failing, so a deliberate change of an
//! answer is reviewed as a diff. CI never sets it: a missing file fails.

use std::path::PathBuf;

use crate::workspace_root;

/// Where snapshot `name` lives.
pub fn snapshot_path(name: &str) -> PathBuf {
    workspace_root()
        .join("tests")
        .join("snapshots")
        .join(format!("{name}.json"))
}

fn updating() -> bool {
    std::env::var_os("SIGHTLINE_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1")
}

/// Asserts `value` equals snapshot `name` (see the module doc).
pub fn assert_snapshot(name: &str, value: &serde_json::Value) {
    let path = snapshot_path(name);
    let actual = format!(
        "{}\n",
        serde_json::to_string_pretty(value).expect("JSON values always serialise")
    );
    let expected = std::fs::read_to_string(&path).ok();
    if expected.as_deref() == Some(actual.as_str()) {
        return;
    }
    if updating() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create tests/snapshots");
        }
        std::fs::write(&path, &actual).expect("write snapshot");
        eprintln!("updated snapshot {}", path.display());
        return;
    }
    match expected {
        None => panic!(
            "snapshot {} is missing; run with SIGHTLINE_UPDATE_SNAPSHOTS=1 to create it, then review it",
            path.display()
        ),
        Some(expected) => {
            let first_diff = expected
                .lines()
                .zip(actual.lines())
                .enumerate()
                .find(|(_, (e, a))| e != a)
                .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
                .unwrap_or_else(|| "the files differ in length".to_owned());
            panic!(
                "answer differs from snapshot {} ({first_diff}); if the change is intended, rerun with SIGHTLINE_UPDATE_SNAPSHOTS=1 and review the diff",
                path.display()
            );
        }
    }
}
