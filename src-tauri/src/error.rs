//! The one error type that crosses to the UI: `{code, message}`. The UI shows `message` and
//! branches only on `code`; engine errors keep their engine code.

use serde::Serialize;
use ts_rs::TS;

/// What the UI may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
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
    /// A command that needs an open project was called before one was opened.
    NoProject,
    /// An imported file is malformed (the message names `file:line`).
    Input,
    /// A write was sent for a project that is no longer the open one.
    ProjectChanged,
}

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    pub fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Error {
        Error::new(ErrorCode::Io, format!("cannot use {}: {e}", path.display()))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<emrel_engine::EngineError> for Error {
    fn from(e: emrel_engine::EngineError) -> Error {
        use emrel_engine::ErrorCode as E;
        if let emrel_engine::EngineError::Store(store) = e {
            return store.into();
        }
        let code = match e.code() {
            E::Store => ErrorCode::Store,
            E::Model => ErrorCode::Model,
            E::Cancelled => ErrorCode::Cancelled,
            E::Panicked => ErrorCode::Panicked,
            E::Busy => ErrorCode::Busy,
            E::Invalid => ErrorCode::Invalid,
            E::NoModel => ErrorCode::NoModel,
            E::Io => ErrorCode::Io,
            E::Input => ErrorCode::Input,
        };
        Error::new(code, e.to_string())
    }
}

impl From<emrel_store::StoreError> for Error {
    fn from(e: emrel_store::StoreError) -> Error {
        let code = match e {
            emrel_store::StoreError::Input(_) => ErrorCode::Input,
            emrel_store::StoreError::Invalid(_) => ErrorCode::Invalid,
            _ => ErrorCode::Store,
        };
        Error::new(code, e.to_string())
    }
}

impl From<emrel_core::PrepareError> for Error {
    fn from(e: emrel_core::PrepareError) -> Error {
        Error::new(ErrorCode::Input, e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
