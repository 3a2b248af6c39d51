//! What a team project on a server adds: several clients writing at once, a database of another
//! application left alone, and no password in what the store prints.

use emrel_core::{LabelSource, Schema, prepare_document};
use emrel_store::{LabelAction, LabelWrite, Location, Store};
use emrel_testdb::{Target, both};

/// Eight clients, each with its own connections, label pairs at the same time: every
/// acknowledged event is stored once, with distinct ids, and each pair's current label is the
/// last one its client wrote.
async fn concurrent_clients_lose_no_label(t: Target) {
    let location = t.location("team.db").await;
    let store = Store::create(&location, "team", Schema::paper_default()).await.unwrap();
    let prepared: Vec<_> = emrel_formats::demo::generate(60, 5)
        .into_iter()
        .map(|d| prepare_document(store.schema(), d, false).unwrap())
        .collect();
    store.import(&prepared, "demo", &mut |_, _| {}).await.unwrap();
    let pairs: Vec<_> = store.pairs().await.unwrap().into_iter().map(|p| p.pair).collect();
    assert!(pairs.len() >= 80, "{} pairs", pairs.len());
    let clients = 8;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let location = location.clone();
        let mine: Vec<_> = pairs.iter().copied().skip(c).step_by(clients).take(10).collect();
        tasks.push(tokio::spawn(async move {
            let client = Store::open(&location).await.unwrap();
            let mut acked = Vec::new();
            for p in &mine {
                let name = format!("ann{c}");
                let w = LabelWrite::human(*p, "none", LabelAction::Set, &name);
                acked.push(client.append_label(&w).await.unwrap());
            }
            // An undo of the client's last label, racing the others' writes.
            let undone = client.undo_last(&format!("ann{c}")).await.unwrap().unwrap();
            client.close().await;
            (mine, acked, undone)
        }));
    }
    let mut all_ids = Vec::new();
    for task in tasks {
        let (mine, acked, undone) = task.await.unwrap();
        assert_eq!(undone.pair, *mine.last().unwrap());
        assert_eq!(undone.undone, *acked.last().unwrap());
        for (p, id) in mine.iter().zip(&acked) {
            let history = store.label_history(*p).await.unwrap();
            assert!(history.iter().any(|e| e.event == *id), "acknowledged event {id} is stored");
        }
        for p in &mine[..mine.len() - 1] {
            let current = store.current_label(*p).await.unwrap().unwrap();
            assert_eq!(
                (current.relation.as_deref(), current.source),
                (Some("none"), LabelSource::Human)
            );
        }
        assert!(store.current_label(undone.pair).await.unwrap().is_none());
        all_ids.extend(acked);
        all_ids.push(undone.event);
    }
    let n = all_ids.len();
    all_ids.sort();
    all_ids.dedup();
    assert_eq!(all_ids.len(), n, "every event has its own id");
    assert_eq!(store.label_counts_by_source().await.unwrap()["human"], clients * 9);
}
both!(concurrent_clients_lose_no_label);

/// A database that holds another application's tables is refused, for opening and for creating
/// a project, and nothing is added to it.
async fn a_foreign_database_is_refused_and_left_untouched(t: Target) {
    if !t.is_postgres() {
        return; // The SQLite case is `a_foreign_file_is_refused_and_left_untouched`.
    }
    let location = t.location("other").await;
    let Location::Server(url) = &location else { unreachable!() };
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
    sqlx::query("CREATE TABLE note (body TEXT)").execute(&mut c).await.unwrap();
    let tables = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'";
    let err = Store::open(&location).await.unwrap_err();
    assert!(err.to_string().contains("is not an EMRel project"), "{err}");
    let err = Store::create(&location, "p", Schema::paper_default()).await.unwrap_err();
    assert!(err.to_string().contains("is not an EMRel project"), "{err}");
    let n: i64 = sqlx::query_scalar(tables).fetch_one(&mut c).await.unwrap();
    assert_eq!(n, 1, "no table was added");
    // An empty database becomes a project, and opens again.
    let empty = t.location("empty").await;
    Store::create(&empty, "p", Schema::paper_default()).await.unwrap().close().await;
    let reopened = Store::open(&empty).await.unwrap();
    assert_eq!(reopened.schema().name, Schema::paper_default().name);
    assert_eq!(reopened.project_uid().await.unwrap().len(), 32);
}
both!(a_foreign_database_is_refused_and_left_untouched);

/// The password of a project URL appears in no error and in no printed location.
async fn no_password_in_errors(t: Target) {
    if !t.is_postgres() {
        return;
    }
    let Location::Server(url) = t.location("pw").await else { unreachable!() };
    // The database's name with `_missing` appended, and a password parameter.
    let (base, query) = url.split_once('?').unwrap_or((&url, ""));
    let sep = if query.is_empty() { "" } else { "&" };
    let missing = format!("{base}_missing?{query}{sep}password=Sup3rSecretPw");
    let location = Location::parse(&missing);
    assert!(!location.to_string().contains("Sup3rSecretPw"));
    let err = Store::open(&location).await.unwrap_err();
    assert!(!err.to_string().contains("Sup3rSecretPw"), "{err}");
    assert!(!format!("{err:?}").contains("Sup3rSecretPw"), "{err:?}");
}
both!(no_password_in_errors);

/// `emrel copy`: a SQLite project with labels, a model, scores and an iteration copied to the
/// target and back to a file reads the same everywhere (statistics, the full export, every
/// label's history, models, iterations, scores), and new rows get new ids after the copy.
async fn a_copy_there_and_back_is_lossless(t: Target) {
    let (source, _, it) =
        crate::with_open_iteration_at(Location::File(t.dir().join("solo.db")), 5).await;
    let pairs = source.pairs().await.unwrap();
    let w = LabelWrite::human(pairs[7].pair, "none", LabelAction::Set, "ann");
    source.append_label(&w).await.unwrap();
    source.undo_last("ann").await.unwrap();
    source.append_label(&w).await.unwrap();
    source
        .finish_iteration(it.id, emrel_store::IterationStatus::Active, &|_| "{}".into())
        .await
        .unwrap();
    let mv = source.current_model().await.unwrap().unwrap();
    let scores: Vec<_> = pairs
        .iter()
        .take(20)
        .enumerate()
        .map(|(i, p)| emrel_store::ScoreRecord {
            pair: p.pair,
            summary: emrel_store::ScoreSummary {
                top_relation: "none".into(),
                top_probability: 0.5 + i as f64 / 100.0,
                margin: 0.25,
                entropy: 0.125,
                top_valid: i % 3 != 0,
            },
            probabilities: vec![0.75, 0.25],
        })
        .collect();
    source.insert_scores(mv, &scores).await.unwrap();
    std::fs::create_dir_all(source.model_version(mv).await.unwrap().dir).unwrap();
    std::fs::write(source.model_version(mv).await.unwrap().dir.join("model.bin"), b"weights")
        .unwrap();

    let view = |s: Store| async move {
        let mut histories = Vec::new();
        for p in s.pairs().await.unwrap().iter().take(12) {
            histories.push(format!("{:?}", s.label_history(p.pair).await.unwrap()));
        }
        let models: Vec<_> = s
            .model_versions()
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.id, m.model, m.status, m.train_size, m.metrics_json, m.created_at))
            .collect();
        let weights =
            std::fs::read(s.model_version(models[0].0).await.unwrap().dir.join("model.bin"))
                .unwrap();
        let out = (
            s.stats().await.unwrap(),
            s.export(&emrel_store::ExportFilter::default()).await.unwrap(),
            histories,
            format!("{models:?}"),
            format!("{:?}", s.iterations().await.unwrap()),
            s.version_probabilities(models[0].0).await.unwrap(),
            format!("{:?}", s.queue_rows(Some(models[0].0), Some("ann")).await.unwrap()),
            s.current_model().await.unwrap(),
            s.project_uid().await.unwrap(),
            weights,
        );
        s.close().await;
        out
    };
    let there = t.location("team").await;
    let summary = source.copy_to(&there).await.unwrap();
    assert!(summary.rows.iter().any(|(t, n)| t == "label_event" && *n > 5));
    assert_eq!(summary.model_files, 1);
    let back = Location::File(t.dir().join("archive.db"));
    Store::open(&there).await.unwrap().copy_to(&back).await.unwrap();
    let original = view(Store::open(t.dir().join("solo.db")).await.unwrap()).await;
    assert_eq!(view(Store::open(&there).await.unwrap()).await, original);
    assert_eq!(view(Store::open(&back).await.unwrap()).await, original);

    // A copy onto a project is refused; new rows continue after the copied ids.
    let err = source.copy_to(&there).await.unwrap_err();
    assert!(err.to_string().contains("already holds a project"), "{err}");
    let copy = Store::open(&there).await.unwrap();
    let last = copy.last_label_event().await.unwrap();
    let next = copy
        .append_label(&LabelWrite::human(pairs[9].pair, "none", LabelAction::Set, "bob"))
        .await
        .unwrap();
    assert!(next.0 > last.0);
    copy.close().await;
}
both!(a_copy_there_and_back_is_lossless);
