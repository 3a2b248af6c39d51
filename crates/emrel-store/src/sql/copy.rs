//! Reading and writing whole tables for `emrel copy` (shared by both backends).

use sqlx::{QueryBuilder, Row};

use super::{Db, Queries, begin_write, refresh_statistics, reset_sequence};
use crate::Result;
use crate::copy::{Kind, Table, Value};

/// Bound parameters per statement, under both databases' limits.
const PARAMS: usize = 30_000;

impl Queries {
    /// Every row of `table`, columns in the table's order, rows in id (first column) order.
    pub(crate) async fn read_table(&self, table: &Table) -> Result<Vec<Vec<Value>>> {
        let cols: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
        let sql = format!("SELECT {} FROM {} ORDER BY {}", cols.join(", "), table.name, cols[0]);
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut values = Vec::with_capacity(cols.len());
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                values.push(match kind {
                    Kind::Int => Value::Int(r.try_get(i)?),
                    Kind::Real => Value::Real(r.try_get(i)?),
                    Kind::Text => Value::Text(r.try_get(i)?),
                    Kind::Bool => Value::Bool(r.try_get(i)?),
                    Kind::Blob => Value::Blob(r.try_get(i)?),
                });
            }
            out.push(values);
        }
        Ok(out)
    }
}

/// Writes whole tables into an empty project database in one transaction, then moves each id
/// sequence past the ids written.
pub(crate) async fn write_tables(
    pool: &sqlx::Pool<Db>,
    tables: &[(&Table, Vec<Vec<Value>>)],
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    for (table, rows) in tables {
        let cols: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
        // Model files are megabytes each: one row per statement.
        let blobs = table.columns.iter().any(|c| matches!(c.1, Kind::Blob));
        let per_statement = if blobs { 1 } else { (PARAMS / cols.len()).max(1) };
        for chunk in rows.chunks(per_statement) {
            let mut q = QueryBuilder::<Db>::new(format!(
                "INSERT INTO {} ({}) ",
                table.name,
                cols.join(", ")
            ));
            q.push_values(chunk, |mut b, row| {
                for v in row {
                    match v {
                        Value::Int(x) => b.push_bind(*x),
                        Value::Real(x) => b.push_bind(*x),
                        Value::Text(x) => b.push_bind(x.clone()),
                        Value::Bool(x) => b.push_bind(*x),
                        Value::Blob(x) => b.push_bind(x.clone()),
                    };
                }
            });
            q.build().execute(&mut *tx).await?;
        }
        if let Some(id) = table.id {
            reset_sequence(&mut tx, table.name, id).await?;
        }
    }
    tx.commit().await?;
    let names: Vec<&str> = tables.iter().map(|(t, _)| t.name).collect();
    refresh_statistics(pool, &names).await
}
