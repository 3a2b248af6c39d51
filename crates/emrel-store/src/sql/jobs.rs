//! Job and setting queries (shared by both backends).

use sqlx::Row;

use super::{DbRow, Queries};
use crate::ids::JobId;
use crate::jobs::{JobRecord, JobStatus};
use crate::{Result, StoreError, now};

const JOB_COLUMNS: &str = "job_id, kind, status, params_json, progress_json, checkpoint_json, \
     message, attempts, created_at, updated_at, finished_at";

fn job_record(r: &DbRow) -> Result<JobRecord> {
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

impl Queries {
    /// Creates a running job.
    pub async fn create_job(&self, kind: &str, params_json: &str) -> Result<JobId> {
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO job (kind, status, params_json, created_at, updated_at)
             VALUES ($1, 'running', $2, $3, $4) RETURNING job_id",
        )
        .bind(kind)
        .bind(params_json)
        .bind(&at)
        .bind(&at)
        .fetch_one(&self.pool)
        .await?;
        Ok(JobId(id))
    }

    pub async fn set_job_progress(&self, id: JobId, progress_json: &str) -> Result<()> {
        sqlx::query("UPDATE job SET progress_json = $1, updated_at = $2 WHERE job_id = $3")
            .bind(progress_json)
            .bind(now())
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_job_checkpoint(&self, id: JobId, checkpoint_json: &str) -> Result<()> {
        sqlx::query("UPDATE job SET checkpoint_json = $1, updated_at = $2 WHERE job_id = $3")
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
            "UPDATE job SET status = $1, message = $2, updated_at = $3, finished_at = $4 WHERE job_id = $5",
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
                 attempts = attempts + 1, updated_at = $1
             WHERE job_id = $2 AND status = 'interrupted'",
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
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE job_id = $1");
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
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE status = $1 ORDER BY job_id");
        let rows = sqlx::query(&sql).bind(status.as_str()).fetch_all(&self.pool).await?;
        rows.iter().map(job_record).collect()
    }

    /// A project setting's JSON value.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value_json FROM setting WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Sets a project setting (settings are configuration, not history: they are replaced).
    pub async fn put_setting(&self, key: &str, value_json: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO setting (key, value_json, updated_at) VALUES ($1, $2, $3)
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
