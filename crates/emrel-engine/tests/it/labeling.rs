//! The labeling API and the queues.

use emrel_core::NONE;
use emrel_engine::{Queue, QueueKind, QueueOrder};
use emrel_store::{ModelStatus, ScoreRecord, ScoreSummary};

use crate::{demo_project, label_from_gold};
use emrel_testdb::{Target, both};

both!(labeling_round_trip_with_undo_as_an_appended_event);
async fn labeling_round_trip_with_undo_as_an_appended_event(t: Target) {
    let project = demo_project(&t, 40, 1).await;
    let queue = Queue::seed_random(7);
    let item = project.next_item(&queue, "ann").await.unwrap().expect("the seed queue has pairs");
    assert!(item.current.is_none() && item.suggestion.is_none());
    assert_eq!(item.relations.last().unwrap().name, NONE);
    let schema = project.store().schema();
    for r in &item.relations {
        assert!(schema.allows(&r.name, &item.head.entity_type, &item.tail.entity_type));
    }
    let chars: Vec<char> = item.text.chars().collect();
    let [s, e] = item.head.spans[0];
    assert_eq!(chars[s..e].iter().collect::<String>(), item.head.mention);

    let first = &item.relations[0].name;
    let before = project.counts(&queue, "ann").await.unwrap();
    project.set_label(item.pair, first, "ann").await.unwrap();
    project.set_label(item.pair, NONE, "ann").await.unwrap();
    let wrong = if item.category == "disease-position" { "SAP" } else { "DAP" };
    let err = project.set_label(item.pair, wrong, "ann").await.unwrap_err();
    assert!(err.to_string().contains("is not allowed from"), "{err}");

    let after = project.counts(&queue, "ann").await.unwrap();
    assert_eq!(after.labeled_today, 2);
    assert_eq!(after.left_in_queue, before.left_in_queue - 1);
    assert_eq!(project.item(item.pair).await.unwrap().current.unwrap().relation, NONE);

    // Undo walks back one label at a time, each time by appending an event.
    let u = project.undo("ann").await.unwrap().unwrap();
    assert_eq!((u.pair, u.restored.as_deref()), (item.pair, Some(first.as_str())));
    let u = project.undo("ann").await.unwrap().unwrap();
    assert_eq!(u.restored, None);
    assert!(project.undo("ann").await.unwrap().is_none(), "nothing left to undo");
    assert!(project.item(item.pair).await.unwrap().current.is_none());
    let history = project.store().label_history(item.pair).await.unwrap();
    let actions: Vec<&str> = history
        .iter()
        .filter(|e| e.source != emrel_core::LabelSource::Gold)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(actions, ["set", "set", "undo", "undo"]);
    let c = project.counts(&queue, "ann").await.unwrap();
    assert_eq!((c.labeled_today, c.left_in_queue), (0, before.left_in_queue));

    // A skipped pair goes to the end of the annotator's queue, not of others'.
    project.skip(item.pair, "ann").await.unwrap();
    let pairs = project.queue_pairs(&queue, Some("ann")).await.unwrap();
    assert_eq!(pairs.last(), Some(&item.pair));
    assert_eq!(project.next_item(&queue, "bob").await.unwrap().unwrap().pair, item.pair);

    // Undo never discards someone else's later label.
    project.set_label(item.pair, first, "ann").await.unwrap();
    project.set_label(item.pair, NONE, "bob").await.unwrap();
    assert!(project.undo("ann").await.is_err());
}

both!(queues_are_ordered_from_stored_scores);
async fn queues_are_ordered_from_stored_scores(t: Target) {
    let project = demo_project(&t, 40, 2).await;
    let store = project.store();
    label_from_gold(&project, 5, "ann").await;
    let pairs = store.pairs().await.unwrap();
    let classes = store.schema().classes();
    let mv = store.insert_model_version("cnn", "tiny", 0, "{}", None).await.unwrap();
    store.finish_model_version(mv.id, ModelStatus::Ready, Some("{}"), 0.0).await.unwrap();
    store.promote(mv.id, "test").await.unwrap();
    // Unlabeled pairs get a stored score whose margin falls with the pair id: the queues must
    // follow these numbers, not run any model.
    let unlabeled = project.queue_pairs(&Queue::seed_random(1), None).await.unwrap();
    let mut scores = Vec::new();
    for (i, p) in unlabeled.iter().enumerate() {
        let pr = pairs.iter().find(|x| x.pair == *p).unwrap();
        let top = store
            .schema()
            .relations_for(&pr.head.entity_type, &pr.tail.entity_type)
            .next()
            .unwrap()
            .name
            .clone();
        let top_probability = 0.95 - 0.5 * i as f64 / unlabeled.len() as f64;
        let mut probs = vec![0.0f32; classes.len()];
        probs[classes.iter().position(|c| *c == top).unwrap()] = top_probability as f32;
        probs[0] = 1.0 - top_probability as f32;
        scores.push(ScoreRecord {
            pair: *p,
            summary: ScoreSummary {
                top_relation: top,
                top_probability,
                margin: 2.0 * top_probability - 1.0,
                entropy: 0.0,
                top_valid: true,
            },
            probabilities: probs,
        });
    }
    store.insert_scores(mv.id, &scores).await.unwrap();

    let uncertain = project.queue_pairs(&Queue::uncertain(), None).await.unwrap();
    let mut expected: Vec<_> = scores.iter().collect();
    expected.sort_by(|a, b| a.summary.margin.total_cmp(&b.summary.margin));
    assert_eq!(uncertain, expected.iter().map(|s| s.pair).collect::<Vec<_>>());

    let confirm = Queue { kind: QueueKind::Confirm, order: QueueOrder::Confidence, seed: 0 };
    let reliable: Vec<_> = project.queue_pairs(&confirm, None).await.unwrap();
    let passing: Vec<_> =
        expected.iter().filter(|s| s.summary.top_probability >= 0.7).map(|s| s.pair).collect();
    assert_eq!(reliable, passing, "the reliable set, lowest confidence first");
    let c = project.counts(&confirm, "ann").await.unwrap();
    assert_eq!((c.reliable, c.batch_size), (passing.len(), 1000));

    // The suggestion is the stored prediction; confirming it makes a human label that keeps
    // the model version and probability.
    let top = expected.last().unwrap();
    let item = project.item(top.pair).await.unwrap();
    let s = item.suggestion.unwrap();
    assert_eq!((s.relation.as_str(), s.model_version), (top.summary.top_relation.as_str(), mv.id));
    project.confirm(top.pair, "ann").await.unwrap();
    let l = store.current_label(top.pair).await.unwrap().unwrap();
    assert_eq!(
        (l.source, l.action.as_str(), l.model_version),
        (emrel_core::LabelSource::Human, "confirm", Some(mv.id))
    );
    assert!(!project.queue_pairs(&confirm, None).await.unwrap().contains(&top.pair));
}

/// A ready, promoted model version whose stored score for every pair of `pairs` puts
/// `probability` on `relation` (and the rest on `none`).
async fn model_predicting(
    project: &emrel_engine::Project,
    pairs: &[emrel_store::PairId],
    relation: &str,
    probability: f64,
) -> emrel_store::ModelVersionId {
    let store = project.store();
    let classes = store.schema().classes();
    let mv = store.insert_model_version("cnn", "tiny", 0, "{}", None).await.unwrap();
    store.finish_model_version(mv.id, ModelStatus::Ready, Some("{}"), 0.0).await.unwrap();
    let c = classes.iter().position(|x| x == relation).unwrap();
    let scores: Vec<ScoreRecord> = pairs
        .iter()
        .map(|&pair| {
            let mut probabilities = vec![0.0f32; classes.len()];
            probabilities[0] += (1.0 - probability) as f32;
            probabilities[c] += probability as f32;
            ScoreRecord {
                pair,
                summary: ScoreSummary {
                    top_relation: relation.to_string(),
                    top_probability: probability,
                    margin: 2.0 * probability - 1.0,
                    entropy: 0.0,
                    top_valid: true,
                },
                probabilities,
            }
        })
        .collect();
    store.insert_scores(mv.id, &scores).await.unwrap();
    store.promote(mv.id, "test").await.unwrap();
    mv.id
}

both!(a_confirm_stores_the_suggestion_the_annotator_saw_even_after_a_newer_model_is_promoted);
async fn a_confirm_stores_the_suggestion_the_annotator_saw_even_after_a_newer_model_is_promoted(
    t: Target,
) {
    let project = demo_project(&t, 40, 3).await;
    let store = project.store();
    let pairs: Vec<_> = store
        .pairs()
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.category == "symptom-position")
        .map(|p| p.pair)
        .collect();
    assert!(pairs.len() >= 3, "the demo corpus has symptom-position pairs");

    // Before any model: a plain label, and a seed label.
    let seed = project.annotate(pairs[2], "SAP", None, "ann").await.unwrap();
    assert_eq!((seed.action.as_str(), seed.source.as_str()), ("set", "seed"));

    let v1 = model_predicting(&project, &pairs, "SAP", 0.9).await;
    let shown: emrel_engine::ShownSuggestion =
        (&project.item(pairs[0]).await.unwrap().suggestion.unwrap()).into();
    assert_eq!((shown.relation.as_str(), shown.model_version), ("SAP", v1));
    let shown_second: emrel_engine::ShownSuggestion =
        (&project.item(pairs[1]).await.unwrap().suggestion.unwrap()).into();

    // A newer model that predicts `none` is promoted while the annotator looks at v1's
    // suggestion: Enter must store SAP, what was on the screen, not the new prediction.
    let v2 = model_predicting(&project, &pairs, NONE, 0.8).await;
    assert_eq!(project.item(pairs[0]).await.unwrap().suggestion.unwrap().model_version, v2);
    let confirmed = project.annotate(pairs[0], "SAP", Some(&shown), "ann").await.unwrap();
    assert_eq!((confirmed.action.as_str(), confirmed.source.as_str()), ("confirm", "human"));
    let l = store.current_label(pairs[0]).await.unwrap().unwrap();
    assert_eq!(l.relation.as_deref(), Some("SAP"));
    assert_eq!((l.model_version, l.probability), (Some(v1), Some(shown.probability)));
    assert!((shown.probability - 0.9).abs() < 1e-6, "v1's probability, not v2's 0.8");
    assert_eq!(l.shown_relation.as_deref(), Some("SAP"));

    // Choosing another relation than the one shown is a fix that records what it replaced.
    let fixed = project.annotate(pairs[1], NONE, Some(&shown_second), "ann").await.unwrap();
    assert_eq!(fixed.action, "fix");
    let l = store.current_label(pairs[1]).await.unwrap().unwrap();
    assert_eq!(
        (l.relation.as_deref(), l.shown_relation.as_deref(), l.model_version),
        (Some(NONE), Some("SAP"), Some(v1))
    );

    // A screen that names a model this project does not have is refused, and writes nothing.
    let mut stale = shown.clone();
    stale.model_version = emrel_store::ModelVersionId(999);
    let before = store.label_history(pairs[2]).await.unwrap().len();
    let err = project.annotate(pairs[2], "SAP", Some(&stale), "ann").await.unwrap_err();
    assert!(err.to_string().contains("v999"), "{err}");
    assert_eq!(store.label_history(pairs[2]).await.unwrap().len(), before);
}

/// Two annotators label the same ten pairs; one answers `none` where the other (and the gold)
/// has a relation: 9 of 10 agree, the confusion matrix holds that one disagreement, κ is below 1;
/// a third annotator who agrees with the first everywhere has κ = 1 with them. Pairs labeled by
/// one person only are not counted.
async fn agreement_counts_the_pairs_two_annotators_labeled(t: Target) {
    let project = demo_project(&t, 60, 4).await;
    let gold = project.store().gold_labels().await.unwrap();
    let mut related: Vec<_> =
        gold.iter().filter(|(_, r)| *r != NONE).map(|(p, r)| (*p, r.clone())).collect();
    related.sort();
    let mut unrelated: Vec<_> =
        gold.iter().filter(|(_, r)| *r == NONE).map(|(p, r)| (*p, r.clone())).collect();
    unrelated.sort();
    let pairs: Vec<_> = related.iter().take(4).chain(unrelated.iter().take(6)).cloned().collect();
    assert_eq!(pairs.len(), 10);
    for (i, (p, r)) in pairs.iter().enumerate() {
        project.set_label(*p, r, "ann").await.unwrap();
        project.set_label(*p, if i == 0 { NONE } else { r }, "bob").await.unwrap();
        if i < 5 {
            project.set_label(*p, r, "cy").await.unwrap();
        }
    }
    // Labeled by ann alone, then undone by bob's own undo: neither counts.
    project.set_label(unrelated[7].0, NONE, "ann").await.unwrap();
    project.set_label(unrelated[8].0, NONE, "bob").await.unwrap();
    project.undo("bob").await.unwrap();

    let r = project.agreement(200, 1).await.unwrap();
    assert_eq!(r.annotators, ["ann", "bob", "cy"]);
    assert_eq!(r.units, 10);
    let ab = r.pairs.iter().find(|p| (p.a.as_str(), p.b.as_str()) == ("ann", "bob")).unwrap();
    assert_eq!(ab.units, 10);
    assert!((ab.observed - 0.9).abs() < 1e-12);
    let none = r.categories.iter().position(|c| c == NONE).unwrap();
    let rel = r.categories.iter().position(|c| *c == pairs[0].1).unwrap();
    assert_eq!(ab.confusion[rel][none], 1);
    let off_diagonal: usize = (0..r.categories.len())
        .flat_map(|i| (0..r.categories.len()).map(move |j| (i, j)))
        .filter(|(i, j)| i != j)
        .map(|(i, j)| ab.confusion[i][j])
        .sum();
    assert_eq!(off_diagonal, 1);
    let k = ab.cohen_kappa.value.unwrap();
    assert!(k > 0.5 && k < 1.0, "{k}");
    let ac = r.pairs.iter().find(|p| (p.a.as_str(), p.b.as_str()) == ("ann", "cy")).unwrap();
    assert_eq!((ac.units, ac.cohen_kappa.value), (5, Some(1.0)));
}
both!(agreement_counts_the_pairs_two_annotators_labeled);
