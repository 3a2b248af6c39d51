//! Background jobs as rows, and project settings.
//!
//! A job row records what was asked (`params_json`), how far it got (`progress_json`) and where
//! it can pick up (`checkpoint_json`). A job found `running` when nothing runs it any more (the
//! process was killed) is marked `interrupted` by the engine and may be restarted; restarting
//! reuses the row and counts the attempt.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::ids::JobId;
use crate::{Result, Store, StoreError, now};

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

const JOB_COLUMNS: &str = "job_id, kind, status, params_json, progress_json, checkpoint_json, \
     message, attempts, created_at, updated_at, finished_at";

fn job_record(r: &SqliteRow) -> Result<JobRecord> {
    Ok(JobRecord {
        id: JobId(r.get(0)),
        kind: r.get(1),
        status: JobStatus::parse(r.get::<&str, _>(2))?,
        params_json: r.get(3),
        progress_json: r.get(4),
        checkpoint_json: r.get(5),
        message: r.get(6),
        attempts: r.get(7),
        created_at: r.get(8),
        updated_at: r.get(9),
        finished_at: r.get(10),
    })
}

impl Store {
    /// Creates a running job.
    pub async fn create_job(&self, kind: &str, params_json: &str) -> Result<JobId> {
        let at = now();
        let id = sqlx::query(
            "INSERT INTO job (kind, status, params_json, created_at, updated_at)
             VALUES (?, 'running', ?, ?, ?)",
        )
        .bind(kind)
        .bind(params_json)
        .bind(&at)
        .bind(&at)
        .execute(&self.pool)
        .await?
        .last_insert_rowid();
        Ok(JobId(id))
    }

    pub async fn set_job_progress(&self, id: JobId, progress_json: &str) -> Result<()> {
        sqlx::query("UPDATE job SET progress_json = ?, updated_at = ? WHERE job_id = ?")
            .bind(progress_json)
            .bind(now())
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_job_checkpoint(&self, id: JobId, checkpoint_json: &str) -> Result<()> {
        sqlx::query("UPDATE job SET checkpoint_json = ?, updated_at = ? WHERE job_id = ?")
            .bind(checkpoint_json)
            .bind(now())
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a job (or marks it interrupted) with an optional message.
    pub async fn set_job_status(
        &self,
        id: JobId,
        status: JobStatus,
        message: Option<&str>,
    ) -> Result<()> {
        let at = now();
        let finished = (status != JobStatus::Running).then(|| at.clone());
        sqlx::query(
            "UPDATE job SET status = ?, message = ?, updated_at = ?, finished_at = ? WHERE job_id = ?",
        )
        .bind(status.as_str())
        .bind(message)
        .bind(&at)
        .bind(finished)
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks an interrupted job running again and counts the attempt.
    pub async fn restart_job(&self, id: JobId) -> Result<()> {
        let n = sqlx::query(
            "UPDATE job SET status = 'running', message = NULL, finished_at = NULL,
                 attempts = attempts + 1, updated_at = ?
             WHERE job_id = ? AND status = 'interrupted'",
        )
        .bind(now())
        .bind(id.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Invalid(format!("job {id} is not interrupted")));
        }
        Ok(())
    }

    pub async fn job(&self, id: JobId) -> Result<JobRecord> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE job_id = ?");
        match sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await? {
            Some(r) => job_record(&r),
            None => Err(StoreError::Invalid(format!("there is no job {id}"))),
        }
    }

    /// Jobs, newest first.
    pub async fn jobs(&self) -> Result<Vec<JobRecord>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job ORDER BY job_id DESC");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(job_record).collect()
    }

    /// Jobs with the given status, oldest first.
    pub async fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<JobRecord>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE status = ? ORDER BY job_id");
        let rows = sqlx::query(&sql).bind(status.as_str()).fetch_all(&self.pool).await?;
        rows.iter().map(job_record).collect()
    }

    /// A project setting's JSON value.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value_json FROM setting WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Sets a project setting (settings are configuration, not history: they are replaced).
    pub async fn put_setting(&self, key: &str, value_json: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO setting (key, value_json, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json,
                                             updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value_json)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
