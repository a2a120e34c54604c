//! The XML parser and exclusive canonicalization over any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = qsign::formats::xml::parse(data, qsign::formats::xml::Limits::default());
});
