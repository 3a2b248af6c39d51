//! Semantic-drift review with a tiny real model: drift metrics stored at admission, an alarm
//! quarantining a deliberately corrupted iteration, the audit answered from gold, and the
//! reviewers' actions.

use std::sync::Arc;

use emrel_core::{LabelSource, NONE};
use emrel_engine::{
    BootstrapOptions, CancelToken, Corruption, NullSink, ReviewAction, SimulateOptions, Strategy,
};

use crate::{demo_project, tiny};
use emrel_testdb::{Target, both};

fn options(corrupt: Option<Corruption>) -> SimulateOptions {
    SimulateOptions {
        bootstrap: BootstrapOptions {
            train: tiny(8),
            batch_size: 250,
            threshold: 0.5,
            max_iterations: Some(2),
            max_rejections: 3,
            ..BootstrapOptions::default()
        },
        seed_labels: 300,
        strategy: Strategy::Random,
        human_budget: 0,
        human_per_iteration: None,
        seed: 1,
        corrupt,
    }
}

both!(a_corrupted_iteration_raises_alarms_is_quarantined_and_can_be_audited);
async fn a_corrupted_iteration_raises_alarms_is_quarantined_and_can_be_audited(t: Target) {
    let project = demo_project(&t, 300, 1).await;
    let corrupt = Corruption { iteration: 1, share: 0.8, seed: 5 };
    let rows =
        project.simulate(&options(Some(corrupt)), Arc::new(NullSink), CancelToken::new()).await;
    let rows = rows.unwrap();
    assert!(rows.len() >= 2, "{rows:?}");
    let seed_model = project.models().await.unwrap()[0].version;

    let review = project.review().await.unwrap();
    let first = &review[0];
    let drift = first.drift.as_ref().expect("drift metrics are stored with the iteration");
    assert_eq!(drift.iteration, 1);
    assert_eq!(drift.admitted, first.admitted);
    assert!(drift.relations.iter().map(|r| r.admitted).sum::<usize>() == drift.admitted);
    assert!(drift.jsd > 0.0 && drift.jsd <= 1.0);
    assert!(drift.f1.is_some() && drift.previous_f1.is_some());
    assert!(!first.alarms.is_empty(), "80% flipped labels raise an alarm: {drift:?}");
    let names = |v: &[emrel_core::drift::Alarm]| -> Vec<(String, String)> {
        v.iter().map(|a| (a.relation.clone(), a.metric.clone())).collect()
    };
    assert_eq!(names(&first.alarms), names(&first.admission_alarms));
    for a in &first.alarms {
        assert_eq!(a.iteration, 1);
        assert!(!a.metric.is_empty());
    }
    assert_eq!(first.status, "quarantined", "an alarm quarantines the iteration");
    assert_ne!(
        project.current_model().await.unwrap(),
        first.model_version,
        "the quarantined iteration's model is not promoted"
    );
    let _ = seed_model;

    // The audit with a reviewer answering from gold.
    let truth = project.admitted_precision_from_gold(1).await.unwrap().unwrap();
    let before = project.audit_summary(1, None).await.unwrap();
    assert_eq!(
        (before.judged, before.precision, before.decision.as_str()),
        (0, None, "sample_more")
    );
    assert_eq!(before.population, first.admitted);
    let next = project.audit_next(1, None).await.unwrap().unwrap();
    assert!(next.item.suggestion.is_none() && next.item.current.is_none(), "the score is hidden");
    assert_eq!(next.remaining, before.sample);

    let summary = project.audit_from_gold(1, None, "reviewer").await.unwrap();
    assert_eq!(summary.judged, summary.sample);
    assert!(project.audit_next(1, None).await.unwrap().is_none());
    let p = summary.precision.unwrap();
    assert!(summary.low <= p && p <= summary.high);
    assert!(summary.low <= truth && truth <= summary.high, "{truth} in {summary:?}");
    assert!(truth < 0.5, "most labels were flipped: {truth}");
    assert_eq!(summary.decision, "roll_back", "{summary:?}");
    for s in &summary.strata {
        assert_eq!(s.judged, s.size.min(20));
        assert!(s.low <= s.high);
    }

    // Judged labels became human: confirmed when right, fixed to gold when wrong.
    let gold = project.store().gold_labels().await.unwrap();
    let judged = project.store().judgements(project.store().iterations().await.unwrap()[0].id);
    let judged = judged.await.unwrap();
    for j in judged.iter().take(10) {
        let label = project.store().current_label(j.pair).await.unwrap().unwrap();
        assert_eq!(label.source, LabelSource::Human);
        assert_eq!(label.relation.as_deref(), Some(gold.get(&j.pair).map_or(NONE, String::as_str)));
    }
    assert!(project.judge(1, judged[0].pair, None, "reviewer").await.is_err(), "judged once");

    // Actions.
    let accepted = project.review_iteration(1, ReviewAction::Accept).await.unwrap();
    assert_eq!((accepted.status.as_str(), accepted.accepted), ("active", true));
    let q = project.review_iteration(1, ReviewAction::Quarantine).await.unwrap();
    assert_eq!((q.status.as_str(), q.accepted), ("quarantined", false));
    assert!(project.set_relation_threshold("nope", Some(0.9)).await.is_err());
    project.set_relation_threshold("SAP", Some(0.95)).await.unwrap();
    project.freeze_relation("DAP", true).await.unwrap();
    let lambda = project.settings().await.unwrap().lambda();
    assert_eq!(lambda.of("SAP"), 0.95);
    assert!(!lambda.admits("DAP", 1.0));
}

both!(clean_iterations_store_drift_without_quarantine_when_switched_off);
async fn clean_iterations_store_drift_without_quarantine_when_switched_off(t: Target) {
    let project = demo_project(&t, 300, 1).await;
    crate::without_auto_quarantine(&project).await;
    project.simulate(&options(None), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    let review = project.review().await.unwrap();
    assert!(!review.is_empty());
    for r in &review {
        assert!(r.drift.is_some());
        assert_ne!(r.status, "quarantined", "auto-quarantine is off");
    }

    // A label a person set after admission survives the audit's judgement.
    let it = &project.store().iterations().await.unwrap()[0];
    let admitted = project.store().admitted_labels(it.id).await.unwrap();
    let a = &admitted[0];
    let item = project.item(a.pair).await.unwrap();
    let other = item.relations.iter().map(|r| r.name.as_str()).find(|r| *r != a.relation).unwrap();
    let set = project.set_label(a.pair, other, "annotator").await.unwrap();
    project.judge(1, a.pair, None, "reviewer").await.unwrap();
    let after = project.store().current_label(a.pair).await.unwrap().unwrap();
    assert_eq!(
        (after.event, after.relation.as_deref()),
        (set, Some(other)),
        "the person's label stays"
    );
    assert_eq!(project.audit_summary(1, None).await.unwrap().judged, 1, "the judgement counts");

    // Quarantining the iteration whose model is current restores the model that admitted it.
    let promoted = review.iter().find(|r| r.status == "active" && r.model_version.is_some());
    if let Some(r) = promoted
        && project.current_model().await.unwrap() == r.model_version
    {
        project.review_iteration(r.iteration, ReviewAction::Quarantine).await.unwrap();
        assert_eq!(project.current_model().await.unwrap(), r.base_model_version);
    }
}
