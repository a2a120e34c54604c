//! Unit tests of PAdES preparation, assembly and signature reading, over small PDFs built
//! here and with the PDF reader's test builder.

use super::*;

/// A one-page PDF with a classic cross-reference table.
fn minimal() -> Vec<u8> {
    let objects = [
        "<</Type/Catalog/Pages 2 0 R>>",
        "<</Type/Pages/Kids[3 0 R]/Count 1>>",
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 4\n0000000000 65535 f\r\n");
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<</Size 4/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

/// A PDF from object bodies (numbered from 1): the PDF reader's test builder.
fn from_objects(objects: &[String]) -> Vec<u8> {
    let bodies: Vec<Vec<u8>> = objects.iter().map(|o| o.clone().into_bytes()).collect();
    crate::formats::pdf::tests::hostile(&bodies, "").0
}

#[test]
fn fields_that_list_themselves_or_share_one_value_are_read_once() {
    // /Fields names one field 10 000 times; the field's /Kids lead back to itself with a
    // long /T; 10 000 other fields share one signature value. Before, the names grew
    // without end and the value was reported 10 000 times.
    let long = "x".repeat(1000);
    let mut objects = vec![
            format!(
                "<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[{}]>>>>",
                "4 0 R ".repeat(10_000)
            ),
            "<</Type/Pages/Kids[]/Count 0>>".to_owned(),
            "<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange[0 1 2 3]/Contents<00>>>".to_owned(),
            format!("<</FT/Sig/T({long})/Kids[4 0 R 5 0 R]/V 3 0 R>>"),
            format!("<</FT/Sig/T({long})/Kids[{}]/V 3 0 R>>", "6 0 R ".repeat(2000)),
            "<</FT/Sig/T(leaf)/V 3 0 R>>".to_owned(),
        ];
    objects.truncate(6);
    let file = from_objects(&objects);
    let found = signatures(&file).unwrap();
    assert_eq!(found.len(), 1, "one signature value, reported once");
    // Kids that nest names beyond the limit are refused, not followed for ever.
    let mut chain = vec![
        "<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[3 0 R]>>>>".to_owned(),
        "<</Type/Pages/Kids[]/Count 0>>".to_owned(),
    ];
    for i in 3..40 {
        chain.push(format!("<</T({long})/Kids[{} 0 R]>>", i + 1));
    }
    chain.push("<</T(end)>>".to_owned());
    let err = signatures(&from_objects(&chain)).unwrap_err();
    assert!(err.to_string().contains("nest too deep"), "{err}");
}

#[test]
fn prepare_keeps_the_original_and_covers_all_but_the_contents() {
    let original = minimal();
    let prepared = prepare(original.clone(), &Options::default(), 1_790_000_000, None).unwrap();
    assert_eq!(prepared.original(), original.as_slice());
    let [a, b, c, d] = prepared.byte_range();
    assert_eq!(a, 0);
    assert_eq!(c + d, prepared.pdf.len());
    assert_eq!(prepared.pdf[b], b'<');
    assert_eq!(prepared.pdf[c - 1], b'>');
    let signed = assemble(prepared, &[0x30, 0x03, 0x02, 0x01, 0x05]).unwrap();
    let found = signatures(&signed).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].contents, vec![0x30, 0x03, 0x02, 0x01, 0x05]);
    assert_eq!(found[0].sub_filter, "ETSI.CAdES.detached");
    assert_eq!(found[0].byte_range, vec![0, b as i64, c as i64, d as i64]);
}

#[test]
fn a_cms_too_large_for_the_placeholder_is_refused() {
    let prepared = prepare_timestamp(minimal()).unwrap();
    assert!(matches!(
        assemble(prepared, &vec![0u8; 40_000]),
        Err(Error::TooLarge(40_000))
    ));
}

#[test]
fn missing_pages_and_bad_rectangles_are_refused() {
    let mut options = Options {
        visible: Some(Visible {
            page: 2,
            rect: [10.0, 10.0, 200.0, 60.0],
            signer: "Ann".into(),
            organisation: None,
            cvr: None,
        }),
        ..Options::default()
    };
    assert!(matches!(
        prepare(minimal(), &options, 0, None),
        Err(Error::Options(_))
    ));
    if let Some(v) = options.visible.as_mut() {
        v.page = 1;
        v.rect = [10.0, 10.0, 5.0, 60.0];
    }
    assert!(matches!(
        prepare(minimal(), &options, 0, None),
        Err(Error::Options(_))
    ));
}

#[test]
fn the_approval_covers_the_capacity_and_is_unchanged_without_one() {
    use crate::formats::representation::Capacity;
    use sha2::{Digest as _, Sha256};

    let document = [3u8; 32];
    let plain = Options {
        reason: Some("Tenant".into()),
        ..Options::default()
    };
    // Without a capacity the text and the digest are what they always were: approvals made
    // before capacities existed still sign.
    let text = "reason=\"Tenant\"\nlocation=null\ncontact=null\ncertify=false\nvisible=none\n";
    assert_eq!(plain.approval_text().as_deref(), Some(text));
    let mut h = Sha256::new();
    h.update(b"qsign-pdf-approval-v1\0");
    h.update(document);
    h.update(text.as_bytes());
    let today: [u8; 32] = h.finalize().into();
    assert_eq!(approval_digest(&document, &plain), today);
    assert_eq!(approval_digest(&document, &Options::default()), document);

    let capacity = |role: &str| Capacity {
        role: role.into(),
        organisation: "Rungstedlund A/S".into(),
        cvr: "35408002".into(),
        rule: Some("director | board{2}".into()),
        mandate: None,
    };
    let with = |c: Capacity| Options {
        capacity: Some(c),
        ..plain.clone()
    };
    let director = approval_digest(&document, &with(capacity("director")));
    let board = approval_digest(&document, &with(capacity("board")));
    assert_ne!(director, board, "two capacities, two approvals");
    assert_ne!(director, today);
    let director_text = with(capacity("director")).approval_text().unwrap();
    assert!(director_text.starts_with(text));
    assert!(director_text.ends_with(&capacity("director").approval_line()));
    // A capacity alone is an option: the approval is no longer the document's digest.
    let only = Options {
        capacity: Some(capacity("board")),
        ..Options::default()
    };
    assert_ne!(approval_digest(&document, &only), document);

    // The prepared revision keeps the capacity (for its CMS), and its approval covers it.
    let original = minimal();
    let sha: [u8; 32] = Sha256::digest(&original).into();
    let prepared = prepare(original.clone(), &only, 1_790_000_000, None).unwrap();
    assert_eq!(prepared.capacity(), Some(&capacity("board")));
    assert_eq!(prepared.approval(), approval_digest(&sha, &only));
    let plain_prepared = prepare(original, &Options::default(), 1_790_000_000, None).unwrap();
    assert_eq!(plain_prepared.capacity(), None);
    assert_eq!(plain_prepared.approval(), sha);
}
