//! The CCKS 2017 test-gold CSV parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = emrel_formats::ccks2017::parse_gold_csv("gold.csv", s);
    }
});
