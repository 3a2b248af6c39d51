//! Property tests over every importer's parser and `prepare_document`: random files with spans
//! at 0, at `u64::MAX`/`usize::MAX`, negative or not numbers, astral characters, a BOM, CRLF line
//! ends and garbage lines. Whatever the input, nothing panics, and every error names the file it
//! was given and a line inside it (or 0 for the file as a whole). A JSONL export of a valid
//! document reads back to the same text, entities and labels.

use std::collections::BTreeMap;

use emrel_core::{DocumentInput, LabelSource, Origin, PrepareError, Schema, prepare_document};
use emrel_formats::export::{ExportEntity, ExportLabel, ExportSentence, write_jsonl_line};
use emrel_formats::{brat, ccks2017, jsonl};
use proptest::prelude::*;

/// Offsets a user's file might hold, the nasty ones over-represented.
fn offset() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..40).prop_map(|n| n.to_string()),
        Just("0".to_string()),
        Just(u64::MAX.to_string()),
        Just(usize::MAX.to_string()),
        Just((usize::MAX - 1).to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("x".to_string()),
        Just(String::new()),
    ]
}

/// Text with CJK, astral (surrogate pairs in UTF-16) characters, spaces and sentence ends.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('患'),
            Just('腹'),
            Just('痛'),
            Just('。'),
            Just('\n'),
            Just(' '),
            Just('𠀀'),
            Just('😷'),
            Just('\u{feff}'),
            Just('a'),
        ],
        0..60,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// A line's text: no line breaks (those would make other lines of the file).
fn field() -> impl Strategy<Value = String> {
    text().prop_map(|t| t.replace('\n', ""))
}

fn entity_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Disease".to_string()),
        Just("Symptom".to_string()),
        Just("Position".to_string()),
        Just("Test".to_string()),
        Just("Treatment".to_string()),
        Just("身体部位".to_string()),
        Just("Nonsense".to_string()),
    ]
}

/// Wraps lines into a file body: an optional BOM, `\n` or `\r\n` line ends.
fn file_body(lines: Vec<String>, bom: bool, crlf: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut s = if bom { "\u{feff}".to_string() } else { String::new() };
    for l in lines {
        s.push_str(&l);
        s.push_str(end);
    }
    s
}

fn brat_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1u8..6, entity_type(), offset(), offset(), field())
            .prop_map(|(k, t, a, b, m)| format!("T{k}\t{t} {a} {b}\t{m}")),
        1 => (1u8..6, entity_type(), offset(), offset(), offset(), offset())
            .prop_map(|(k, t, a, b, c, d)| format!("T{k}\t{t} {a} {b};{c} {d}\tx")),
        2 => (1u8..6, prop_oneof![Just("SAP"), Just("DAP"), Just("none"), Just("Bogus")], 0u8..7, 0u8..7)
            .prop_map(|(k, r, a, b)| format!("R{k}\t{r} Arg1:T{a} Arg2:T{b}")),
        1 => field(),
        1 => Just("#1\tAnnotatorNotes T1\tnote".to_string()),
    ]
}

/// Every error names the file it was given and a line inside it (0: the file as a whole).
fn names_file_and_line(e: &PrepareError, file: &str, lines: usize) -> Result<(), TestCaseError> {
    let Origin { file: f, line } = &e.origin;
    prop_assert!(f.starts_with(file), "error names {f}, not {file}: {e}");
    prop_assert!(*line <= lines + 1, "line {line} of a {lines}-line file: {e}");
    prop_assert!(!e.message.is_empty());
    Ok(())
}

fn prepared(doc: DocumentInput, file: &str, lines: usize) -> Result<(), TestCaseError> {
    let schema = Schema::paper_default();
    for lenient in [false, true] {
        if let Err(e) = prepare_document(&schema, doc.clone(), lenient) {
            names_file_and_line(&e, file, lines)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn brat_files_never_panic_and_errors_name_their_line(
        lines in proptest::collection::vec(brat_line(), 0..12),
        body in text(),
        bom: bool,
        crlf: bool,
    ) {
        let n = lines.len();
        let ann = file_body(lines, bom, crlf);
        let mut skipped = BTreeMap::new();
        match brat::parse_ann("doc.ann", &ann, LabelSource::Human, &mut skipped) {
            Err(e) => names_file_and_line(&e, "doc.ann", n)?,
            Ok((entities, relations)) => {
                let doc = DocumentInput {
                    name: "doc".into(),
                    text: body,
                    entities,
                    relations,
                    sentences: None,
                    origin: Origin::new("doc.ann", 0),
                };
                prepared(doc, "doc.ann", n)?;
            }
        }
    }

    #[test]
    fn ccks_entity_files_never_panic_and_errors_name_their_line(
        rows in proptest::collection::vec((field(), offset(), offset(), entity_type()), 0..10),
        extra in proptest::option::of(field()),
        body in text(),
        bom: bool,
        crlf: bool,
    ) {
        let mut lines: Vec<String> =
            rows.into_iter().map(|(m, a, b, t)| format!("{m}\t{a}\t{b}\t{t}")).collect();
        if let Some(x) = extra {
            lines.push(x);
        }
        let n = lines.len();
        match ccks2017::parse_entities("a.txtoriginal.txt", &file_body(lines, bom, crlf)) {
            Err(e) => names_file_and_line(&e, "a.txtoriginal.txt", n)?,
            Ok(entities) => {
                let doc = DocumentInput {
                    name: "a".into(),
                    text: body,
                    entities,
                    relations: vec![],
                    sentences: None,
                    origin: Origin::new("a.txtoriginal.txt", 0),
                };
                prepared(doc, "a.txtoriginal.txt", n)?;
            }
        }
    }

    #[test]
    fn ccks_gold_csv_never_panics_and_errors_name_their_line(
        rows in proptest::collection::vec(
            (0u8..4, proptest::collection::vec((field(), offset(), offset(), entity_type()), 0..4)),
            0..8,
        ),
        bom: bool,
        crlf: bool,
    ) {
        let lines: Vec<String> = rows
            .into_iter()
            .map(|(id, es)| {
                let es: Vec<String> =
                    es.into_iter().map(|(m, a, b, t)| format!("{m} {a} {b} {t}")).collect();
                format!("{id},病史特点,\"{}\"", es.join(";"))
            })
            .collect();
        let n = lines.len();
        if let Err(e) = ccks2017::parse_gold_csv("gold.csv", &file_body(lines, bom, crlf)) {
            names_file_and_line(&e, "gold.csv", n)?;
        }
    }

    #[test]
    fn jsonl_files_never_panic_and_errors_name_their_line(
        sentences in proptest::collection::vec(
            (0u8..3, 0u8..4, offset(), text(),
             proptest::collection::vec((entity_type(), offset(), offset()), 0..4)),
            0..6,
        ),
        garbage in proptest::option::of(field()),
        bom: bool,
        crlf: bool,
    ) {
        let mut lines: Vec<String> = sentences
            .into_iter()
            .map(|(doc, idx, off, t, es)| {
                let es: Vec<String> = es
                    .iter()
                    .enumerate()
                    .map(|(i, (ty, a, b))| {
                        format!("{{\"id\":\"T{i}\",\"type\":\"{ty}\",\"spans\":[[{a},{b}]],\"text\":\"x\"}}")
                    })
                    .collect();
                format!(
                    "{{\"doc\":\"d{doc}\",\"sentence\":{idx},\"offset\":{off},\"text\":{},\"entities\":[{}]}}",
                    serde_json::to_string(&t).unwrap(),
                    es.join(",")
                )
            })
            .collect();
        if let Some(g) = garbage {
            lines.push(g);
        }
        let n = lines.len();
        match jsonl::parse("c.jsonl", &file_body(lines, bom, crlf)) {
            Err(e) => names_file_and_line(&e, "c.jsonl", n)?,
            Ok(docs) => {
                for doc in docs {
                    prepared(doc, "c.jsonl", n)?;
                }
            }
        }
    }

    #[test]
    fn a_jsonl_export_reads_back_to_the_same_entities_and_labels(
        prefix in proptest::collection::vec(prop_oneof![Just('患'), Just('𠀀'), Just('😷'), Just('者')], 0..8),
        gap in proptest::collection::vec(prop_oneof![Just('，'), Just('𠀀'), Just('a')], 0..5),
    ) {
        // One sentence, <prefix>腹部<gap>疼痛。, with a position, a symptom and an SAP label.
        let prefix: String = prefix.into_iter().collect();
        let gap: String = gap.into_iter().collect();
        let text = format!("{prefix}腹部{gap}疼痛。");
        let p = prefix.chars().count();
        let g = gap.chars().count();
        let entity = |id: &str, t: &str, at: usize, m: &str| ExportEntity {
            id: id.into(),
            entity_type: t.into(),
            spans: vec![[at, at + 2]],
            text: m.into(),
        };
        let sentence = ExportSentence {
            doc: "doc 𠀀/1".into(),
            sentence: 0,
            offset: 0,
            text: text.clone(),
            entities: vec![entity("T1", "position", p, "腹部"), entity("T2", "symptom", p + 2 + g, "疼痛")],
            labels: vec![ExportLabel {
                head: "T2".into(),
                tail: "T1".into(),
                relation: "SAP".into(),
                source: "human".into(),
                annotator: Some("ann".into()),
                created_at: None,
                model_version: None,
                iteration: None,
                probability: None,
                threshold: None,
            }],
        };
        let mut buf = Vec::new();
        write_jsonl_line(&mut buf, &sentence).unwrap();
        let docs = jsonl::parse("x.jsonl", std::str::from_utf8(&buf).unwrap()).unwrap();
        prop_assert_eq!(docs.len(), 1);
        let doc = &docs[0];
        prop_assert_eq!(&doc.name, "doc 𠀀/1");
        prop_assert_eq!(&doc.text, &text);
        let spans: Vec<(usize, usize)> =
            doc.entities.iter().map(|e| (e.spans[0].start, e.spans[0].end)).collect();
        prop_assert_eq!(spans, vec![(p, p + 2), (p + 2 + g, p + 4 + g)]);
        prop_assert_eq!(doc.relations.len(), 1);
        let prepared = prepare_document(&Schema::paper_default(), doc.clone(), false).unwrap();
        prop_assert_eq!(prepared.labels.len(), 1);
    }
}
