//! Background jobs: every long operation (training, scoring, bootstrapping, rollback,
//! simulation) runs as a job with a row in the `job` table, typed progress events sent to a
//! [`ProgressSink`], cancellation through a [`CancelToken`], and panics turned into a `failed`
//! job instead of a dead process.
//!
//! One job runs per project at a time: a job holds an exclusive OS file lock on
//! `<database>.models/job.lock` for as long as it runs. The operating system releases the lock
//! when the process dies, which is also how a job row left `running` by a killed process is
//! recognised (the lock is free) and marked `interrupted` on the next open.

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emrel_core::model::CancelToken;
use emrel_store::{IterationId, JobId, JobRecord, JobStatus, ModelVersionId, Store};
use serde::Serialize;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::error::{EngineError, Result};

/// A progress event of a job. The desktop app forwards these as typed events, the CLI draws a
/// progress bar from them, tests collect them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    Started {
        job: JobId,
        kind: String,
        attempt: i64,
    },
    /// A new phase (`training v3`, `scoring v3`, `admitting iteration 2`, ...).
    Phase {
        job: JobId,
        phase: String,
    },
    /// After every training step.
    Training {
        job: JobId,
        version: ModelVersionId,
        epoch: usize,
        epochs: usize,
        step: usize,
        steps_per_epoch: usize,
        loss: f64,
    },
    /// After every epoch, with the F1 on the trainer's dev part.
    Epoch {
        job: JobId,
        version: ModelVersionId,
        epoch: usize,
        epochs: usize,
        dev_f1: f64,
    },
    Scoring {
        job: JobId,
        version: ModelVersionId,
        done: usize,
        total: usize,
    },
    /// Gold-split figures of a freshly trained version.
    Evaluated {
        job: JobId,
        version: ModelVersionId,
        precision: f64,
        recall: f64,
        f1: f64,
    },
    Admitted {
        job: JobId,
        iteration: i64,
        admitted: usize,
    },
    /// An iteration ended; `promoted` says whether the promotion gate let its model through.
    IterationFinished {
        job: JobId,
        iteration: i64,
        id: IterationId,
        version: ModelVersionId,
        promoted: bool,
        f1: f64,
    },
    Finished {
        job: JobId,
        status: String,
        message: Option<String>,
    },
}

impl JobEvent {
    /// Step-level events are frequent; the job row is updated only for the others and at most
    /// every half second for these.
    fn is_frequent(&self) -> bool {
        matches!(self, JobEvent::Training { .. } | JobEvent::Scoring { .. })
    }
}

/// Where a job's progress goes.
pub trait ProgressSink: Send + Sync {
    fn emit(&self, event: &JobEvent);
}

/// Discards events.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl ProgressSink for NullSink {
    fn emit(&self, _event: &JobEvent) {}
}

/// Collects events (tests, reports).
#[derive(Debug, Default)]
pub struct VecSink(Mutex<Vec<JobEvent>>);

impl VecSink {
    pub fn new() -> VecSink {
        VecSink::default()
    }

    pub fn events(&self) -> Vec<JobEvent> {
        self.0.lock().expect("the sink lock is not poisoned").clone()
    }
}

impl ProgressSink for VecSink {
    fn emit(&self, event: &JobEvent) {
        self.0.lock().expect("the sink lock is not poisoned").push(event.clone());
    }
}

impl<F: Fn(&JobEvent) + Send + Sync> ProgressSink for F {
    fn emit(&self, event: &JobEvent) {
        self(event)
    }
}

/// What a running job's body gets: its id, a way to report progress, and the cancel token.
#[derive(Clone)]
pub struct JobContext {
    pub job: JobId,
    pub cancel: CancelToken,
    events: UnboundedSender<JobEvent>,
}

impl JobContext {
    /// Sends an event to the sink (and to the job row). Usable from blocking threads.
    pub fn emit(&self, event: JobEvent) {
        // The receiver lives until the job ends, so a failed send only means the job is over.
        let _ = self.events.send(event);
    }

    pub fn phase(&self, phase: impl Into<String>) {
        self.emit(JobEvent::Phase { job: self.job, phase: phase.into() });
    }

    pub fn check_cancel(&self) -> Result<()> {
        if self.cancel.is_cancelled() { Err(EngineError::Cancelled) } else { Ok(()) }
    }
}

/// Marks jobs left `running` by a process that no longer runs them as `interrupted`. A job
/// running in another live process holds the lock, so it is left alone.
pub(crate) async fn mark_interrupted(store: &Store) -> Result<Vec<JobRecord>> {
    let running = store.jobs_with_status(JobStatus::Running).await?;
    if running.is_empty() {
        return Ok(Vec::new());
    }
    let Some(_lock) = store.try_job_lock().await? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for job in running {
        store
            .set_job_status(job.id, JobStatus::Interrupted, Some("the process running it ended"))
            .await?;
        out.push(store.job(job.id).await?);
    }
    Ok(out)
}

pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// How a job is started: a new row, or an interrupted row restarted.
pub(crate) enum JobStart<'a> {
    New { kind: &'a str, params_json: String },
    Restart(JobId),
}

/// Runs `body` as a job: takes the project's job lock, writes the job row, forwards progress to
/// `sink` and the row, and records how it ended. A panic anywhere in `body` (also in blocking
/// threads it spawns) ends the job `failed` with the panic message; the caller gets
/// [`EngineError::Panicked`].
pub(crate) async fn run_job<T, F, Fut>(
    store: &Store,
    start: JobStart<'_>,
    sink: Arc<dyn ProgressSink>,
    cancel: CancelToken,
    body: F,
) -> Result<(JobId, T)>
where
    T: Send + 'static,
    F: FnOnce(JobContext) -> Fut,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let lock = match store.try_job_lock().await? {
        Some(lock) => lock,
        None => {
            let running = store.jobs_with_status(JobStatus::Running).await?;
            let what = running
                .first()
                .map(|j| format!("job {} ({})", j.id, j.kind))
                .unwrap_or_else(|| "a job in another process".to_string());
            return Err(EngineError::Busy(what));
        }
    };
    let (job, kind) = match start {
        JobStart::New { kind, params_json } => {
            (store.create_job(kind, &params_json).await?, kind.to_string())
        }
        JobStart::Restart(id) => {
            store.restart_job(id).await?;
            (id, store.job(id).await?.kind)
        }
    };
    let attempt = store.job(job).await?.attempts;
    let (tx, mut rx) = unbounded_channel::<JobEvent>();
    let forward_store = store.clone();
    let forward_sink = sink.clone();
    let forwarder = tokio::spawn(async move {
        let mut last_write: Option<Instant> = None;
        while let Some(event) = rx.recv().await {
            forward_sink.emit(&event);
            let due = last_write.is_none_or(|t| t.elapsed() >= Duration::from_millis(500));
            if !event.is_frequent() || due {
                if let Ok(json) = serde_json::to_string(&event) {
                    // Progress rows are advisory: a busy database must not fail the job.
                    let _ = forward_store.set_job_progress(job, &json).await;
                }
                last_write = Some(Instant::now());
            }
        }
    });
    let ctx = JobContext { job, cancel, events: tx };
    ctx.emit(JobEvent::Started { job, kind, attempt });
    let handle = tokio::spawn(body(ctx.clone()));
    let outcome = match handle.await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(EngineError::Panicked(panic_message(e.into_panic()))),
        Err(e) => Err(EngineError::Invalid(format!("the job task ended abnormally: {e}"))),
    };
    drop(ctx);
    let _ = forwarder.await;
    let (status, message) = match &outcome {
        Ok(_) => (JobStatus::Succeeded, None),
        Err(EngineError::Cancelled) => (JobStatus::Cancelled, Some("cancelled".to_string())),
        Err(e) => (JobStatus::Failed, Some(e.to_string())),
    };
    store.set_job_status(job, status, message.as_deref()).await?;
    sink.emit(&JobEvent::Finished { job, status: status.as_str().to_string(), message });
    drop(lock);
    outcome.map(|t| (job, t))
}
