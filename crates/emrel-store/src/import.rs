//! Writing prepared documents. A whole import is one transaction: either every document lands or
//! none does. Importing a document that is already present (same name, same content) adds nothing.

use std::collections::HashMap;

use emrel_core::{PreparedDocument, Schema};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Sqlite, Transaction};

use crate::{Result, Store, StoreError, now};

/// What an import added.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct ImportSummary {
    pub documents_added: usize,
    /// Documents already in the project with the same content; nothing was added for them.
    pub documents_unchanged: usize,
    pub sentences: usize,
    pub entities: usize,
    pub pairs: usize,
    pub labels: usize,
    /// Relations whose arguments lie in different sentences; counted, not imported.
    pub cross_sentence_relations: usize,
    /// Records skipped in lenient mode, as `file:line: problem`.
    pub skipped: Vec<String>,
}

fn content_hash(doc: &PreparedDocument) -> String {
    let mut h = Sha256::new();
    for s in &doc.sentences {
        h.update(format!("S{}:{}\u{0}", s.span.start, s.text));
        for e in &s.entities {
            for sp in &e.spans {
                h.update(format!("E{}:{}-{}\u{0}", e.entity_type, sp.start, sp.end));
            }
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn spans_to_text(spans: &[emrel_core::Span]) -> String {
    spans.iter().map(|s| format!("{}-{}", s.start, s.end)).collect::<Vec<_>>().join(";")
}

pub(crate) async fn annotator_id(
    tx: &mut Transaction<'_, Sqlite>,
    cache: &mut HashMap<String, i64>,
    name: &str,
) -> Result<i64> {
    if let Some(&id) = cache.get(name) {
        return Ok(id);
    }
    let id: Option<i64> = sqlx::query_scalar("SELECT annotator_id FROM annotator WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    let id = match id {
        Some(id) => id,
        None => sqlx::query("INSERT INTO annotator (name, created_at) VALUES (?, ?)")
            .bind(name)
            .bind(now())
            .execute(&mut **tx)
            .await?
            .last_insert_rowid(),
    };
    cache.insert(name.to_string(), id);
    Ok(id)
}

impl Store {
    /// Imports prepared documents in one transaction. `progress(done, total)` is called after each
    /// document.
    pub async fn import(
        &self,
        docs: &[PreparedDocument],
        format: &str,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<ImportSummary> {
        let mut summary = ImportSummary::default();
        let mut tx = self.pool.begin().await?;
        let mut annotators = HashMap::new();
        let imported_at = now();
        for (i, doc) in docs.iter().enumerate() {
            summary.skipped.extend(doc.skipped.iter().map(|e| e.to_string()));
            let hash = content_hash(doc);
            let existing: Option<String> =
                sqlx::query_scalar("SELECT content_hash FROM document WHERE name = ?")
                    .bind(&doc.name)
                    .fetch_optional(&mut *tx)
                    .await?;
            match existing {
                Some(h) if h == hash => {
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
            insert_document(
                &mut tx,
                &self.schema,
                doc,
                &hash,
                format,
                &imported_at,
                &mut annotators,
                &mut summary,
            )
            .await?;
            summary.documents_added += 1;
            progress(i + 1, docs.len());
        }
        tx.commit().await?;
        Ok(summary)
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_document(
    tx: &mut Transaction<'_, Sqlite>,
    schema: &Schema,
    doc: &PreparedDocument,
    hash: &str,
    format: &str,
    imported_at: &str,
    annotators: &mut HashMap<String, i64>,
    summary: &mut ImportSummary,
) -> Result<()> {
    let document_id = sqlx::query(
        "INSERT INTO document (name, text, content_hash, source_format, cross_sentence_relations, imported_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&doc.name)
    .bind(&doc.text)
    .bind(hash)
    .bind(format)
    .bind(doc.cross_sentence_relations as i64)
    .bind(imported_at)
    .execute(&mut **tx)
    .await?
    .last_insert_rowid();
    summary.cross_sentence_relations += doc.cross_sentence_relations;
    // (sentence index, pair (head, tail)) -> pair_id, for labels.
    let mut pair_ids: HashMap<(usize, usize, usize), i64> = HashMap::new();
    for (si, s) in doc.sentences.iter().enumerate() {
        let sentence_id = sqlx::query(
            "INSERT INTO sentence (document_id, idx, start_char, text) VALUES (?, ?, ?, ?)",
        )
        .bind(document_id)
        .bind(si as i64)
        .bind(s.span.start as i64)
        .bind(&s.text)
        .execute(&mut **tx)
        .await?
        .last_insert_rowid();
        summary.sentences += 1;
        let mut entity_ids = Vec::with_capacity(s.entities.len());
        for e in &s.entities {
            let ext = e.extent();
            let id = sqlx::query(
                "INSERT INTO entity (sentence_id, ext_key, entity_type, spans, start_char, end_char, mention)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(sentence_id)
            .bind(&e.key)
            .bind(&e.entity_type)
            .bind(spans_to_text(&e.spans))
            .bind(ext.start as i64)
            .bind(ext.end as i64)
            .bind(&e.mention)
            .execute(&mut **tx)
            .await?
            .last_insert_rowid();
            entity_ids.push(id);
            summary.entities += 1;
        }
        for &(h, t) in &s.pairs {
            let category =
                Schema::pair_category(&s.entities[h].entity_type, &s.entities[t].entity_type);
            let id = sqlx::query(
                "INSERT INTO pair (sentence_id, head_entity_id, tail_entity_id, category) VALUES (?, ?, ?, ?)",
            )
            .bind(sentence_id)
            .bind(entity_ids[h])
            .bind(entity_ids[t])
            .bind(category)
            .execute(&mut **tx)
            .await?
            .last_insert_rowid();
            pair_ids.insert((si, h, t), id);
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
        debug_assert!(schema.resolve_relation(&l.relation).is_some());
        let p = &l.provenance;
        let annotator = match &p.annotator {
            Some(name) => Some(annotator_id(tx, annotators, name).await?),
            None => None,
        };
        sqlx::query(
            "INSERT INTO label_event (pair_id, relation, source, action, annotator_id, created_at,
                                      probability, threshold, imported_model_version, imported_iteration)
             VALUES (?, ?, ?, 'import', ?, ?, ?, ?, ?, ?)",
        )
        .bind(pair_id)
        .bind(&l.relation)
        .bind(p.source.as_str())
        .bind(annotator)
        .bind(p.created_at.clone().unwrap_or_else(|| imported_at.to_string()))
        .bind(p.probability)
        .bind(p.threshold)
        .bind(p.model_version)
        .bind(p.iteration)
        .execute(&mut **tx)
        .await?;
        summary.labels += 1;
    }
    Ok(())
}
