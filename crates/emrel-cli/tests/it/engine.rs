//! Engine verbs as a user runs them: training killed mid-run and resumed, and the simulation's
//! JSON learning curve.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emrel_core::NONE;
use emrel_store::{LabelAction, LabelWrite, Store};

use crate::ok;

/// Reveals `n` gold labels of a demo project as human labels (what annotators would have done).
async fn label_from_gold(project: &Path, n: usize) {
    let store = Store::open(project).await.unwrap();
    let gold = store.gold_labels().await.unwrap();
    let mut pairs: Vec<_> = store.pairs().await.unwrap().into_iter().map(|p| p.pair).collect();
    pairs.truncate(n);
    let writes: Vec<LabelWrite> = pairs
        .iter()
        .map(|p| {
            let r = gold.get(p).map_or(NONE, String::as_str);
            LabelWrite::human(*p, r, LabelAction::Set, "ann")
        })
        .collect();
    store.append_labels(&writes).await.unwrap();
    store.close().await;
}

fn jobs(project: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&ok(project, &["--json", "jobs"])).unwrap()
}

#[tokio::test]
async fn training_killed_mid_run_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.db");
    ok(&project, &["demo", "--sentences", "150", "--seed", "2"]);
    label_from_gold(&project, 400).await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_emrel"))
        .arg("--project")
        .arg(&project)
        .args(["train", "--model", "cnn", "--preset", "tiny", "--epochs", "60"])
        .env_remove("EMREL_PROJECT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as it has written its first epoch checkpoint.
    let state = dir.path().join("p.db.models/v1/checkpoint/state.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !state.exists() {
        assert!(Instant::now() < deadline, "no checkpoint within two minutes");
        assert!(child.try_wait().unwrap().is_none(), "training ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let listed = jobs(&project);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "interrupted", "{listed:?}");
    let stats_before = ok(&project, &["--json", "stats"]);

    let out = ok(&project, &["jobs", "--resume", "1"]);
    assert_eq!(out.trim(), "job 1 succeeded");
    let listed = jobs(&project);
    assert_eq!(
        (listed[0]["status"].as_str(), listed[0]["attempts"].as_i64()),
        (Some("succeeded"), Some(2))
    );
    // The same version was finished, not a new one started; labels are untouched.
    let versions: Vec<_> = std::fs::read_dir(dir.path().join("p.db.models"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(versions, ["v1"]);
    assert!(!state.exists(), "the finished run removed its checkpoint");
    assert_eq!(ok(&project, &["--json", "stats"]), stats_before);
    let eval: serde_json::Value = serde_json::from_str(&ok(&project, &["--json", "eval"])).unwrap();
    assert!(eval["f1"].as_f64().unwrap() > 0.0, "{eval}");
    // The next job runs.
    ok(&project, &["train", "--model", "cnn", "--preset", "tiny", "--epochs", "1"]);
}

#[test]
fn simulate_prints_the_learning_curve_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.db");
    ok(&project, &["demo", "--sentences", "150", "--seed", "3"]);
    let out = ok(
        &project,
        &[
            "--json",
            "simulate",
            "--seed-labels",
            "200",
            "--strategy",
            "random",
            "--human-budget",
            "60",
            "--model",
            "cnn",
            "--preset",
            "tiny",
            "--epochs",
            "3",
            "--batch-size",
            "100",
            "--max-iterations",
            "2",
            "--tolerance",
            "100",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["rows"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{out}");
    let mut keys: Vec<_> = rows[0].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "auto_precision",
            "f1",
            "human_labels",
            "iteration",
            "precision",
            "recall",
            "seconds",
            "total_labels"
        ]
    );
    assert_eq!(rows[0]["iteration"], 0);
    assert_eq!(rows[0]["human_labels"], 200);
    assert!(rows[0]["auto_precision"].is_null());
    assert_eq!(rows[2]["human_labels"], 260);
}
