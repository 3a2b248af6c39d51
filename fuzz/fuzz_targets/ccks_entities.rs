//! The CCKS 2017 entity-file parser, then `prepare_document` on what it accepts (the input's
//! first line is the record text).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (text, ents) = s.split_once('\n').unwrap_or((s, ""));
    let Ok(entities) = emrel_formats::ccks2017::parse_entities("f.txt", ents) else { return };
    let doc = emrel_core::DocumentInput {
        name: "f".into(),
        text: text.to_string(),
        entities,
        relations: vec![],
        sentences: None,
        origin: emrel_core::Origin::new("f.txt", 0),
    };
    let _ = emrel_core::prepare_document(&emrel_core::Schema::paper_default(), doc, true);
});
