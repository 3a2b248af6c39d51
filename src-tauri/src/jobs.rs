//! Runs an engine job (training, bootstrapping) in the background and forwards its progress to
//! the window as `job` events. One job per window at a time; the engine's project lock also
//! keeps the CLI or another window from running one on the same project.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use emrel_engine::{CancelToken, JobEvent, ProgressSink};
use tauri::{AppHandle, Emitter, Manager};

use crate::bindings::JOB_EVENT;
use crate::error::{Error, ErrorCode, Result};
use crate::state::App;
use crate::views::JobEventView;

/// Starts `run` with a progress sink and the window's cancel token. Returns at once; the job's
/// end arrives as a `finished` event (with a null job id when it could not start). With
/// `then_auto_bootstrap`, a successful job is followed by bootstrapping when it is due
/// ([`App::auto_bootstrap`]).
pub fn spawn<F, Fut, T>(app: &App, then_auto_bootstrap: bool, run: F) -> Result<()>
where
    F: FnOnce(Arc<dyn ProgressSink>, CancelToken) -> Fut + Send + 'static,
    Fut: Future<Output = emrel_engine::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let Some(cancel) = app.begin_job() else {
        return Err(Error::new(
            ErrorCode::Busy,
            "a job is already running; wait for it or cancel it",
        ));
    };
    let handle: AppHandle = app.handle().clone();
    let started = Arc::new(AtomicBool::new(false));
    let sink_handle = handle.clone();
    let sink_started = started.clone();
    let sink = Arc::new(move |e: &JobEvent| {
        match e {
            JobEvent::Started { .. } => sink_started.store(true, Ordering::SeqCst),
            // Free the slot before the window hears of the end, so it may start the next job.
            JobEvent::Finished { .. } => sink_handle.state::<App>().end_job(),
            _ => {}
        }
        // A closed window cannot show progress; the job goes on.
        let _ = sink_handle.emit(JOB_EVENT, JobEventView::from(e));
    });
    tauri::async_runtime::spawn(async move {
        let outcome = run(sink, cancel).await;
        handle.state::<App>().end_job();
        if outcome.is_ok() && then_auto_bootstrap {
            // The window hears of a failure to check as a job that could not start.
            if let Err(e) = handle.state::<App>().auto_bootstrap().await {
                let event = JobEventView::Finished {
                    job: None,
                    status: "failed".into(),
                    message: Some(e.message),
                };
                let _ = handle.emit(JOB_EVENT, event);
            }
            return;
        }
        if let Err(e) = outcome
            && !started.load(Ordering::SeqCst)
        {
            let e = Error::from(e);
            let event = JobEventView::Finished {
                job: None,
                status: "failed".into(),
                message: Some(e.message),
            };
            let _ = handle.emit(JOB_EVENT, event);
        }
    });
    Ok(())
}
