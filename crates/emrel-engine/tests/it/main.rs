//! Engine integration tests on small demo projects, most of them on SQLite and on a real
//! PostgreSQL server (`both!`): the labeling API, queues from stored scores,
//! the gold split, rollback, jobs (panic, busy, interrupted) and the bootstrapping loop and
//! simulation with a tiny real model (emrel-ml's `tiny` preset, fixed seeds).

mod auto;
mod bootstrap;
mod corpus;
mod jobs;
mod labeling;
mod review;

use std::sync::Arc;

use emrel_core::model::Trainer;
use emrel_core::{NONE, Schema, prepare_document};
use emrel_engine::{PairId, Project, Queue, TrainOptions};
use emrel_store::Store;
use emrel_testdb::Target;

/// A project with `sentences` demo sentences (`p.db` of the target); its labels are gold only.
pub async fn demo_store(t: &Target, sentences: usize, seed: u64) -> Store {
    let store =
        Store::create(t.location("p.db").await, "p", Schema::paper_default()).await.unwrap();
    let prepared: Vec<_> = emrel_formats::demo::generate(sentences, seed)
        .into_iter()
        .map(|d| prepare_document(store.schema(), d, false).unwrap())
        .collect();
    store.import(&prepared, "demo", &mut |_, _| {}).await.unwrap();
    store
}

pub fn tiny_trainer() -> Arc<dyn Trainer> {
    Arc::new(emrel_ml::BurnTrainer::default())
}

pub async fn demo_project(t: &Target, sentences: usize, seed: u64) -> Project {
    Project::from_store(demo_store(t, sentences, seed).await, tiny_trainer()).await.unwrap()
}

/// The tiny preset of a fast model.
pub fn tiny(epochs: usize) -> TrainOptions {
    TrainOptions {
        model: "cnn".into(),
        preset: "tiny".into(),
        epochs: Some(epochs),
        ..TrainOptions::default()
    }
}

/// Labels the first `n` pairs of the random seed queue with their gold relation as `annotator`.
pub async fn label_from_gold(project: &Project, n: usize, annotator: &str) -> Vec<PairId> {
    let gold = project.store().gold_labels().await.unwrap();
    let pairs: Vec<PairId> = project
        .queue_pairs(&Queue::seed_random(3), Some(annotator))
        .await
        .unwrap()
        .into_iter()
        .take(n)
        .collect();
    for p in &pairs {
        let r = gold.get(p).map_or(NONE, String::as_str);
        project.set_label(*p, r, annotator).await.unwrap();
    }
    pairs
}

/// Turns the drift alarms' automatic quarantine off.
pub async fn without_auto_quarantine(project: &Project) {
    let mut s = project.settings().await.unwrap();
    s.auto_quarantine = false;
    project.set_settings(&s).await.unwrap();
}
