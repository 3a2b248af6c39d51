//! EMRel's domain model: the schema, sentences and candidate pairs, labels with their provenance,
//! and evaluation metrics. It is pure (no IO, no database, no Burn, no Tauri) so that every other
//! crate agrees on one meaning of "pair", "label" and "F1" and so that it can be tested directly.

pub mod agreement;
pub mod audit;
pub mod corpus;
pub mod drift;
pub mod label;
pub mod metrics;
pub mod model;
pub mod schema;
pub mod text;

pub use corpus::{
    DocumentInput, EntityInput, Origin, PrepareError, PreparedDocument, PreparedEntity,
    PreparedSentence, RelationInput, prepare_document,
};
pub use label::{LabelSource, NONE};
pub use schema::{EntityTypeDef, RelationDef, Schema, SchemaError};
pub use text::{Span, split_sentences};
