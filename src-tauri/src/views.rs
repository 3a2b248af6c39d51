//! Transport types: what commands take and return and what events carry, as the UI sees them.
//! Engine and store types are not `TS`; these mirror the fields the UI uses, and the
//! TypeScript bindings in `ui/src/lib/backend/bindings.ts` are generated from them (see
//! `bindings.rs`). Ids travel as plain numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, ErrorCode};

/// An entity type of the project's schema with its highlight colour.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct EntityTypeView {
    pub name: String,
    pub color: Option<String>,
}

/// A relation of the project's schema.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RelationView {
    pub name: String,
    pub description: String,
}

/// The open project.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ProjectView {
    /// The project's identity; label writes send it back (see `annotate_pair`).
    pub uid: String,
    pub path: String,
    pub name: String,
    pub schema: String,
    pub entity_types: Vec<EntityTypeView>,
    pub relations: Vec<RelationView>,
    /// Who labels in this window (see `set_annotator`).
    pub annotator: String,
    pub pairs: usize,
    pub unlabeled_pairs: usize,
}

/// A project the app opened before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RecentProject {
    pub path: String,
    pub name: String,
    pub opened_at: String,
    /// Whether the file is still there.
    #[serde(default)]
    pub exists: bool,
}

/// What the start screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Startup {
    pub project: Option<ProjectView>,
    pub recent: Vec<RecentProject>,
    /// Where new projects go by default (the user's data directory).
    pub data_dir: String,
    /// Who labels in this window (set in the app, kept across restarts).
    pub annotator: String,
    /// Whether this start created the demo project.
    pub created_demo: bool,
    /// Why the last project could not be opened, if it could not.
    pub error: Option<Error>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    Ccks2017,
    Brat,
    Jsonl,
}

/// An import request from the start screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ImportRequest {
    pub format: ImportFormat,
    /// Files or folders (searched recursively); for CCKS 2017 the test-gold CSV may be one.
    pub paths: Vec<String>,
    /// brat `R` lines become gold (hidden reference answers) instead of human labels.
    pub relations_as_gold: bool,
    /// Skip bad records instead of stopping at the first.
    pub lenient: bool,
    /// The corpus marks every relation present: candidate pairs without one become `none`
    /// labels (of the same source as the relations).
    pub unlabeled_pairs_none: bool,
}

/// What an import added.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ImportReport {
    pub documents_added: usize,
    pub documents_unchanged: usize,
    pub sentences: usize,
    pub entities: usize,
    pub pairs: usize,
    pub labels: usize,
    pub cross_sentence_relations: usize,
    pub skipped: Vec<String>,
}

impl ImportRequest {
    /// The engine's import options.
    pub fn options(&self) -> Result<emrel_engine::corpus::ImportOptions, Error> {
        use emrel_engine::corpus::ImportFormat as F;
        let paths: Vec<std::path::PathBuf> = self
            .paths
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
            .collect();
        if paths.is_empty() {
            return Err(Error::new(ErrorCode::Invalid, "choose a file or folder to import"));
        }
        Ok(emrel_engine::corpus::ImportOptions {
            format: match self.format {
                ImportFormat::Ccks2017 => F::Ccks2017,
                ImportFormat::Brat => F::Brat,
                ImportFormat::Jsonl => F::Jsonl,
            },
            paths,
            relations_as: if self.relations_as_gold {
                emrel_core::LabelSource::Gold
            } else {
                emrel_core::LabelSource::Human
            },
            lenient: self.lenient,
            unlabeled_pairs_none: self.unlabeled_pairs_none,
        })
    }
}

impl From<emrel_store::ImportSummary> for ImportReport {
    fn from(s: emrel_store::ImportSummary) -> Self {
        ImportReport {
            documents_added: s.documents_added,
            documents_unchanged: s.documents_unchanged,
            sentences: s.sentences,
            entities: s.entities,
            pairs: s.pairs,
            labels: s.labels,
            cross_sentence_relations: s.cross_sentence_relations,
            skipped: s.skipped,
        }
    }
}

/// Corpus statistics (the figures of `emrel stats --json` the UI shows).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct StatsView {
    pub documents: usize,
    pub sentences: usize,
    pub entities: usize,
    pub pairs: usize,
    pub unlabeled_pairs: usize,
    /// relation -> source (`seed`, `human`, `auto`, `gold`) -> count.
    pub labels: BTreeMap<String, BTreeMap<String, usize>>,
}

impl From<emrel_store::Stats> for StatsView {
    fn from(s: emrel_store::Stats) -> Self {
        StatsView {
            documents: s.documents,
            sentences: s.sentences,
            entities: s.entities,
            pairs: s.pairs,
            unlabeled_pairs: s.unlabeled_pairs,
            labels: s.labels,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// Unlabeled pairs, most uncertain first once a model exists.
    Seed,
    /// Bootstrapped labels and reliable-set pairs, lowest confidence first.
    Confirm,
    /// The current model's least certain unlabeled pairs.
    Uncertain,
}

impl QueueKind {
    pub fn queue(self) -> emrel_engine::Queue {
        match self {
            QueueKind::Seed => emrel_engine::Queue::seed_uncertain(),
            QueueKind::Confirm => emrel_engine::Queue::confirm(),
            QueueKind::Uncertain => emrel_engine::Queue::uncertain(),
        }
    }
}

/// The first pairs of a queue in order, and how many it holds.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct QueueWindow {
    #[ts(type = "Array<number>")]
    pub pairs: Vec<i64>,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct EntityView {
    pub mention: String,
    pub entity_type: String,
    /// Sentence-relative half-open char spans.
    pub spans: Vec<[usize; 2]>,
}

impl From<emrel_engine::EntityView> for EntityView {
    fn from(e: emrel_engine::EntityView) -> Self {
        EntityView { mention: e.mention, entity_type: e.entity_type, spans: e.spans }
    }
}

/// A pair's current label with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct LabelView {
    pub relation: String,
    pub source: String,
    pub action: String,
    pub annotator: Option<String>,
    pub probability: Option<f64>,
    pub iteration: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SuggestionView {
    pub relation: String,
    pub probability: f64,
    /// After temperature scaling on the gold split: ≈ P(correct).
    pub calibrated: Option<f64>,
    #[ts(type = "number")]
    pub model_version: i64,
}

/// One pair as the annotate view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ItemView {
    #[ts(type = "number")]
    pub pair: i64,
    pub text: String,
    pub category: String,
    pub head: EntityView,
    pub tail: EntityView,
    /// Every entity of the sentence (the head and tail included), for light marking.
    pub others: Vec<EntityView>,
    /// Relations valid for the pair's types, `none` last.
    pub relations: Vec<RelationView>,
    pub current: Option<LabelView>,
    pub suggestion: Option<SuggestionView>,
    pub in_gold_split: bool,
}

impl ItemView {
    pub fn new(item: emrel_engine::Item, others: Vec<EntityView>) -> ItemView {
        ItemView {
            pair: item.pair.0,
            text: item.text,
            category: item.category,
            head: item.head.into(),
            tail: item.tail.into(),
            others,
            relations: item
                .relations
                .into_iter()
                .map(|r| RelationView { name: r.name, description: r.description })
                .collect(),
            current: item.current.map(|l| LabelView {
                relation: l.relation,
                source: l.source,
                action: l.action,
                annotator: l.annotator,
                probability: l.probability,
                iteration: l.iteration.map(|i| i as i32),
            }),
            suggestion: item.suggestion.map(|s| SuggestionView {
                relation: s.relation,
                probability: s.probability,
                calibrated: s.calibrated,
                model_version: s.model_version.0,
            }),
            in_gold_split: item.in_gold_split,
        }
    }
}

/// What a labeling call wrote.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Labeled {
    #[ts(type = "number")]
    pub pair: i64,
    #[ts(type = "number")]
    pub event: i64,
    /// `set`, `confirm` or `fix`: decided by the backend from the suggestion shown.
    pub action: String,
}

/// The model's suggestion as the annotate view showed it, sent back with the label.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
pub struct ShownSuggestion {
    #[ts(type = "number")]
    pub model_version: i64,
    pub relation: String,
    pub probability: f64,
}

impl ShownSuggestion {
    pub fn engine(&self) -> emrel_engine::ShownSuggestion {
        emrel_engine::ShownSuggestion {
            model_version: emrel_engine::ModelVersionId(self.model_version),
            relation: self.relation.clone(),
            probability: self.probability,
        }
    }
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Undone {
    #[ts(type = "number")]
    pub pair: i64,
    /// The label the pair has again; `null` when it is unlabeled again.
    pub restored: Option<String>,
}

/// The annotate view's progress figures.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct CountsView {
    pub labeled_today: usize,
    pub left_in_queue: usize,
    pub reliable: usize,
    pub batch_size: usize,
}

impl From<emrel_engine::Counts> for CountsView {
    fn from(c: emrel_engine::Counts) -> Self {
        CountsView {
            labeled_today: c.labeled_today,
            left_in_queue: c.left_in_queue,
            reliable: c.reliable,
            batch_size: c.batch_size,
        }
    }
}

/// Precision, recall and F1 of one relation or of the micro average.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct PrfView {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Gold-split figures of a model version.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct MetricsView {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub pairs: usize,
    pub per_relation: BTreeMap<String, PrfView>,
    pub dev_f1: f64,
}

impl From<emrel_engine::Metrics> for MetricsView {
    fn from(m: emrel_engine::Metrics) -> Self {
        MetricsView {
            precision: m.precision,
            recall: m.recall,
            f1: m.f1,
            pairs: m.pairs,
            per_relation: m
                .per_relation
                .into_iter()
                .map(|(k, p)| {
                    let v = PrfView {
                        precision: p.precision,
                        recall: p.recall,
                        f1: p.f1,
                        support: p.support,
                    };
                    (k, v)
                })
                .collect(),
            dev_f1: m.dev_f1,
        }
    }
}

/// A model version in the comparison table.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ModelView {
    #[ts(type = "number")]
    pub version: i64,
    pub model: String,
    pub preset: String,
    pub status: String,
    pub train_size: usize,
    pub metrics: Option<MetricsView>,
    pub seconds: Option<f64>,
    pub created_at: String,
    pub current: bool,
}

impl From<emrel_engine::ModelInfo> for ModelView {
    fn from(m: emrel_engine::ModelInfo) -> Self {
        ModelView {
            version: m.version.0,
            model: m.model,
            preset: m.preset,
            status: m.status,
            train_size: m.train_size,
            metrics: m.metrics.map(Into::into),
            seconds: m.seconds,
            created_at: m.created_at,
            current: m.current,
        }
    }
}

/// One bootstrapping iteration: a point of the F1 / corpus-size chart.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct IterationView {
    #[ts(type = "number")]
    pub iteration: i64,
    pub status: String,
    pub admitted: usize,
    /// Labels its model trained on (the corpus size); `null` while unfinished.
    pub labeled_size: Option<usize>,
    pub f1: Option<f64>,
    pub promoted: Option<bool>,
}

/// Bootstrapping settings (λ, N and the rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SettingsView {
    pub threshold: f64,
    pub batch_size: usize,
    pub per_relation_cap: Option<usize>,
    pub gold_fraction: f64,
    pub tolerance_points: f64,
    /// Start bootstrapping on its own when the reliable set reaches N after a job.
    pub auto_bootstrap: bool,
}

impl From<emrel_engine::Settings> for SettingsView {
    fn from(s: emrel_engine::Settings) -> Self {
        SettingsView {
            threshold: s.threshold,
            batch_size: s.batch_size,
            per_relation_cap: s.per_relation_cap,
            gold_fraction: s.gold_fraction,
            tolerance_points: s.tolerance_points,
            auto_bootstrap: s.auto_bootstrap,
        }
    }
}

impl SettingsView {
    /// The project's settings with this view's fields replaced (the review settings are kept).
    pub fn apply(&self, mut s: emrel_engine::Settings) -> emrel_engine::Settings {
        s.threshold = self.threshold;
        s.batch_size = self.batch_size;
        s.per_relation_cap = self.per_relation_cap;
        s.gold_fraction = self.gold_fraction;
        s.tolerance_points = self.tolerance_points;
        s.auto_bootstrap = self.auto_bootstrap;
        s
    }
}

/// A job as the training view lists it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct JobView {
    #[ts(type = "number")]
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub message: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<emrel_store::JobRecord> for JobView {
    fn from(j: emrel_store::JobRecord) -> Self {
        JobView {
            id: j.id.0,
            kind: j.kind,
            status: j.status.as_str().to_string(),
            message: j.message,
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

/// Everything the training view shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct TrainingOverview {
    pub models: Vec<ModelView>,
    pub iterations: Vec<IterationView>,
    pub settings: SettingsView,
    /// Reliable-set size toward the batch size.
    pub reliable: usize,
    /// Jobs, newest first (at most 20).
    pub jobs: Vec<JobView>,
    /// Whether a job started from this window is running.
    pub running: bool,
}

/// Model training options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TrainRequest {
    /// A model of the zoo (`resgru-att`, `cnn`, ...).
    pub model: String,
    /// `cpu`, `paper` or `tiny`.
    pub preset: String,
    pub epochs: Option<usize>,
    #[ts(type = "number")]
    pub seed: u64,
}

impl TrainRequest {
    pub fn options(&self, settings: &emrel_engine::Settings) -> emrel_engine::TrainOptions {
        emrel_engine::TrainOptions {
            model: self.model.clone(),
            preset: self.preset.clone(),
            epochs: self.epochs,
            seed: self.seed,
            gold_fraction: settings.gold_fraction,
            char_vectors: None,
        }
    }
}

/// A bootstrapping run: λ, N and how many iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BootstrapRequest {
    pub train: TrainRequest,
    pub threshold: f64,
    pub batch_size: usize,
    pub max_iterations: Option<usize>,
}

impl BootstrapRequest {
    pub fn options(&self, settings: &emrel_engine::Settings) -> emrel_engine::BootstrapOptions {
        emrel_engine::BootstrapOptions {
            train: self.train.options(settings),
            threshold: self.threshold,
            batch_size: self.batch_size,
            per_relation_cap: settings.per_relation_cap,
            tolerance_points: settings.tolerance_points,
            max_iterations: self.max_iterations,
            ..Default::default()
        }
    }
}

/// A job's progress, streamed as the `job` event.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEventView {
    Started {
        #[ts(type = "number")]
        job: i64,
        kind: String,
    },
    Phase {
        #[ts(type = "number")]
        job: i64,
        phase: String,
    },
    Training {
        #[ts(type = "number")]
        job: i64,
        #[ts(type = "number")]
        version: i64,
        epoch: usize,
        epochs: usize,
        step: usize,
        steps_per_epoch: usize,
        loss: f64,
    },
    Epoch {
        #[ts(type = "number")]
        job: i64,
        epoch: usize,
        epochs: usize,
        dev_f1: f64,
    },
    Scoring {
        #[ts(type = "number")]
        job: i64,
        done: usize,
        total: usize,
    },
    Evaluated {
        #[ts(type = "number")]
        job: i64,
        #[ts(type = "number")]
        version: i64,
        precision: f64,
        recall: f64,
        f1: f64,
    },
    Admitted {
        #[ts(type = "number")]
        job: i64,
        #[ts(type = "number")]
        iteration: i64,
        admitted: usize,
    },
    IterationFinished {
        #[ts(type = "number")]
        job: i64,
        #[ts(type = "number")]
        iteration: i64,
        promoted: bool,
        f1: f64,
    },
    /// The reliable set reached N, so the app starts bootstrapping on its own (the project's
    /// `auto_bootstrap` setting); the job's own events follow.
    AutoBootstrap { reliable: usize, batch_size: usize },
    /// The job ended (`succeeded`, `failed`, `cancelled`), or could not start (`job` is null).
    Finished {
        #[ts(type = "number | null")]
        job: Option<i64>,
        status: String,
        message: Option<String>,
    },
}

impl From<&emrel_engine::JobEvent> for JobEventView {
    fn from(e: &emrel_engine::JobEvent) -> Self {
        use emrel_engine::JobEvent as E;
        match e.clone() {
            E::Started { job, kind, .. } => JobEventView::Started { job: job.0, kind },
            E::Phase { job, phase } => JobEventView::Phase { job: job.0, phase },
            E::Training { job, version, epoch, epochs, step, steps_per_epoch, loss } => {
                JobEventView::Training {
                    job: job.0,
                    version: version.0,
                    epoch,
                    epochs,
                    step,
                    steps_per_epoch,
                    loss,
                }
            }
            E::Epoch { job, epoch, epochs, dev_f1, .. } => {
                JobEventView::Epoch { job: job.0, epoch, epochs, dev_f1 }
            }
            E::Scoring { job, done, total, .. } => {
                JobEventView::Scoring { job: job.0, done, total }
            }
            E::Evaluated { job, version, precision, recall, f1 } => {
                JobEventView::Evaluated { job: job.0, version: version.0, precision, recall, f1 }
            }
            E::Admitted { job, iteration, admitted } => {
                JobEventView::Admitted { job: job.0, iteration, admitted }
            }
            E::IterationFinished { job, iteration, promoted, f1, .. } => {
                JobEventView::IterationFinished { job: job.0, iteration, promoted, f1 }
            }
            E::Finished { job, status, message } => {
                JobEventView::Finished { job: Some(job.0), status, message }
            }
        }
    }
}

/// Progress of an import, an export or the demo's creation, streamed as the `progress` event.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ProgressView {
    /// `import`, `export` or `demo`.
    pub task: String,
    pub phase: String,
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Jsonl,
    Brat,
    Csv,
}

/// An export request: format, filters and destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ExportRequest {
    pub format: ExportFormat,
    /// A file (JSONL, CSV) or a folder (brat).
    pub out: String,
    /// Keep labels of these sources (`seed`, `human`, `auto`, `gold`); all when empty.
    pub sources: Vec<String>,
    /// Keep auto labels with at least this probability.
    pub min_probability: Option<f64>,
    /// Keep only auto labels of iterations `[from, to]`.
    #[ts(type = "[number, number] | null")]
    pub iterations: Option<(i64, i64)>,
    /// Replace an existing destination: the user confirmed it (the native save dialog asked, or
    /// the view's "overwrite" box is ticked). Without it an existing destination is refused.
    #[serde(default)]
    pub overwrite: bool,
}

impl ExportRequest {
    /// The engine's export options.
    pub fn options(&self) -> Result<emrel_engine::corpus::ExportOptions, Error> {
        use emrel_engine::corpus::ExportFormat as F;
        let out = self.out.trim();
        if out.is_empty() {
            return Err(Error::new(ErrorCode::Invalid, "choose where to write the export"));
        }
        let sources = self
            .sources
            .iter()
            .map(|s| {
                s.parse::<emrel_core::LabelSource>()
                    .map_err(|e| Error::new(ErrorCode::Invalid, format!("label source `{s}`: {e}")))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(emrel_engine::corpus::ExportOptions {
            format: match self.format {
                ExportFormat::Jsonl => F::Jsonl,
                ExportFormat::Brat => F::Brat,
                ExportFormat::Csv => F::Csv,
            },
            out: std::path::PathBuf::from(out),
            overwrite: self.overwrite,
            filter: emrel_store::ExportFilter {
                sources,
                min_probability: self.min_probability,
                iterations: self.iterations,
            },
        })
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ExportReport {
    pub out: String,
    pub documents: usize,
    pub sentences: usize,
    pub labels: usize,
    /// Labels written per source.
    pub by_source: BTreeMap<String, usize>,
}

impl From<emrel_engine::corpus::ExportSummary> for ExportReport {
    fn from(s: emrel_engine::corpus::ExportSummary) -> Self {
        ExportReport {
            out: s.out.display().to_string(),
            documents: s.documents,
            sentences: s.sentences,
            labels: s.labels,
            by_source: s.by_source,
        }
    }
}

/// A drift alarm: a metric of an iteration (or of one of its relations; `*` for the whole
/// iteration) crossed its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AlarmView {
    #[ts(type = "number")]
    pub iteration: i64,
    pub relation: String,
    /// `jsd`, `f1_drop`, `churn_auto`, `churn_human`, `share_ratio`, `centroid_similarity` or
    /// `below_floor`.
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    /// Whether the alarm quarantines the iteration (the others only inform).
    pub quarantine: bool,
}

impl From<emrel_core::drift::Alarm> for AlarmView {
    fn from(a: emrel_core::drift::Alarm) -> Self {
        AlarmView {
            iteration: a.iteration,
            relation: a.relation,
            metric: a.metric,
            value: a.value,
            threshold: a.threshold,
            quarantine: a.quarantine,
        }
    }
}

/// Drift metrics of one relation in one iteration.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RelationDriftView {
    pub relation: String,
    pub admitted: usize,
    /// Share of the relation among the iteration's admitted labels.
    pub share: f64,
    /// Share among the human labels (the prior).
    pub prior_share: f64,
    pub confidence_mean: f64,
    /// Admitted confidences in 10 bins over [0, 1].
    pub confidence_histogram: Vec<usize>,
    pub centroid_similarity: Option<f64>,
    pub seed_similarity_floor: Option<f64>,
    pub mcintosh_curran: Option<f64>,
    pub f1: Option<f64>,
    pub previous_f1: Option<f64>,
}

impl From<emrel_core::drift::RelationDrift> for RelationDriftView {
    fn from(r: emrel_core::drift::RelationDrift) -> Self {
        RelationDriftView {
            relation: r.relation,
            admitted: r.admitted,
            share: r.share,
            prior_share: r.prior_share,
            confidence_mean: r.confidence_mean,
            confidence_histogram: r.confidence_histogram,
            centroid_similarity: r.centroid_similarity,
            seed_similarity_floor: r.seed_similarity_floor,
            mcintosh_curran: r.mcintosh_curran,
            f1: r.f1,
            previous_f1: r.previous_f1,
        }
    }
}

/// Drift metrics of one iteration.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct IterationDriftView {
    pub admitted: usize,
    /// Jensen–Shannon divergence of the admitted label mix against the human prior.
    pub jsd: f64,
    pub churn_auto: Option<f64>,
    pub churn_human: Option<f64>,
    pub schema_violations: usize,
    pub f1: Option<f64>,
    pub previous_f1: Option<f64>,
    /// Expected calibration error on the gold split after temperature scaling.
    pub ece: Option<f64>,
    pub temperature: Option<f64>,
    pub relations: Vec<RelationDriftView>,
}

impl From<emrel_core::drift::IterationDrift> for IterationDriftView {
    fn from(d: emrel_core::drift::IterationDrift) -> Self {
        IterationDriftView {
            admitted: d.admitted,
            jsd: d.jsd,
            churn_auto: d.churn_auto,
            churn_human: d.churn_human,
            schema_violations: d.schema_violations,
            f1: d.f1,
            previous_f1: d.previous_f1,
            ece: d.ece,
            temperature: d.temperature,
            relations: d.relations.into_iter().map(Into::into).collect(),
        }
    }
}

/// One iteration as the review view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct IterationReviewView {
    #[ts(type = "number")]
    pub iteration: i64,
    /// `active`, `rejected`, `quarantined` or `rolled_back`.
    pub status: String,
    pub accepted: bool,
    pub admitted: usize,
    /// Automatic labels of the iteration still current.
    pub still_automatic: usize,
    pub threshold: f64,
    #[ts(type = "number | null")]
    pub base_model_version: Option<i64>,
    #[ts(type = "number | null")]
    pub model_version: Option<i64>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub drift: Option<IterationDriftView>,
    /// Alarms under the thresholds in force now.
    pub alarms: Vec<AlarmView>,
    /// Alarms raised when the iteration was admitted.
    pub admission_alarms: Vec<AlarmView>,
}

impl From<emrel_engine::IterationReview> for IterationReviewView {
    fn from(r: emrel_engine::IterationReview) -> Self {
        IterationReviewView {
            iteration: r.iteration,
            status: r.status,
            accepted: r.accepted,
            admitted: r.admitted,
            still_automatic: r.still_automatic,
            threshold: r.threshold,
            base_model_version: r.base_model_version.map(|v| v.0),
            model_version: r.model_version.map(|v| v.0),
            started_at: r.started_at,
            finished_at: r.finished_at,
            drift: r.drift.map(Into::into),
            alarms: r.alarms.into_iter().map(Into::into).collect(),
            admission_alarms: r.admission_alarms.into_iter().map(Into::into).collect(),
        }
    }
}

/// A relation's review settings: its own λ (none: the project's) and whether it is frozen.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RelationSettingView {
    pub relation: String,
    pub threshold: Option<f64>,
    pub frozen: bool,
}

/// Everything the review view shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ReviewOverview {
    /// Oldest first.
    pub iterations: Vec<IterationReviewView>,
    /// The schema's relations (`none` excluded) with their review settings.
    pub relations: Vec<RelationSettingView>,
    /// The project's λ.
    pub threshold: f64,
    pub auto_quarantine: bool,
    /// The precision an audit must establish to accept an iteration.
    pub audit_target: f64,
    pub audit_per_stratum: usize,
    /// Whether a job started from this window is running.
    pub running: bool,
}

/// A reviewer's decision on an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReviewActionKind {
    /// Its labels count as training data again and it is marked accepted.
    Accept,
    /// Its labels stay but are no longer trained on.
    Quarantine,
}

impl From<ReviewActionKind> for emrel_engine::ReviewAction {
    fn from(a: ReviewActionKind) -> Self {
        match a {
            ReviewActionKind::Accept => emrel_engine::ReviewAction::Accept,
            ReviewActionKind::Quarantine => emrel_engine::ReviewAction::Quarantine,
        }
    }
}

/// One audit stratum (relation × confidence bin).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct StratumView {
    pub relation: String,
    pub bin: usize,
    pub bin_label: String,
    /// Labels in the stratum.
    pub size: usize,
    /// Items drawn for judgement.
    pub sample: usize,
    pub judged: usize,
    pub correct: usize,
    /// Wilson 95% interval of the stratum's precision.
    pub low: f64,
    pub high: f64,
}

/// The audit of one iteration so far.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AuditSummaryView {
    #[ts(type = "number")]
    pub iteration: i64,
    pub target: f64,
    pub population: usize,
    pub sample: usize,
    pub judged: usize,
    pub strata: Vec<StratumView>,
    /// Stratified precision; `null` before any judgement.
    pub precision: Option<f64>,
    pub low: f64,
    pub high: f64,
    pub expected_wrong: Option<f64>,
    /// `accept`, `roll_back` or `sample_more`.
    pub decision: String,
}

impl From<emrel_engine::AuditSummary> for AuditSummaryView {
    fn from(s: emrel_engine::AuditSummary) -> Self {
        AuditSummaryView {
            iteration: s.iteration,
            target: s.target,
            population: s.population,
            sample: s.sample,
            judged: s.judged,
            strata: s
                .strata
                .into_iter()
                .map(|t| StratumView {
                    relation: t.relation,
                    bin: t.bin,
                    bin_label: t.bin_label,
                    size: t.size,
                    sample: t.sample,
                    judged: t.judged,
                    correct: t.correct,
                    low: t.low,
                    high: t.high,
                })
                .collect(),
            precision: s.precision,
            low: s.low,
            high: s.high,
            expected_wrong: s.expected_wrong,
            decision: s.decision,
        }
    }
}

/// An item to judge in an audit: the pair (with no suggestion, score or provenance) and the
/// automatic label under review.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AuditItemView {
    #[ts(type = "number")]
    pub iteration: i64,
    pub label: String,
    pub item: ItemView,
    /// Items of the sample left to judge, this one included.
    pub remaining: usize,
}
