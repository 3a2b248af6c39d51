//! init, demo, import, stats and export from the command line.

use std::path::Path;

use crate::{emrel, ok, stats};

fn ccks_fixture(dir: &Path) {
    let sec = dir.join("病史特点");
    std::fs::create_dir_all(&sec).unwrap();
    std::fs::write(sec.join("病史特点-1.txtoriginal.txt"), "患者右髋部疼痛。行CT检查。\r\n")
        .unwrap();
    std::fs::write(
        sec.join("病史特点-1.txt"),
        "右髋部\t2\t4\t身体部位\n疼痛\t5\t6\t症状和体征\nCT\t9\t10\t检查和检验\n",
    )
    .unwrap();
    std::fs::write(sec.join("病史特点-2.txtoriginal.txt"), "腹部CT示肝脏囊肿。").unwrap();
    std::fs::write(
        sec.join("病史特点-2.txt"),
        "腹部\t0\t1\t身体部位\nCT\t2\t3\t检查和检验\n肝脏\t5\t6\t身体部位\n囊肿\t7\t8\t疾病和诊断\n",
    )
    .unwrap();
}

#[test]
fn ccks_import_is_counted_by_stats_and_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.db");
    ccks_fixture(&tmp.path().join("ccks"));
    ok(&db, &["init"]);
    let ccks = tmp.path().join("ccks");
    let out = ok(&db, &["import", "--format", "ccks2017", ccks.to_str().unwrap()]);
    assert!(out.contains("imported 2 documents"), "{out}");
    let s = stats(&db);
    assert_eq!(s["documents"], 2);
    assert_eq!(s["sentences"], 3);
    assert_eq!(s["entities"], 7);
    assert_eq!(s["entities_per_type"]["position"], 3);
    // doc1: 疼痛->右髋部, CT->右髋部, CT->疼痛 (sentence 1 and 2 are separate: CT is alone);
    // doc2: CT->腹部, CT->肝脏, CT->囊肿, 囊肿->腹部, 囊肿->肝脏.
    assert_eq!(s["pairs"], 6);
    let again = ok(&db, &["import", "--format", "ccks2017", ccks.to_str().unwrap()]);
    assert!(again.contains("imported 0 documents (2 already present)"), "{again}");
    assert_eq!(stats(&db), s);
}

#[test]
fn a_malformed_file_names_file_and_line_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.db");
    let ccks = tmp.path().join("ccks");
    ccks_fixture(&ccks);
    ok(&db, &["init"]);
    ok(&db, &["import", "--format", "ccks2017", ccks.to_str().unwrap()]);
    let before = stats(&db);
    let brat = tmp.path().join("brat");
    std::fs::create_dir_all(&brat).unwrap();
    std::fs::write(brat.join("a.txt"), "头部疼痛。").unwrap();
    std::fs::write(brat.join("a.ann"), "T1\tPosition 0 2\t头部\nT2\tSymptom 2 4\t疼痛\n").unwrap();
    std::fs::write(brat.join("b.txt"), "胸部疼痛。").unwrap();
    std::fs::write(brat.join("b.ann"), "T1\tPosition 0 2\t胸部\nT2\tSymptom 2 9\t疼痛\n").unwrap();
    let out = emrel(&db, &["import", "--format", "brat", brat.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("b.ann:2: span 2..9 is outside the text (5 characters)"),
        "stderr was: {err}"
    );
    assert_eq!(stats(&db), before, "a.ann was valid but must not have been imported alone");
    // --lenient imports the good records and reports the bad one.
    let out = emrel(&db, &["import", "--lenient", "--format", "brat", brat.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped: "));
    assert_eq!(stats(&db)["entities"].as_u64().unwrap(), before["entities"].as_u64().unwrap() + 3);
}

#[test]
fn relations_across_sentences_are_reported_by_stats() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.db");
    let brat = tmp.path().join("brat");
    std::fs::create_dir_all(&brat).unwrap();
    std::fs::write(brat.join("a.txt"), "头部。疼痛。").unwrap();
    std::fs::write(
        brat.join("a.ann"),
        "T1\tPosition 0 2\t头部\nT2\tSymptom 3 5\t疼痛\nR1\tSAP Arg1:T2 Arg2:T1\n",
    )
    .unwrap();
    ok(&db, &["init"]);
    let out = ok(&db, &["import", "--format", "brat", brat.to_str().unwrap()]);
    assert!(out.contains("1 relations crossed a sentence boundary"), "{out}");
    assert_eq!(stats(&db)["cross_sentence_relations"], 1);
}

#[test]
fn custom_schema_from_a_file_is_enforced() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.db");
    let schema = tmp.path().join("s.json");
    std::fs::write(
        &schema,
        r#"{"name":"drugs","entity":[{"name":"Drug"},{"name":"Disease"}],
            "relation":[{"name":"treats","description":"drug treats disease","args":[["Drug","Disease"]]}]}"#,
    )
    .unwrap();
    ok(&db, &["init", "--schema", schema.to_str().unwrap()]);
    let brat = tmp.path().join("brat");
    std::fs::create_dir_all(&brat).unwrap();
    std::fs::write(brat.join("a.txt"), "二甲双胍治疗糖尿病。").unwrap();
    std::fs::write(
        brat.join("a.ann"),
        "T1\tDrug 0 4\t二甲双胍\nT2\tDisease 6 9\t糖尿病\nR1\ttreats Arg1:T2 Arg2:T1\n",
    )
    .unwrap();
    let out = emrel(&db, &["import", "--format", "brat", brat.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a.ann:3: relation treats is not allowed from Disease (T2) to Drug (T1)"),
        "{err}"
    );
    assert_eq!(stats(&db)["documents"], 0);
}

#[test]
fn demo_then_export_in_every_format_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("demo.db");
    ok(&db, &["demo", "--sentences", "300", "--seed", "7"]);
    let s = stats(&db);
    assert!(s["sentences"].as_u64().unwrap() >= 300);
    assert_eq!(s["unlabeled_pairs"], s["pairs"], "gold labels are hidden, not current labels");
    let gold: u64 =
        s["labels"].as_object().unwrap().values().map(|m| m["gold"].as_u64().unwrap()).sum();
    assert_eq!(gold, s["pairs"].as_u64().unwrap(), "every demo pair has a gold label");
    // Same seed, same corpus: a second demo run adds nothing.
    ok(&db, &["demo", "--sentences", "300", "--seed", "7"]);
    assert_eq!(stats(&db), s);

    let jsonl = tmp.path().join("out.jsonl");
    let out = ok(&db, &["export", "--format", "jsonl", "--out", jsonl.to_str().unwrap()]);
    assert!(out.starts_with(&format!("wrote {} documents", s["documents"])), "{out}");
    let first: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&jsonl).unwrap().lines().next().unwrap())
            .unwrap();
    assert_eq!(first["labels"][0]["source"], "gold");
    let db2 = tmp.path().join("back.db");
    ok(&db2, &["init"]);
    ok(&db2, &["import", "--format", "jsonl", jsonl.to_str().unwrap()]);
    assert_eq!(stats(&db2)["labels"], s["labels"]);
    assert_eq!(stats(&db2)["pairs"], s["pairs"]);

    let brat = tmp.path().join("brat");
    ok(&db, &["export", "--format", "brat", "--out", brat.to_str().unwrap()]);
    let db3 = tmp.path().join("brat.db");
    ok(&db3, &["init"]);
    ok(&db3, &["import", "--format", "brat", "--relations-as", "gold", brat.to_str().unwrap()]);
    assert_eq!(stats(&db3)["labels"], s["labels"]);

    let csv = tmp.path().join("out.csv");
    ok(&db, &["export", "--format", "csv", "--source", "gold", "--out", csv.to_str().unwrap()]);
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    assert_eq!(reader.headers().unwrap().get(9), Some("relation"));
    let rows = reader.records().collect::<Result<Vec<_>, _>>().unwrap().len() as u64;
    assert_eq!(rows, gold, "one row per labeled pair");
}

/// Regression: `emrel --project p.db export --format jsonl --out p.db` exited 0 and left `p.db`
/// "not a database". It fails with a one-line cause, the project still opens, and an existing
/// destination is replaced only with `--force`.
#[test]
fn export_refuses_the_project_itself_and_an_existing_file_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.db");
    ok(&db, &["demo", "--sentences", "40", "--seed", "3"]);
    let before = stats(&db);
    let out = emrel(&db, &["export", "--format", "jsonl", "--out", db.to_str().unwrap()]);
    assert!(!out.status.success(), "exporting onto the project must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("own file"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line, the cause once: {err}");
    assert_eq!(stats(&db), before, "the project is intact");

    let jsonl = tmp.path().join("out.jsonl");
    std::fs::write(&jsonl, "old\n").unwrap();
    let refused = emrel(&db, &["export", "--format", "jsonl", "--out", jsonl.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert_eq!(std::fs::read_to_string(&jsonl).unwrap(), "old\n");
    ok(&db, &["export", "--format", "jsonl", "--force", "--out", jsonl.to_str().unwrap()]);
    let new = std::fs::read_to_string(&jsonl).unwrap();
    assert!(new.starts_with('{') && !new.contains("old\n"), "replaced whole: {new}");
}

#[test]
fn import_with_unlabeled_pairs_none_labels_every_unrelated_pair_none() {
    let tmp = tempfile::tempdir().unwrap();
    let brat = tmp.path().join("brat");
    std::fs::create_dir_all(&brat).unwrap();
    std::fs::write(brat.join("a.txt"), "头部疼痛，胸部不适。").unwrap();
    std::fs::write(
        brat.join("a.ann"),
        "T1\tPosition 0 2\t头部\nT2\tSymptom 2 4\t疼痛\nT3\tPosition 5 7\t胸部\nT4\tSymptom 7 9\t不适\n\
         R1\tSAP Arg1:T2 Arg2:T1\n",
    )
    .unwrap();
    let db = tmp.path().join("p.db");
    ok(&db, &["init"]);
    let dir = brat.to_str().unwrap();
    ok(&db, &["import", "--format", "brat", "--unlabeled-pairs", "none", dir]);
    let s = stats(&db);
    let pairs = s["pairs"].as_u64().unwrap();
    assert!(pairs >= 4, "{s}");
    assert_eq!(s["labels"]["SAP"]["human"], 1, "{s}");
    assert_eq!(s["labels"]["none"]["human"], pairs - 1, "{s}");
    assert_eq!(s["unlabeled_pairs"], 0, "{s}");

    let ccks = emrel(&db, &["import", "--format", "ccks2017", "--unlabeled-pairs", "none", dir]);
    assert!(!ccks.status.success());
    assert!(String::from_utf8_lossy(&ccks.stderr).contains("mark no relations"), "{ccks:?}");
}
