//! The brat `.ann` parser, then `prepare_document` on what it accepts (the input's first line
//! is the document text, the rest the annotations).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (text, ann) = s.split_once('\n').unwrap_or((s, ""));
    let mut skipped = std::collections::BTreeMap::new();
    let Ok((entities, relations)) = emrel_formats::brat::parse_ann(
        "f.ann",
        ann,
        emrel_core::LabelSource::Human,
        &mut skipped,
    ) else {
        return;
    };
    let doc = emrel_core::DocumentInput {
        name: "f".into(),
        text: text.to_string(),
        entities,
        relations,
        sentences: None,
        origin: emrel_core::Origin::new("f.ann", 0),
    };
    let schema = emrel_core::Schema::paper_default();
    let _ = emrel_core::prepare_document(&schema, doc.clone(), false);
    let _ = emrel_core::prepare_document(&schema, doc, true);
});
