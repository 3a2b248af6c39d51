//! Jobs: a panic in training, one job at a time while labeling goes on, interrupted jobs.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use emrel_core::model::{
    CancelToken, ModelError, Scorer, TrainOutcome, TrainProgress, TrainRequest, Trainer,
};
use emrel_engine::{EngineError, ErrorCode, NullSink, Project, VecSink};
use emrel_store::JobStatus;

use crate::{demo_store, label_from_gold, tiny, tiny_trainer};
use emrel_testdb::{Target, both};

/// Panics on its first training run, then trains the tiny real model.
struct PanicsOnce {
    panicked: AtomicBool,
    inner: Arc<dyn Trainer>,
}

impl Trainer for PanicsOnce {
    fn train(
        &self,
        request: &TrainRequest,
        progress: &mut dyn FnMut(&TrainProgress),
        cancel: &CancelToken,
    ) -> Result<TrainOutcome, ModelError> {
        if !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("injected failure in epoch 1");
        }
        self.inner.train(request, progress, cancel)
    }

    fn load(&self, dir: &Path) -> Result<Box<dyn Scorer>, ModelError> {
        self.inner.load(dir)
    }
}

both!(a_panicking_trainer_fails_the_job_and_leaves_labels_intact);
async fn a_panicking_trainer_fails_the_job_and_leaves_labels_intact(t: Target) {
    let store = demo_store(&t, 60, 5).await;
    let trainer = Arc::new(PanicsOnce { panicked: AtomicBool::new(false), inner: tiny_trainer() });
    let project = Project::from_store(store, trainer).await.unwrap();
    label_from_gold(&project, 120, "ann").await;
    let counts = project.store().label_counts_by_source().await.unwrap();

    let sink = Arc::new(VecSink::new());
    let err = project.train(&tiny(1), sink.clone(), CancelToken::new()).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Panicked);
    assert!(err.to_string().contains("injected failure in epoch 1"), "{err}");
    let job = &project.jobs().await.unwrap()[0];
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.message.as_deref().unwrap().contains("injected failure"));
    assert!(
        matches!(sink.events().last(), Some(emrel_engine::JobEvent::Finished { status, .. }) if status == "failed")
    );
    assert_eq!(project.store().label_counts_by_source().await.unwrap(), counts);
    assert_eq!(project.current_model().await.unwrap(), None);
    assert_eq!(project.models().await.unwrap()[0].status, "failed");

    // The project stays usable: labeling works and the next job runs.
    label_from_gold(&project, 125, "ann").await;
    let r = project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    assert_eq!(project.current_model().await.unwrap(), Some(r.version));
    assert_eq!(project.jobs().await.unwrap()[0].status, JobStatus::Succeeded);
}

/// Waits until released before training, so a test can act while a job runs.
struct Gated {
    started: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
    inner: Arc<dyn Trainer>,
}

impl Trainer for Gated {
    fn train(
        &self,
        request: &TrainRequest,
        progress: &mut dyn FnMut(&TrainProgress),
        cancel: &CancelToken,
    ) -> Result<TrainOutcome, ModelError> {
        if let Some(tx) = self.started.lock().unwrap().take() {
            tx.send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
        self.inner.train(request, progress, cancel)
    }

    fn load(&self, dir: &Path) -> Result<Box<dyn Scorer>, ModelError> {
        self.inner.load(dir)
    }
}

both!(one_job_at_a_time_while_labeling_goes_on);
async fn one_job_at_a_time_while_labeling_goes_on(t: Target) {
    let store = demo_store(&t, 60, 6).await;
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let trainer = Arc::new(Gated {
        started: Mutex::new(Some(started_tx)),
        release: Mutex::new(release_rx),
        inner: tiny_trainer(),
    });
    let project = Project::from_store(store, trainer).await.unwrap();
    label_from_gold(&project, 100, "ann").await;
    let running = project.clone();
    let job = tokio::spawn(async move {
        running.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await
    });
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();

    let err = project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap_err();
    assert!(matches!(err, EngineError::Busy(_)), "{err}");
    // Labeling is not blocked by the running job.
    let more = label_from_gold(&project, 110, "ann").await;
    assert_eq!(more.len(), 110);
    // A second open of the project does not take the running job for an interrupted one.
    let other = Project::open(project.store().location(), tiny_trainer()).await.unwrap();
    assert!(other.interrupted_jobs().is_empty());

    release_tx.send(()).unwrap();
    let r = job.await.unwrap().unwrap();
    assert_eq!(r.train_size + r.metrics.pairs, 100, "trained on the snapshot taken at its start");
    assert_eq!(project.jobs().await.unwrap()[0].status, JobStatus::Succeeded);
}

both!(a_job_left_running_is_marked_interrupted_and_resumes);
async fn a_job_left_running_is_marked_interrupted_and_resumes(t: Target) {
    let store = demo_store(&t, 60, 7).await;
    let project = Project::from_store(store.clone(), tiny_trainer()).await.unwrap();
    label_from_gold(&project, 100, "ann").await;
    // What a killed process leaves behind: a running row nobody holds the lock for.
    let params = serde_json::to_string(&tiny(1)).unwrap();
    let id = store.create_job("train", &params).await.unwrap();
    let reopened = Project::open(store.location(), tiny_trainer()).await.unwrap();
    assert_eq!(reopened.interrupted_jobs().len(), 1);
    assert_eq!(store.job(id).await.unwrap().status, JobStatus::Interrupted);
    reopened.resume_job(id, Arc::new(NullSink), CancelToken::new()).await.unwrap();
    let job = store.job(id).await.unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 2));
    assert!(reopened.current_model().await.unwrap().is_some());
}

both!(an_iteration_left_open_by_a_killed_run_is_not_training_data_for_a_manual_training);
async fn an_iteration_left_open_by_a_killed_run_is_not_training_data_for_a_manual_training(
    t: Target,
) {
    let project = crate::demo_project(&t, 60, 8).await;
    label_from_gold(&project, 100, "ann").await;
    let first = project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    // What a bootstrap run killed after admitting leaves: an active iteration, never finished,
    // whose automatic labels passed neither the drift check nor the gate.
    let store = project.store();
    let admissions: Vec<emrel_store::Admission> = project
        .queue_pairs(&emrel_engine::Queue::seed_random(1), None)
        .await
        .unwrap()
        .into_iter()
        .take(30)
        .map(|pair| emrel_store::Admission { pair, relation: "none".into(), probability: 0.99 })
        .collect();
    let open =
        store.start_iteration(first.version, 0.9, 30, None, None, &admissions).await.unwrap();
    assert_eq!(store.current_auto_labels(open.id).await.unwrap().len(), 30);
    let second = project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    assert_eq!(second.train_size, first.train_size, "the open iteration's labels were left out");
}

/// Blocks the first time a model other than `base` is loaded while it is the current model:
/// that is the bootstrap run scoring the pool with the model it has just promoted.
struct GatedScoring {
    store: emrel_store::Store,
    base: Mutex<Option<emrel_store::ModelVersionId>>,
    started: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
    inner: Arc<dyn Trainer>,
}

impl Trainer for GatedScoring {
    fn train(
        &self,
        request: &TrainRequest,
        progress: &mut dyn FnMut(&TrainProgress),
        cancel: &CancelToken,
    ) -> Result<TrainOutcome, ModelError> {
        self.inner.train(request, progress, cancel)
    }

    fn load(&self, dir: &Path) -> Result<Box<dyn Scorer>, ModelError> {
        let base = *self.base.lock().unwrap();
        if let Some(base) = base {
            // `load` runs on a blocking thread of the runtime, so it may wait on the store.
            let rt = tokio::runtime::Handle::current();
            let current = rt.block_on(self.store.current_model()).unwrap();
            let versions = rt.block_on(self.store.model_versions()).unwrap();
            let loaded = versions.iter().find(|v| v.dir == dir).map(|v| v.id);
            if current == loaded
                && loaded != Some(base)
                && let Some(tx) = self.started.lock().unwrap().take()
            {
                tx.send(()).unwrap();
                self.release.lock().unwrap().recv().unwrap();
            }
        }
        self.inner.load(dir)
    }
}

both!(a_quarantine_while_the_pool_is_scored_stands_when_the_iteration_finishes);
async fn a_quarantine_while_the_pool_is_scored_stands_when_the_iteration_finishes(t: Target) {
    let store = demo_store(&t, 150, 4).await;
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let trainer = Arc::new(GatedScoring {
        store: store.clone(),
        base: Mutex::new(None),
        started: Mutex::new(Some(started_tx)),
        release: Mutex::new(release_rx),
        inner: tiny_trainer(),
    });
    let project = Project::from_store(store.clone(), trainer.clone()).await.unwrap();
    crate::without_auto_quarantine(&project).await;
    label_from_gold(&project, 300, "ann").await;
    let seed = project.train(&tiny(4), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    *trainer.base.lock().unwrap() = Some(seed.version);
    let options = emrel_engine::BootstrapOptions {
        train: tiny(4),
        threshold: 0.5,
        batch_size: 80,
        tolerance_points: 100.0,
        max_iterations: Some(1),
        ..emrel_engine::BootstrapOptions::default()
    };
    let running = project.clone();
    let job = tokio::spawn(async move {
        running.bootstrap(&options, Arc::new(NullSink), CancelToken::new()).await
    });
    // The iteration's model is promoted and scoring the pool: a reviewer quarantines it.
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
    let promoted = project.current_model().await.unwrap();
    assert_ne!(promoted, Some(seed.version));
    let review = project.review_iteration(1, emrel_engine::ReviewAction::Quarantine).await.unwrap();
    assert_eq!(review.status, "quarantined");
    assert_eq!(project.current_model().await.unwrap(), Some(seed.version));
    release_tx.send(()).unwrap();

    let report = job.await.unwrap().unwrap();
    let it = &report.iterations[0];
    assert_eq!((it.status.as_str(), it.promoted), ("quarantined", false));
    let (row, stored) = project.iterations().await.unwrap().remove(0);
    assert_eq!(row.status, emrel_store::IterationStatus::Quarantined);
    assert_eq!(stored.unwrap().status, "quarantined");
    assert_eq!(project.current_model().await.unwrap(), Some(seed.version), "the base model stays");
}

#[tokio::test]
async fn a_project_recreated_at_the_same_path_never_trains_into_the_old_ones_model_folder() {
    // A file recreated at the same path: SQLite only.
    let t = Target::sqlite();
    let dir = t.dir();
    let first = {
        let project = crate::demo_project(&t, 40, 9).await;
        label_from_gold(&project, 80, "ann").await;
        project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap();
        let mv = project.models().await.unwrap().remove(0);
        project.close().await;
        mv
    };
    let old_dir = dir.join(&first.dir);
    let old_weights = std::fs::read(old_dir.join("model.bin")).unwrap();
    assert!(old_dir.join("owner.json").exists());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("p.db{suffix}")));
    }
    // The same path, the same ids: v1 again, but in a folder of its own.
    let project = crate::demo_project(&t, 40, 9).await;
    label_from_gold(&project, 80, "ann").await;
    let r = project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    let mv = project.models().await.unwrap().remove(0);
    assert_eq!((r.version.0, mv.version), (1, first.version));
    assert_ne!(mv.dir, first.dir);
    assert_eq!(std::fs::read(old_dir.join("model.bin")).unwrap(), old_weights);
}

/// The weights live in the project: a copy of it whose model folder is gone (another client of
/// a team project, a project mailed as one file) writes the same files back and loads the model.
async fn a_model_loads_from_the_project_when_its_folder_is_gone(t: Target) {
    let project = crate::demo_project(&t, 40, 10).await;
    label_from_gold(&project, 80, "ann").await;
    let r = project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    let original = project.store().model_version(r.version).await.unwrap().dir;
    let weights = std::fs::read(original.join("model.bin")).unwrap();
    let copy = emrel_store::Location::File(t.dir().join("mailed.db"));
    project.store().copy_to(&copy).await.unwrap();
    let mailed = emrel_store::Store::open(&copy).await.unwrap();
    std::fs::remove_dir_all(mailed.models_dir()).unwrap();
    let dir = mailed.model_folder(r.version).await.unwrap();
    assert!(dir.starts_with(mailed.models_dir()), "{}", dir.display());
    assert_eq!(std::fs::read(dir.join("model.bin")).unwrap(), weights);
    let scorer = tiny_trainer().load(&dir).unwrap();
    assert_eq!(scorer.classes(), project.store().schema().classes().as_slice());
    mailed.close().await;
}
both!(a_model_loads_from_the_project_when_its_folder_is_gone);
