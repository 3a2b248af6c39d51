//! `emrel label`: labels from standard input, each acknowledged only after its commit, and a
//! kill -9 in the middle of a burst that loses none of the acknowledged ones.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use emrel_store::Store;

use crate::{emrel, ok};

async fn stored_events(project: &Path) -> (Vec<(i64, i64)>, String) {
    let store = Store::open(project).await.unwrap();
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT pair_id, label_event_id FROM label_event")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let check: String =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_one(store.pool()).await.unwrap();
    store.close().await;
    (rows, check)
}

#[test]
fn labels_from_a_file_are_acknowledged_and_a_bad_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.db");
    ok(&project, &["demo", "--sentences", "20", "--seed", "1"]);
    let input = dir.path().join("labels.txt");
    std::fs::write(&input, "# pair relation\n1 none\n\n2 none\n3 nonsense\n4 none\n").unwrap();
    let out = emrel(&project, &["label", input.to_str().unwrap(), "--annotator", "ann"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("labels.txt:5") && err.contains("nonsense"), "{err}");
    assert!(err.contains("2 labels stored before it"), "{err}");
    // The two lines before the bad one were acknowledged and stored; the one after was not read.
    let acked: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(acked.len(), 2, "{acked:?}");
    assert!(acked[0].starts_with("1 ") && acked[1].starts_with("2 "), "{acked:?}");
    let stats = crate::stats(&project);
    let labeled = stats["pairs"].as_u64().unwrap() - stats["unlabeled_pairs"].as_u64().unwrap();
    assert_eq!(labeled, 2, "{stats}");
}

/// Feeds `emrel label` an endless burst, kills it with SIGKILL after `after`, and checks that
/// every acknowledged label is stored. Returns how many were acknowledged.
fn kill_during_a_burst(project: &Path, pairs: usize, after: Duration) -> usize {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emrel"))
        .arg("--project")
        .arg(project)
        .args(["label", "--annotator", "burst"])
        .env_remove("EMREL_PROJECT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0.. {
            if writeln!(stdin, "{} none", 1 + i % pairs).is_err() {
                break; // the process is gone
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<String>>()
    });
    std::thread::sleep(after);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    feeder.join().unwrap();
    let acked: Vec<(i64, i64)> = reader
        .join()
        .unwrap()
        .iter()
        .map(|l| {
            let (p, e) = l.split_once(' ').unwrap();
            (p.parse().unwrap(), e.parse().unwrap())
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (stored, check) = rt.block_on(stored_events(project));
    assert_eq!(check, "ok");
    let stored: std::collections::HashSet<(i64, i64)> = stored.into_iter().collect();
    let lost: Vec<_> = acked.iter().filter(|a| !stored.contains(a)).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    acked.len()
}

#[test]
fn a_kill_during_a_labeling_burst_loses_no_acknowledged_label() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.db");
    ok(&project, &["demo", "--sentences", "30", "--seed", "2"]);
    let pairs = crate::stats(&project)["pairs"].as_u64().unwrap() as usize;
    let mut total = 0;
    for ms in [150, 400, 700, 1100] {
        total += kill_during_a_burst(&project, pairs, Duration::from_millis(ms));
    }
    assert!(total > 0, "some labels were acknowledged before the kills");
}
