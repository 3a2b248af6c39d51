//! Documents as importers read them, and their preparation into sentences, entities, candidate
//! pairs and labels. Preparation is where the schema is enforced on imported data: unknown types,
//! spans outside the text, mentions that do not match and relations the schema forbids are
//! rejected here, each with the file and line that caused it.

use std::collections::HashMap;
use std::fmt;

use crate::label::{NONE, Provenance};
use crate::schema::Schema;
use crate::text::{Span, split_sentences};

/// A place in an input file, for error messages (`corpus.ann:17`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: String,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: usize,
}

impl Origin {
    pub fn new(file: impl Into<String>, line: usize) -> Origin {
        Origin { file: file.into(), line }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// A problem with one input record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct PrepareError {
    pub origin: Origin,
    pub message: String,
}

impl PrepareError {
    pub fn new(origin: Origin, message: impl Into<String>) -> PrepareError {
        PrepareError { origin, message: message.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EntityInput {
    /// The entity's id inside its document (`T12` in brat), used by relations.
    pub key: String,
    /// The type as the file spells it; resolved through the schema's names and aliases.
    pub entity_type: String,
    /// Document char offsets, half-open; several for a discontinuous entity.
    pub spans: Vec<Span>,
    /// The mention text the file gives, checked against the spans when present.
    pub mention: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelationInput {
    pub relation: String,
    pub head: String,
    pub tail: String,
    pub provenance: Provenance,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentInput {
    /// Unique name of the document inside a project (file stem or the JSONL `doc` field).
    pub name: String,
    pub text: String,
    pub entities: Vec<EntityInput>,
    pub relations: Vec<RelationInput>,
    /// Sentence boundaries given by the input (JSONL); split with [`split_sentences`] when absent.
    pub sentences: Option<Vec<Span>>,
    /// The file the document came from, for errors about the document as a whole.
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PreparedEntity {
    pub key: String,
    pub entity_type: String,
    /// Sentence-relative char spans.
    pub spans: Vec<Span>,
    pub mention: String,
}

impl PreparedEntity {
    /// The smallest span covering every part of the entity.
    pub fn extent(&self) -> Span {
        extent(&self.spans)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PreparedSentence {
    /// Document char offsets of the sentence.
    pub span: Span,
    pub text: String,
    pub entities: Vec<PreparedEntity>,
    /// Candidate pairs as (head, tail) indices into `entities`.
    pub pairs: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PreparedLabel {
    pub sentence: usize,
    pub head: usize,
    pub tail: usize,
    pub relation: String,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PreparedDocument {
    pub name: String,
    pub text: String,
    pub sentences: Vec<PreparedSentence>,
    pub labels: Vec<PreparedLabel>,
    /// Relations whose arguments lie in different sentences: not imported, but counted.
    pub cross_sentence_relations: usize,
    /// Records skipped in lenient mode.
    pub skipped: Vec<PrepareError>,
}

fn extent(spans: &[Span]) -> Span {
    let start = spans.iter().map(|s| s.start).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end).max().unwrap_or(0);
    Span::new(start, end)
}

fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Candidate pairs of a sentence: every ordered pair of distinct entities whose types some
/// relation allows in that direction.
pub fn candidate_pairs(schema: &Schema, entities: &[PreparedEntity]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (h, head) in entities.iter().enumerate() {
        for (t, tail) in entities.iter().enumerate() {
            if h != t && schema.is_candidate(&head.entity_type, &tail.entity_type) {
                out.push((h, t));
            }
        }
    }
    out
}

/// Validates `doc` against `schema` and splits it into sentences with entities, pairs and labels.
///
/// In strict mode the first bad record is returned as the error. In lenient mode bad records are
/// left out and listed in [`PreparedDocument::skipped`].
pub fn prepare_document(
    schema: &Schema,
    doc: DocumentInput,
    lenient: bool,
) -> Result<PreparedDocument, PrepareError> {
    let chars: Vec<char> = doc.text.chars().collect();
    let mut skipped = Vec::new();
    let fail = |e: PrepareError, skipped: &mut Vec<PrepareError>| -> Result<(), PrepareError> {
        if lenient {
            skipped.push(e);
            Ok(())
        } else {
            Err(e)
        }
    };

    // 1. Entities.
    struct Ent {
        key: String,
        ty: String,
        spans: Vec<Span>,
        mention: String,
        origin: Origin,
    }
    let mut ents: Vec<Ent> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for e in doc.entities {
        let check = || -> Result<Ent, String> {
            let ty = schema.resolve_entity_type(&e.entity_type).ok_or_else(|| {
                format!("unknown entity type `{}` for entity {}", e.entity_type, e.key)
            })?;
            if e.spans.is_empty() {
                return Err(format!("entity {} has no span", e.key));
            }
            for s in &e.spans {
                if s.end < s.start {
                    return Err(format!("span {}..{} ends before it starts", s.start, s.end));
                }
                if s.end == s.start {
                    return Err(format!("span {}..{} is empty", s.start, s.end));
                }
                if s.end > chars.len() {
                    return Err(format!(
                        "span {}..{} is outside the text ({} characters)",
                        s.start,
                        s.end,
                        chars.len()
                    ));
                }
            }
            let parts: Vec<String> =
                e.spans.iter().map(|s| chars[s.start..s.end].iter().collect()).collect();
            let mention = parts.join(" ");
            if let Some(given) = &e.mention {
                let ok = normalize_ws(given) == normalize_ws(&mention)
                    || normalize_ws(given) == normalize_ws(&parts.concat());
                if !ok {
                    return Err(format!(
                        "mention `{given}` does not match the text at its span (`{mention}`)"
                    ));
                }
            }
            if by_key.contains_key(&e.key) {
                return Err(format!("entity id {} is used twice", e.key));
            }
            Ok(Ent {
                key: e.key.clone(),
                ty: ty.to_string(),
                spans: e.spans.clone(),
                mention,
                origin: e.origin.clone(),
            })
        };
        match check() {
            Ok(ent) => {
                by_key.insert(ent.key.clone(), ents.len());
                ents.push(ent);
            }
            Err(msg) => fail(PrepareError::new(e.origin.clone(), msg), &mut skipped)?,
        }
    }

    // 2. Sentences.
    let extents: Vec<Span> = ents.iter().map(|e| extent(&e.spans)).collect();
    let spans = match doc.sentences {
        Some(given) => {
            // Sentence boundaries from a file are input like any other: one that ends before it
            // starts or past the text would panic when its text is cut out below.
            if let Some(s) = given.iter().find(|s| s.end < s.start || s.end > chars.len()) {
                return Err(PrepareError::new(
                    doc.origin.clone(),
                    format!(
                        "sentence {}..{} is not inside the text ({} characters)",
                        s.start,
                        s.end,
                        chars.len()
                    ),
                ));
            }
            given
        }
        None => split_sentences(&doc.text, &extents),
    };
    let mut sentences: Vec<PreparedSentence> = spans
        .iter()
        .map(|s| PreparedSentence {
            span: *s,
            text: chars[s.start..s.end].iter().collect(),
            entities: Vec::new(),
            pairs: Vec::new(),
        })
        .collect();
    // Entity index in `ents` -> (sentence, index in sentence).
    let mut placed: Vec<Option<(usize, usize)>> = vec![None; ents.len()];
    for (i, ent) in ents.iter().enumerate() {
        let ext = extents[i];
        let Some(si) = sentences.iter().position(|s| s.span.contains(ext)) else {
            // The entity's own line, not the document's: that is where the span to fix is.
            return Err(PrepareError::new(
                ent.origin.clone(),
                format!(
                    "entity {} ({}..{}) lies outside every sentence",
                    ent.key, ext.start, ext.end
                ),
            ));
        };
        let s = &mut sentences[si];
        let off = s.span.start;
        placed[i] = Some((si, s.entities.len()));
        s.entities.push(PreparedEntity {
            key: ent.key.clone(),
            entity_type: ent.ty.clone(),
            spans: ent.spans.iter().map(|p| Span::new(p.start - off, p.end - off)).collect(),
            mention: ent.mention.clone(),
        });
    }
    for s in &mut sentences {
        s.pairs = candidate_pairs(schema, &s.entities);
    }

    // 3. Relations.
    let mut labels: Vec<PreparedLabel> = Vec::new();
    let mut cross = 0;
    for r in doc.relations {
        let res = (|| -> Result<Option<PreparedLabel>, String> {
            let relation = schema
                .resolve_relation(&r.relation)
                .ok_or_else(|| format!("unknown relation `{}`", r.relation))?;
            let find = |k: &str| {
                by_key
                    .get(k)
                    .copied()
                    .ok_or_else(|| format!("relation refers to unknown entity {k}"))
            };
            let (h, t) = (find(&r.head)?, find(&r.tail)?);
            let (hs, hi) = placed[h].expect("every kept entity is placed");
            let (ts, ti) = placed[t].expect("every kept entity is placed");
            let (hty, tty) = (&ents[h].ty, &ents[t].ty);
            if !schema.allows(relation, hty, tty) {
                return Err(format!(
                    "relation {relation} is not allowed from {hty} ({}) to {tty} ({})",
                    r.head, r.tail
                ));
            }
            if hs != ts {
                return Ok(None);
            }
            if h == t {
                return Err(format!("relation links entity {} to itself", r.head));
            }
            Ok(Some(PreparedLabel {
                sentence: hs,
                head: hi,
                tail: ti,
                relation: relation.to_string(),
                provenance: r.provenance.clone(),
            }))
        })();
        match res {
            Ok(Some(l)) => {
                let dup = labels.iter().position(|o| {
                    o.sentence == l.sentence
                        && o.head == l.head
                        && o.tail == l.tail
                        && o.provenance.source == l.provenance.source
                });
                match dup {
                    Some(i) if labels[i].relation == l.relation => {}
                    Some(i) if labels[i].relation == NONE || l.relation == NONE => {
                        return Err(PrepareError::new(
                            r.origin,
                            "pair is labeled both none and a relation".to_string(),
                        ));
                    }
                    _ => labels.push(l),
                }
            }
            Ok(None) => cross += 1,
            Err(msg) => fail(PrepareError::new(r.origin.clone(), msg), &mut skipped)?,
        }
    }

    Ok(PreparedDocument {
        name: doc.name,
        text: doc.text,
        sentences,
        labels,
        cross_sentence_relations: cross,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::LabelSource;

    fn ent(key: &str, ty: &str, s: usize, e: usize, mention: &str, line: usize) -> EntityInput {
        EntityInput {
            key: key.into(),
            entity_type: ty.into(),
            spans: vec![Span::new(s, e)],
            mention: Some(mention.into()),
            origin: Origin::new("a.ann", line),
        }
    }

    fn rel(r: &str, h: &str, t: &str, line: usize) -> RelationInput {
        RelationInput {
            relation: r.into(),
            head: h.into(),
            tail: t.into(),
            provenance: Provenance::new(LabelSource::Human),
            origin: Origin::new("a.ann", line),
        }
    }

    fn doc(text: &str, entities: Vec<EntityInput>, relations: Vec<RelationInput>) -> DocumentInput {
        DocumentInput {
            name: "a".into(),
            text: text.into(),
            entities,
            relations,
            sentences: None,
            origin: Origin::new("a.txt", 0),
        }
    }

    #[test]
    fn pairs_follow_the_schema_direction() {
        let s = Schema::paper_default();
        // 腹部 position, 疼痛 symptom, CT test
        let d = doc(
            "腹部疼痛，行CT检查。",
            vec![
                ent("T1", "身体部位", 0, 2, "腹部", 1),
                ent("T2", "症状和体征", 2, 4, "疼痛", 2),
                ent("T3", "检查和检验", 6, 8, "CT", 3),
            ],
            vec![rel("SAP", "T2", "T1", 4)],
        );
        let p = prepare_document(&s, d, false).unwrap();
        assert_eq!(p.sentences.len(), 1);
        // symptom->position, test->position, test->symptom
        assert_eq!(p.sentences[0].pairs, vec![(1, 0), (2, 0), (2, 1)]);
        assert_eq!(p.labels.len(), 1);
        assert_eq!((p.labels[0].head, p.labels[0].tail), (1, 0));
    }

    #[test]
    fn bad_records_name_file_and_line() {
        let s = Schema::paper_default();
        let cases: Vec<(DocumentInput, &str)> = vec![
            (
                doc("腹部疼痛。", vec![ent("T1", "身体部位", 0, 9, "腹部", 3)], vec![]),
                "a.ann:3: span 0..9 is outside the text (5 characters)",
            ),
            (
                doc("腹部疼痛。", vec![ent("T1", "身体部位", 2, 1, "腹部", 4)], vec![]),
                "a.ann:4: span 2..1 ends before it starts",
            ),
            (
                doc("腹部疼痛。", vec![ent("T1", "身体部位", 0, 2, "胸部", 5)], vec![]),
                "a.ann:5: mention `胸部` does not match the text at its span (`腹部`)",
            ),
            (
                doc("腹部疼痛。", vec![ent("T1", "gene", 0, 2, "腹部", 6)], vec![]),
                "a.ann:6: unknown entity type `gene` for entity T1",
            ),
            (
                doc(
                    "腹部疼痛。",
                    vec![
                        ent("T1", "身体部位", 0, 2, "腹部", 1),
                        ent("T2", "症状和体征", 2, 4, "疼痛", 2),
                    ],
                    vec![rel("DAP", "T2", "T1", 7)],
                ),
                "a.ann:7: relation DAP is not allowed from symptom (T2) to position (T1)",
            ),
            (
                doc(
                    "腹部疼痛。",
                    vec![ent("T1", "身体部位", 0, 2, "腹部", 1)],
                    vec![rel("SAP", "T9", "T1", 8)],
                ),
                "a.ann:8: relation refers to unknown entity T9",
            ),
        ];
        for (d, expect) in cases {
            assert_eq!(prepare_document(&s, d.clone(), false).unwrap_err().to_string(), expect);
            let lenient = prepare_document(&s, d, true).unwrap();
            assert_eq!(lenient.skipped.len(), 1);
            assert_eq!(lenient.skipped[0].to_string(), expect);
        }
    }

    #[test]
    fn relations_across_sentences_are_counted_not_imported() {
        let s = Schema::paper_default();
        let d = doc(
            "腹部。疼痛。",
            vec![ent("T1", "身体部位", 0, 2, "腹部", 1), ent("T2", "症状和体征", 3, 5, "疼痛", 2)],
            vec![rel("SAP", "T2", "T1", 3)],
        );
        let p = prepare_document(&s, d, false).unwrap();
        assert_eq!(p.sentences.len(), 2);
        assert!(p.labels.is_empty());
        assert_eq!(p.cross_sentence_relations, 1);
    }

    #[test]
    fn discontinuous_entities_keep_every_part() {
        let s = Schema::paper_default();
        let mut e = ent("T1", "症状和体征", 0, 3, "年龄较 大", 1);
        e.spans = vec![Span::new(0, 3), Span::new(4, 5)];
        let d = doc("年龄较\n大，头部。", vec![e, ent("T2", "身体部位", 6, 8, "头部", 2)], vec![]);
        let p = prepare_document(&s, d, false).unwrap();
        let e = &p.sentences[0].entities[0];
        assert_eq!(e.spans, vec![Span::new(0, 3), Span::new(4, 5)]);
        assert_eq!(e.mention, "年龄较 大");
        assert_eq!(p.sentences[0].pairs, vec![(0, 1)]);
    }
}
