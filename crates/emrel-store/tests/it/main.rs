//! Store integration tests, each on SQLite and on a real PostgreSQL server (`both!`): imports
//! are atomic and idempotent, statistics count what was imported, JSONL and brat exports read
//! back into a new project unchanged, and the bootstrapping transactions keep their promises.

use std::path::Path;

use emrel_core::{LabelSource, Schema, prepare_document};
use emrel_formats::export::{ExportDocument, write_jsonl_line};
use emrel_store::{ExportFilter, Store};
use emrel_testdb::{Target, both};

mod postgres;

const TXT: &str = "患者腹部疼痛，无头痛。\n行腹部CT检查，CT示肝脏\n低密度影。术后恢复好。";
// 腹部(2,4) 疼痛(4,6) 头痛(8,10) 腹部(13,15) CT(15,17) CT(20,22) 肝脏(23,25) 低密度影(26,30)
const ANN: &str = "T1\tPosition 2 4\t腹部\nT2\tSymptom 4 6\t疼痛\nT3\tSymptom 8 10\t头痛\n\
T4\tPosition 13 15\t腹部\nT5\tTest 15 17\tCT\nT6\tTest 20 22\tCT\nT7\tPosition 23 25\t肝脏\n\
T8\tSymptom 26 30\t低密度影\nR1\tSAP Arg1:T2 Arg2:T1\nR2\tTeAP Arg1:T5 Arg2:T4\nR3\tTeCP Arg1:T6 Arg2:T7\n\
R4\tnone Arg1:T5 Arg2:T7\nR5\tTeRS Arg1:T6 Arg2:T8\n";

fn brat_fixture(dir: &Path, ann: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("doc1.txt"), TXT).unwrap();
    std::fs::write(dir.join("doc1.ann"), ann).unwrap();
    std::fs::write(dir.join("doc2.txt"), "头部疼痛。").unwrap();
    std::fs::write(
        dir.join("doc2.ann"),
        "T1\tPosition 0 2\t头部\nT2\tSymptom 2 4\t疼痛\nR1\tSAP Arg1:T2 Arg2:T1\n",
    )
    .unwrap();
}

async fn project(t: &Target, name: &str) -> Store {
    Store::create(t.location(name).await, name, Schema::paper_default()).await.unwrap()
}

async fn import_brat(store: &Store, dir: &Path, source: LabelSource) -> emrel_store::ImportSummary {
    let read = emrel_formats::brat::read(&[dir.to_path_buf()], source).unwrap();
    let prepared: Vec<_> = read
        .documents
        .into_iter()
        .map(|d| prepare_document(store.schema(), d, false).unwrap())
        .collect();
    store.import(&prepared, "brat", &mut |_, _| {}).await.unwrap()
}

/// What a user compares after a round trip: sentences, entities and labels (relation and source).
fn corpus_view(docs: &[ExportDocument]) -> Vec<String> {
    let mut out = Vec::new();
    for d in docs {
        for s in &d.sentences {
            out.push(format!("{} #{} @{} {:?}", d.name, s.sentence, s.offset, s.text));
            for e in &s.entities {
                out.push(format!("  {} {} {:?} {}", e.id, e.entity_type, e.spans, e.text));
            }
            let mut labels: Vec<String> = s
                .labels
                .iter()
                .map(|l| format!("  {} -> {} {} {}", l.head, l.tail, l.relation, l.source))
                .collect();
            labels.sort();
            out.extend(labels);
        }
    }
    out
}

both!(brat_import_counts_sentences_entities_pairs_and_labels);
async fn brat_import_counts_sentences_entities_pairs_and_labels(t: Target) {
    let data = t.dir().join("brat");
    brat_fixture(&data, ANN);
    let store = project(&t, "a.db").await;
    let summary = import_brat(&store, &data, LabelSource::Human).await;
    assert_eq!(summary.documents_added, 2);
    let s = store.stats().await.unwrap();
    assert_eq!((s.documents, s.sentences, s.entities), (2, 4, 10));
    assert_eq!(s.entities_per_type["position"], 4);
    // Sentence 1: 疼痛->腹部, 头痛->腹部; sentence 2: CT,CT -> 腹部,肝脏 (4), CT,CT -> 低密度影 (2),
    // 低密度影 -> 腹部, 肝脏 (2); doc2: 1.
    assert_eq!(s.pairs, 11);
    assert_eq!(s.labels["SAP"]["human"], 2);
    assert_eq!(s.labels["none"]["human"], 1);
    assert_eq!(s.unlabeled_pairs, 11 - 6);
    let tp = s.categories.iter().find(|c| c.category == "test-position").unwrap();
    assert_eq!(tp.pairs, 4);
    assert_eq!(tp.labels["TeCP"], 1);
}

both!(importing_the_same_documents_twice_adds_nothing);
async fn importing_the_same_documents_twice_adds_nothing(t: Target) {
    let data = t.dir().join("brat");
    brat_fixture(&data, ANN);
    let store = project(&t, "a.db").await;
    import_brat(&store, &data, LabelSource::Human).await;
    let before = store.stats().await.unwrap();
    let again = import_brat(&store, &data, LabelSource::Human).await;
    assert_eq!((again.documents_added, again.documents_unchanged, again.labels), (0, 2, 0));
    assert_eq!(store.stats().await.unwrap(), before);
}

both!(a_failed_import_leaves_the_database_unchanged);
async fn a_failed_import_leaves_the_database_unchanged(t: Target) {
    let data = t.dir().join("brat");
    brat_fixture(&data, ANN);
    let store = project(&t, "a.db").await;
    import_brat(&store, &t.dir().join("brat"), LabelSource::Human).await;
    let before = store.stats().await.unwrap();
    // A batch whose first document is new and whose second clashes with a stored one.
    let new_doc = emrel_core::DocumentInput {
        name: "doc3".into(),
        text: "胸部疼痛。".into(),
        entities: vec![],
        relations: vec![],
        sentences: None,
        origin: emrel_core::Origin::new("doc3.txt", 0),
    };
    let mut clash = new_doc.clone();
    clash.name = "doc2".into();
    let schema = store.schema().clone();
    let batch = vec![
        prepare_document(&schema, new_doc, false).unwrap(),
        prepare_document(&schema, clash, false).unwrap(),
    ];
    let err = store.import(&batch, "brat", &mut |_, _| {}).await.unwrap_err();
    assert_eq!(err.to_string(), "document `doc2` is already in the project with different content");
    assert_eq!(store.stats().await.unwrap(), before, "doc3 must not have been kept");
}

both!(jsonl_round_trip_keeps_sentences_entities_labels_and_provenance);
async fn jsonl_round_trip_keeps_sentences_entities_labels_and_provenance(t: Target) {
    let data = t.dir().join("brat");
    brat_fixture(&data, ANN);
    let a = project(&t, "a.db").await;
    import_brat(&a, &data, LabelSource::Human).await;
    // Gold labels too, on a second copy of the same corpus under other names.
    let gold = t.dir().join("gold");
    brat_fixture(&gold, ANN);
    std::fs::rename(gold.join("doc1.txt"), gold.join("g1.txt")).unwrap();
    std::fs::rename(gold.join("doc1.ann"), gold.join("g1.ann")).unwrap();
    std::fs::remove_file(gold.join("doc2.txt")).unwrap();
    std::fs::remove_file(gold.join("doc2.ann")).unwrap();
    import_brat(&a, &gold, LabelSource::Gold).await;
    let exported = a.export(&ExportFilter::default()).await.unwrap();
    let file = t.dir().join("out.jsonl");
    let mut w = std::fs::File::create(&file).unwrap();
    for d in &exported {
        for s in &d.sentences {
            write_jsonl_line(&mut w, s).unwrap();
        }
    }
    drop(w);
    let b = project(&t, "b.db").await;
    let docs = emrel_formats::jsonl::read(&[file]).unwrap();
    let prepared: Vec<_> =
        docs.into_iter().map(|d| prepare_document(b.schema(), d, false).unwrap()).collect();
    b.import(&prepared, "jsonl", &mut |_, _| {}).await.unwrap();
    let back = b.export(&ExportFilter::default()).await.unwrap();
    assert_eq!(corpus_view(&back), corpus_view(&exported));
    // Full provenance, timestamps included, survives.
    let labels = |docs: &[ExportDocument]| -> Vec<_> {
        docs.iter().flat_map(|d| d.sentences.iter().flat_map(|s| s.labels.clone())).collect()
    };
    assert_eq!(labels(&back), labels(&exported));
    assert_eq!(a.stats().await.unwrap().labels, b.stats().await.unwrap().labels);
}

both!(brat_round_trip_keeps_sentences_entities_and_labels);
async fn brat_round_trip_keeps_sentences_entities_and_labels(t: Target) {
    let data = t.dir().join("brat");
    brat_fixture(&data, ANN);
    let a = project(&t, "a.db").await;
    import_brat(&a, &data, LabelSource::Human).await;
    let exported = a.export(&ExportFilter::default()).await.unwrap();
    let out = t.dir().join("out");
    for d in &exported {
        emrel_formats::brat::write(&out, d).unwrap();
    }
    let b = project(&t, "b.db").await;
    import_brat(&b, &out, LabelSource::Human).await;
    let back = b.export(&ExportFilter::default()).await.unwrap();
    assert_eq!(corpus_view(&back), corpus_view(&exported));
    assert_eq!(back[0].text, TXT);
}

both!(export_filters_select_labels_by_source);
async fn export_filters_select_labels_by_source(t: Target) {
    let data = t.dir().join("brat");
    brat_fixture(&data, ANN);
    let a = project(&t, "a.db").await;
    import_brat(&a, &data, LabelSource::Human).await;
    let count = |docs: Vec<ExportDocument>| -> usize {
        docs.iter().flat_map(|d| &d.sentences).map(|s| s.labels.len()).sum()
    };
    let all = a.export(&ExportFilter::default()).await.unwrap();
    assert_eq!(count(all), 6);
    let auto_only = ExportFilter { sources: vec![LabelSource::Auto], ..Default::default() };
    let docs = a.export(&auto_only).await.unwrap();
    assert_eq!(docs.iter().map(|d| d.sentences.len()).sum::<usize>(), 4, "sentences stay");
    assert_eq!(count(docs), 0);
    let high = ExportFilter { min_probability: Some(0.9), ..Default::default() };
    assert_eq!(count(a.export(&high).await.unwrap()), 6, "human labels count as certain");
    let iters = ExportFilter { iterations: Some((1, 2)), ..Default::default() };
    assert_eq!(count(a.export(&iters).await.unwrap()), 0, "human labels have no iteration");
}

both!(pairs_by_id_reads_only_the_pairs_asked_for);
async fn pairs_by_id_reads_only_the_pairs_asked_for(t: Target) {
    let data = t.dir().join("brat");
    brat_fixture(&data, ANN);
    let store = project(&t, "p.db").await;
    import_brat(&store, &data, LabelSource::Seed).await;
    let all = store.pairs().await.unwrap();
    assert!(all.len() > 4);
    let last = all.last().unwrap().pair;
    let missing = emrel_store::PairId(last.0 + 1000);
    // Out of order, with a duplicate and an id that does not exist.
    let ids = [last, all[1].pair, missing, all[1].pair];
    let some = store.pairs_by_id(&ids).await.unwrap();
    assert_eq!(some.iter().map(|p| p.pair).collect::<Vec<_>>(), [all[1].pair, last]);
    assert_eq!(some[0], all[1]);
    assert_eq!(&some[1], all.last().unwrap());
    assert!(store.pairs_by_id(&[]).await.unwrap().is_empty());
}

fn sha256(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// Regression: opening a SQLite file that is not an EMRel project ran the migrations on it
/// (another application's file got EMRel's tables and WAL mode). It is refused, for opening and
/// for creating a project in it, and its bytes stay the same, with no `-wal`/`-shm` beside it.
#[tokio::test]
async fn a_foreign_file_is_refused_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign = tmp.path().join("other-app.db");
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&foreign)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete);
        let mut c = sqlx::ConnectOptions::connect(&opts).await.unwrap();
        sqlx::query("CREATE TABLE note (body TEXT)").execute(&mut c).await.unwrap();
        sqlx::query("INSERT INTO note VALUES ('keep me')").execute(&mut c).await.unwrap();
        sqlx::Connection::close(c).await.unwrap();
    }
    let text = tmp.path().join("notes.txt");
    std::fs::write(&text, "not a database at all\n").unwrap();
    for path in [&foreign, &text] {
        let before = sha256(path);
        let err = Store::open(path).await.unwrap_err();
        assert!(err.to_string().contains("is not an EMRel project"), "{err}");
        let err = Store::create(path, "p", Schema::paper_default()).await.unwrap_err();
        assert!(err.to_string().contains("is not an EMRel project"), "{err}");
        assert_eq!(sha256(path), before, "{} was changed", path.display());
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            assert!(!Path::new(&side).exists(), "{suffix} left beside {}", path.display());
        }
    }
    // A real project still opens (and an empty file may still become one).
    let empty = tmp.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    Store::create(&empty, "p", Schema::paper_default()).await.unwrap().close().await;
    Store::open(&empty).await.unwrap().close().await;
}

/// A demo project with a ready model version `v`, and iteration 1 of bootstrapping that admitted
/// automatic labels for `n` unlabeled pairs with `v` (started, not finished).
async fn with_open_iteration(
    t: &Target,
    n: usize,
) -> (Store, emrel_store::ModelVersionId, emrel_store::IterationRecord) {
    with_open_iteration_at(t.location("p.db").await, n).await
}

async fn with_open_iteration_at(
    location: emrel_store::Location,
    n: usize,
) -> (Store, emrel_store::ModelVersionId, emrel_store::IterationRecord) {
    let store = Store::create(location, "p", Schema::paper_default()).await.unwrap();
    let prepared: Vec<_> = emrel_formats::demo::generate(20, 3)
        .into_iter()
        .map(|d| prepare_document(store.schema(), d, false).unwrap())
        .collect();
    store.import(&prepared, "demo", &mut |_, _| {}).await.unwrap();
    let mv = store.insert_model_version("cnn", "tiny", 0, "{}", None).await.unwrap();
    store
        .finish_model_version(mv.id, emrel_store::ModelStatus::Ready, Some("{}"), 0.0)
        .await
        .unwrap();
    store.promote(mv.id, "test").await.unwrap();
    let admissions: Vec<emrel_store::Admission> = store
        .pairs()
        .await
        .unwrap()
        .iter()
        .take(n)
        .map(|p| emrel_store::Admission {
            pair: p.pair,
            relation: "none".into(),
            probability: 0.95,
        })
        .collect();
    let it = store.start_iteration(mv.id, 0.9, n, None, None, &admissions).await.unwrap();
    (store, mv.id, it)
}

both!(undo_after_a_rollback_does_not_bring_the_rolled_back_label_back);
async fn undo_after_a_rollback_does_not_bring_the_rolled_back_label_back(t: Target) {
    let (store, _, it) = with_open_iteration(&t, 3).await;
    let pair = store.current_auto_labels(it.id).await.unwrap()[0].0;
    // The annotator confirms the automatic label, the iteration is rolled back (their label
    // stays), then they undo their label: the pair must be unlabeled, not auto-labeled again by
    // an iteration that no longer exists.
    let w = emrel_store::LabelWrite::human(pair, "none", emrel_store::LabelAction::Confirm, "ann");
    store.append_label(&w).await.unwrap();
    store.roll_back_from(it.idx, None).await.unwrap();
    assert_eq!(store.current_label(pair).await.unwrap().unwrap().source, LabelSource::Human);
    let undone = store.undo_last("ann").await.unwrap().unwrap();
    assert_eq!(undone.restored, None);
    assert!(store.current_label(pair).await.unwrap().is_none(), "the pair is unlabeled again");
    assert!(store.current_auto_labels(it.id).await.unwrap().is_empty());
}

both!(a_quarantine_during_promotion_stands_and_demotes_the_model);
async fn a_quarantine_during_promotion_stands_and_demotes_the_model(t: Target) {
    use emrel_store::IterationStatus;
    let (store, base, it) = with_open_iteration(&t, 3).await;
    let trained = store.insert_model_version("cnn", "tiny", 3, "{}", None).await.unwrap();
    store
        .finish_model_version(trained.id, emrel_store::ModelStatus::Ready, Some("{}"), 0.0)
        .await
        .unwrap();
    store.set_iteration_model(it.id, trained.id).await.unwrap();

    // Quarantined before the promotion: the promotion is refused.
    store.quarantine_iteration(it.id).await.unwrap();
    assert!(!store.promote_for_iteration(it.id, trained.id, "iteration 1").await.unwrap());
    assert_eq!(store.current_model().await.unwrap(), Some(base));
    // The run that finishes the iteration afterwards cannot overwrite the reviewer's decision.
    let stored = store
        .finish_iteration(it.id, IterationStatus::Active, &|s| {
            format!("{{\"status\":\"{}\"}}", s.as_str())
        })
        .await
        .unwrap();
    assert_eq!(stored, IterationStatus::Quarantined);
    let row = store.iteration(it.id).await.unwrap();
    assert_eq!(row.status, IterationStatus::Quarantined);
    assert_eq!(row.metrics_json.as_deref(), Some("{\"status\":\"quarantined\"}"));

    // Quarantined after the promotion (while the pool is scored): the base model is current
    // again in the same transaction.
    store.set_iteration_status(it.id, IterationStatus::Active).await.unwrap();
    assert!(store.promote_for_iteration(it.id, trained.id, "iteration 1").await.unwrap());
    assert_eq!(store.current_model().await.unwrap(), Some(trained.id));
    assert_eq!(store.quarantine_iteration(it.id).await.unwrap(), Some(base));
    assert_eq!(store.current_model().await.unwrap(), Some(base));
    let stored =
        store.finish_iteration(it.id, IterationStatus::Active, &|_| "{}".into()).await.unwrap();
    assert_eq!(stored, IterationStatus::Quarantined);
}

#[tokio::test]
async fn after_close_the_database_file_alone_holds_the_project() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path().join("a.db"), "a", Schema::paper_default()).await.unwrap();
    let data = dir.path().join("brat");
    brat_fixture(&data, ANN);
    import_brat(&store, &data, LabelSource::Human).await;
    let before = store.stats().await.unwrap();
    store.close().await;
    // The file copied alone (what a user mails) is the whole project.
    let copy = dir.path().join("copy.db");
    std::fs::copy(dir.path().join("a.db"), &copy).unwrap();
    let reopened = Store::open(&copy).await.unwrap();
    assert_eq!(reopened.stats().await.unwrap(), before);
}
