//! Reading a signed PDF: its signatures and document timestamps, where its revisions end,
//! and the baseline level of its newest signature.

use std::collections::HashSet;

use super::super::pdf::{Dict, Object, Pdf};
use super::{Error, Level};

/// A signature (or document timestamp) found in a PDF.
#[derive(Debug, Clone)]
pub struct Signature {
    /// The field's name.
    pub field: String,
    /// A document timestamp (`ETSI.RFC3161`) rather than a signature.
    pub timestamp: bool,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// `/ByteRange`.
    pub byte_range: Vec<i64>,
    /// `/Contents`: the CMS (or token), trailing padding removed.
    pub contents: Vec<u8>,
    /// `/Contents` as stored, padding included (the DSS `/VRI` key is its SHA-1).
    pub raw_contents: Vec<u8>,
    /// `/M`, as written.
    pub time: Option<String>,
    /// `/Name`.
    pub name: Option<String>,
}

impl Signature {
    /// `/ByteRange` as four offsets, when it is four non-negative numbers.
    #[must_use]
    pub fn range(&self) -> Option<[usize; 4]> {
        let [a, b, c, d] = <[i64; 4]>::try_from(self.byte_range.as_slice()).ok()?;
        Some([
            usize::try_from(a).ok()?,
            usize::try_from(b).ok()?,
            usize::try_from(c).ok()?,
            usize::try_from(d).ok()?,
        ])
    }

    /// Where the signed part of the file ends.
    #[must_use]
    pub fn end(&self) -> usize {
        self.range()
            .and_then(|[_, _, c, d]| c.checked_add(d))
            .unwrap_or(0)
    }
}

/// The length of a DER value at the start of `bytes`.
fn der_length(bytes: &[u8]) -> Option<usize> {
    let first = *bytes.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = bytes
        .get(2..2 + n)?
        .iter()
        .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
    Some(2 + n + len)
}

fn text_of(object: Option<&Object>) -> Option<String> {
    let Some(Object::Str(s)) = object else {
        return None;
    };
    if let Some(utf16) = s.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|c| {
                u16::from_be_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        Some(String::from_utf16_lossy(&units))
    } else {
        Some(s.iter().map(|b| char::from(*b)).collect())
    }
}

/// The most form fields read in one document.
const MAX_FIELDS: usize = 10_000;
/// The longest fully qualified field name.
const MAX_FIELD_NAME: usize = 4096;

/// The signature fields with a value, in the form's order (walking `/Kids`).
pub(super) fn signature_fields(pdf: &Pdf<'_>) -> Result<Vec<(String, Dict)>, Error> {
    let catalog = pdf.catalog()?;
    let form = pdf.dict(catalog.get("AcroForm"))?;
    // Each field object is queued once (a field listed many times, or /Kids that lead back
    // to themselves, are read once), and each signature value is reported once.
    let mut queued = HashSet::new();
    let mut fresh = |object: &Object| match object {
        Object::Ref(n, _) => queued.insert(*n),
        _ => true,
    };
    let mut stack: Vec<(Object, String)> =
        match form.get("Fields").map(|f| pdf.resolve(f)).transpose()? {
            Some(Object::Array(a)) => a
                .into_iter()
                .filter(|f| fresh(f))
                .rev()
                .map(|f| (f, String::new()))
                .collect(),
            _ => Vec::new(),
        };
    let mut out = Vec::new();
    let mut values_seen = HashSet::new();
    let mut visited = 0usize;
    while let Some((field, parent)) = stack.pop() {
        visited += 1;
        if visited > MAX_FIELDS {
            return Err(Error::Malformed("too many form fields".into()));
        }
        let dict = pdf.dict(Some(&field))?;
        let own = text_of(dict.get("T")).unwrap_or_default();
        let name = match (parent.is_empty(), own.is_empty()) {
            (true, _) => own,
            (false, true) => parent.clone(),
            (false, false) => format!("{parent}.{own}"),
        };
        if name.len() > MAX_FIELD_NAME {
            return Err(Error::Malformed("form field names nest too deep".into()));
        }
        if let Some(Object::Array(kids)) = dict.get("Kids").map(|k| pdf.resolve(k)).transpose()? {
            let kids: Vec<Object> = kids.into_iter().filter(|k| fresh(k)).collect();
            if stack.len().saturating_add(kids.len()) > MAX_FIELDS {
                return Err(Error::Malformed("too many form fields".into()));
            }
            stack.extend(kids.into_iter().rev().map(|k| (k, name.clone())));
        }
        if dict.get("FT").is_some_and(|t| t.is_name("Sig")) {
            if let Some(v) = dict.get("V") {
                if let Object::Ref(n, _) = v {
                    if !values_seen.insert(*n) {
                        continue;
                    }
                }
                let value = pdf.dict(Some(v))?;
                if !value.0.is_empty() {
                    out.push((name, value));
                }
            }
        }
    }
    Ok(out)
}

/// Every signature and document timestamp of a PDF, in the order of the revisions they sign.
///
/// # Errors
/// As [`Pdf::parse`].
pub fn signatures(bytes: &[u8]) -> Result<Vec<Signature>, Error> {
    signatures_in(&Pdf::parse(bytes)?)
}

/// [`signatures`] of a PDF already read.
///
/// # Errors
/// [`Error::Malformed`] when a signature field does not parse.
pub fn signatures_in(pdf: &Pdf<'_>) -> Result<Vec<Signature>, Error> {
    let mut out = Vec::new();
    for (field, value) in signature_fields(pdf)? {
        let raw = match value.get("Contents") {
            Some(Object::Str(s)) => s.clone(),
            _ => Vec::new(),
        };
        let contents = der_length(&raw)
            .and_then(|l| raw.get(..l))
            .map_or_else(|| raw.clone(), <[u8]>::to_vec);
        let sub_filter = match value.get("SubFilter") {
            Some(Object::Name(n)) => String::from_utf8_lossy(n).into_owned(),
            _ => String::new(),
        };
        let byte_range = match value.get("ByteRange").map(|r| pdf.resolve(r)).transpose()? {
            Some(Object::Array(a)) => a.iter().filter_map(Object::as_int).collect(),
            _ => Vec::new(),
        };
        out.push(Signature {
            field,
            timestamp: sub_filter == "ETSI.RFC3161",
            sub_filter,
            byte_range,
            contents,
            raw_contents: raw,
            time: text_of(value.get("M")),
            name: text_of(value.get("Name")),
        });
    }
    out.sort_by_key(Signature::end);
    Ok(out)
}

/// Where each revision ends: after its `%%EOF` and end of line.
#[must_use]
pub fn revision_ends(bytes: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(bytes, b"%%EOF")
        .map(|at| {
            let mut end = at + 5;
            while matches!(bytes.get(end), Some(b'\r' | b'\n')) {
                end += 1;
            }
            end
        })
        .collect()
}

/// Where the revision that ends at `end` starts: the end of the revision before it.
#[must_use]
pub fn revision_start(ends: &[usize], end: usize) -> usize {
    ends.iter()
        .filter(|e| **e < end)
        .max()
        .copied()
        .unwrap_or(0)
}

/// Where the DSS object starts, if the document has one.
fn dss_offset(pdf: &Pdf<'_>) -> Result<Option<usize>, Error> {
    let catalog = pdf.catalog()?;
    let Some(Object::Ref(n, _)) = catalog.get("DSS") else {
        return Ok(None);
    };
    Ok(pdf.offset_of(*n))
}

/// The baseline level of the newest signature: `None` without one. B-T needs a signature
/// timestamp in the CMS or a document timestamp after it; B-LT a DSS after that; B-LTA a
/// document timestamp over the DSS.
///
/// # Errors
/// As [`Pdf::parse`].
pub fn level(bytes: &[u8]) -> Result<Option<Level>, Error> {
    let pdf = Pdf::parse(bytes)?;
    let all = signatures_in(&pdf)?;
    let Some(last) = all.iter().rposition(|s| !s.timestamp) else {
        return Ok(None);
    };
    let (_, later) = all.split_at(last);
    let Some((signature, later)) = later.split_first() else {
        return Ok(None);
    };
    let later_timestamps: Vec<&Signature> = later.iter().filter(|s| s.timestamp).collect();
    let cms_level = super::super::cms::level(&signature.contents).unwrap_or(Level::BB);
    if cms_level < Level::BT && later_timestamps.is_empty() {
        return Ok(Some(Level::BB));
    }
    let Some(dss) = dss_offset(&pdf)? else {
        return Ok(Some(Level::BT));
    };
    if dss < revision_start(&revision_ends(bytes), signature.end()) {
        return Ok(Some(Level::BT));
    }
    if later_timestamps.iter().any(|t| t.end() > dss) {
        Ok(Some(Level::BLTA))
    } else {
        Ok(Some(Level::BLT))
    }
}
