//! Writing prepared documents. A whole import is one transaction: either every document lands or
//! none does. Importing a document that is already present (same name, same content) adds nothing.

use emrel_core::PreparedDocument;
use serde::Serialize;
use sha2::{Digest, Sha256};

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

pub(crate) fn content_hash(doc: &PreparedDocument) -> String {
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
