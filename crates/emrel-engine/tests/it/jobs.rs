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

#[tokio::test]
async fn a_panicking_trainer_fails_the_job_and_leaves_labels_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), 60, 5).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_job_at_a_time_while_labeling_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), 60, 6).await;
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
    let other = Project::open(project.store().path(), tiny_trainer()).await.unwrap();
    assert!(other.interrupted_jobs().is_empty());

    release_tx.send(()).unwrap();
    let r = job.await.unwrap().unwrap();
    assert_eq!(r.train_size + r.metrics.pairs, 100, "trained on the snapshot taken at its start");
    assert_eq!(project.jobs().await.unwrap()[0].status, JobStatus::Succeeded);
}

#[tokio::test]
async fn a_job_left_running_is_marked_interrupted_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), 60, 7).await;
    let project = Project::from_store(store.clone(), tiny_trainer()).await.unwrap();
    label_from_gold(&project, 100, "ann").await;
    // What a killed process leaves behind: a running row nobody holds the lock for.
    let params = serde_json::to_string(&tiny(1)).unwrap();
    let id = store.create_job("train", &params).await.unwrap();
    let reopened = Project::open(store.path(), tiny_trainer()).await.unwrap();
    assert_eq!(reopened.interrupted_jobs().len(), 1);
    assert_eq!(store.job(id).await.unwrap().status, JobStatus::Interrupted);
    reopened.resume_job(id, Arc::new(NullSink), CancelToken::new()).await.unwrap();
    let job = store.job(id).await.unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 2));
    assert!(reopened.current_model().await.unwrap().is_some());
}
