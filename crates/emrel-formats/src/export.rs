//! EMRel's own JSONL format (one sentence per line, with entities and labeled pairs with full
//! provenance) and the CSV export (one row per labeled pair). The JSONL types are transport types:
//! the same structs are written by export and read by import, so a round trip cannot drift.

use std::io::Write;

use serde::{Deserialize, Serialize};

/// One line of EMRel JSONL: a sentence with its entities and labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSentence {
    /// Document name.
    pub doc: String,
    /// Index of the sentence in its document.
    pub sentence: usize,
    /// Char offset of the sentence in its document.
    pub offset: usize,
    pub text: String,
    pub entities: Vec<ExportEntity>,
    #[serde(default)]
    pub labels: Vec<ExportLabel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportEntity {
    /// Entity id, unique within the sentence.
    pub id: String,
    #[serde(rename = "type")]
    pub entity_type: String,
    /// Sentence-relative half-open char spans; several for a discontinuous entity.
    pub spans: Vec<[usize; 2]>,
    pub text: String,
}

/// A label of one pair with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportLabel {
    pub head: String,
    pub tail: String,
    pub relation: String,
    /// seed, human, gold or auto.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// A whole document, for formats that write one file per document (brat).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportDocument {
    pub name: String,
    pub text: String,
    pub sentences: Vec<ExportSentence>,
}

pub fn write_jsonl_line(out: &mut dyn Write, sentence: &ExportSentence) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, sentence)?;
    out.write_all(b"\n")
}

/// The CSV header; [`csv_rows`] gives the rows in the same order.
pub const CSV_HEADER: [&str; 16] = [
    "doc",
    "sentence",
    "text",
    "head",
    "head_type",
    "head_text",
    "tail",
    "tail_type",
    "tail_text",
    "relation",
    "source",
    "annotator",
    "created_at",
    "model_version",
    "iteration",
    "probability",
];

/// One CSV row per labeled pair of the sentence.
pub fn csv_rows(s: &ExportSentence) -> Vec<Vec<String>> {
    let find = |id: &str| s.entities.iter().find(|e| e.id == id);
    let opt = |v: Option<String>| v.unwrap_or_default();
    s.labels
        .iter()
        .map(|l| {
            let (h, t) = (find(&l.head), find(&l.tail));
            vec![
                s.doc.clone(),
                s.sentence.to_string(),
                s.text.clone(),
                l.head.clone(),
                h.map(|e| e.entity_type.clone()).unwrap_or_default(),
                h.map(|e| e.text.clone()).unwrap_or_default(),
                l.tail.clone(),
                t.map(|e| e.entity_type.clone()).unwrap_or_default(),
                t.map(|e| e.text.clone()).unwrap_or_default(),
                l.relation.clone(),
                l.source.clone(),
                opt(l.annotator.clone()),
                opt(l.created_at.clone()),
                opt(l.model_version.map(|v| v.to_string())),
                opt(l.iteration.map(|v| v.to_string())),
                opt(l.probability.map(|v| format!("{v:.4}"))),
            ]
        })
        .collect()
}
