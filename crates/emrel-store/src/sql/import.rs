//! Writing prepared documents (shared by both backends). A whole import is one transaction:
//! either every document lands or none does. Importing a document that is already present (same
//! name, same content) adds nothing.

use std::collections::HashMap;

use emrel_core::{PreparedDocument, Schema};
use sqlx::QueryBuilder;

use super::{Db, Queries, Tx, begin_write, claim_ids, first_free_id, refresh_statistics};
use crate::import::{ImportSummary, content_hash, spans_to_text};
use crate::{Result, StoreError, now};

pub(crate) async fn annotator_id(
    tx: &mut Tx<'_>,
    cache: &mut HashMap<String, i64>,
    name: &str,
) -> Result<i64> {
    if let Some(&id) = cache.get(name) {
        return Ok(id);
    }
    let id: Option<i64> = sqlx::query_scalar("SELECT annotator_id FROM annotator WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    let id = match id {
        Some(id) => id,
        None => {
            // Appends run side by side on PostgreSQL: another client may add the same name
            // first, and then its row is the one.
            let added: Option<i64> = sqlx::query_scalar(
                "INSERT INTO annotator (name, created_at) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING RETURNING annotator_id",
            )
            .bind(name)
            .bind(now())
            .fetch_optional(&mut **tx)
            .await?;
            match added {
                Some(id) => id,
                None => {
                    sqlx::query_scalar("SELECT annotator_id FROM annotator WHERE name = $1")
                        .bind(name)
                        .fetch_one(&mut **tx)
                        .await?
                }
            }
        }
    };
    cache.insert(name.to_string(), id);
    Ok(id)
}

/// Rows of one import, with ids assigned up front so that each table is written with a few
/// multi-row INSERTs instead of one statement per row. The ids are the database's own: the
/// backend hands out the first free one ([`first_free_id`]) and is told how many were used
/// ([`claim_ids`]); the import holds the write lock throughout, and no other writer inserts into
/// these tables.
/// (entity_id, sentence_id, ext_key, entity_type, spans, start_char, end_char, mention)
type EntityRow = (i64, i64, String, String, String, i64, i64, String);
/// (pair_id, source, relation, annotator_id, created_at, probability, threshold,
/// imported_model_version, imported_iteration)
type LabelRow = (
    i64,
    &'static str,
    String,
    Option<i64>,
    Option<String>,
    Option<f64>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
);

#[derive(Default)]
struct Rows {
    documents: Vec<(i64, String, String, String, i64)>,
    sentences: Vec<(i64, i64, i64, i64, String)>,
    entities: Vec<EntityRow>,
    pairs: Vec<(i64, i64, i64, i64, String)>,
    labels: Vec<LabelRow>,
}

/// The tables whose ids an import assigns, in the order of `ids` below.
const TABLES: [&str; 4] = ["document", "sentence", "entity", "pair"];

/// SQLite allows at most 32766 bound parameters per statement (PostgreSQL 65535).
const CHUNK: usize = 2000;

impl Queries {
    /// Imports prepared documents in one transaction. `progress(done, total)` is called after each
    /// document.
    pub async fn import(
        &self,
        docs: &[PreparedDocument],
        format: &str,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<ImportSummary> {
        let mut summary = ImportSummary::default();
        // The write lock is taken (waiting out the busy timeout) before the first
        // read, so a writer that comes in between cannot make the transaction fail at its first
        // write, as a read-then-write DEFERRED transaction does.
        let mut tx = begin_write(&self.pool).await?;
        let mut annotators = HashMap::new();
        let imported_at = now();
        let existing: HashMap<String, String> =
            sqlx::query_as::<_, (String, String)>("SELECT name, content_hash FROM document")
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let mut ids = [0; 4];
        for (id, table) in ids.iter_mut().zip(TABLES) {
            *id = first_free_id(&mut tx, table).await?;
        }
        let mut rows = Rows::default();
        let mut seen: HashMap<&str, String> = HashMap::new();
        for (i, doc) in docs.iter().enumerate() {
            summary.skipped.extend(doc.skipped.iter().map(|e| e.to_string()));
            let hash = content_hash(doc);
            match existing.get(&doc.name).or_else(|| seen.get(doc.name.as_str())) {
                Some(h) if *h == hash => {
                    summary.documents_unchanged += 1;
                    progress(i + 1, docs.len());
                    continue;
                }
                Some(_) => {
                    return Err(StoreError::Invalid(format!(
                        "document `{}` is already in the project with different content",
                        doc.name
                    )));
                }
                None => {}
            }
            seen.insert(&doc.name, hash.clone());
            collect_document(
                &mut tx,
                doc,
                hash,
                &imported_at,
                &mut annotators,
                &mut ids,
                &mut rows,
                &mut summary,
            )
            .await?;
            summary.documents_added += 1;
            progress(i + 1, docs.len());
        }
        write_rows(&mut tx, rows, format, &imported_at).await?;
        for (next, table) in ids.into_iter().zip(TABLES) {
            claim_ids(&mut tx, table, next).await?;
        }
        tx.commit().await?;
        if summary.documents_added > 0 {
            let tables = ["document", "sentence", "entity", "pair", "label_event", "annotator"];
            refresh_statistics(&self.pool, &tables).await?;
        }
        Ok(summary)
    }
}

#[allow(clippy::too_many_arguments)]
async fn collect_document(
    tx: &mut Tx<'_>,
    doc: &PreparedDocument,
    hash: String,
    imported_at: &str,
    annotators: &mut HashMap<String, i64>,
    ids: &mut [i64; 4],
    rows: &mut Rows,
    summary: &mut ImportSummary,
) -> Result<()> {
    let document_id = ids[0];
    ids[0] += 1;
    rows.documents.push((
        document_id,
        doc.name.clone(),
        doc.text.clone(),
        hash,
        doc.cross_sentence_relations as i64,
    ));
    summary.cross_sentence_relations += doc.cross_sentence_relations;
    // (sentence index, head, tail) -> pair_id, for labels.
    let mut pair_ids: HashMap<(usize, usize, usize), i64> = HashMap::new();
    for (si, s) in doc.sentences.iter().enumerate() {
        let sentence_id = ids[1];
        ids[1] += 1;
        rows.sentences.push((
            sentence_id,
            document_id,
            si as i64,
            s.span.start as i64,
            s.text.clone(),
        ));
        summary.sentences += 1;
        let first_entity = ids[2];
        for e in &s.entities {
            let ext = e.extent();
            rows.entities.push((
                ids[2],
                sentence_id,
                e.key.clone(),
                e.entity_type.clone(),
                spans_to_text(&e.spans),
                ext.start as i64,
                ext.end as i64,
                e.mention.clone(),
            ));
            ids[2] += 1;
            summary.entities += 1;
        }
        for &(h, t) in &s.pairs {
            let category =
                Schema::pair_category(&s.entities[h].entity_type, &s.entities[t].entity_type);
            rows.pairs.push((
                ids[3],
                sentence_id,
                first_entity + h as i64,
                first_entity + t as i64,
                category,
            ));
            pair_ids.insert((si, h, t), ids[3]);
            ids[3] += 1;
            summary.pairs += 1;
        }
    }
    for l in &doc.labels {
        let pair_id = pair_ids.get(&(l.sentence, l.head, l.tail)).copied().ok_or_else(|| {
            StoreError::Invalid(format!(
                "document `{}`: a label refers to a pair the schema does not allow",
                doc.name
            ))
        })?;
        let p = &l.provenance;
        let annotator = match &p.annotator {
            Some(name) => Some(annotator_id(tx, annotators, name).await?),
            None => None,
        };
        rows.labels.push((
            pair_id,
            p.source.as_str(),
            l.relation.clone(),
            annotator,
            Some(p.created_at.clone().unwrap_or_else(|| imported_at.to_string())),
            p.probability,
            p.threshold,
            p.model_version,
            p.iteration,
        ));
        summary.labels += 1;
    }
    Ok(())
}

async fn write_rows(tx: &mut Tx<'_>, rows: Rows, format: &str, imported_at: &str) -> Result<()> {
    for chunk in rows.documents.chunks(CHUNK / 8) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO document (document_id, name, text, content_hash, source_format, cross_sentence_relations, imported_at) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.0).push_bind(&r.1).push_bind(&r.2).push_bind(&r.3);
            b.push_bind(format).push_bind(r.4).push_bind(imported_at);
        });
        q.build().execute(&mut **tx).await?;
    }
    for chunk in rows.sentences.chunks(CHUNK / 5) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO sentence (sentence_id, document_id, idx, start_char, text) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.0).push_bind(r.1).push_bind(r.2).push_bind(r.3).push_bind(&r.4);
        });
        q.build().execute(&mut **tx).await?;
    }
    for chunk in rows.entities.chunks(CHUNK / 8) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO entity (entity_id, sentence_id, ext_key, entity_type, spans, start_char, end_char, mention) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.0).push_bind(r.1).push_bind(&r.2).push_bind(&r.3);
            b.push_bind(&r.4).push_bind(r.5).push_bind(r.6).push_bind(&r.7);
        });
        q.build().execute(&mut **tx).await?;
    }
    for chunk in rows.pairs.chunks(CHUNK / 5) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO pair (pair_id, sentence_id, head_entity_id, tail_entity_id, category) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.0).push_bind(r.1).push_bind(r.2).push_bind(r.3).push_bind(&r.4);
        });
        q.build().execute(&mut **tx).await?;
    }
    for chunk in rows.labels.chunks(CHUNK / 10) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO label_event (pair_id, source, relation, annotator_id, created_at, probability,
                                      threshold, imported_model_version, imported_iteration, action) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.0).push_bind(r.1).push_bind(&r.2).push_bind(r.3).push_bind(&r.4);
            b.push_bind(r.5).push_bind(r.6).push_bind(r.7).push_bind(r.8).push_bind("import");
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}
