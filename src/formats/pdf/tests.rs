//! Unit tests of the PDF reader and writer, and [`hostile`], the builder of small (often
//! malformed) PDFs that other modules' tests use too.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::filters::unpredict;
use super::lexer::Lexer;
use super::read::Entry;
use super::*;

#[test]
fn objects_round_trip_through_the_writer() {
    let text = b"<</A 1 /B [2 0 R (a\\(b\\)) <414243>] /C#20D 1.5 /E true /F null>>";
    let object = Lexer::new(text, 0).object(0).unwrap();
    let Object::Dict(d) = &object else {
        panic!("not a dictionary")
    };
    assert_eq!(d.get("A"), Some(&Object::Int(1)));
    assert_eq!(
        d.get("B"),
        Some(&Object::Array(vec![
            Object::Ref(2, 0),
            Object::Str(b"a(b)".to_vec()),
            Object::Str(b"ABC".to_vec())
        ]))
    );
    assert_eq!(d.get("C D"), Some(&Object::Real(b"1.5".to_vec())));
    let mut out = Vec::new();
    object.write(&mut out);
    assert_eq!(Lexer::new(&out, 0).object(0).unwrap(), object);
}

/// A PDF built from `objects` (numbered from 1, bodies without `obj`/`endobj`) with a
/// classic cross-reference table and `trailer_extra` in its trailer; answers the file and
/// each object's offset.
pub(crate) fn hostile(objects: &[Vec<u8>], trailer_extra: &str) -> (Vec<u8>, Vec<usize>) {
    let mut file = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(file.len());
        file.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        file.extend_from_slice(body);
        file.extend_from_slice(b"\nendobj\n");
    }
    let xref = file.len();
    file.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes(),
    );
    for o in &offsets {
        file.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    file.extend_from_slice(
        format!(
            "trailer\n<</Size {}/Root 1 0 R{trailer_extra}>>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    (file, offsets)
}

fn catalog() -> Vec<Vec<u8>> {
    vec![
        b"<</Type/Catalog/Pages 2 0 R>>".to_vec(),
        b"<</Type/Pages/Kids[]/Count 0>>".to_vec(),
    ]
}

/// A FlateDecode stream object holding `data`, its dictionary's other entries written
/// `before` and `after` the filter and length.
fn flate_stream(data: &[u8], before: &str, after: &str) -> Vec<u8> {
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, 9);
    let mut body = format!(
        "<<{before}/Filter/FlateDecode/Length {}{after}>>\nstream\n",
        packed.len()
    )
    .into_bytes();
    body.extend_from_slice(&packed);
    body.extend_from_slice(b"\nendstream");
    body
}

/// A FlateDecode stream object that inflates to `size` zero bytes.
fn bomb(size: usize, extra: &str) -> Vec<u8> {
    flate_stream(&vec![0u8; size], "", extra)
}

#[test]
fn one_cross_reference_stream_named_by_every_section_is_read_once_within_the_budget() {
    // Many trailers, each naming the same /XRefStm (a stream that inflates to 64 MiB):
    // before, every section inflated it again.
    let mut objects = catalog();
    objects.push(bomb(64 << 20, "/Type/XRef/W[1 1 1]/Size 3"));
    let (mut file, offsets) = hostile(&objects, "");
    let stm = offsets[2];
    let mut prev = None;
    for _ in 0..200 {
        let at = file.len();
        let prev_entry = prev.map_or_else(String::new, |p: usize| format!("/Prev {p}"));
        file.extend_from_slice(
                format!(
                    "xref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 4/Root 1 0 R/XRefStm {stm}{prev_entry}>>\n"
                )
                .as_bytes(),
            );
        prev = Some(at);
    }
    file.extend_from_slice(format!("startxref\n{}\n%%EOF\n", prev.unwrap()).as_bytes());
    let err = Pdf::parse(&file).unwrap_err();
    assert!(
        err.to_string().contains("budget") || err.to_string().contains("cross-reference"),
        "{err}"
    );
    // A small file gets at least 16 MiB, a large one 64 bytes per byte, at most 256 MiB.
    assert!(file.len() * INFLATE_PER_BYTE < MAX_INFLATED);
}

#[test]
fn declared_object_counts_are_bounded_by_the_file() {
    // An /Index declaring 250 million rows is refused before a row is read.
    let mut objects = catalog();
    objects.push(flate_stream(
        &[1, 0, 0],
        "/Type/XRef/W[1 1 1]/Index[0 250000000]/Size 250000000/Root 1 0 R",
        "",
    ));
    let (mut file, offsets) = hostile(&objects, "");
    let at = offsets[2];
    let cut = file.windows(9).rposition(|w| w == b"startxref").unwrap();
    file.truncate(cut);
    file.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
    let err = Pdf::parse(&file).unwrap_err();
    assert!(err.to_string().contains("more objects"), "{err}");
    // A /Size beyond what a PDF may have (the counter would wrap) is refused.
    let (file, _) = hostile(&catalog(), "");
    let text = String::from_utf8_lossy(&file).replace("/Size 3", "/Size 4294967295");
    let err = Pdf::parse(text.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("/Size"), "{err}");
}

#[test]
fn a_document_cannot_decompress_more_than_its_budget_in_all() {
    // Three 12 MiB streams in a small file: each alone fits, together they exceed the
    // 16 MiB a small document may decompress.
    let mut objects = catalog();
    for _ in 0..3 {
        objects.push(bomb(12 << 20, ""));
    }
    let (file, _) = hostile(&objects, "");
    let pdf = Pdf::parse(&file).unwrap();
    let read = |n: u32| {
        let indirect = pdf.indirect(n).unwrap();
        let Object::Dict(d) = indirect.object else {
            panic!("not a stream")
        };
        pdf.decode(&d, &file[indirect.data.unwrap()])
    };
    assert_eq!(read(3).unwrap().len(), 12 << 20);
    let err = read(4).unwrap_err();
    assert!(err.to_string().contains("budget"), "{err}");
    assert!(read(5).is_err(), "the budget stays spent");
}

#[test]
fn deep_nesting_and_garbage_are_refused() {
    let deep = "[".repeat(1000);
    assert!(matches!(
        Lexer::new(deep.as_bytes(), 0).object(0),
        Err(Error::Malformed(_))
    ));
    assert_eq!(Pdf::parse(b"hello").unwrap_err(), Error::NotPdf);
    assert!(matches!(
        Pdf::parse(b"%PDF-1.7\n1 0 obj <<>> endobj\n").unwrap_err(),
        Error::Malformed(_)
    ));
}

#[test]
fn stream_lengths_that_refer_to_each_other_do_not_recurse() {
    // Objects 1 and 2 are streams whose /Length names the other.
    let mut file = b"%PDF-1.7\n".to_vec();
    let one = file.len();
    file.extend_from_slice(b"1 0 obj\n<</Length 2 0 R>>\nstream\nabc\nendstream\nendobj\n");
    let two = file.len();
    file.extend_from_slice(b"2 0 obj\n<</Length 1 0 R>>\nstream\nxyz\nendstream\nendobj\n");
    let xref = file.len();
    file.extend_from_slice(
        format!(
            "xref\n0 3\n0000000000 65535 f\r\n{one:010} 00000 n\r\n{two:010} 00000 n\r\n\
                 trailer\n<</Size 3/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    // The catalog is a stream, so parsing fails cleanly; reading object 1 terminates with
    // its data found by the end marker.
    assert!(matches!(Pdf::parse(&file), Err(Error::Malformed(_))));
    let pdf = Pdf {
        bytes: &file,
        xref: HashMap::from([(1, Entry::At(one, 0)), (2, Entry::At(two, 0))]),
        trailer: Dict::default(),
        startxref: xref,
        xref_is_stream: false,
        size: 3,
        object_streams: RefCell::new(HashMap::new()),
        inflate_left: Cell::new(MIN_INFLATE_BUDGET),
        entries_left: Cell::new(1024),
    };
    let data = pdf.indirect(1).unwrap().data.unwrap();
    assert_eq!(&file[data], b"abc");
}

#[test]
fn png_up_predictor_is_undone() {
    let data = [2, 1, 2, 2, 1, 1];
    assert_eq!(unpredict(&data, 2).unwrap(), vec![1, 2, 2, 3]);
}

#[test]
fn text_strings_use_utf16_beyond_ascii() {
    assert_eq!(Object::text("Ann"), Object::Str(b"Ann".to_vec()));
    assert_eq!(
        Object::text("Åse"),
        Object::Str(vec![0xfe, 0xff, 0, 0xc5, 0, b's', 0, b'e'])
    );
}
