//! The engine's one error type. Front ends show its message and branch only on [`ErrorCode`]
//! (the desktop app sends `{code, message}` to the UI), never on message text.

use emrel_core::PrepareError;
use emrel_core::model::ModelError;
use emrel_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("model: {0}")]
    Model(ModelError),
    #[error("the job was cancelled")]
    Cancelled,
    #[error("job panicked: {0}")]
    Panicked(String),
    #[error("another job is running on this project ({0}); wait for it or cancel it")]
    Busy(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NoModel(String),
    #[error("cannot use {path}: {message}")]
    Io { path: String, message: String },
    /// A bad record in imported data (the message names `file:line`).
    #[error(transparent)]
    Input(#[from] PrepareError),
    /// A file or folder of an export could not be created or written.
    #[error("cannot {action} {path}: {message}")]
    File { action: &'static str, path: String, message: String },
}

/// What a front end may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Store,
    Model,
    Cancelled,
    Panicked,
    Busy,
    Invalid,
    NoModel,
    Io,
    Input,
}

impl EngineError {
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Store(_) => ErrorCode::Store,
            EngineError::Model(_) => ErrorCode::Model,
            EngineError::Cancelled => ErrorCode::Cancelled,
            EngineError::Panicked(_) => ErrorCode::Panicked,
            EngineError::Busy(_) => ErrorCode::Busy,
            EngineError::Invalid(_) => ErrorCode::Invalid,
            EngineError::NoModel(_) => ErrorCode::NoModel,
            EngineError::Io { .. } | EngineError::File { .. } => ErrorCode::Io,
            EngineError::Input(_) => ErrorCode::Input,
        }
    }
}

impl From<ModelError> for EngineError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Cancelled => EngineError::Cancelled,
            other => EngineError::Model(other),
        }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

pub(crate) fn json_err(e: serde_json::Error) -> EngineError {
    EngineError::Invalid(format!("stored json: {e}"))
}
