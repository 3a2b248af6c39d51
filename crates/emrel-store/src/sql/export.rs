//! Reading the corpus back out for export (shared by both backends).

use std::collections::{BTreeMap, HashMap};

use emrel_formats::export::{ExportDocument, ExportEntity, ExportLabel, ExportSentence};
use sqlx::Row;

use super::{Queries, begin_snapshot};
use crate::Result;
use crate::export::ExportFilter;

fn parse_spans(s: &str) -> Vec<[usize; 2]> {
    s.split(';')
        .filter_map(|p| p.split_once('-'))
        .filter_map(|(a, b)| Some([a.parse().ok()?, b.parse().ok()?]))
        .collect()
}

impl Queries {
    /// Every document with its sentences, entities and the labels that pass `filter`, as of one
    /// consistent snapshot.
    pub async fn export(&self, filter: &ExportFilter) -> Result<Vec<ExportDocument>> {
        // One read transaction: every statement below reads the same snapshot, so a concurrent
        // import or label write cannot make the documents, sentences, entities and labels read
        // here disagree (WAL readers do not block writers).
        let mut tx = begin_snapshot(&self.pool).await?;
        let mut docs: Vec<ExportDocument> = Vec::new();
        let mut doc_index: HashMap<i64, usize> = HashMap::new();
        for row in sqlx::query("SELECT document_id, name, text FROM document ORDER BY document_id")
            .fetch_all(&mut *tx)
            .await?
        {
            doc_index.insert(row.get(0), docs.len());
            docs.push(ExportDocument { name: row.get(1), text: row.get(2), sentences: vec![] });
        }
        // sentence_id -> (doc index, sentence index in doc)
        let mut sent_index: HashMap<i64, (usize, usize)> = HashMap::new();
        for row in sqlx::query(
            "SELECT sentence_id, document_id, idx, start_char, text FROM sentence ORDER BY document_id, idx",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            let d = doc_index[&row.get::<i64, _>(1)];
            let doc = &mut docs[d];
            sent_index.insert(row.get(0), (d, doc.sentences.len()));
            doc.sentences.push(ExportSentence {
                doc: doc.name.clone(),
                sentence: row.get::<i64, _>(2) as usize,
                offset: row.get::<i64, _>(3) as usize,
                text: row.get(4),
                entities: vec![],
                labels: vec![],
            });
        }
        let mut entity_ids: HashMap<i64, String> = HashMap::new();
        for row in sqlx::query(
            "SELECT entity_id, sentence_id, entity_type, spans, mention FROM entity ORDER BY entity_id",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            let (d, s) = sent_index[&row.get::<i64, _>(1)];
            let sentence = &mut docs[d].sentences[s];
            let id = format!("T{}", sentence.entities.len() + 1);
            entity_ids.insert(row.get(0), id.clone());
            sentence.entities.push(ExportEntity {
                id,
                entity_type: row.get(2),
                spans: parse_spans(row.get(3)),
                text: row.get(4),
            });
        }
        let sql = "SELECT p.sentence_id, p.head_entity_id, p.tail_entity_id, l.relation, l.source,
                          a.name, l.created_at,
                          COALESCE(l.model_version_id, l.imported_model_version),
                          COALESCE(i.idx, l.imported_iteration), l.probability, l.threshold
                   FROM {view} l
                   JOIN pair p ON p.pair_id = l.pair_id
                   LEFT JOIN annotator a ON a.annotator_id = l.annotator_id
                   LEFT JOIN iteration i ON i.iteration_id = l.iteration_id
                   ORDER BY l.pair_id";
        let mut labels: BTreeMap<(usize, usize), Vec<ExportLabel>> = BTreeMap::new();
        for view in ["current_label", "gold_label"] {
            for row in sqlx::query(&sql.replace("{view}", view)).fetch_all(&mut *tx).await? {
                let (d, s) = sent_index[&row.get::<i64, _>(0)];
                let label = ExportLabel {
                    head: entity_ids[&row.get::<i64, _>(1)].clone(),
                    tail: entity_ids[&row.get::<i64, _>(2)].clone(),
                    relation: row.get(3),
                    source: row.get(4),
                    annotator: row.get(5),
                    created_at: row.get(6),
                    model_version: row.get(7),
                    iteration: row.get(8),
                    probability: row.get(9),
                    threshold: row.get(10),
                };
                if filter.keeps(&label) {
                    labels.entry((d, s)).or_default().push(label);
                }
            }
        }
        tx.commit().await?;
        for ((d, s), ls) in labels {
            docs[d].sentences[s].labels = ls;
        }
        Ok(docs)
    }
}
