//! The PDF reader and the signature walk over any bytes: never a panic, always bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pdf) = qsign::formats::pdf::Pdf::parse(data) {
        let _ = qsign::formats::pades::signatures_in(&pdf);
        let _ = pdf.page_count();
    }
    let _ = qsign::formats::pades::level(data);
});
