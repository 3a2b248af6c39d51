//! The seam between the bootstrapping engine and the relation-extraction models. `emrel-ml`
//! implements these traits with Burn; the engine and its tests only see the traits, so the engine
//! can be tested without knowing how a model is built.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::text::Span;

/// One entity pair as a model sees it: the sentence text and the two entities' char extents.
#[derive(Debug, Clone, PartialEq)]
pub struct PairText {
    pub text: String,
    pub head: Span,
    pub tail: Span,
    pub head_type: String,
    pub tail_type: String,
}

/// A labeled pair for training or evaluation; `class` indexes [`TrainRequest::classes`].
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub pair: PairText,
    pub class: usize,
}

/// Everything a trainer needs to produce one model version.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// Model name from the zoo (e.g. `resgru-att`).
    pub model: String,
    /// Preset name (`cpu`, `paper`, `tiny`).
    pub preset: String,
    /// Class names, [`crate::NONE`] first.
    pub classes: Vec<String>,
    pub train: Vec<Example>,
    /// Sentences to build the character vocabulary from (the whole project's text).
    pub corpus: Vec<String>,
    /// Directory the trained weights, config and vocabulary are written to.
    pub out_dir: PathBuf,
    /// Optional pretrained character embeddings (word2vec text format) to initialise from.
    pub char_vectors: Option<PathBuf>,
    pub seed: u64,
    /// Override of the preset's number of epochs.
    pub epochs: Option<usize>,
}

/// Progress of a training run, reported after every step.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainProgress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub steps_per_epoch: usize,
    /// The step's training loss; at the end of an epoch (with `dev_f1`), the epoch's mean.
    pub loss: f64,
    /// F1 on the trainer's dev part, reported at the end of each epoch.
    pub dev_f1: Option<f64>,
}

/// What a finished training run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    pub out_dir: PathBuf,
    pub epochs_run: usize,
    pub best_dev_f1: f64,
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("training was cancelled")]
    Cancelled,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Backend(String),
}

/// A cancellation flag shared between the caller and a running job.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Trains a model version and writes it to [`TrainRequest::out_dir`].
pub trait Trainer: Send + Sync {
    fn train(
        &self,
        request: &TrainRequest,
        progress: &mut dyn FnMut(&TrainProgress),
        cancel: &CancelToken,
    ) -> Result<TrainOutcome, ModelError>;

    /// Loads a model version written by [`Trainer::train`] for scoring.
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn Scorer>, ModelError>;

    /// The device it trains and scores on, as users see it (`cpu`, `cuda:0`).
    fn device_name(&self) -> String {
        "cpu".into()
    }
}

/// A loaded model version.
pub trait Scorer: Send {
    /// Class names in the order of the probability vectors.
    fn classes(&self) -> &[String];
    /// The full probability vector for each pair.
    fn score(&self, pairs: &[PairText]) -> Result<Vec<Vec<f32>>, ModelError>;
    /// Pooled features (the layer before the classifier) for each pair, for drift statistics.
    fn features(&self, pairs: &[PairText]) -> Result<Vec<Vec<f32>>, ModelError>;
}
