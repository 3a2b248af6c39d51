//! Background jobs as rows, and project settings.
//!
//! A job row records what was asked (`params_json`), how far it got (`progress_json`) and where
//! it can pick up (`checkpoint_json`). A job found `running` when nothing runs it any more (the
//! process was killed) is marked `interrupted` by the engine and may be restarted; restarting
//! reuses the row and counts the attempt.

use crate::ids::JobId;
use crate::{Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// Found running after its process ended: restartable.
    Interrupted,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Result<JobStatus> {
        match s {
            "running" => Ok(JobStatus::Running),
            "succeeded" => Ok(JobStatus::Succeeded),
            "failed" => Ok(JobStatus::Failed),
            "cancelled" => Ok(JobStatus::Cancelled),
            "interrupted" => Ok(JobStatus::Interrupted),
            other => Err(StoreError::Invalid(format!("unknown job status `{other}`"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: String,
    pub status: JobStatus,
    pub params_json: String,
    pub progress_json: Option<String>,
    pub checkpoint_json: Option<String>,
    pub message: Option<String>,
    pub attempts: i64,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}
