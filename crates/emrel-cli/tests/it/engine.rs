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
    let models = dir.path().join("p.db.models");
    let state = || version_dir(&models, 1).map(|d| d.join("checkpoint/state.json"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !state().is_some_and(|s| s.exists()) {
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
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert!(versions[0].starts_with("v1-"), "{versions:?}");
    assert!(!state().unwrap().exists(), "the finished run removed its checkpoint");
    assert_eq!(ok(&project, &["--json", "stats"]), stats_before);
    let eval: serde_json::Value = serde_json::from_str(&ok(&project, &["--json", "eval"])).unwrap();
    assert!(eval["f1"].as_f64().unwrap() > 0.0, "{eval}");
    // The next job runs; `--device auto` says which device it chose (no GPU here: the CPU).
    let out = crate::emrel(
        &project,
        &["train", "--model", "cnn", "--preset", "tiny", "--epochs", "1", "--device", "auto"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().any(|l| l == "device: cpu"), "{err}");
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
            "pool_f1",
            "pool_pairs",
            "pool_precision",
            "pool_recall",
            "precision",
            "recall",
            "seconds",
            "status",
            "total_labels"
        ]
    );
    assert_eq!(rows[0]["iteration"], 0);
    assert_eq!(rows[0]["human_labels"], 200);
    assert!(rows[0]["auto_precision"].is_null());
    assert_eq!(rows[2]["human_labels"], 260);
}

#[test]
fn drift_json_lists_the_alarms_of_a_corrupted_iteration_and_audit_answers_from_gold() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.db");
    ok(&project, &["demo", "--sentences", "300", "--seed", "1"]);
    let sim = ok(
        &project,
        &[
            "--json",
            "simulate",
            "--seed-labels",
            "300",
            "--model",
            "cnn",
            "--preset",
            "tiny",
            "--epochs",
            "8",
            "--batch-size",
            "250",
            "--threshold",
            "0.5",
            "--max-iterations",
            "1",
            "--corrupt-iteration",
            "1",
            "--corrupt-share",
            "0.8",
        ],
    );
    let rows: serde_json::Value = serde_json::from_str(&sim).unwrap();
    assert_eq!(rows["rows"][1]["status"], "quarantined", "{sim}");
    let v: serde_json::Value = serde_json::from_str(&ok(&project, &["--json", "drift"])).unwrap();
    let alarms = v["alarms"].as_array().unwrap();
    assert!(!alarms.is_empty(), "{v}");
    for a in alarms {
        assert_eq!(a["iteration"], 1);
        for key in ["relation", "metric", "value", "threshold"] {
            assert!(!a[key].is_null(), "{key} in {a}");
        }
    }
    assert!(v["iterations"][0]["drift"]["jsd"].as_f64().is_some());
    let text = ok(&project, &["drift"]);
    assert!(text.contains("iteration 1 [quarantined]") && text.contains("ALARM"), "{text}");

    // A reviewer at the terminal: a stray Enter asks again, `y` confirms, `n` then a number
    // fixes, `q` stops; prompts go to stderr so --json stays clean.
    let mut child = Command::new(env!("CARGO_BIN_EXE_emrel"))
        .args(["--project", project.to_str().unwrap(), "--json", "audit", "--annotator", "rev"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"\ny\nn\n0\nq\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let partial: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let prompts = String::from_utf8_lossy(&out.stderr);
    assert!(prompts.contains("automatic label:") && prompts.contains("left]"), "{prompts}");
    let first_label = prompts.split("automatic label: ").nth(2).unwrap().lines().next().unwrap();
    // The second item was fixed to none unless none was its label (then it was asked again).
    let judged = if first_label.trim() == "none" { 1 } else { 2 };
    assert_eq!(partial["judged"], judged, "{partial}");

    let audit: serde_json::Value =
        serde_json::from_str(&ok(&project, &["--json", "audit", "--simulate"])).unwrap();
    assert_eq!(audit["judged"], audit["sample"]);
    assert!(audit["precision"].as_f64().unwrap() < 0.5, "{audit}");
    assert_eq!(audit["decision"], "roll_back");
    let text = ok(&project, &["review", "accept", "1"]);
    assert!(text.contains("iteration 1 is active (accepted)"), "{text}");
    let bad = crate::emrel(&project, &["relation", "XYZ", "--freeze"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`XYZ` is not a relation"));
}

#[test]
fn embed_writes_character_vectors_that_training_starts_from() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.db");
    ok(&project, &["demo", "--sentences", "60", "--seed", "2"]);
    let out = ok(&project, &["embed", "--dim", "16", "--epochs", "1"]);
    let path = dir.path().join("p.db.models/chars.vec");
    assert!(out.contains(&path.display().to_string()), "{out}");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut header = text.lines().next().unwrap().split_whitespace();
    let n: usize = header.next().unwrap().parse().unwrap();
    assert_eq!(header.next(), Some("16"));
    assert!(n > 50, "a vector per character of the corpus: {n}");
    assert_eq!(text.lines().count(), n + 1);
    label_from_gold_blocking(&project, 120);
    let trained = ok(
        &project,
        &[
            "--json",
            "train",
            "--model",
            "cnn",
            "--preset",
            "tiny",
            "--epochs",
            "1",
            "--char-vectors",
            path.to_str().unwrap(),
        ],
    );
    let r: serde_json::Value = serde_json::from_str(&trained).unwrap();
    assert!(r["version"].as_i64().is_some(), "{trained}");
    let v1 = version_dir(&dir.path().join("p.db.models"), 1).expect("v1 has a folder");
    let config = std::fs::read_to_string(v1.join("config.json"));
    assert!(config.unwrap().contains("\"char_dim\": 16"), "the model took the vectors' dimension");
}

/// The folder of model version `id` (`v<id>-<tag>`), once it exists.
fn version_dir(models: &Path, id: i64) -> Option<std::path::PathBuf> {
    let prefix = format!("v{id}-");
    std::fs::read_dir(models)
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
}

fn label_from_gold_blocking(project: &Path, n: usize) {
    tokio::runtime::Runtime::new().unwrap().block_on(label_from_gold(project, n));
}
