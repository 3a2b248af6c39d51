//! brat standoff: a `.txt` file and an `.ann` file beside it. `T` lines are entities (spans may
//! be discontinuous, `353 356;357 358`), `R` lines are relations; other annotation kinds (events,
//! attributes, notes, ...) are skipped and counted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use emrel_core::label::Provenance;
use emrel_core::{
    DocumentInput, EntityInput, LabelSource, Origin, PrepareError, RelationInput, Span,
};

use crate::export::ExportDocument;
use crate::read::{doc_name, read_text, walk, without_bom};

/// Documents read from brat files, and how many lines of kinds EMRel does not import were skipped
/// (by their first letter: `E`, `A`, `#`, ...).
#[derive(Debug, Default)]
pub struct BratRead {
    pub documents: Vec<DocumentInput>,
    pub skipped_lines: BTreeMap<char, usize>,
}

/// Reads every `.ann` under `paths` (folders are searched recursively) with its `.txt`.
/// Relations get provenance `relations_as` (human, or gold to simulate annotators later).
pub fn read(paths: &[PathBuf], relations_as: LabelSource) -> Result<BratRead, PrepareError> {
    let mut out = BratRead::default();
    for root in paths {
        let anns = walk(root, &|p| p.extension().is_some_and(|e| e == "ann"))?;
        if anns.is_empty() {
            return Err(PrepareError::new(
                Origin::new(root.display().to_string(), 0),
                "no `.ann` files found (is this a brat folder?)",
            ));
        }
        for ann in anns {
            let txt = ann.with_extension("txt");
            if !txt.exists() {
                return Err(PrepareError::new(
                    Origin::new(ann.display().to_string(), 0),
                    format!("missing text file {}", txt.display()),
                ));
            }
            let text = read_text(&txt)?;
            let content = read_text(&ann)?;
            let (entities, relations) = parse_ann(
                &ann.display().to_string(),
                &content,
                relations_as,
                &mut out.skipped_lines,
            )?;
            out.documents.push(DocumentInput {
                name: doc_name(root, &ann, ".ann"),
                text,
                entities,
                relations,
                sentences: None,
                origin: Origin::new(txt.display().to_string(), 0),
            });
        }
    }
    Ok(out)
}

/// Parses the content of one `.ann` file named `file` (for error messages) into entities and
/// relations, counting skipped lines of other kinds in `skipped`. [`read`] calls it for each file;
/// it is public so that the fuzz targets and property tests reach the parser without files.
pub fn parse_ann(
    file: &str,
    content: &str,
    relations_as: LabelSource,
    skipped: &mut BTreeMap<char, usize>,
) -> Result<(Vec<EntityInput>, Vec<RelationInput>), PrepareError> {
    let mut entities = Vec::new();
    let mut relations = Vec::new();
    for (i, raw) in without_bom(content).lines().enumerate() {
        let origin = Origin::new(file, i + 1);
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let bad = |msg: String| PrepareError::new(origin.clone(), msg);
        let first = line.chars().next().expect("line is not empty");
        match first {
            'T' => {
                let mut f = line.splitn(3, '\t');
                let (id, body, mention) = (f.next(), f.next(), f.next());
                let (Some(id), Some(body), Some(mention)) = (id, body, mention) else {
                    return Err(bad(
                        "entity line is not `T<id><TAB><type> <start> <end><TAB><text>`".into(),
                    ));
                };
                let (ty, offsets) = body
                    .split_once(' ')
                    .ok_or_else(|| bad(format!("entity {id} has no offsets")))?;
                let mut spans = Vec::new();
                for part in offsets.split(';') {
                    let nums: Vec<&str> = part.split_whitespace().collect();
                    let [s, e] = nums[..] else {
                        return Err(bad(format!("span `{part}` is not `<start> <end>`")));
                    };
                    let parse = |x: &str| {
                        x.parse::<usize>()
                            .map_err(|_| bad(format!("offset `{x}` is not a non-negative integer")))
                    };
                    let (s, e) = (parse(s)?, parse(e)?);
                    if e < s {
                        return Err(bad(format!("span {s}..{e} ends before it starts")));
                    }
                    spans.push(Span::new(s, e));
                }
                entities.push(EntityInput {
                    key: id.to_string(),
                    entity_type: ty.to_string(),
                    spans,
                    mention: Some(mention.to_string()),
                    origin,
                });
            }
            'R' => {
                let mut f = line.split('\t');
                let (Some(_id), Some(body)) = (f.next(), f.next()) else {
                    return Err(bad(
                        "relation line is not `R<id><TAB><type> Arg1:<T> Arg2:<T>`".into()
                    ));
                };
                let parts: Vec<&str> = body.split_whitespace().collect();
                let [rel, a1, a2] = parts[..] else {
                    return Err(bad(format!(
                        "relation `{body}` is not `<type> Arg1:<T> Arg2:<T>`"
                    )));
                };
                let arg = |a: &str| {
                    a.split_once(':')
                        .map(|(_, v)| v.to_string())
                        .ok_or_else(|| bad(format!("argument `{a}` is not `Arg:<T>`")))
                };
                relations.push(RelationInput {
                    relation: rel.to_string(),
                    head: arg(a1)?,
                    tail: arg(a2)?,
                    provenance: Provenance::new(relations_as),
                    origin,
                });
            }
            'E' | 'A' | 'M' | 'N' | '#' | '*' => *skipped.entry(first).or_default() += 1,
            _ => return Err(bad(format!("unknown annotation kind `{first}`"))),
        }
    }
    Ok((entities, relations))
}

/// The `.ann` content of one document. Only the current label of each pair is written (as an
/// `R` line; `none` labels too, so that a round trip keeps them); provenance beyond the relation
/// needs the JSONL format.
pub fn render_ann(doc: &ExportDocument) -> String {
    let mut ann = String::new();
    let mut t = 0;
    let mut r = 0;
    for s in &doc.sentences {
        let mut ids = BTreeMap::new();
        for e in &s.entities {
            t += 1;
            ids.insert(e.id.as_str(), format!("T{t}"));
            let spans: Vec<String> =
                e.spans.iter().map(|[a, b]| format!("{} {}", a + s.offset, b + s.offset)).collect();
            let mention = e.text.replace(['\n', '\r', '\t'], " ");
            let _ = writeln!(ann, "T{t}\t{} {}\t{mention}", e.entity_type, spans.join(";"));
        }
        // One R line per pair: the current label, or the gold label when the pair has no other.
        let mut written = std::collections::BTreeSet::new();
        let mut labels: Vec<_> = s.labels.iter().collect();
        labels.sort_by_key(|l| l.source == "gold");
        for l in labels {
            if !written.insert((l.head.as_str(), l.tail.as_str())) {
                continue;
            }
            r += 1;
            let _ = writeln!(
                ann,
                "R{r}\t{} Arg1:{} Arg2:{}",
                l.relation,
                ids[l.head.as_str()],
                ids[l.tail.as_str()]
            );
        }
    }
    ann
}

/// The relative path (without extension) a document named `name` is written to inside a brat
/// folder. Folder structure in the name (`/`) is kept, but nothing can leave the folder: empty,
/// `.` and `..` components, backslashes and control characters are replaced, so `../../x` writes
/// `_/_/x`. The extension is appended, never substituted, so `a.b` and `a.c` stay apart
/// (`a.b.txt`, `a.c.txt`).
pub fn safe_relative_name(name: &str) -> String {
    let parts: Vec<String> = name
        .split('/')
        .map(|c| {
            let c: String =
                c.chars().map(|ch| if ch.is_control() || ch == '\\' { '_' } else { ch }).collect();
            match c.as_str() {
                "" | "." | ".." => "_".to_string(),
                _ => c,
            }
        })
        .collect();
    parts.join("/")
}

/// Writes one document as brat `.txt` + `.ann` under `dir`, at [`safe_relative_name`] of its
/// name (plain writes: callers that must not clobber write through a temporary file, as the
/// engine's export does).
pub fn write(dir: &Path, doc: &ExportDocument) -> std::io::Result<()> {
    let base = dir.join(safe_relative_name(&doc.name));
    if let Some(parent) = base.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let stem = base.as_os_str().to_owned();
    let with = |ext: &str| {
        let mut p = stem.clone();
        p.push(ext);
        PathBuf::from(p)
    };
    std::fs::write(with(".txt"), &doc.text)?;
    std::fs::write(with(".ann"), render_ann(doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use emrel_core::{Schema, prepare_document};

    const TXT: &str = "患者年龄较\n大，腹部疼痛。";
    const ANN: &str = "T1\tSymptom 2 5;6 7\t年龄较 大\nT2\tPosition 8 10\t腹部\nT3\tSymptom 10 12\t疼痛\nR1\tSAP Arg1:T3 Arg2:T2\n#1\tAnnotatorNotes T1\tnote\nA1\tNegated T1\n";

    fn fixture(ann: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("d1.txt"), TXT).unwrap();
        std::fs::write(dir.path().join("d1.ann"), ann).unwrap();
        dir
    }

    #[test]
    fn reads_discontinuous_entities_and_relations() {
        let dir = fixture(ANN);
        let r = read(&[dir.path().to_path_buf()], LabelSource::Gold).unwrap();
        assert_eq!(r.skipped_lines, BTreeMap::from([('#', 1), ('A', 1)]));
        let d = &r.documents[0];
        assert_eq!(d.name, "d1");
        assert_eq!(d.entities[0].spans, vec![Span::new(2, 5), Span::new(6, 7)]);
        assert_eq!(d.relations[0].provenance.source, LabelSource::Gold);
        let p = prepare_document(&Schema::paper_default(), d.clone(), false).unwrap();
        assert_eq!(p.sentences.len(), 1, "line break inside the sentence is kept");
        assert_eq!(p.labels[0].relation, "SAP");
        assert_eq!(p.sentences[0].entities[0].mention, "年龄较 大");
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        for (ann, expect) in [
            ("T1\tSymptom 2\t年\n", "d1.ann:1: span `2` is not `<start> <end>`"),
            (
                "T1\tSymptom 2 5\t年龄较\nR1\tSAP Arg1:T1\n",
                "d1.ann:2: relation `SAP Arg1:T1` is not `<type> Arg1:<T> Arg2:<T>`",
            ),
            ("X1\tfoo\n", "d1.ann:1: unknown annotation kind `X`"),
            ("T1\tSymptom 5 2\t年\n", "d1.ann:1: span 5..2 ends before it starts"),
        ] {
            let dir = fixture(ann);
            let err =
                read(&[dir.path().to_path_buf()], LabelSource::Human).unwrap_err().to_string();
            assert!(err.ends_with(expect), "{err} vs {expect}");
        }
    }

    #[test]
    fn missing_text_is_an_error() {
        let dir = fixture(ANN);
        std::fs::remove_file(dir.path().join("d1.txt")).unwrap();
        let err = read(&[dir.path().to_path_buf()], LabelSource::Human).unwrap_err().to_string();
        assert!(err.contains("d1.ann: missing text file"), "{err}");
    }
}
