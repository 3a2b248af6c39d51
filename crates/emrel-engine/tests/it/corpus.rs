//! The corpus use cases both front ends call: the demo project, imports (strict and lenient,
//! with progress) and exports with filters.

use emrel_core::LabelSource;
use emrel_engine::ErrorCode;
use emrel_engine::corpus::{
    self, CorpusPhase, DemoOptions, ExportFormat, ExportOptions, ImportFormat, ImportOptions,
};
use emrel_store::{ExportFilter, Store};

fn brat_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let brat = dir.join("brat");
    std::fs::create_dir_all(&brat).unwrap();
    std::fs::write(brat.join("a.txt"), "头部疼痛。").unwrap();
    std::fs::write(
        brat.join("a.ann"),
        "T1\tPosition 0 2\t头部\nT2\tSymptom 2 4\t疼痛\nR1\tSAP Arg1:T2 Arg2:T1\n",
    )
    .unwrap();
    std::fs::write(brat.join("b.txt"), "胸部疼痛。").unwrap();
    std::fs::write(brat.join("b.ann"), "T1\tPosition 0 2\t胸部\nT2\tSymptom 2 9\t疼痛\n").unwrap();
    brat
}

#[tokio::test]
async fn demo_creates_the_project_and_a_second_run_adds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("demo.db");
    let options = DemoOptions { sentences: 120, seed: 7 };
    let mut phases = Vec::new();
    let first = corpus::demo(&path, "demo", options, &mut |p, _, _| {
        if phases.last() != Some(&p) {
            phases.push(p);
        }
    })
    .await
    .unwrap();
    assert!(first.documents_added > 0 && first.pairs > 0 && first.labels > 0);
    assert_eq!(
        phases,
        [CorpusPhase::Generating, CorpusPhase::Checking, CorpusPhase::Importing],
        "progress goes through the phases in order"
    );
    let again = corpus::demo(&path, "demo", options, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(again.documents_added, 0);
    assert_eq!(again.documents_unchanged, first.documents_added);
    let store = Store::open(&path).await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.pairs, first.pairs);
    let gold: usize = stats.labels.values().map(|by| by.get("gold").copied().unwrap_or(0)).sum();
    assert_eq!(gold, first.labels, "the demo's labels are hidden gold answers");
    store.close().await;
}

#[tokio::test]
async fn a_strict_import_stops_at_a_bad_record_and_a_lenient_one_skips_it() {
    let tmp = tempfile::tempdir().unwrap();
    let brat = brat_fixture(tmp.path());
    let store = Store::create(&tmp.path().join("p.db"), "p", emrel_core::Schema::paper_default())
        .await
        .unwrap();
    let mut options = ImportOptions::new(ImportFormat::Brat, vec![brat]);
    let err = corpus::import(&store, &options, &mut |_, _, _| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Input);
    assert!(err.to_string().contains("b.ann:2: span 2..9 is outside the text"), "{err}");
    assert_eq!(store.stats().await.unwrap().documents, 0, "nothing was imported");

    options.lenient = true;
    options.relations_as = LabelSource::Gold;
    let outcome = corpus::import(&store, &options, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(outcome.summary.documents_added, 2);
    assert_eq!(outcome.summary.skipped.len(), 1, "{:?}", outcome.summary.skipped);
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.labels["SAP"].get("gold"), Some(&1), "R lines became gold labels");
    assert_eq!(stats.labels["SAP"].get("human"), None);
    store.close().await;
}

#[tokio::test]
async fn export_writes_what_the_filter_keeps_and_reimports() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("demo.db");
    let summary =
        corpus::demo(&path, "demo", DemoOptions { sentences: 80, seed: 3 }, &mut |_, _, _| {})
            .await
            .unwrap();
    let store = Store::open(&path).await.unwrap();
    let out = tmp.path().join("gold.jsonl");
    let options = ExportOptions {
        format: ExportFormat::Jsonl,
        out: out.clone(),
        filter: ExportFilter { sources: vec![LabelSource::Gold], ..ExportFilter::default() },
        overwrite: false,
    };
    let mut written = 0;
    let exported = corpus::export(&store, &options, &mut |p, d, _| {
        if p == CorpusPhase::Writing {
            written = d
        }
    })
    .await
    .unwrap();
    assert_eq!(exported.documents, summary.documents_added);
    assert_eq!(written, exported.documents, "progress reached the last document");
    assert_eq!(exported.labels, summary.labels);
    assert_eq!(exported.by_source.get("gold"), Some(&summary.labels));
    let lines = std::fs::read_to_string(&out).unwrap().lines().count();
    assert_eq!(lines, exported.sentences);

    let human_only = ExportOptions {
        format: ExportFormat::Csv,
        out: tmp.path().join("human.csv"),
        filter: ExportFilter { sources: vec![LabelSource::Human], ..ExportFilter::default() },
        overwrite: false,
    };
    let none = corpus::export(&store, &human_only, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(none.labels, 0, "no human labels yet");
    let csv = std::fs::read_to_string(tmp.path().join("human.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1, "the header only");

    let backwards = ExportOptions {
        filter: ExportFilter { iterations: Some((5, 2)), ..ExportFilter::default() },
        ..options.clone()
    };
    let err = corpus::export(&store, &backwards, &mut |_, _, _| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid);
    store.close().await;

    let copy =
        Store::create(&tmp.path().join("copy.db"), "copy", emrel_core::Schema::paper_default())
            .await
            .unwrap();
    let back = corpus::import(
        &copy,
        &ImportOptions::new(ImportFormat::Jsonl, vec![out]),
        &mut |_, _, _| {},
    )
    .await
    .unwrap();
    assert_eq!(back.summary.sentences, exported.sentences);
    assert_eq!(back.summary.labels, exported.labels);
    copy.close().await;
}

#[tokio::test]
async fn an_export_to_an_unwritable_place_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("demo.db");
    corpus::demo(&path, "demo", DemoOptions { sentences: 20, seed: 1 }, &mut |_, _, _| {})
        .await
        .unwrap();
    let store = Store::open(&path).await.unwrap();
    let out = tmp.path().join("missing").join("x.jsonl");
    let options = ExportOptions {
        format: ExportFormat::Jsonl,
        out: out.clone(),
        filter: ExportFilter::default(),
        overwrite: false,
    };
    let err = corpus::export(&store, &options, &mut |_, _, _| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io);
    assert!(err.to_string().starts_with(&format!("cannot create {}", out.display())), "{err}");
    store.close().await;
}

fn sha256(path: &std::path::Path) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

async fn small_demo(dir: &std::path::Path) -> (std::path::PathBuf, Store) {
    let path = dir.join("p.db");
    corpus::demo(&path, "p", DemoOptions { sentences: 30, seed: 5 }, &mut |_, _, _| {})
        .await
        .unwrap();
    let store = Store::open(&path).await.unwrap();
    (path, store)
}

fn jsonl_to(out: std::path::PathBuf) -> ExportOptions {
    ExportOptions {
        format: ExportFormat::Jsonl,
        out,
        filter: ExportFilter::default(),
        overwrite: false,
    }
}

/// Regression: `emrel --project p.db export --format jsonl --out p.db` exited 0 and left `p.db`
/// "not a database". The project's own files are refused, even with overwrite and spelled
/// another way, and the database still opens with every pair.
#[tokio::test]
async fn an_export_onto_the_projects_own_files_is_refused_and_they_stay_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, store) = small_demo(tmp.path()).await;
    let pairs = store.stats().await.unwrap().pairs;
    let spelled = tmp.path().join(".").join("p.db");
    let wal = tmp.path().join("p.db-wal");
    let models = store.models_dir().join("v1.jsonl");
    for out in [path.clone(), spelled, wal, models] {
        let mut options = jsonl_to(out.clone());
        options.overwrite = true;
        let err = corpus::export(&store, &options, &mut |_, _, _| {}).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Invalid, "{}: {err}", out.display());
        assert!(err.to_string().contains("own file"), "{err}");
    }
    let brat_into_models = ExportOptions {
        format: ExportFormat::Brat,
        out: store.models_dir(),
        filter: ExportFilter::default(),
        overwrite: true,
    };
    assert!(corpus::export(&store, &brat_into_models, &mut |_, _, _| {}).await.is_err());
    store.close().await;
    let reopened = Store::open(&path).await.unwrap();
    assert_eq!(reopened.stats().await.unwrap().pairs, pairs);
    reopened.close().await;
}

#[tokio::test]
async fn an_existing_destination_is_refused_unless_overwrite_and_then_replaced_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, store) = small_demo(tmp.path()).await;
    let out = tmp.path().join("corpus.jsonl");
    std::fs::write(&out, "an earlier export\n").unwrap();
    let before = sha256(&out);
    let err = corpus::export(&store, &jsonl_to(out.clone()), &mut |_, _, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(sha256(&out), before, "a refused export leaves the file as it was");

    let mut options = jsonl_to(out.clone());
    options.overwrite = true;
    let written = corpus::export(&store, &options, &mut |_, _, _| {}).await.unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), written.sentences, "the whole new export replaced it");
    assert!(!text.contains("an earlier export"));
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".emrel-export-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
    store.close().await;
}

/// Regression: a JSONL document named `../../x` made a brat export write outside its folder, and
/// documents `a.b` and `a.c` both wrote `a.txt`.
#[tokio::test]
async fn brat_file_names_stay_inside_the_folder_and_never_collide() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, store) = small_demo(tmp.path()).await;
    let jsonl = tmp.path().join("all.jsonl");
    corpus::export(&store, &jsonl_to(jsonl.clone()), &mut |_, _, _| {}).await.unwrap();
    store.close().await;
    // Rename the first three documents of the export.
    let mut names = std::collections::BTreeMap::new();
    let wanted = ["../../x", "a.b", "a.c"];
    let lines: Vec<String> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let doc = v["doc"].as_str().unwrap().to_string();
            let n = names.len();
            let new = names.entry(doc).or_insert_with(|| wanted.get(n).map(|s| s.to_string()));
            if let Some(new) = new {
                v["doc"] = serde_json::Value::String(new.clone());
            }
            v.to_string()
        })
        .collect();
    let renamed = tmp.path().join("renamed.jsonl");
    std::fs::write(&renamed, lines.join("\n") + "\n").unwrap();
    let db = tmp.path().join("q.db");
    let q = Store::create(&db, "q", emrel_core::Schema::paper_default()).await.unwrap();
    corpus::import(&q, &ImportOptions::new(ImportFormat::Jsonl, vec![renamed]), &mut |_, _, _| {})
        .await
        .unwrap();
    let folder = tmp.path().join("deep").join("brat");
    let options = ExportOptions {
        format: ExportFormat::Brat,
        out: folder.clone(),
        filter: ExportFilter::default(),
        overwrite: false,
    };
    let summary = corpus::export(&q, &options, &mut |_, _, _| {}).await.unwrap();
    q.close().await;
    assert!(!tmp.path().join("x.txt").exists(), "nothing is written outside the folder");
    assert!(folder.join("_/_/x.txt").exists());
    assert!(folder.join("a.b.txt").exists() && folder.join("a.c.txt").exists());
    assert_ne!(
        std::fs::read_to_string(folder.join("a.b.ann")).unwrap(),
        std::fs::read_to_string(folder.join("a.c.ann")).unwrap()
    );
    assert_eq!(summary.renamed, vec![("../../x".to_string(), "_/_/x".to_string())]);
    // A second export into the now non-empty folder is refused.
    let err = corpus::export(&Store::open(&db).await.unwrap(), &options, &mut |_, _, _| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[tokio::test]
async fn an_exhaustively_annotated_corpus_labels_its_unrelated_pairs_none() {
    let tmp = tempfile::tempdir().unwrap();
    let brat = tmp.path().join("brat");
    std::fs::create_dir_all(&brat).unwrap();
    std::fs::write(brat.join("a.txt"), "头部疼痛，胸部不适。").unwrap();
    std::fs::write(
        brat.join("a.ann"),
        "T1\tPosition 0 2\t头部\nT2\tSymptom 2 4\t疼痛\nT3\tPosition 5 7\t胸部\nT4\tSymptom 7 9\t不适\n\
         R1\tSAP Arg1:T2 Arg2:T1\nR2\tSAP Arg1:T4 Arg2:T3\n",
    )
    .unwrap();
    let schema = emrel_core::Schema::paper_default();
    for (source, key) in [(LabelSource::Human, "human"), (LabelSource::Gold, "gold")] {
        let path = tmp.path().join(format!("{key}.db"));
        let store = Store::create(&path, "p", schema.clone()).await.unwrap();
        let mut options = ImportOptions::new(ImportFormat::Brat, vec![brat.clone()]);
        options.relations_as = source;
        options.unlabeled_pairs_none = true;
        corpus::import(&store, &options, &mut |_, _, _| {}).await.unwrap();
        let stats = store.stats().await.unwrap();
        assert!(stats.pairs > 2, "{stats:?}");
        assert_eq!(stats.labels["SAP"].get(key), Some(&2), "{stats:?}");
        assert_eq!(
            stats.labels["none"].get(key),
            Some(&(stats.pairs - 2)),
            "every pair without a relation is a {key} none: {stats:?}"
        );
        if source == LabelSource::Human {
            assert_eq!(stats.unlabeled_pairs, 0, "nothing is left to label");
        }
        store.close().await;
    }
    // Without the option the other pairs stay unlabeled.
    let store = Store::create(&tmp.path().join("plain.db"), "p", schema).await.unwrap();
    let options = ImportOptions::new(ImportFormat::Brat, vec![brat.clone()]);
    corpus::import(&store, &options, &mut |_, _, _| {}).await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.unlabeled_pairs, stats.pairs - 2);
    assert!(!stats.labels.get("none").is_some_and(|by| by.contains_key("human")));
    // CCKS 2017 folders mark no relations: the option is refused before anything is read.
    let mut ccks = ImportOptions::new(ImportFormat::Ccks2017, vec![tmp.path().join("absent")]);
    ccks.unlabeled_pairs_none = true;
    let err = corpus::import(&store, &ccks, &mut |_, _, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("CCKS 2017 folders mark no relations"), "{err}");
    store.close().await;
}
