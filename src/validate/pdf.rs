//! PAdES validation: each signature's byte range and `/Contents` checked against the file, the
//! CMS checked over the ranges, document timestamps checked, and every change made after a
//! signature judged (DSS, timestamps, further signatures and form filling are allowed; page
//! content, annotations and anything else are not: shadow and incremental-saving attacks).

use std::collections::HashSet;

use super::chain::{self, Cert, Status};
use super::cms::{self, Material, Parts};
use super::report::{rfc3339, Change, Coverage, Indication, SignatureReport, SubIndication};
use crate::formats::pades;
use crate::formats::pdf::{self, Dict, Object, Pdf};

/// What a PDF's document security store holds.
#[derive(Debug, Default)]
struct Dss {
    certificates: Vec<Cert>,
    crls: Vec<Vec<u8>>,
    ocsps: Vec<Vec<u8>>,
    /// The object numbers its arrays refer to.
    refs: HashSet<u32>,
    /// Where the DSS object lies.
    offset: Option<usize>,
    /// The DSS dictionary's object number (its `/Type` is optional).
    root: Option<u32>,
}

/// The object number of the catalog's `/DSS` dictionary.
fn dss_root(pdf: &Pdf<'_>) -> Option<u32> {
    match pdf.catalog().ok()?.get("DSS") {
        Some(Object::Ref(n, _)) => Some(*n),
        _ => None,
    }
}

/// The DSS's certificates, CRLs and OCSP responses.
fn dss(pdf: &Pdf<'_>) -> Dss {
    let mut out = Dss {
        root: dss_root(pdf),
        ..Dss::default()
    };
    out.offset = out.root.and_then(|n| pdf.offset_of(n));
    let Ok(catalog) = pdf.catalog() else {
        return out;
    };
    let Ok(dss) = pdf.dict(catalog.get("DSS")) else {
        return out;
    };
    for key in ["Certs", "CRLs", "OCSPs"] {
        let Ok(Object::Array(items)) = pdf.resolve(dss.get(key).unwrap_or(&Object::Null)) else {
            continue;
        };
        for item in items {
            let Object::Ref(n, _) = item else { continue };
            // Each stream is read once, however often the DSS names it (and within the
            // document's decompression budget).
            if !out.refs.insert(n) {
                continue;
            }
            let Ok(indirect) = pdf.indirect(n) else {
                continue;
            };
            let (Object::Dict(d), Some(range)) = (indirect.object, indirect.data) else {
                continue;
            };
            let Ok(data) = pdf.decode(&d, pdf.bytes().get(range).unwrap_or_default()) else {
                continue;
            };
            match key {
                "Certs" => out.certificates.extend(Cert::parse(&data)),
                "CRLs" => out.crls.push(data),
                _ => out.ocsps.push(data),
            }
        }
    }
    out
}

fn is_type(d: &Dict, t: &str) -> bool {
    d.get("Type").is_some_and(|v| v.is_name(t))
}

/// `a` and `b` equal but for `keys`.
fn same_but(a: &Dict, b: &Dict, keys: &[&str]) -> bool {
    let strip = |d: &Dict| {
        let mut v: Vec<(Vec<u8>, Object)> =
            d.0.iter()
                .filter(|(k, _)| !keys.iter().any(|x| x.as_bytes() == k.as_slice()))
                .cloned()
                .collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    strip(a) == strip(b)
}

fn is_signature_field(new: &Pdf<'_>, object: &Object) -> bool {
    new.dict(Some(object))
        .is_ok_and(|d| d.get("FT").is_some_and(|t| t.is_name("Sig")))
}

/// The array `d` holds under `key` (resolved in `pdf`); empty when there is none.
fn array(d: &Dict, key: &str, pdf: &Pdf<'_>) -> Vec<Object> {
    match d.get(key).map(|a| pdf.resolve(a)) {
        Some(Ok(Object::Array(a))) => a,
        _ => Vec::new(),
    }
}

/// Only references to signature fields were appended to `old` to make `new`.
fn only_signature_fields_added(newer: &Pdf<'_>, old: &[Object], new: &[Object]) -> bool {
    new.len() >= old.len()
        && new.get(..old.len()) == Some(old)
        && new
            .get(old.len()..)
            .unwrap_or_default()
            .iter()
            .all(|o| is_signature_field(newer, o))
}

/// The DSS objects of the signed and the newer revision.
#[derive(Clone, Copy)]
struct DssObjects<'a> {
    /// What the newer DSS refers to.
    refs: &'a HashSet<u32>,
    /// The newer DSS dictionary.
    root: Option<u32>,
    /// The signed revision's DSS dictionary.
    old_root: Option<u32>,
    /// The newer revision's metadata objects ([`metadata_objects`]).
    metadata: Metadata,
    /// The signed revision's.
    old_metadata: Metadata,
}

/// The objects that hold a document's metadata: the information dictionary (the trailer's
/// `/Info`) and the XMP stream (the catalog's `/Metadata`).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Metadata {
    info: Option<u32>,
    xmp: Option<u32>,
}

fn metadata_objects(pdf: &Pdf<'_>) -> Metadata {
    let reference = |o: Option<&Object>| match o {
        Some(Object::Ref(n, _)) => Some(*n),
        _ => None,
    };
    Metadata {
        info: reference(pdf.trailer.get("Info")),
        xmp: pdf
            .catalog()
            .ok()
            .and_then(|c| reference(c.get("Metadata"))),
    }
}

/// The keys of a document information dictionary (ISO 32000-1 14.3.3); custom keys are
/// allowed too, but every value is a text string (`/Trapped` a name).
fn is_information(d: &Dict) -> bool {
    d.0.iter().all(|(key, value)| match value {
        Object::Str(_) => key != b"Type".as_slice(),
        Object::Name(_) => key == b"Trapped".as_slice(),
        _ => false,
    })
}

/// An XMP metadata stream's dictionary (`/Type /Metadata /Subtype /XML`).
fn is_xmp(d: &Dict) -> bool {
    is_type(d, "Metadata") && d.get("Subtype").is_some_and(|s| s.is_name("XML"))
}

/// Whether object `num` is the content of a page of `pdf` (its `/Contents`, or one of them).
fn is_page_content(pdf: &Pdf<'_>, num: u32) -> bool {
    /// Page tree nodes walked at most; a larger tree counts as "yes" (refused, not walked).
    const MAX_NODES: usize = 100_000;
    let refers = |o: Option<&Object>| match o {
        Some(Object::Ref(n, _)) => *n == num,
        Some(Object::Array(items)) => items
            .iter()
            .any(|o| matches!(o, Object::Ref(n, _) if *n == num)),
        _ => false,
    };
    // One walk over the page tree (the claimed /Count is not trusted for anything).
    let Some(Object::Ref(root, _)) = pdf.catalog().ok().and_then(|c| c.get("Pages").cloned())
    else {
        return false;
    };
    let mut visited = HashSet::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if !visited.insert(node) {
            continue;
        }
        if visited.len() > MAX_NODES {
            return true;
        }
        let Ok(Object::Dict(dict)) = pdf.get(node) else {
            continue;
        };
        if refers(dict.get("Contents")) {
            return true;
        }
        if let Some(Ok(Object::Array(kids))) = dict.get("Kids").map(|k| pdf.resolve(k)) {
            stack.extend(kids.iter().filter_map(|k| match k {
                Object::Ref(n, _) => Some(*n),
                _ => None,
            }));
        }
    }
    false
}

/// Judges one object changed or added after the signed revision.
fn judge(old: &Pdf<'_>, new: &Pdf<'_>, num: u32, dss: DssObjects<'_>) -> Change {
    let change = |what: &str, allowed: bool| Change {
        object: num,
        what: what.to_owned(),
        allowed,
    };
    let existed = old.location(num).is_some();
    let now = new.get(num).unwrap_or(Object::Null);
    let before = if existed {
        old.get(num).unwrap_or(Object::Null)
    } else {
        Object::Null
    };
    match &now {
        Object::Dict(d) if is_type(d, "Sig") || is_type(d, "DocTimeStamp") => {
            change("signature", !existed)
        }
        // Validation data may be added (ETSI EN 319 142-1 5.4): a new DSS, or the signed
        // revision's own DSS updated. Never another object turned into one.
        Object::Dict(d) if is_type(d, "DSS") || dss.root == Some(num) => change(
            "document security store",
            !existed || dss.old_root == Some(num),
        ),
        Object::Dict(d) if is_type(d, "XRef") || is_type(d, "ObjStm") => {
            change("cross-reference", true)
        }
        Object::Dict(_) if dss.refs.contains(&num) => change("validation data", !existed),
        Object::Dict(d) if d.get("FT").is_some_and(|t| t.is_name("Sig")) => {
            change("signature field", !existed)
        }
        Object::Dict(d) if is_type(d, "Catalog") => {
            let allowed = before.as_dict().is_some_and(|b| {
                same_but(b, d, &["AcroForm", "DSS", "Extensions", "Metadata"])
                    // A new XMP stream, or the one before: never another object.
                    && (b.get("Metadata") == d.get("Metadata")
                        || matches!(d.get("Metadata"), Some(Object::Ref(n, _))
                            if old.location(*n).is_none()))
            });
            change("document catalog", allowed)
        }
        Object::Dict(d) if is_type(d, "Page") => {
            let allowed = before.as_dict().is_some_and(|b| {
                same_but(b, d, &["Annots"])
                    && only_signature_fields_added(
                        new,
                        &array(b, "Annots", old),
                        &array(d, "Annots", new),
                    )
            });
            change("page", allowed)
        }
        Object::Dict(d) if d.get("Fields").is_some() && !existed => change("form", true),
        Object::Dict(d) if d.get("Fields").is_some() => {
            let allowed = before.as_dict().is_some_and(|b| {
                same_but(b, d, &["Fields", "SigFlags"])
                    && only_signature_fields_added(
                        new,
                        &array(b, "Fields", old),
                        &array(d, "Fields", new),
                    )
            });
            change("form", allowed)
        }
        Object::Dict(d) if d.get("FT").is_some() => {
            let allowed = before
                .as_dict()
                .is_some_and(|b| same_but(b, d, &["V", "AP", "AS"]));
            change("form field value", allowed)
        }
        Object::Array(items) => {
            let allowed = match &before {
                Object::Array(old_items) => only_signature_fields_added(new, old_items, items),
                _ => !existed,
            };
            change("array", allowed)
        }
        // Metadata may be updated (a later signer's software sets `/ModDate`, `/Producer` and
        // the XMP packet): reported, not failed. Only an object that was the same metadata in
        // the signed revision (or a new one), and that is metadata in form, so that no object
        // the page draws with can be changed under the name of metadata.
        Object::Dict(d)
            if dss.metadata.info == Some(num)
                && (!existed || dss.old_metadata.info == Some(num))
                && is_information(d)
                && before.as_dict().is_none_or(is_information) =>
        {
            change("document information", true)
        }
        Object::Dict(d)
            if dss.metadata.xmp == Some(num)
                && (!existed || dss.old_metadata.xmp == Some(num))
                && is_xmp(d)
                && before.as_dict().is_none_or(is_xmp)
                && !is_page_content(old, num) =>
        {
            change("XMP metadata", true)
        }
        _ if !existed => change("new object", true),
        _ => change("changed object", false),
    }
}

/// The changes after the revision ending at `end`, each judged; `refs` and `root` are those of
/// `new`'s DSS.
fn later_changes(new: &Pdf<'_>, refs: &HashSet<u32>, root: Option<u32>, end: usize) -> Vec<Change> {
    let Some(prefix) = new.bytes().get(..end) else {
        return Vec::new();
    };
    let Ok(old) = Pdf::parse(prefix) else {
        return vec![Change {
            object: 0,
            what: "the signed revision does not parse on its own".into(),
            allowed: false,
        }];
    };
    let objects = DssObjects {
        refs,
        root,
        old_root: dss_root(&old),
        metadata: metadata_objects(new),
        old_metadata: metadata_objects(&old),
    };
    new.object_numbers()
        .into_iter()
        .filter(|n| old.location(*n) != new.location(*n))
        .map(|n| judge(&old, new, n, objects))
        .collect()
}

/// `/M` (`D:YYYYMMDDHHmmSS...`) as Unix seconds (UTC; an offset is applied).
fn pdf_time(text: &str) -> Option<i64> {
    let digits = text.strip_prefix("D:").unwrap_or(text);
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i64>().ok());
    let date = time::Date::from_calendar_date(
        i32::try_from(num(0..4)?).ok()?,
        time::Month::try_from(u8::try_from(num(4..6).unwrap_or(1)).ok()?).ok()?,
        u8::try_from(num(6..8).unwrap_or(1)).ok()?,
    )
    .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(num(8..10).unwrap_or(0)).ok()?,
        u8::try_from(num(10..12).unwrap_or(0)).ok()?,
        u8::try_from(num(12..14).unwrap_or(0)).ok()?,
    )
    .ok()?;
    let mut unix = time::PrimitiveDateTime::new(date, t)
        .assume_utc()
        .unix_timestamp();
    let sign = digits.get(14..15);
    if let (Some(s @ ("+" | "-")), Some(h), Some(m)) = (sign, num(15..17), num(18..20)) {
        let offset = h * 3600 + m * 60;
        unix += if s == "+" { -offset } else { offset };
    }
    Some(unix)
}

/// The byte range problems of a signature, if any.
fn range_problem(bytes: &[u8], s: &pades::Signature, ends: &[usize]) -> Option<String> {
    let Some([a, b, c, d]) = s.range() else {
        return Some("the byte range is not four non-negative numbers".into());
    };
    if a != 0 {
        return Some("the byte range does not start at 0".into());
    }
    if c <= b || c.checked_add(d).is_none_or(|e| e > bytes.len()) {
        return Some("the byte range overlaps or runs past the end".into());
    }
    let gap = bytes.get(b..c)?;
    let hex = gap.get(1..gap.len().saturating_sub(1))?;
    if gap.first() != Some(&b'<')
        || gap.last() != Some(&b'>')
        || !hex.iter().all(u8::is_ascii_hexdigit)
    {
        return Some("the unsigned gap is not exactly the /Contents hex string".into());
    }
    if hex.len() % 2 != 0 {
        return Some("the unsigned gap has an odd number of hex digits".into());
    }
    if hex::decode(hex).ok().as_deref() != Some(s.raw_contents.as_slice()) {
        return Some("the signature dictionary was replaced after signing".into());
    }
    if !ends.contains(&(c + d)) {
        return Some("the byte range does not end at the end of a revision".into());
    }
    let trailing = s.raw_contents.get(s.contents.len()..).unwrap_or_default();
    if trailing.iter().any(|b| *b != 0) {
        return Some("/Contents has data after the signature".into());
    }
    None
}

/// The most signatures validated in one PDF (each hashes its byte ranges, up to the whole
/// file).
const MAX_SIGNATURES: usize = 100;

/// Validates every signature and document timestamp of a PDF.
///
/// # Errors
/// The PDF does not parse.
pub fn validate(bytes: &[u8], base: &Material) -> Result<Vec<SignatureReport>, pdf::Error> {
    let parsed = Pdf::parse(bytes)?;
    let signatures = pades::signatures_in(&parsed)?;
    if signatures.len() > MAX_SIGNATURES {
        return Err(pdf::Error::Malformed(format!(
            "more than {MAX_SIGNATURES} signatures"
        )));
    }
    let store = dss(&parsed);
    let (dss_crls, dss_ocsps, dss_at) = (store.crls, store.ocsps, store.offset);
    let mut material = base.clone();
    material.certificates.extend(store.certificates);
    let mut crls = dss_crls.clone();
    crls.extend(base.crls.iter().cloned());
    material.crls = crls;
    let mut ocsps = dss_ocsps.clone();
    ocsps.extend(base.ocsps.iter().cloned());
    material.ocsps = ocsps;
    let material = material;
    std::thread::scope(|scope| {
        // A B-LT file's signatures by the trust anchors are verified on the other core while
        // this one hashes the document ([`chain::anchor_signatures_ahead`]).
        if !dss_crls.is_empty() {
            chain::anchor_signatures_ahead(
                scope,
                &material.anchors,
                &material.certificates,
                &material.crls,
            );
        }
        let ends = pades::revision_ends(bytes);
        // Document timestamps that verify: (covered end, time).
        let mut stamps: Vec<(usize, i64)> = Vec::new();
        let mut out = Vec::new();
        // Per signature: validation data in the DSS from its revision on.
        let mut long_term = Vec::new();
        for s in &signatures {
            if base.past_deadline() {
                break;
            }
            let format = if s.timestamp {
                "PDF document timestamp"
            } else {
                "PAdES"
            };
            let mut r = SignatureReport::new(s.field.clone(), format);
            let end = s.end();
            r.coverage = Some(Coverage {
                revision: ends.iter().position(|e| *e == end).map_or(0, |i| i + 1),
                whole_file: end == bytes.len(),
                later_changes: Vec::new(),
            });
            if let Some(problem) = range_problem(bytes, s, &ends) {
                r.fail(
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    problem,
                );
                out.push(r);
                continue;
            }
            let [_, a, b, c] = s.range().unwrap_or_default();
            let ranges = Parts(vec![
                bytes.get(..a).unwrap_or_default(),
                bytes.get(b..b + c).unwrap_or_default(),
            ]);
            if s.timestamp {
                let digest = cms::Content::digest(&ranges, &crate::formats::asn1::oid::SHA256)
                    .unwrap_or_default();
                match cms::timestamp(&s.contents, &digest, &material) {
                    Ok(at) => {
                        r.proven_signing_time = Some(rfc3339(at));
                        stamps.push((end, at));
                    }
                    Err(why) => r.fail(Indication::TotalFailed, SubIndication::HashFailure, why),
                }
            } else {
                let checked = cms::check(&s.contents, &ranges, &material);
                checked.report_into(&mut r);
                r.claimed_signing_time = s.time.as_deref().and_then(pdf_time).map(rfc3339);
                // The level: a timestamp; validation data in the DSS from the signed revision on;
                // a document timestamp over the DSS.
                let revision_start = pades::revision_start(&ends, end);
                let lt_data = match checked.certificates.as_slice() {
                    [signer, issuer, ..] => {
                        chain::revocation(signer, issuer, &dss_crls, &dss_ocsps) != Status::Unknown
                    }
                    _ => false,
                };
                let dss_in_time = dss_at.is_some_and(|at| at >= revision_start);
                r.level = Some(
                    match (checked.proven.is_some(), lt_data && dss_in_time) {
                        (false, _) => "B-B",
                        (true, false) => "B-T",
                        (true, true) => "B-LT",
                    }
                    .to_owned(),
                );
                long_term.push(lt_data && dss_in_time);
                out.push(r);
                continue;
            }
            long_term.push(false);
            out.push(r);
        }
        // Later document timestamps raise levels and prove existence; later changes are judged.
        for ((s, r), long_term) in signatures.iter().zip(out.iter_mut()).zip(long_term) {
            let end = s.end();
            let later: Vec<&(usize, i64)> = stamps.iter().filter(|(e, _)| *e > end).collect();
            // A document timestamp after a B-B signature makes it B-T (PAdES), and with the
            // validation data in the DSS, B-LT.
            if !s.timestamp && r.level.as_deref() == Some("B-B") && !later.is_empty() {
                r.level = Some(if long_term { "B-LT" } else { "B-T" }.into());
            }
            if r.level.as_deref() == Some("B-LT")
                && dss_at.is_some_and(|at| later.iter().any(|(e, _)| *e > at))
            {
                r.level = Some("B-LTA".into());
            }
            if r.proven_signing_time.is_none() {
                r.proven_signing_time = later.iter().map(|(_, t)| *t).min().map(rfc3339);
            }
            if end < bytes.len() && r.sub_indication != Some(SubIndication::FormatFailure) {
                let changes = later_changes(&parsed, &store.refs, store.root, end);
                let bad: Vec<String> = changes
                    .iter()
                    .filter(|c| !c.allowed)
                    .map(|c| format!("{} (object {})", c.what, c.object))
                    .collect();
                if !bad.is_empty() {
                    r.fail(
                        Indication::TotalFailed,
                        SubIndication::SigConstraintsFailure,
                        format!("changed after signing: {}", bad.join(", ")),
                    );
                }
                if let Some(coverage) = r.coverage.as_mut() {
                    coverage.later_changes = changes;
                }
            }
        }
        // Bytes after the last revision (not whitespace) are part of no revision and no
        // signature: said plainly rather than ignored.
        let last = ends.last().copied().unwrap_or(0);
        let trailing = bytes.get(last..).unwrap_or_default();
        if trailing.iter().any(|b| !b.is_ascii_whitespace() && *b != 0) {
            for r in &mut out {
                r.errors.push(format!(
                    "the file has {} bytes after its last revision, which no signature covers",
                    trailing.len()
                ));
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_read_with_their_offsets() {
        assert_eq!(pdf_time("D:20261126130500+00'00'"), Some(1_795_698_300));
        assert_eq!(pdf_time("D:20261126140500+01'00'"), Some(1_795_698_300));
        assert_eq!(pdf_time("garbage"), None);
    }
}
