//! A team project on a real PostgreSQL server, from the command line: `--project postgres://…`
//! for every verb, `emrel copy` between the server and a file, `emrel agreement`, and no password
//! in what the binary prints.

use emrel_store::Location;
use emrel_testdb::Target;

use crate::{emrel, ok};

#[test]
fn a_team_project_on_postgres_from_the_command_line() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(t) = rt.block_on(Target::postgres("cli team project")) else { return };
    let Location::Server(url) = rt.block_on(t.location("team")) else { unreachable!() };
    ok(&url, &["demo", "--sentences", "30", "--seed", "2"]);
    let stats: serde_json::Value = serde_json::from_str(&ok(&url, &["--json", "stats"])).unwrap();
    assert!(stats["pairs"].as_u64().unwrap() > 20, "{stats}");
    let input = t.dir().join("labels.txt");
    std::fs::write(&input, "1 none\n2 none\n3 none\n").unwrap();
    for annotator in ["ann", "bob"] {
        let acked = ok(&url, &["label", input.to_str().unwrap(), "--annotator", annotator]);
        assert_eq!(acked.lines().count(), 3, "{acked}");
    }
    let agreement: serde_json::Value =
        serde_json::from_str(&ok(&url, &["--json", "agreement"])).unwrap();
    assert_eq!(agreement["units"], 3, "{agreement}");
    assert_eq!(agreement["pairs"][0]["observed"], 1.0, "{agreement}");

    // To a file and back: the same statistics and the same export.
    let file = t.dir().join("archive.db");
    let copied = ok(&url, &["copy", "--to", file.to_str().unwrap()]);
    assert!(copied.contains("copied"), "{copied}");
    let file = file.to_str().unwrap();
    assert_eq!(ok(file, &["--json", "stats"]), ok(&url, &["--json", "stats"]));
    let (a, b) = (t.dir().join("a.jsonl"), t.dir().join("b.jsonl"));
    ok(&url, &["export", "--format", "jsonl", "--out", a.to_str().unwrap()]);
    ok(file, &["export", "--format", "jsonl", "--out", b.to_str().unwrap()]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    // A password in the URL never reaches the output, even when the connection fails.
    let (base, query) = url.split_once('?').unwrap_or((&url, ""));
    let sep = if query.is_empty() { "" } else { "&" };
    let wrong = format!("{base}_absent?{query}{sep}password=Sup3rSecretPw");
    let out = emrel(&wrong, &["stats"]);
    assert!(!out.status.success());
    let printed =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!printed.contains("Sup3rSecretPw"), "{printed}");
    assert!(printed.contains("***"), "the location is named, masked: {printed}");
}
