//! Relation-extraction models for EMRel, written in Burn.
//!
//! This crate turns labeled entity pairs into a trained model and scores pairs with it. It
//! implements the [`emrel_core::model::Trainer`] / [`emrel_core::model::Scorer`] seam that the
//! engine calls, so the engine never sees Burn:
//!
//! - [`encode`]: the character vocabulary and the per-pair input (char ids, two relative
//!   positions, a window that keeps both entities),
//! - [`zoo`]: the paper's eight models (CNN … ResGRU-Att) built from one [`zoo::ModelConfig`],
//! - [`train::BurnTrainer`]: seeded training with early stopping, checkpoints and resume,
//! - [`score::BurnScorer`]: batched inference returning full probability vectors,
//! - [`embed`]: skip-gram char-embedding pretraining and word2vec text vectors,
//! - [`backend`]: the one module that maps cargo features to Burn backends.

pub mod backend;
mod batch;
mod cpu_ops;
pub mod embed;
pub mod encode;
pub mod eval;
mod files;
mod gru;
mod layers;
mod rnn;
pub mod score;
pub mod speed;
pub mod train;
pub mod zoo;

pub use backend::{ComputeDevice, DeviceChoice, select_device};
pub use embed::{
    EmbedOptions, EmbedReport, load_char_vectors, pretrain_char_embeddings,
    pretrain_char_embeddings_on,
};
pub use encode::{EncodeConfig, Vocab};
pub use eval::evaluate_scorer;
pub use score::BurnScorer;
pub use train::BurnTrainer;
pub use zoo::{ARCHS, Arch, ModelConfig, PRESETS};
