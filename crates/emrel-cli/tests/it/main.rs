//! CLI journeys: the `emrel` binary as a user runs it, checked through its output, exit code and
//! `stats --json`.

mod corpus;
mod engine;
mod label;
mod team;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `emrel --project PROJECT ARGS…`; the project is a file path or a `postgres://` URL.
pub fn emrel(project: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emrel"))
        .arg("--project")
        .arg(project)
        .args(args)
        .env_remove("EMREL_PROJECT")
        .output()
        .expect("emrel runs")
}

pub fn ok(project: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let out = emrel(project, args);
    assert!(
        out.status.success(),
        "emrel {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn stats(project: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(project, &["--json", "stats"])).unwrap()
}
