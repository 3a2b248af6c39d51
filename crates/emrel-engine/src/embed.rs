//! Character-embedding pretraining on the project's text (`emrel embed`): skip-gram with
//! negative sampling in Burn, on the device the user chose, written in word2vec text format so
//! that training can start from it (`TrainOptions::char_vectors`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Project;
use crate::error::{EngineError, Result};
use crate::training::blocking;

pub use emrel_ml::EmbedOptions;

/// What pretraining wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbedSummary {
    pub path: PathBuf,
    /// Sentences of the project it was trained on.
    pub sentences: usize,
    /// Characters written.
    pub vocab: usize,
    pub dims: usize,
    /// (character, context) pairs over all epochs.
    pub pairs: usize,
    pub final_loss: f64,
    pub seconds: f64,
}

impl Project {
    /// Where `emrel embed` writes by default: `<database>.models/chars.vec`.
    pub fn default_char_vectors_path(&self) -> PathBuf {
        self.store.models_dir().join("chars.vec")
    }

    /// Pretrains character vectors on every sentence of the project on `device` (`cpu`, `cuda`
    /// or `auto`) and writes them to `out`.
    pub async fn embed(
        &self,
        device: &str,
        options: &EmbedOptions,
        out: &Path,
    ) -> Result<EmbedSummary> {
        let corpus = self.store.sentence_texts().await?;
        if corpus.is_empty() {
            return Err(EngineError::Invalid("the project has no sentences to pretrain on".into()));
        }
        let choice: emrel_ml::DeviceChoice = device
            .parse()
            .map_err(|e: emrel_ml::backend::BackendError| EngineError::Invalid(e.to_string()))?;
        let device =
            emrel_ml::select_device(choice).map_err(|e| EngineError::Invalid(e.to_string()))?;
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::Invalid(format!("{}: {e}", dir.display())))?;
        }
        let sentences = corpus.len();
        let (options, path) = (options.clone(), out.to_path_buf());
        let report = blocking(move || {
            Ok(emrel_ml::pretrain_char_embeddings_on(&device, &corpus, &options, &path)?)
        })
        .await?;
        Ok(EmbedSummary {
            path: out.to_path_buf(),
            sentences,
            vocab: report.vocab,
            dims: report.dims,
            pairs: report.pairs,
            final_loss: report.final_loss,
            seconds: report.seconds,
        })
    }
}
