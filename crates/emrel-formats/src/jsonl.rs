//! Import of EMRel's own JSONL (see [`crate::export::ExportSentence`]). Sentences keep the
//! boundaries and offsets the file gives; a document's text is rebuilt from its sentences.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use emrel_core::label::Provenance;
use emrel_core::{
    DocumentInput, EntityInput, LabelSource, Origin, PrepareError, RelationInput, Span,
};

use crate::export::ExportSentence;
use crate::read::{read_text, walk};

/// Reads `.jsonl` files (folders are searched recursively).
pub fn read(paths: &[PathBuf]) -> Result<Vec<DocumentInput>, PrepareError> {
    let mut docs: BTreeMap<String, Vec<(ExportSentence, Origin)>> = BTreeMap::new();
    for root in paths {
        for path in walk(root, &|p: &Path| p.extension().is_some_and(|e| e == "jsonl"))? {
            let file = path.display().to_string();
            for (i, line) in read_text(&path)?.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let origin = Origin::new(file.clone(), i + 1);
                let s: ExportSentence = serde_json::from_str(line).map_err(|e| {
                    PrepareError::new(origin.clone(), format!("malformed JSON: {e}"))
                })?;
                docs.entry(s.doc.clone()).or_default().push((s, origin));
            }
        }
    }
    docs.into_iter().map(|(name, sentences)| build(name, sentences)).collect()
}

fn build(
    name: String,
    mut sentences: Vec<(ExportSentence, Origin)>,
) -> Result<DocumentInput, PrepareError> {
    sentences.sort_by_key(|(s, _)| s.sentence);
    let doc_origin = sentences[0].1.clone();
    // Rebuild the text: each sentence at its offset, gaps (trimmed whitespace) as line breaks.
    let mut chars: Vec<char> = Vec::new();
    let mut spans = Vec::new();
    let mut entities = Vec::new();
    let mut relations = Vec::new();
    for (s, origin) in &sentences {
        if s.offset < chars.len() {
            return Err(PrepareError::new(
                origin.clone(),
                format!(
                    "sentence {} at offset {} overlaps the previous sentence",
                    s.sentence, s.offset
                ),
            ));
        }
        chars.resize(s.offset, '\n');
        chars.extend(s.text.chars());
        spans.push(Span::new(s.offset, chars.len()));
        let key = |id: &str| format!("s{}:{id}", s.sentence);
        for e in &s.entities {
            entities.push(EntityInput {
                key: key(&e.id),
                entity_type: e.entity_type.clone(),
                spans: e.spans.iter().map(|[a, b]| Span::new(a + s.offset, b + s.offset)).collect(),
                mention: Some(e.text.clone()),
                origin: origin.clone(),
            });
        }
        for l in &s.labels {
            let source: LabelSource =
                l.source.parse().map_err(|e: emrel_core::label::UnknownSource| {
                    PrepareError::new(origin.clone(), e.to_string())
                })?;
            relations.push(RelationInput {
                relation: l.relation.clone(),
                head: key(&l.head),
                tail: key(&l.tail),
                provenance: Provenance {
                    source,
                    annotator: l.annotator.clone(),
                    created_at: l.created_at.clone(),
                    model_version: l.model_version,
                    iteration: l.iteration,
                    probability: l.probability,
                    threshold: l.threshold,
                },
                origin: origin.clone(),
            });
        }
    }
    Ok(DocumentInput {
        name,
        text: chars.into_iter().collect(),
        entities,
        relations,
        sentences: Some(spans),
        origin: doc_origin,
    })
}
