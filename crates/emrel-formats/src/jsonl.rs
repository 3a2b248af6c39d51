//! Import of EMRel's own JSONL (see [`crate::export::ExportSentence`]). Sentences keep the
//! boundaries and offsets the file gives; a document's text is rebuilt from its sentences.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use emrel_core::label::Provenance;
use emrel_core::{
    DocumentInput, EntityInput, LabelSource, Origin, PrepareError, RelationInput, Span,
};

use crate::export::ExportSentence;
use crate::read::{read_text, walk, without_bom};

/// The most chars an export leaves between two sentences of a document. The gap is the
/// whitespace trimmed off the sentences, which the reader fills with line breaks; without a
/// bound an offset such as `u64::MAX` would make it allocate until the process is killed.
pub const MAX_SENTENCE_GAP: usize = 1 << 16;

type Lines = BTreeMap<String, Vec<(ExportSentence, Origin)>>;

/// Reads `.jsonl` files (folders are searched recursively).
pub fn read(paths: &[PathBuf]) -> Result<Vec<DocumentInput>, PrepareError> {
    let mut docs = Lines::new();
    for root in paths {
        for path in walk(root, &|p: &Path| p.extension().is_some_and(|e| e == "jsonl"))? {
            parse_lines(&path.display().to_string(), &read_text(&path)?, &mut docs)?;
        }
    }
    docs.into_iter().map(|(name, sentences)| build(name, sentences)).collect()
}

/// Parses the content of one JSONL file named `file` (for error messages) into documents, as
/// [`read`] does for each file. Public so that the fuzz targets and property tests reach the
/// parser without files.
pub fn parse(file: &str, content: &str) -> Result<Vec<DocumentInput>, PrepareError> {
    let mut docs = Lines::new();
    parse_lines(file, content, &mut docs)?;
    docs.into_iter().map(|(name, sentences)| build(name, sentences)).collect()
}

fn parse_lines(file: &str, content: &str, docs: &mut Lines) -> Result<(), PrepareError> {
    for (i, line) in without_bom(content).lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let origin = Origin::new(file, i + 1);
        let s: ExportSentence = serde_json::from_str(line)
            .map_err(|e| PrepareError::new(origin.clone(), format!("malformed JSON: {e}")))?;
        docs.entry(s.doc.clone()).or_default().push((s, origin));
    }
    Ok(())
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
        if s.offset - chars.len() > MAX_SENTENCE_GAP {
            return Err(PrepareError::new(
                origin.clone(),
                format!(
                    "sentence {} at offset {} leaves a gap of {} characters after the previous \
                     sentence (at most {MAX_SENTENCE_GAP})",
                    s.sentence,
                    s.offset,
                    s.offset - chars.len()
                ),
            ));
        }
        chars.resize(s.offset, '\n');
        chars.extend(s.text.chars());
        let sentence_len = chars.len() - s.offset;
        spans.push(Span::new(s.offset, chars.len()));
        let key = |id: &str| format!("s{}:{id}", s.sentence);
        for e in &s.entities {
            // Spans are sentence-relative: one past the sentence's end would otherwise land in
            // the next sentence (or overflow the addition below and panic).
            if let Some([a, b]) = e.spans.iter().find(|[a, b]| a > b || *b > sentence_len) {
                return Err(PrepareError::new(
                    origin.clone(),
                    format!(
                        "entity {} span {a}..{b} is not inside its sentence ({sentence_len} \
                         characters)",
                        e.id
                    ),
                ));
            }
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
