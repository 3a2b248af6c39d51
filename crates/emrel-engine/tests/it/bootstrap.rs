//! Training, the gold split, bootstrapping iterations, rollback and the simulation, with a tiny
//! real model.

use std::collections::BTreeMap;
use std::sync::Arc;

use emrel_core::LabelSource;
use emrel_engine::{
    BootstrapOptions, CancelToken, NullSink, SimulateOptions, StopReason, Strategy, VecSink,
};

use crate::{demo_project, label_from_gold, tiny};
use emrel_testdb::{Target, both};

both!(gold_split_is_stratified_by_relation_and_frozen_on_first_training);
async fn gold_split_is_stratified_by_relation_and_frozen_on_first_training(t: Target) {
    let project = demo_project(&t, 120, 3).await;
    let labeled = label_from_gold(&project, 200, "ann").await;
    let store = project.store();
    let mut per_relation: BTreeMap<String, usize> = BTreeMap::new();
    for p in &labeled {
        *per_relation
            .entry(store.current_label(*p).await.unwrap().unwrap().relation.unwrap())
            .or_default() += 1;
    }
    let sink = Arc::new(VecSink::new());
    let r = project.train(&tiny(2), sink.clone(), CancelToken::new()).await.unwrap();
    let split = store.gold_split_labels().await.unwrap();
    let mut split_per: BTreeMap<String, usize> = BTreeMap::new();
    for (_, rel) in &split {
        *split_per.entry(rel.clone()).or_default() += 1;
    }
    for (rel, n) in &per_relation {
        let want = ((*n as f64 * 0.2).round() as usize).max(usize::from(*n >= 2));
        assert_eq!(split_per.get(rel).copied().unwrap_or(0), want, "relation {rel} of {n}");
    }
    assert_eq!(r.train_size, labeled.len() - split.len(), "the gold split is never trained on");
    assert_eq!(r.metrics.pairs, split.len());
    assert!(sink.events().iter().any(|e| matches!(e, emrel_engine::JobEvent::Epoch { .. })));
    // The temperature fitted on the gold split calibrates the suggestions annotators see.
    let temperature = r.metrics.temperature.expect("a temperature with 20+ gold items");
    assert!(temperature > 0.0 && temperature.is_finite());
    let unlabeled = project.queue_pairs(&emrel_engine::Queue::uncertain(), None).await.unwrap();
    let s = project.item(unlabeled[0]).await.unwrap().suggestion.expect("a scored pair");
    let c = s.calibrated.expect("the current model has a temperature");
    assert!((0.0..=1.0).contains(&c));
    if (temperature - 1.0).abs() > 1e-3 {
        assert!((c - s.probability).abs() > 1e-9, "calibration changed the figure");
    }

    // More labels and a second training leave the split as it was.
    label_from_gold(&project, 260, "ann").await;
    let r2 = project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    assert_eq!(store.gold_split_labels().await.unwrap(), split);
    assert_eq!(r2.train_size, labeled.len() + 260 - split.len());
    assert_eq!(project.current_model().await.unwrap(), Some(r2.version));
    let models = project.models().await.unwrap();
    assert_eq!(models.len(), 2);
    // `p.db.models/` beside a SQLite file; `<uid>.models/` in the data folder for a server.
    assert_eq!(models[1].dir.parent().unwrap(), store.models_dir());
    if !t.is_postgres() {
        assert!(store.models_dir().ends_with("p.db.models"));
    }
    let name = models[1].dir.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with(&format!("v{}-", r2.version)), "{name}");
    assert!(models[1].dir.join("meta.json").exists());
}

both!(rollback_restores_label_counts_per_source_and_the_previous_model);
async fn rollback_restores_label_counts_per_source_and_the_previous_model(t: Target) {
    let project = demo_project(&t, 150, 4).await;
    // These tests are about the loop and the promotion gate; the drift alarms have their own.
    crate::without_auto_quarantine(&project).await;
    label_from_gold(&project, 300, "ann").await;
    let options = BootstrapOptions {
        train: tiny(4),
        threshold: 0.5,
        batch_size: 80,
        tolerance_points: 100.0,
        max_iterations: Some(1),
        ..BootstrapOptions::default()
    };
    let sink = Arc::new(VecSink::new());
    let first = project.bootstrap(&options, sink.clone(), CancelToken::new()).await.unwrap();
    let seed = first.seed_model.as_ref().expect("a seed model is trained first").version;
    assert_eq!(first.iterations.len(), 1, "stopped by {:?}", first.stop);
    assert_eq!(first.stop, StopReason::MaxIterations);
    let store = project.store();
    let counts_1 = store.label_counts_by_source().await.unwrap();
    let model_1 = project.current_model().await.unwrap();
    assert_eq!(model_1, Some(first.iterations[0].version));
    assert_eq!(counts_1.get("auto").copied(), Some(first.iterations[0].admitted));

    let second = project.bootstrap(&options, Arc::new(NullSink), CancelToken::new()).await.unwrap();
    assert!(second.seed_model.is_none());
    let it2 = &second.iterations[0];
    assert_eq!(it2.iteration, 2);
    assert!(it2.admitted > 0);
    // Provenance of an admitted label: admitting model, iteration, probability, λ.
    let autos = store.current_auto_labels(it2.id).await.unwrap();
    let l = store.current_label(autos[0].0).await.unwrap().unwrap();
    assert_eq!(
        (l.source, l.model_version, l.iteration, l.threshold),
        (LabelSource::Auto, model_1, Some(it2.id), Some(0.5))
    );
    assert!(l.probability.unwrap() >= 0.5);

    // An annotator confirms one automatic label of iteration 2: it is human now and stays.
    let kept = autos[0].0;
    project.confirm(kept, "ann").await.unwrap();

    let r = project.rollback(2, Arc::new(NullSink), CancelToken::new()).await.unwrap();
    assert_eq!(r.reverted_labels, it2.admitted - 1);
    let mut expected = counts_1.clone();
    *expected.entry("human".into()).or_default() += 1;
    assert_eq!(store.label_counts_by_source().await.unwrap(), expected);
    assert_eq!(project.current_model().await.unwrap(), model_1);
    assert_eq!(store.current_label(kept).await.unwrap().unwrap().source, LabelSource::Human);

    let r = project.rollback(1, Arc::new(NullSink), CancelToken::new()).await.unwrap();
    assert_eq!(r.iterations, vec![1]);
    let counts = store.label_counts_by_source().await.unwrap();
    assert_eq!(counts.get("auto").copied().unwrap_or(0), 0);
    assert_eq!(counts.get("human"), expected.get("human"));
    assert_eq!(project.current_model().await.unwrap(), Some(seed));
    let statuses: Vec<_> =
        project.iterations().await.unwrap().iter().map(|(i, _)| i.status.as_str()).collect();
    assert_eq!(statuses, ["rolled_back", "rolled_back"]);
    assert!(project.rollback(1, Arc::new(NullSink), CancelToken::new()).await.is_err());
}

both!(simulation_with_a_tiny_model_runs_the_full_loop);
async fn simulation_with_a_tiny_model_runs_the_full_loop(t: Target) {
    let project = demo_project(&t, 300, 1).await;
    // These tests are about the loop and the promotion gate; the drift alarms have their own.
    crate::without_auto_quarantine(&project).await;
    let options = SimulateOptions {
        bootstrap: BootstrapOptions {
            train: tiny(8),
            batch_size: 300,
            max_iterations: Some(3),
            max_rejections: 3,
            ..BootstrapOptions::default()
        },
        seed_labels: 300,
        strategy: Strategy::Uncertainty,
        human_budget: 150,
        human_per_iteration: None,
        seed: 1,
        corrupt: None,
    };
    let rows = project.simulate(&options, Arc::new(NullSink), CancelToken::new()).await.unwrap();
    assert!(rows.len() >= 2, "{rows:?}");
    assert_eq!((rows[0].iteration, rows[0].human_labels, rows[0].auto_precision), (0, 300, None));
    for w in rows.windows(2) {
        assert!(w[1].human_labels > w[0].human_labels, "the annotator answered each round");
        assert!(w[1].total_labels >= w[1].human_labels);
        // The promotion gate: the current model never falls more than 1 point per round.
        assert!(w[1].f1 >= w[0].f1 - 0.01 - 1e-9, "{rows:?}");
    }
    assert!(rows.last().unwrap().f1 > rows[0].f1, "bootstrapping raised F1: {rows:?}");
    // The pool figure is measured on every pair a model was not trained on: the seed model's
    // pool is the whole project but its training labels, and it never grows as labels do.
    let pairs = project.store().stats().await.unwrap().pairs;
    let seed_model = &project.models().await.unwrap()[0];
    assert_eq!(rows[0].pool_pairs, pairs - seed_model.train_size, "{rows:?}");
    for w in rows.windows(2) {
        assert!(w[1].pool_pairs <= w[0].pool_pairs, "{rows:?}");
    }
    assert!(rows.last().unwrap().pool_pairs < rows[0].pool_pairs, "{rows:?}");
    assert!(rows.iter().all(|r| r.pool_f1 > 0.0 && r.pool_f1 <= 1.0), "{rows:?}");
    assert!(
        rows.last().unwrap().pool_f1 > rows[0].pool_f1,
        "bootstrapping raised pool F1: {rows:?}"
    );
    let admitted: Vec<f64> = rows.iter().filter_map(|r| r.auto_precision).collect();
    assert!(!admitted.is_empty(), "bootstrapping admitted labels: {rows:?}");
    assert!(admitted.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(project.simulate(&options, Arc::new(NullSink), CancelToken::new()).await.is_err());
}
