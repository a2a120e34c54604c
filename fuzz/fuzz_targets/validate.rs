//! Validation (PDF, CMS and XML signatures) of any bytes, with no trust anchors: every input
//! ends in a report or a clear refusal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let material = qsign::validate::Material::default();
    let _ = qsign::validate::validate(data, None, &material, 16 << 20);
    let _ = qsign::validate::validate(data, Some(b"content"), &material, 16 << 20);
});
