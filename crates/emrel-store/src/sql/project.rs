//! The project row and its schema (shared by both backends).

use emrel_core::Schema;

use super::{Queries, Tx};
use crate::{Result, StoreError, now};

/// Writes a new project's row, entity types and relation types inside `tx`; `location` names
/// the project in the error when the database holds one already.
pub(crate) async fn init_project(
    tx: &mut Tx<'_>,
    location: &str,
    name: &str,
    schema: &Schema,
) -> Result<()> {
    let existing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM project").fetch_one(&mut **tx).await?;
    if existing > 0 {
        return Err(StoreError::ProjectExists(location.to_string()));
    }
    sqlx::query("INSERT INTO project (name, schema_json, created_at, uid) VALUES ($1, $2, $3, $4)")
        .bind(name)
        .bind(schema.to_json())
        .bind(now())
        .bind(crate::random_hex(16))
        .execute(&mut **tx)
        .await?;
    for t in &schema.entity_types {
        sqlx::query("INSERT INTO entity_type (name, color) VALUES ($1, $2)")
            .bind(&t.name)
            .bind(&t.color)
            .execute(&mut **tx)
            .await?;
    }
    for r in &schema.relations {
        sqlx::query("INSERT INTO relation_type (name, description) VALUES ($1, $2)")
            .bind(&r.name)
            .bind(&r.description)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The project's stored schema, `None` when the database has no project row.
pub(crate) async fn read_schema(pool: &sqlx::Pool<super::Db>) -> Result<Option<Schema>> {
    let row: Option<String> =
        sqlx::query_scalar("SELECT schema_json FROM project LIMIT 1").fetch_optional(pool).await?;
    row.map(|json| Schema::from_json(&json).map_err(|e| StoreError::BadSchema(e.to_string())))
        .transpose()
}

impl Queries {
    /// The project's identity (see [`crate::Store::project_uid`]).
    pub async fn project_uid(&self) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT uid FROM project LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }
}
