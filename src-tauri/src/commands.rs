//! The Tauri commands: each is a few lines into `emrel-engine`. They are
//! declared through `commands!`, which also records every command's argument and result types
//! so that `bindings.rs` can generate the TypeScript signatures from the same declaration.

use emrel_engine::PairId;
use emrel_engine::corpus::{self, CorpusPhase};

use crate::error::{Error, ErrorCode, Result};
use crate::jobs;
use crate::state::App;
use crate::views::*;

/// A command's signature as the bindings generator sees it.
pub struct Signature {
    pub name: &'static str,
    pub docs: &'static str,
    pub args: Vec<(&'static str, String)>,
    pub result: String,
}

/// ts-rs names 64-bit integers `bigint`, but they cross as JSON numbers (row ids stay far below
/// 2^53), so the UI passes plain numbers.
fn arg_type(name: String) -> String {
    if name == "bigint" { "number".to_string() } else { name }
}

macro_rules! commands {
    ($(
        $(#[doc = $doc:literal])*
        async fn $name:ident($app:ident $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty $body:block
    )*) => {
        $(
            $(#[doc = $doc])*
            #[tauri::command(rename_all = "snake_case")]
            pub async fn $name(
                $app: tauri::State<'_, App> $(, $arg: $ty)*
            ) -> Result<$ret, Error> {
                let $app: &App = &$app;
                $body
            }
        )*

        /// The invoke handler of every command.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// Every command's signature, in declaration order.
        pub fn signatures() -> Vec<Signature> {
            vec![$(Signature {
                name: stringify!($name),
                docs: concat!($($doc, "\n"),*),
                args: vec![$((stringify!($arg), arg_type(<$ty as ts_rs::TS>::name()))),*],
                result: <$ret as ts_rs::TS>::name(),
            }),*]
        }
    };
}

commands! {
    /// Opens the project of the last session; on the very first start, creates the demo project
    /// in the user's data directory and opens it.
    async fn startup(app) -> Startup {
        app.startup().await
    }

    /// Opens an existing project database.
    async fn open_project(app, path: String) -> ProjectView {
        app.open(std::path::Path::new(&path)).await
    }

    /// Creates an empty project with the paper's schema (or the schema file given) and opens it.
    async fn create_project(app, path: String, schema_file: Option<String>) -> ProjectView {
        app.create(std::path::Path::new(&path), schema_file.as_deref().map(std::path::Path::new)).await
    }

    /// Sets the annotator name labels are written under (kept across restarts); returns it.
    async fn set_annotator(app, name: String) -> String {
        app.set_annotator(&name)
    }

    /// Imports a corpus into the open project, streaming `progress` events.
    async fn import_corpus(app, request: ImportRequest) -> ImportReport {
        let options = request.options()?;
        let project = app.project().await?;
        let mut progress = |p: CorpusPhase, d: usize, t: usize| app.progress("import", p.as_str(), d, t);
        let outcome = corpus::import(project.store(), &options, &mut progress).await?;
        app.reindex().await;
        let s = &outcome.summary;
        if s.documents_added + s.documents_unchanged == 0 && s.skipped.is_empty() {
            let paths: Vec<&str> = request.paths.iter().map(|p| p.trim()).collect();
            let message = format!("no {} documents found in {}", options.format.as_str(), paths.join(", "));
            return Err(Error::new(ErrorCode::Input, message));
        }
        Ok(outcome.summary.into())
    }

    /// Corpus statistics of the open project (what `emrel stats --json` prints).
    async fn project_stats(app) -> StatsView {
        Ok(app.project().await?.store().stats().await?.into())
    }

    /// The first `limit` pairs of a queue for this window's annotator, and the queue's size.
    async fn queue_window(app, queue: QueueKind, limit: usize) -> QueueWindow {
        let pairs = app.project().await?.queue_pairs(&queue.queue(), Some(&app.annotator())).await?;
        Ok(QueueWindow { total: pairs.len(), pairs: pairs.iter().take(limit).map(|p| p.0).collect() })
    }

    /// One pair as the annotate view shows it.
    async fn pair_item(app, pair: i64) -> ItemView {
        let project = app.project().await?;
        let sentence = project.store().pair(PairId(pair)).await?.sentence_id;
        Ok(ItemView::new(project.item(PairId(pair)).await?, app.sentence_entities(sentence).await))
    }

    /// Labels a pair with the relation the annotator chose (a relation or `none`), given the
    /// suggestion that was on their screen (`null`: none was); the backend decides whether that
    /// is a plain label, a confirmation or a fix. `project` is the uid of the project the screen
    /// showed: a write for another project than the open one is refused.
    async fn annotate_pair(app, project: String, pair: i64, relation: String, shown: Option<ShownSuggestion>) -> Labeled {
        let shown = shown.map(|s| s.engine());
        let done = app
            .project_for(&project)
            .await?
            .annotate(PairId(pair), &relation, shown.as_ref(), &app.annotator())
            .await?;
        Ok(Labeled { pair, event: done.event.0, action: done.action })
    }

    /// Skips a pair: it moves to the end of this annotator's queues.
    async fn skip_pair(app, project: String, pair: i64) -> () {
        Ok(app.project_for(&project).await?.skip(PairId(pair), &app.annotator()).await?)
    }

    /// Undoes this annotator's last label; `null` when there is nothing to undo.
    async fn undo_label(app, project: String) -> Option<Undone> {
        let undone = app.project_for(&project).await?.undo(&app.annotator()).await?;
        Ok(undone.map(|u| Undone { pair: u.pair.0, restored: u.restored }))
    }

    /// Labeled today, left in the queue, and the reliable set against the batch size.
    async fn queue_counts(app, queue: QueueKind) -> CountsView {
        Ok(app.project().await?.counts(&queue.queue(), &app.annotator()).await?.into())
    }

    /// Models, iterations, settings, the reliable set and recent jobs.
    async fn training_overview(app) -> TrainingOverview {
        app.training_overview().await
    }

    /// Saves the project's bootstrapping settings (λ, N, ...).
    async fn save_settings(app, settings: SettingsView) -> SettingsView {
        let project = app.project().await?;
        project.set_settings(&settings.apply(project.settings().await?)).await?;
        Ok(settings)
    }

    /// Starts training a model on the current labels; progress arrives as `job` events.
    async fn start_training(app, request: TrainRequest) -> () {
        let project = app.project().await?;
        let options = request.options(&project.settings().await?);
        jobs::spawn(app, true, move |sink, cancel| async move { project.train(&options, sink, cancel).await })
    }

    /// Starts the bootstrapping loop with λ and N; progress arrives as `job` events.
    async fn start_bootstrap(app, request: BootstrapRequest) -> () {
        let project = app.project().await?;
        let options = request.options(&project.settings().await?);
        jobs::spawn(app, true, move |sink, cancel| async move { project.bootstrap(&options, sink, cancel).await })
    }

    /// Asks the running job to stop at its next checkpoint.
    async fn cancel_job(app) -> bool {
        Ok(app.cancel_job())
    }

    /// Iterations with their drift metrics and alarms, and the relations' review settings.
    async fn review_overview(app) -> ReviewOverview {
        app.review_overview().await
    }

    /// Accepts or quarantines an iteration.
    async fn review_action(app, iteration: i64, action: ReviewActionKind) -> IterationReviewView {
        Ok(app.project().await?.review_iteration(iteration, action.into()).await?.into())
    }

    /// Starts rolling back an iteration and every later one; progress arrives as `job` events.
    async fn rollback_iteration(app, iteration: i64) -> () {
        let project = app.project().await?;
        jobs::spawn(app, false, move |sink, cancel| async move { project.rollback(iteration, sink, cancel).await })
    }

    /// Sets a relation's own λ (`null`: the project's) and freezes or thaws it.
    async fn relation_setting(app, relation: String, threshold: Option<f64>, frozen: bool) -> ReviewOverview {
        if threshold.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
            return Err(Error::new(ErrorCode::Invalid, "λ is a probability between 0 and 1"));
        }
        let project = app.project().await?;
        project.set_relation_threshold(&relation, threshold).await?;
        project.freeze_relation(&relation, frozen).await?;
        app.review_overview().await
    }

    /// The audit of an iteration so far: strata, the precision estimate and the decision.
    async fn audit_summary(app, iteration: i64) -> AuditSummaryView {
        Ok(app.project().await?.audit_summary(iteration, None).await?.into())
    }

    /// The next item of an iteration's audit sample; `null` when the sample is judged.
    async fn audit_next(app, iteration: i64) -> Option<AuditItemView> {
        let project = app.project().await?;
        let Some(a) = project.audit_next(iteration, None).await? else { return Ok(None) };
        let sentence = project.store().pair(a.item.pair).await?.sentence_id;
        let item = ItemView::new(a.item, app.sentence_entities(sentence).await);
        Ok(Some(AuditItemView { iteration: a.iteration, label: a.label, item, remaining: a.remaining }))
    }

    /// Judges an audited label: `relation` is `null` when the automatic label is right, else the
    /// right relation (`none` allowed), which becomes the pair's human label.
    async fn audit_judge(app, iteration: i64, pair: i64, relation: Option<String>) -> AuditSummaryView {
        let project = app.project().await?;
        Ok(project.judge(iteration, PairId(pair), relation.as_deref(), &app.annotator()).await?.into())
    }

    /// Exports the corpus with the chosen filters, streaming `progress` events.
    async fn export_corpus(app, request: ExportRequest) -> ExportReport {
        let options = request.options()?;
        let project = app.project().await?;
        let mut progress = |p: CorpusPhase, d: usize, t: usize| app.progress("export", p.as_str(), d, t);
        Ok(corpus::export(project.store(), &options, &mut progress).await?.into())
    }
}
