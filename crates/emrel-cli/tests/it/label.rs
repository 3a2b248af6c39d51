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
    let pool = store.sqlite_pool().unwrap();
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT pair_id, label_event_id FROM label_event")
        .fetch_all(pool)
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(pool).await.unwrap();
    store.close().await;
    (rows, check)
}

/// The `PAIR EVENT` lines `emrel label` printed.
fn parse_acks(lines: &[String]) -> Vec<(i64, i64)> {
    lines
        .iter()
        .map(|l| {
            let (p, e) = l.split_once(' ').unwrap();
            (p.parse().unwrap(), e.parse().unwrap())
        })
        .collect()
}

/// How many of the acknowledged labels are not in the database, after checking its integrity.
fn lost(project: &Path, acked: &[(i64, i64)]) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (stored, check) = rt.block_on(stored_events(project));
    assert_eq!(check, "ok");
    let stored: std::collections::HashSet<(i64, i64)> = stored.into_iter().collect();
    acked.iter().filter(|a| !stored.contains(a)).count()
}

/// `emrel label --annotator NAME` with piped standard streams.
fn spawn_label(project: &Path, annotator: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_emrel"))
        .arg("--project")
        .arg(project)
        .args(["label", "--annotator", annotator])
        .env_remove("EMREL_PROJECT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
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
    let mut child = spawn_label(project, "burst");
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
    let acked = parse_acks(&reader.join().unwrap());
    assert_eq!(lost(project, &acked), 0, "acknowledged labels are missing");
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

/// A finished burst: the acknowledged (pair, event) ids, the exit status and the error output.
type Burst = (Vec<(i64, i64)>, std::process::ExitStatus, String);

/// Starts `emrel label` for `annotator`, feeds it `PAIR none` lines over `pairs` for `seconds`,
/// then closes its input; returns the acknowledged (pair, event) ids and the exit status.
fn burst_for(
    project: &Path,
    annotator: &str,
    pairs: usize,
    seconds: f64,
) -> std::thread::JoinHandle<Burst> {
    let mut child = spawn_label(project, annotator);
    let mut stdin = child.stdin.take().unwrap();
    let start = annotator.len();
    std::thread::spawn(move || {
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<String>>()
        });
        let end = std::time::Instant::now() + Duration::from_secs_f64(seconds);
        let mut i = start;
        while std::time::Instant::now() < end {
            if writeln!(stdin, "{} none", 1 + i % pairs).is_err() {
                break;
            }
            i += 7;
        }
        drop(stdin); // end of input: the process finishes its last label and exits
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        let status = child.wait().unwrap();
        (parse_acks(&reader.join().unwrap()), status, stderr)
    })
}

/// Two label bursts, an import loop and an export loop on one database at the same time, for
/// `EMREL_TWO_WRITERS_SECONDS` (6 s in `cargo test`; `bench/two-writers` runs 60 s): every
/// acknowledged label is stored, every import and export succeeds (a writer waits for the lock
/// rather than failing), and the database is intact.
#[test]
fn two_label_bursts_an_import_and_an_export_share_one_database() {
    let seconds: f64 =
        std::env::var("EMREL_TWO_WRITERS_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(6.0);
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.db");
    ok(&project, &["demo", "--sentences", "100", "--seed", "3"]);
    let pairs = crate::stats(&project)["pairs"].as_u64().unwrap() as usize;
    let a = burst_for(&project, "ann", pairs, seconds);
    let b = burst_for(&project, "bob", pairs, seconds);
    let end = std::time::Instant::now() + Duration::from_secs_f64(seconds);

    let importer = {
        let (project, dir) = (project.clone(), dir.path().to_path_buf());
        std::thread::spawn(move || {
            let mut imported = 0;
            while std::time::Instant::now() < end {
                let folder = dir.join(format!("brat-{imported}"));
                std::fs::create_dir_all(&folder).unwrap();
                std::fs::write(folder.join(format!("new-{imported}.txt")), "患者腹部疼痛。")
                    .unwrap();
                std::fs::write(
                    folder.join(format!("new-{imported}.ann")),
                    "T1\tPosition 2 4\t腹部\nT2\tSymptom 4 6\t疼痛\nR1\tSAP Arg1:T2 Arg2:T1\n",
                )
                .unwrap();
                let out =
                    emrel(&project, &["import", "--format", "brat", folder.to_str().unwrap()]);
                assert!(out.status.success(), "import: {}", String::from_utf8_lossy(&out.stderr));
                imported += 1;
            }
            imported
        })
    };
    let exporter = {
        let (project, out_file) = (project.clone(), dir.path().join("export.jsonl"));
        std::thread::spawn(move || {
            let mut exported = 0;
            while std::time::Instant::now() < end {
                let out = emrel(
                    &project,
                    &[
                        "export",
                        "--format",
                        "jsonl",
                        "--out",
                        out_file.to_str().unwrap(),
                        "--force",
                    ],
                );
                assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
                // The destination always holds one whole export: every line parses.
                for line in std::fs::read_to_string(&out_file).unwrap().lines() {
                    serde_json::from_str::<serde_json::Value>(line).unwrap();
                }
                exported += 1;
            }
            exported
        })
    };
    let imported = importer.join().unwrap();
    let exported = exporter.join().unwrap();
    let mut acked = Vec::new();
    for burst in [a, b] {
        let (ids, status, stderr) = burst.join().unwrap();
        assert!(status.success(), "a label burst failed: {stderr}");
        acked.extend(ids);
    }
    let lost = lost(&project, &acked);
    println!(
        "two writers for {seconds} s: {} labels acknowledged, {lost} lost; {imported} imports, {exported} exports",
        acked.len()
    );
    assert_eq!(lost, 0);
    assert!(imported > 0 && exported > 0 && !acked.is_empty());
    let docs = crate::stats(&project)["documents"].as_u64().unwrap();
    assert!(docs >= imported as u64, "every import landed");
}
