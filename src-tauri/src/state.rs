//! The app's state: the open project, the job this window started (for its cancel button),
//! the list of recent projects, and the index of each sentence's entities for the annotate view.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use emrel_engine::{CancelToken, Project};
use tauri::{AppHandle, Emitter};
use tokio::sync::RwLock;

use crate::error::{Error, ErrorCode, Result};
use crate::views::{
    EntityTypeView, EntityView, IterationView, JobEventView, JobView, ProgressView, ProjectView,
    RecentProject, RelationSettingView, RelationView, ReviewOverview, Startup, TrainingOverview,
};

/// Entities per sentence id, built in the background when a project opens.
type SentenceEntities = HashMap<i64, Vec<EntityView>>;

struct Open {
    project: Project,
    /// The project's uid: a write from a screen that showed another project is refused.
    uid: String,
    path: PathBuf,
    name: String,
    entities: Arc<RwLock<SentenceEntities>>,
}

pub struct App {
    handle: AppHandle,
    data_dir: PathBuf,
    annotator: std::sync::RwLock<String>,
    open: RwLock<Option<Open>>,
    job: Mutex<Option<CancelToken>>,
}

const RECENT_FILE: &str = "recent.json";
/// The app's own preferences (the annotator name), next to the recent list.
const PREFERENCES_FILE: &str = "preferences.json";

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Preferences {
    #[serde(default)]
    annotator: Option<String>,
}

fn read_preferences(data_dir: &Path) -> Preferences {
    let text = std::fs::read_to_string(data_dir.join(PREFERENCES_FILE)).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

/// The annotator name: the one saved in the app, else `EMREL_ANNOTATOR`, else the system user.
fn initial_annotator(data_dir: &Path) -> String {
    read_preferences(data_dir)
        .annotator
        .or_else(|| std::env::var("EMREL_ANNOTATOR").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "annotator".to_string())
}

/// Saves the annotator name in the data directory's preferences; returns it trimmed.
fn save_annotator(data_dir: &Path, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::new(ErrorCode::Invalid, "the annotator name must not be empty"));
    }
    let mut prefs = read_preferences(data_dir);
    prefs.annotator = Some(name.to_string());
    std::fs::create_dir_all(data_dir).map_err(|e| Error::io(data_dir, e))?;
    let file = data_dir.join(PREFERENCES_FILE);
    let json = serde_json::to_string_pretty(&prefs).expect("preferences serialise");
    std::fs::write(&file, json).map_err(|e| Error::io(&file, e))?;
    Ok(name.to_string())
}
const MAX_RECENT: usize = 12;

/// Seconds since the epoch as text; enough to order recent projects.
fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    secs.to_string()
}

impl App {
    pub fn new(handle: AppHandle, data_dir: PathBuf) -> App {
        let annotator = std::sync::RwLock::new(initial_annotator(&data_dir));
        App { handle, data_dir, annotator, open: RwLock::new(None), job: Mutex::new(None) }
    }

    /// Who labels in this window: the name set in the app (kept across restarts), else
    /// `EMREL_ANNOTATOR`, else the system user name.
    pub fn annotator(&self) -> String {
        self.annotator.read().expect("the annotator is not poisoned").clone()
    }

    /// Sets the annotator name that labels are written under, and keeps it for later starts.
    pub fn set_annotator(&self, name: &str) -> Result<String> {
        let name = save_annotator(&self.data_dir, name)?;
        *self.annotator.write().expect("the annotator is not poisoned") = name.clone();
        Ok(name)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where the demo project lives.
    pub fn demo_path(&self) -> PathBuf {
        self.data_dir.join("demo.db")
    }

    /// The open project (a cheap handle).
    pub async fn project(&self) -> Result<Project> {
        match &*self.open.read().await {
            Some(o) => Ok(o.project.clone()),
            None => Err(Error::new(ErrorCode::NoProject, "open or create a project first")),
        }
    }

    /// The open project if it is the one whose uid the screen sent: a label given on one
    /// project's screen is never written into another that was opened meanwhile.
    pub async fn project_for(&self, uid: &str) -> Result<Project> {
        match &*self.open.read().await {
            Some(o) if o.uid == uid => Ok(o.project.clone()),
            Some(o) => Err(Error::new(
                ErrorCode::ProjectChanged,
                format!(
                    "this label was given in another project than {}, which is open now; it was not written",
                    o.path.display()
                ),
            )),
            None => Err(Error::new(ErrorCode::NoProject, "open or create a project first")),
        }
    }

    /// Opens the project at `path`, closing the one open before, and records it as recent.
    pub async fn open(&self, path: &Path) -> Result<ProjectView> {
        if self.job_running() {
            return Err(Error::new(
                ErrorCode::Busy,
                "a job is running on the open project; wait for it or cancel it first",
            ));
        }
        let trainer = emrel_engine::burn_trainer("auto")?;
        let project = Project::open(path, trainer).await?;
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let uid = project.store().project_uid().await?;
        let entities = Arc::new(RwLock::new(SentenceEntities::new()));
        index_entities(project.clone(), entities.clone());
        let previous = self.open.write().await.replace(Open {
            project,
            uid,
            path: path.to_path_buf(),
            name: name.clone(),
            entities,
        });
        if let Some(p) = previous {
            p.project.close().await;
        }
        self.remember(path, &name)?;
        let view = self.view().await?;
        // A project whose reliable set already reached N goes on bootstrapping; the window hears
        // of it through job events (a failure to check does not keep the project closed).
        let _ = self.auto_bootstrap().await;
        Ok(view)
    }

    /// Starts bootstrapping with the project's settings when the engine says it is due (the
    /// `auto_bootstrap` setting is on and the reliable set reached N) and no job runs here.
    /// Returns whether it started one. Boxed: jobs started here call it again when they end.
    pub fn auto_bootstrap(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool>> + Send + '_>> {
        Box::pin(async move {
            if self.job_running() {
                return Ok(false);
            }
            let project = self.project().await?;
            let Some(due) = project.auto_bootstrap().await? else { return Ok(false) };
            let notice =
                JobEventView::AutoBootstrap { reliable: due.reliable, batch_size: due.batch_size };
            // A window that is gone cannot show it; the job goes on.
            let _ = self.handle.emit(crate::bindings::JOB_EVENT, notice);
            let options = due.options;
            crate::jobs::spawn(self, true, move |sink, cancel| async move {
                project.bootstrap(&options, sink, cancel).await
            })?;
            Ok(true)
        })
    }

    /// Opens the last project that still exists; on the very first start (no project was ever
    /// opened), creates the demo project in the data directory first.
    pub async fn startup(&self) -> Result<Startup> {
        let data_dir = self.data_dir.display().to_string();
        if self.open.read().await.is_some() {
            let project = Some(self.view().await?);
            return Ok(Startup {
                project,
                recent: self.recent(),
                data_dir,
                annotator: self.annotator(),
                created_demo: false,
                error: None,
            });
        }
        let recent = self.recent();
        let mut created_demo = false;
        let target = match recent.iter().find(|r| r.exists) {
            Some(r) => PathBuf::from(&r.path),
            None => {
                let demo = self.demo_path();
                if !demo.exists() {
                    std::fs::create_dir_all(&self.data_dir)
                        .map_err(|e| Error::io(&self.data_dir, e))?;
                    let mut progress =
                        |p: emrel_engine::corpus::CorpusPhase, d: usize, t: usize| {
                            self.progress("demo", p.as_str(), d, t)
                        };
                    let options = emrel_engine::corpus::DemoOptions {
                        sentences: demo_sentences(),
                        ..Default::default()
                    };
                    emrel_engine::corpus::demo(&demo, "demo", options, &mut progress).await?;
                    created_demo = true;
                }
                demo
            }
        };
        let (project, error) = match self.open(&target).await {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        };
        let annotator = self.annotator();
        Ok(Startup { project, recent: self.recent(), data_dir, annotator, created_demo, error })
    }

    /// Creates an empty project at `path` with the paper's schema or `schema_file` (TOML or
    /// JSON), and opens it.
    pub async fn create(&self, path: &Path, schema_file: Option<&Path>) -> Result<ProjectView> {
        if path.as_os_str().is_empty() {
            return Err(Error::new(ErrorCode::Invalid, "choose where to create the project"));
        }
        let schema = match schema_file {
            Some(f) => {
                let text = std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?;
                let parsed = if f.extension().is_some_and(|e| e == "json") {
                    emrel_core::Schema::from_json(&text)
                } else {
                    emrel_core::Schema::from_toml(&text)
                };
                parsed.map_err(|e| Error::new(ErrorCode::Input, format!("{}: {e}", f.display())))?
            }
            None => emrel_core::Schema::paper_default(),
        };
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        emrel_store::Store::create(path, &name, schema).await?.close().await;
        self.open(path).await
    }

    /// What the training view shows.
    pub async fn training_overview(&self) -> Result<TrainingOverview> {
        let project = self.project().await?;
        let counts = project.counts(&emrel_engine::Queue::confirm(), &self.annotator()).await?;
        let iterations = project
            .iterations()
            .await?
            .into_iter()
            .map(|(it, report)| IterationView {
                iteration: it.idx,
                status: it.status.as_str().to_string(),
                admitted: it.admitted,
                labeled_size: report.as_ref().map(|r| r.labeled_size),
                f1: report.as_ref().map(|r| r.f1),
                promoted: report.as_ref().map(|r| r.promoted),
            })
            .collect();
        Ok(TrainingOverview {
            models: project.models().await?.into_iter().map(Into::into).collect(),
            iterations,
            settings: project.settings().await?.into(),
            reliable: counts.reliable,
            jobs: project.jobs().await?.into_iter().take(20).map(JobView::from).collect(),
            running: self.job_running(),
        })
    }

    /// What the review view shows: every iteration with its drift metrics and alarms, and the
    /// relations' review settings.
    pub async fn review_overview(&self) -> Result<ReviewOverview> {
        let project = self.project().await?;
        let settings = project.settings().await?;
        let relations = project
            .store()
            .schema()
            .relations
            .iter()
            .filter(|r| r.name != emrel_core::NONE)
            .map(|r| RelationSettingView {
                relation: r.name.clone(),
                threshold: settings.relation_thresholds.get(&r.name).copied(),
                frozen: settings.frozen_relations.contains(&r.name),
            })
            .collect();
        Ok(ReviewOverview {
            iterations: project.review().await?.into_iter().map(Into::into).collect(),
            relations,
            threshold: settings.threshold,
            auto_quarantine: settings.auto_quarantine,
            audit_target: settings.audit_target,
            audit_per_stratum: settings.audit_per_stratum,
            running: self.job_running(),
        })
    }

    /// Re-reads the entity index after an import changed the corpus.
    pub async fn reindex(&self) {
        if let Some(o) = &*self.open.read().await {
            index_entities(o.project.clone(), o.entities.clone());
        }
    }

    /// The entities of a sentence (empty while the index is being built).
    pub async fn sentence_entities(&self, sentence: i64) -> Vec<EntityView> {
        let Some(o) = &*self.open.read().await else { return Vec::new() };
        let index = o.entities.read().await;
        index.get(&sentence).cloned().unwrap_or_default()
    }

    pub async fn view(&self) -> Result<ProjectView> {
        let guard = self.open.read().await;
        let o = guard
            .as_ref()
            .ok_or_else(|| Error::new(ErrorCode::NoProject, "open or create a project first"))?;
        let schema = o.project.store().schema();
        let stats = o.project.store().stats().await?;
        Ok(ProjectView {
            uid: o.uid.clone(),
            path: o.path.display().to_string(),
            name: o.name.clone(),
            schema: schema.name.clone(),
            entity_types: schema
                .entity_types
                .iter()
                .map(|t| EntityTypeView { name: t.name.clone(), color: t.color.clone() })
                .collect(),
            relations: schema
                .relations
                .iter()
                .map(|r| RelationView { name: r.name.clone(), description: r.description.clone() })
                .collect(),
            annotator: self.annotator(),
            pairs: stats.pairs,
            unlabeled_pairs: stats.unlabeled_pairs,
        })
    }

    /// Recent projects, most recent first.
    pub fn recent(&self) -> Vec<RecentProject> {
        let text = std::fs::read_to_string(self.data_dir.join(RECENT_FILE)).unwrap_or_default();
        let mut list: Vec<RecentProject> = serde_json::from_str(&text).unwrap_or_default();
        for r in &mut list {
            r.exists = Path::new(&r.path).exists();
        }
        list
    }

    fn remember(&self, path: &Path, name: &str) -> Result<()> {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut list = self.recent();
        list.retain(|r| Path::new(&r.path) != path);
        list.insert(
            0,
            RecentProject {
                path: path.display().to_string(),
                name: name.to_string(),
                opened_at: now(),
                exists: true,
            },
        );
        list.truncate(MAX_RECENT);
        std::fs::create_dir_all(&self.data_dir).map_err(|e| Error::io(&self.data_dir, e))?;
        let file = self.data_dir.join(RECENT_FILE);
        let json = serde_json::to_string_pretty(&list).expect("recent projects serialise");
        std::fs::write(&file, json).map_err(|e| Error::io(&file, e))
    }

    /// Sends a `progress` event to the window.
    pub fn progress(&self, task: &str, phase: &str, done: usize, total: usize) {
        let view = ProgressView { task: task.into(), phase: phase.into(), done, total };
        // A window that is gone cannot show progress; the work itself goes on.
        let _ = self.handle.emit(crate::bindings::PROGRESS_EVENT, view);
    }

    pub fn handle(&self) -> &AppHandle {
        &self.handle
    }

    /// Claims the window's job slot; `None` when a job started here is still running.
    pub fn begin_job(&self) -> Option<CancelToken> {
        let mut slot = self.job.lock().expect("the job slot is not poisoned");
        if slot.is_some() {
            return None;
        }
        let token = CancelToken::new();
        *slot = Some(token.clone());
        Some(token)
    }

    pub fn end_job(&self) {
        *self.job.lock().expect("the job slot is not poisoned") = None;
    }

    pub fn job_running(&self) -> bool {
        self.job.lock().expect("the job slot is not poisoned").is_some()
    }

    /// Asks the running job to stop; `false` when none runs.
    pub fn cancel_job(&self) -> bool {
        match &*self.job.lock().expect("the job slot is not poisoned") {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

/// Sentences of the demo project (`EMREL_DEMO_SENTENCES` overrides the default).
fn demo_sentences() -> usize {
    std::env::var("EMREL_DEMO_SENTENCES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(emrel_engine::corpus::DemoOptions::default().sentences)
}

/// Builds the sentence → entities index from the project's pairs, off the command path.
fn index_entities(project: Project, into: Arc<RwLock<SentenceEntities>>) {
    tauri::async_runtime::spawn(async move {
        let Ok(pairs) = project.store().pairs().await else { return };
        let mut index: HashMap<i64, Vec<(i64, EntityView)>> = HashMap::new();
        for p in pairs {
            let list = index.entry(p.sentence_id).or_default();
            for e in [&p.head, &p.tail] {
                if !list.iter().any(|(id, _)| *id == e.entity_id) {
                    let view = EntityView {
                        mention: e.mention.clone(),
                        entity_type: e.entity_type.clone(),
                        spans: e.spans.iter().map(|s| [s.start, s.end]).collect(),
                    };
                    list.push((e.entity_id, view));
                }
            }
        }
        let index =
            index.into_iter().map(|(k, v)| (k, v.into_iter().map(|(_, e)| e).collect())).collect();
        *into.write().await = index;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_annotator_name_set_in_the_app_is_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert!(save_annotator(&data, "   ").is_err(), "an empty name is refused");
        assert_eq!(save_annotator(&data, "  张医生 ").unwrap(), "张医生");
        assert_eq!(initial_annotator(&data), "张医生", "a later start reads it back");
        std::fs::write(data.join(RECENT_FILE), "[]").unwrap();
        assert_eq!(save_annotator(&data, "li").unwrap(), "li");
        assert_eq!(initial_annotator(&data), "li");
        assert_eq!(std::fs::read_to_string(data.join(RECENT_FILE)).unwrap(), "[]");
    }
}
