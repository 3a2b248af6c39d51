//! EMRel's JSONL reader, then `prepare_document` on every document it accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(docs) = emrel_formats::jsonl::parse("f.jsonl", s) else { return };
    let schema = emrel_core::Schema::paper_default();
    for doc in docs {
        let _ = emrel_core::prepare_document(&schema, doc, true);
    }
});
