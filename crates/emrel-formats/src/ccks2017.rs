//! CCKS 2017 task 2 (clinical NER) corpora: `<section>-<id>.txtoriginal.txt` holds a record's
//! text and `<section>-<id>.txt` its entities as `mention\tstart\tend\ttype` lines whose end is
//! **inclusive**; the test gold comes as a CSV `id,section,"m b e type;m b e type;..."`.
//! CCKS 2017 has no relations.

use std::collections::BTreeMap;
use std::path::PathBuf;

use emrel_core::{DocumentInput, EntityInput, Origin, PrepareError, Span};

use crate::read::{read_text, walk, without_bom};

const TEXT_SUFFIX: &str = ".txtoriginal.txt";

/// Reads CCKS 2017 documents from folders (searched recursively) and gold CSV files.
///
/// Every `.txtoriginal.txt` becomes a document, named by its file stem (`一般项目-1`); its
/// entities come from the `.txt` file beside it or from a CSV row with the same section and id.
pub fn read(paths: &[PathBuf]) -> Result<Vec<DocumentInput>, PrepareError> {
    let mut docs: BTreeMap<String, DocumentInput> = BTreeMap::new();
    let mut csvs = Vec::new();
    for root in paths {
        if root.is_file() && root.extension().is_some_and(|e| e == "csv") {
            csvs.push(root.clone());
            continue;
        }
        let texts = walk(root, &|p| p.to_string_lossy().ends_with(TEXT_SUFFIX))?;
        if texts.is_empty() {
            return Err(PrepareError::new(
                Origin::new(root.display().to_string(), 0),
                format!("no `*{TEXT_SUFFIX}` files found (is this a CCKS 2017 folder?)"),
            ));
        }
        for text_path in texts {
            let file = text_path.file_name().unwrap_or_default().to_string_lossy().to_string();
            let name = file.strip_suffix(TEXT_SUFFIX).unwrap_or(&file).to_string();
            let text = read_text(&text_path)?;
            let ann_path = text_path.with_file_name(format!("{name}.txt"));
            let entities = if ann_path.exists() {
                parse_entities(&ann_path.display().to_string(), &read_text(&ann_path)?)?
            } else {
                vec![]
            };
            docs.insert(
                name.clone(),
                DocumentInput {
                    name,
                    text,
                    entities,
                    relations: vec![],
                    sentences: None,
                    origin: Origin::new(text_path.display().to_string(), 0),
                },
            );
        }
    }
    for csv_path in csvs {
        let content = read_text(&csv_path)?;
        for (name, line, entities) in parse_gold_csv(&csv_path.display().to_string(), &content)? {
            let Some(doc) = docs.get_mut(&name) else {
                return Err(PrepareError::new(
                    Origin::new(csv_path.display().to_string(), line),
                    format!("no text `{name}{TEXT_SUFFIX}` in the folders given with this CSV"),
                ));
            };
            doc.entities.extend(entities);
        }
    }
    Ok(docs.into_values().collect())
}

/// Parses one entity file's content (`mention<TAB>start<TAB>end<TAB>type` lines, inclusive ends);
/// `file` names it in errors. Public so that the fuzz targets and property tests reach the parser
/// without files.
pub fn parse_entities(file: &str, content: &str) -> Result<Vec<EntityInput>, PrepareError> {
    let mut out = Vec::new();
    for (i, line) in without_bom(content).lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let origin = Origin::new(file, line_no);
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 4 {
            return Err(PrepareError::new(
                origin,
                format!(
                    "expected `mention<TAB>start<TAB>end<TAB>type`, found {} fields",
                    fields.len()
                ),
            ));
        }
        let (start, end) = parse_inclusive(fields[1], fields[2], &origin)?;
        out.push(EntityInput {
            key: format!("L{line_no}"),
            entity_type: fields[3].trim().to_string(),
            spans: vec![Span { start, end }],
            mention: Some(fields[0].to_string()),
            origin,
        });
    }
    Ok(out)
}

/// Converts an inclusive `start..=end` pair to a half-open span.
fn parse_inclusive(b: &str, e: &str, origin: &Origin) -> Result<(usize, usize), PrepareError> {
    let num = |s: &str| {
        s.trim().parse::<usize>().map_err(|_| {
            PrepareError::new(origin.clone(), format!("offset `{s}` is not a non-negative integer"))
        })
    };
    let (start, end) = (num(b)?, num(e)?);
    if end < start {
        return Err(PrepareError::new(
            origin.clone(),
            format!("span {start}..{end} ends before it starts"),
        ));
    }
    // An inclusive end of usize::MAX has no half-open form; without the check `end + 1` panics
    // in debug builds and wraps to an empty span in release builds (found by the property tests).
    let end = end.checked_add(1).ok_or_else(|| {
        PrepareError::new(origin.clone(), format!("offset `{}` is too large", e.trim()))
    })?;
    Ok((start, end))
}

/// A gold CSV row: the document name, the row's line and its entities.
pub type CsvRow = (String, usize, Vec<EntityInput>);

/// Parses the test-gold CSV's content (`id,section,"m b e type;m b e type;..."`); `file` names it
/// in errors. Public for the same reason as [`parse_entities`].
pub fn parse_gold_csv(file: &str, content: &str) -> Result<Vec<CsvRow>, PrepareError> {
    let file = file.to_string();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(without_bom(content).as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            PrepareError::new(Origin::new(file.clone(), line), format!("malformed CSV: {e}"))
        })?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        let origin = Origin::new(file.clone(), line);
        if record.len() < 3 {
            return Err(PrepareError::new(
                origin,
                format!("expected `id,section,entities`, found {} fields", record.len()),
            ));
        }
        let name = format!("{}-{}", record[1].trim(), record[0].trim());
        let mut entities = Vec::new();
        for (k, item) in record[2].split(';').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            // `mention start end type`; the mention itself may contain spaces.
            let parts: Vec<&str> = item.rsplitn(4, ' ').collect();
            if parts.len() != 4 {
                return Err(PrepareError::new(
                    origin.clone(),
                    format!("entity `{item}` is not `mention start end type`"),
                ));
            }
            let (start, end) = parse_inclusive(parts[2], parts[1], &origin)?;
            entities.push(EntityInput {
                key: format!("C{line}-{}", k + 1),
                entity_type: parts[0].to_string(),
                spans: vec![Span { start, end }],
                mention: Some(parts[3].to_string()),
                origin: origin.clone(),
            });
        }
        out.push((name, line, entities));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use emrel_core::{Schema, prepare_document};

    fn write(dir: &std::path::Path, name: &str, content: &str) {
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), content).unwrap();
    }

    #[test]
    fn reads_folders_with_inclusive_ends() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "一般项目/一般项目-1.txtoriginal.txt", "患者右髋部疼痛。行CT检查。\r\n");
        write(
            dir.path(),
            "一般项目/一般项目-1.txt",
            "右髋部\t2\t4\t身体部位\n疼痛\t5\t6\t症状和体征\nCT\t9\t10\t检查和检验\n",
        );
        let docs = read(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].name, "一般项目-1");
        assert_eq!(docs[0].entities[0].spans, vec![Span::new(2, 5)]);
        let p = prepare_document(&Schema::paper_default(), docs[0].clone(), false).unwrap();
        assert_eq!(p.sentences.len(), 2);
        assert_eq!(p.sentences[0].entities[0].entity_type, "position");
        assert_eq!(p.sentences[0].pairs, vec![(1, 0)]);
    }

    #[test]
    fn reads_the_gold_csv_form() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Test/一般项目-301.txtoriginal.txt", "腰部疼痛，便秘。");
        write(dir.path(), "gold.csv", "301,一般项目,腰部 0 1 身体部位;疼痛 2 3 症状和体征;\n");
        let docs = read(&[dir.path().join("Test"), dir.path().join("gold.csv")]).unwrap();
        assert_eq!(docs[0].entities.len(), 2);
        assert_eq!(docs[0].entities[1].mention.as_deref(), Some("疼痛"));
        assert_eq!(docs[0].entities[1].spans, vec![Span::new(2, 4)]);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a-1.txtoriginal.txt", "腰部疼痛。");
        write(dir.path(), "a-1.txt", "腰部\t0\t1\t身体部位\n疼痛\t2\n");
        let err = read(&[dir.path().to_path_buf()]).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "a-1.txt:2: expected `mention<TAB>start<TAB>end<TAB>type`, found 2 fields"
            ),
            "{err}"
        );
        write(dir.path(), "a-1.txt", "腰部\t1\t0\t身体部位\n");
        let err = read(&[dir.path().to_path_buf()]).unwrap_err().to_string();
        assert!(err.ends_with("a-1.txt:1: span 1..0 ends before it starts"), "{err}");
        write(dir.path(), "a-1.txt", "腰部\t0\t1\t身体部位\n");
        write(dir.path(), "gold.csv", "999,a,腰部 0 1 身体部位\n");
        let err =
            read(&[dir.path().to_path_buf(), dir.path().join("gold.csv")]).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "gold.csv:1: no text `a-999.txtoriginal.txt` in the folders given with this CSV"
            ),
            "{err}"
        );
        std::fs::write(dir.path().join("a-1.txt"), b"\xe8\x85\xb0\n\xff\xfe\n").unwrap();
        let err = read(&[dir.path().to_path_buf()]).unwrap_err().to_string();
        assert!(err.ends_with("a-1.txt:2: invalid UTF-8 at byte 4"), "{err}");
    }
}
