//! PAdES (ETSI EN 319 142-1) by incremental update: the original bytes are never touched.
//!
//! The three steps: [`prepare`] appends a revision with a signature field, its widget, the
//! signature dictionary (`ETSI.CAdES.detached`, `/ByteRange` over the whole file but the
//! `/Contents` placeholder) and answers the digest of the byte ranges; the caller signs it (a
//! CMS with [`super::cms`], no signing-time attribute: the time is `/M`); [`assemble`] writes
//! the CMS into the placeholder. Higher levels append more revisions: [`add_dss`] (B-LT:
//! certificates, CRLs and OCSP responses in the document security store) and
//! [`prepare_timestamp`] (B-LTA, or B-T for an earlier signature: a document timestamp).
//!
//! Memory: the file is one `Vec` moved through the steps and grown in place; byte ranges are
//! hashed where they lie.

mod appearance;

use std::collections::HashSet;

use sha1::Sha1;
use sha2::{Digest as _, Sha256};

pub use super::cms::Level;
pub use super::pdf::Error;
use super::pdf::{Dict, Object, Pdf, Update};

/// Bytes reserved for the CMS in `/Contents` (hex-encoded, so twice this in the file).
pub const DEFAULT_RESERVE: usize = 24 * 1024;

/// A visible signature.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Visible {
    /// The page, from 1.
    pub page: u32,
    /// Lower-left x, lower-left y, upper-right x, upper-right y, in points.
    pub rect: [f64; 4],
    /// The signer's name as shown.
    pub signer: String,
    /// The organisation signed for, if any.
    #[serde(default)]
    pub organisation: Option<String>,
    /// Its CVR number.
    #[serde(default)]
    pub cvr: Option<String>,
}

/// How to sign a PDF.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// `/Name`: the signer's name.
    #[serde(default)]
    pub name: Option<String>,
    /// `/Reason`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `/Location`.
    #[serde(default)]
    pub location: Option<String>,
    /// `/ContactInfo`.
    #[serde(default)]
    pub contact_info: Option<String>,
    /// A certification signature (DocMDP, form filling and signing allowed afterwards); only
    /// as the document's first signature.
    #[serde(default)]
    pub certify: bool,
    /// A visible signature; invisible when `None`.
    #[serde(default)]
    pub visible: Option<Visible>,
}

impl Options {
    /// What the signer approves besides the document, in a canonical text: every option a
    /// caller chooses (reason, location, contact, certification, the visible field's page and
    /// rectangle), one per line, strings JSON-escaped, numbers as [`format_number`] writes
    /// them. `None` when there is none (an invisible, plain signature). The signer's name and
    /// organisation come from the certificate and are not part of it.
    #[must_use]
    pub fn approval_text(&self) -> Option<String> {
        let plain = self.reason.is_none()
            && self.location.is_none()
            && self.contact_info.is_none()
            && !self.certify
            && self.visible.is_none();
        if plain {
            return None;
        }
        let text = |v: &Option<String>| {
            v.as_deref().map_or_else(
                || "null".to_owned(),
                |s| serde_json::Value::from(s).to_string(),
            )
        };
        let visible = self.visible.as_ref().map_or_else(
            || "none".to_owned(),
            |v| {
                let [a, b, c, d] = v.rect.map(format_number);
                format!("page {} rect {a} {b} {c} {d}", v.page)
            },
        );
        Some(format!(
            "reason={}\nlocation={}\ncontact={}\ncertify={}\nvisible={visible}\n",
            text(&self.reason),
            text(&self.location),
            text(&self.contact_info),
            self.certify,
        ))
    }
}

/// The digest a signer approves for a PDF signed with `options`: the document's SHA-256 itself
/// for a plain signature, otherwise SHA-256 over a domain tag, that SHA-256 and
/// [`Options::approval_text`], so that an approval of one set of options cannot sign with
/// another (a changed reason, a certification, a visible box put elsewhere).
#[must_use]
pub fn approval_digest(document_sha256: &[u8; 32], options: &Options) -> [u8; 32] {
    approval_of(document_sha256, options.approval_text().as_deref())
}

fn approval_of(document_sha256: &[u8; 32], text: Option<&str>) -> [u8; 32] {
    match text {
        None => *document_sha256,
        Some(text) => {
            let mut h = Sha256::new();
            h.update(b"qsign-pdf-approval-v1\0");
            h.update(document_sha256);
            h.update(text.as_bytes());
            h.finalize().into()
        }
    }
}

/// A PDF with its signature placeholder.
#[derive(Debug)]
pub struct Prepared {
    pdf: Vec<u8>,
    original: usize,
    range: [usize; 4],
    /// SHA-256 over the byte ranges, computed once when the ranges are final.
    digest: [u8; 32],
    /// The options the revision was made with, as the approval covers them
    /// ([`Options::approval_text`]; `None` for a plain signature or a document timestamp).
    approval_text: Option<String>,
}

impl Prepared {
    /// The document before this revision.
    #[must_use]
    pub fn original(&self) -> &[u8] {
        self.pdf.get(..self.original).unwrap_or_default()
    }

    /// SHA-256 over the byte ranges: what the signature covers. Computed when the revision was
    /// appended (nothing outside the `/Contents` gap changes afterwards).
    #[must_use]
    pub const fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// The `/ByteRange`.
    #[must_use]
    pub const fn byte_range(&self) -> [usize; 4] {
        self.range
    }

    /// The approval this revision needs ([`approval_digest`] of the original and the options
    /// it was made with; the original's SHA-256 for a document timestamp). Computed when asked
    /// (by the SAM), so preparing costs no second pass over the file.
    #[must_use]
    pub fn approval(&self) -> [u8; 32] {
        let document: [u8; 32] = Sha256::digest(self.original()).into();
        approval_of(&document, self.approval_text.as_deref())
    }
}

/// A UTC time as its parts, year first.
fn utc_parts(unix: i64) -> Result<[i32; 6], Error> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| Error::Options("signing time out of range".into()))?;
    Ok([
        t.year(),
        i32::from(u8::from(t.month())),
        i32::from(t.day()),
        i32::from(t.hour()),
        i32::from(t.minute()),
        i32::from(t.second()),
    ])
}

/// PDF date string, UTC.
fn pdf_date(unix: i64) -> Result<String, Error> {
    let [y, mo, d, h, mi, s] = utc_parts(unix)?;
    Ok(format!("D:{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}+00'00'"))
}

/// The kind of signature dictionary.
enum Kind<'a> {
    Signature {
        options: &'a Options,
        signing_time: i64,
    },
    DocTimeStamp,
}

/// Step 1 of a signature: appends the revision with the field and placeholder, and for
/// B-LT and above the DSS with `validation` in the same revision, so that the signature still
/// covers the whole file.
///
/// # Errors
/// [`Error::NotPdf`], [`Error::Encrypted`], [`Error::Malformed`]; [`Error::NoChangesAllowed`]
/// when an earlier certification forbids changes; [`Error::Options`] for a page that does not
/// exist, an empty rectangle, or certifying a document that is signed already.
pub fn prepare(
    pdf: Vec<u8>,
    options: &Options,
    signing_time: i64,
    validation: Option<&Validation>,
) -> Result<Prepared, Error> {
    append_signature(
        pdf,
        &Kind::Signature {
            options,
            signing_time,
        },
        DEFAULT_RESERVE,
        validation,
    )
}

/// Step 1 of a document timestamp (ETSI.RFC3161): appends the revision with its field and
/// placeholder; the token over [`Prepared::digest`] goes in with [`assemble`].
///
/// # Errors
/// As [`prepare`].
pub fn prepare_timestamp(pdf: Vec<u8>) -> Result<Prepared, Error> {
    append_signature(pdf, &Kind::DocTimeStamp, 16 * 1024, None)
}

/// Step 3: writes the CMS (or timestamp token) into the placeholder.
///
/// # Errors
/// [`Error::TooLarge`] when it does not fit.
pub fn assemble(prepared: Prepared, cms: &[u8]) -> Result<Vec<u8>, Error> {
    let Prepared { mut pdf, range, .. } = prepared;
    let [_, gap_start, gap_end, _] = range;
    let room = (gap_end - gap_start - 2) / 2;
    if cms.len() > room {
        return Err(Error::TooLarge(cms.len()));
    }
    let hex = hex::encode_upper(cms);
    pdf.get_mut(gap_start + 1..gap_start + 1 + hex.len())
        .ok_or_else(|| Error::Malformed("signature placeholder out of range".into()))?
        .copy_from_slice(hex.as_bytes());
    Ok(pdf)
}

/// The permission of an existing certification signature (1, 2 or 3), if any.
fn docmdp_permission(pdf: &Pdf<'_>, catalog: &Dict) -> Result<Option<i64>, Error> {
    let perms = pdf.dict(catalog.get("Perms"))?;
    let Some(sig) = perms.get("DocMDP") else {
        return Ok(None);
    };
    let sig = pdf.dict(Some(sig))?;
    let Some(Object::Array(references)) =
        sig.get("Reference").map(|r| pdf.resolve(r)).transpose()?
    else {
        return Ok(Some(2));
    };
    for reference in &references {
        let reference = pdf.dict(Some(reference))?;
        if reference
            .get("TransformMethod")
            .is_some_and(|m| m.is_name("DocMDP"))
        {
            let params = pdf.dict(reference.get("TransformParams"))?;
            return Ok(Some(params.get("P").and_then(Object::as_int).unwrap_or(2)));
        }
    }
    Ok(Some(2))
}

/// The names of the form's top-level fields.
fn field_names(pdf: &Pdf<'_>, fields: &[Object]) -> Vec<Vec<u8>> {
    fields
        .iter()
        .filter_map(|f| match pdf.dict(Some(f)).ok()?.get("T") {
            Some(Object::Str(t)) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// Appends `item` to the array under `key` of `dict`, or to the array object it refers to.
/// Answers whether `dict` changed.
fn push_to_array(
    pdf: &Pdf<'_>,
    update: &mut Update,
    dict: &mut Dict,
    key: &str,
    item: Object,
) -> Result<bool, Error> {
    match dict.get(key).cloned() {
        Some(Object::Ref(n, _)) => {
            let mut items = match pdf.get(n)? {
                Object::Array(a) => a,
                Object::Null => Vec::new(),
                _ => return Err(Error::Malformed(format!("/{key} is not an array"))),
            };
            items.push(item);
            update.put(n, &Object::Array(items));
            Ok(false)
        }
        Some(Object::Array(mut items)) => {
            items.push(item);
            dict.set(key, Object::Array(items));
            Ok(true)
        }
        None | Some(Object::Null) => {
            dict.set(key, Object::Array(vec![item]));
            Ok(true)
        }
        Some(_) => Err(Error::Malformed(format!("/{key} is not an array"))),
    }
}

fn sig_dict(kind: &Kind<'_>, reserve: usize) -> Result<(Vec<u8>, usize, usize), Error> {
    let mut d = Dict::default();
    match kind {
        Kind::Signature {
            options,
            signing_time,
        } => {
            d.set("Type", Object::name("Sig"))
                .set("Filter", Object::name("Adobe.PPKLite"))
                .set("SubFilter", Object::name("ETSI.CAdES.detached"))
                .set("M", Object::Str(pdf_date(*signing_time)?.into_bytes()));
            for (key, value) in [
                ("Name", &options.name),
                ("Reason", &options.reason),
                ("Location", &options.location),
                ("ContactInfo", &options.contact_info),
            ] {
                if let Some(v) = value {
                    d.set(key, Object::text(v));
                }
            }
            if options.certify {
                let params = Dict::of(vec![
                    ("Type", Object::name("TransformParams")),
                    ("P", Object::Int(2)),
                    ("V", Object::name("1.2")),
                ]);
                let reference = Dict::of(vec![
                    ("Type", Object::name("SigRef")),
                    ("TransformMethod", Object::name("DocMDP")),
                    ("TransformParams", Object::Dict(params)),
                ]);
                d.set("Reference", Object::Array(vec![Object::Dict(reference)]));
            }
        }
        Kind::DocTimeStamp => {
            d.set("Type", Object::name("DocTimeStamp"))
                .set("Filter", Object::name("Adobe.PPKLite"))
                .set("SubFilter", Object::name("ETSI.RFC3161"));
        }
    }
    let mut body = Vec::with_capacity(2 * reserve + 512);
    d.write(&mut body);
    body.truncate(body.len() - 2);
    body.extend_from_slice(b"/ByteRange ");
    let range_at = body.len();
    body.extend_from_slice(BYTE_RANGE_PLACEHOLDER);
    body.extend_from_slice(b"/Contents ");
    let contents_at = body.len();
    body.push(b'<');
    body.resize(body.len() + 2 * reserve, b'0');
    body.extend_from_slice(b">>>");
    Ok((body, range_at, contents_at))
}

const BYTE_RANGE_PLACEHOLDER: &[u8] = b"[0 0000000000 0000000000 0000000000]";

fn append_signature(
    mut bytes: Vec<u8>,
    kind: &Kind<'_>,
    reserve: usize,
    validation: Option<&Validation>,
) -> Result<Prepared, Error> {
    let original = bytes.len();
    let (update, sig, range_at, contents_at) = {
        let pdf = Pdf::parse(&bytes)?;
        let mut catalog = pdf.catalog()?;
        let permission = docmdp_permission(&pdf, &catalog)?;
        if permission == Some(1) {
            return Err(Error::NoChangesAllowed);
        }
        let mut update = Update::new(&pdf)?;
        let mut catalog_changed = false;
        let visible = match kind {
            Kind::Signature { options, .. } => options.visible.as_ref(),
            Kind::DocTimeStamp => None,
        };
        let page_index = visible.map_or(0, |v| v.page.max(1) as usize - 1);
        if visible.is_some_and(|v| v.page == 0) {
            return Err(Error::Options("page: pages count from 1".into()));
        }
        let (page_num, mut page) = pdf.page(page_index)?;

        // The form.
        let (form_num, mut form) = match catalog.get("AcroForm").cloned() {
            Some(Object::Ref(n, _)) => (Some(n), pdf.dict(Some(&Object::Ref(n, 0)))?),
            other => (None, pdf.dict(other.as_ref())?),
        };
        let fields = match form.get("Fields").map(|f| pdf.resolve(f)).transpose()? {
            Some(Object::Array(a)) => a,
            _ => Vec::new(),
        };
        let signed_already = !signature_fields(&pdf)?.is_empty();
        if let Kind::Signature { options, .. } = kind {
            if options.certify && signed_already {
                return Err(Error::Options(
                    "certify: a certification signature must be the document's first".into(),
                ));
            }
            // A new visible field is a change to the page that the certification does not
            // permit (validators such as pyHanko flag it); later signatures are invisible.
            if permission.is_some() && options.visible.is_some() {
                return Err(Error::Options(
                    "visible: the document is certified; further signatures are invisible".into(),
                ));
            }
        }
        let names = field_names(&pdf, &fields);
        let (prefix, mut n) = match kind {
            Kind::Signature { .. } => ("Signature", 1),
            Kind::DocTimeStamp => ("Timestamp", 1),
        };
        let field_name = loop {
            let candidate = format!("{prefix}{n}");
            if !names.iter().any(|t| *t == candidate.as_bytes()) {
                break candidate;
            }
            n += 1;
        };

        let sig = update.allocate();
        let widget = update.allocate();
        let mut annotation = Dict::of(vec![
            ("Type", Object::name("Annot")),
            ("Subtype", Object::name("Widget")),
            ("FT", Object::name("Sig")),
            ("T", Object::Str(field_name.into_bytes())),
            ("V", Object::Ref(sig, 0)),
            ("F", Object::Int(132)),
            ("P", Object::Ref(page_num, 0)),
        ]);
        let rect = if let (Some(v), Kind::Signature { signing_time, .. }) = (visible, kind) {
            let [x1, y1, x2, y2] = v.rect;
            let (w, h) = (x2 - x1, y2 - y1);
            if !(w.is_finite() && h.is_finite() && w >= 8.0 && h >= 8.0) {
                return Err(Error::Options(
                    "rect: [x1, y1, x2, y2] with x2 > x1 and y2 > y1, at least 8 points each way"
                        .into(),
                ));
            }
            let mut lines = vec![format!("Signed by {}", v.signer)];
            match (&v.organisation, &v.cvr) {
                (Some(o), Some(c)) => lines.push(format!("for {o} (CVR {c})")),
                (Some(o), None) => lines.push(format!("for {o}")),
                (None, Some(c)) => lines.push(format!("for CVR {c}")),
                (None, None) => {}
            }
            lines.push(format!("{} UTC", display_time(*signing_time)?));
            let ap = appearance::appearance(&mut update, w, h, &lines);
            annotation.set(
                "AP",
                Object::Dict(Dict::of(vec![("N", Object::Ref(ap, 0))])),
            );
            v.rect
        } else {
            [0.0; 4]
        };
        annotation.set(
            "Rect",
            Object::Array(
                rect.iter()
                    .map(|v| Object::Real(format_number(*v).into_bytes()))
                    .collect(),
            ),
        );
        update.put(widget, &Object::Dict(annotation));

        if push_to_array(
            &pdf,
            &mut update,
            &mut page,
            "Annots",
            Object::Ref(widget, 0),
        )? {
            update.put(page_num, &Object::Dict(page));
        }
        let form_changed = push_to_array(
            &pdf,
            &mut update,
            &mut form,
            "Fields",
            Object::Ref(widget, 0),
        )?;
        let flags_ok = form.get("SigFlags").and_then(Object::as_int) == Some(3);
        if !flags_ok {
            form.set("SigFlags", Object::Int(3));
        }
        match form_num {
            Some(n) if form_changed || !flags_ok => update.put(n, &Object::Dict(form)),
            Some(_) => {}
            None => {
                catalog.set("AcroForm", Object::Dict(form));
                catalog_changed = true;
            }
        }
        if let Kind::Signature { options, .. } = kind {
            if options.certify {
                catalog.set(
                    "Perms",
                    Object::Dict(Dict::of(vec![("DocMDP", Object::Ref(sig, 0))])),
                );
                catalog_changed = true;
            }
        }
        if let Some(validation) = validation {
            catalog_changed |= write_dss(&pdf, &mut update, &mut catalog, validation)?;
        }
        if catalog_changed {
            update.put(pdf.root()?, &Object::Dict(catalog));
        }
        let (body, range_at, contents_at) = sig_dict(kind, reserve)?;
        update.put_raw(sig, body);
        (update, sig, range_at, contents_at)
    };
    let bodies = update.write(&mut bytes);
    let at = *bodies
        .get(&sig)
        .ok_or_else(|| Error::Malformed("signature dictionary not written".into()))?;
    let contents = at + contents_at;
    let after = contents + 2 * reserve + 2;
    let range = [0, contents, after, bytes.len() - after];
    let mut text = format!("[0 {contents} {after} {}]", bytes.len() - after).into_bytes();
    text.resize(BYTE_RANGE_PLACEHOLDER.len(), b' ');
    bytes
        .get_mut(at + range_at..at + range_at + BYTE_RANGE_PLACEHOLDER.len())
        .ok_or_else(|| Error::Malformed("byte range placeholder out of range".into()))?
        .copy_from_slice(&text);
    let mut h = Sha256::new();
    h.update(bytes.get(..contents).unwrap_or_default());
    h.update(bytes.get(after..).unwrap_or_default());
    let approval_text = match kind {
        Kind::Signature { options, .. } => options.approval_text(),
        Kind::DocTimeStamp => None,
    };
    Ok(Prepared {
        digest: h.finalize().into(),
        pdf: bytes,
        original,
        range,
        approval_text,
    })
}

fn format_number(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn display_time(unix: i64) -> Result<String, Error> {
    let [y, mo, d, h, mi, s] = utc_parts(unix)?;
    Ok(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
}

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
fn signature_fields(pdf: &Pdf<'_>) -> Result<Vec<(String, Dict)>, Error> {
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

/// Validation material for the document security store.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Certificates (DER).
    pub certificates: Vec<Vec<u8>>,
    /// CRLs (DER).
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses (DER `OCSPResponse`).
    pub ocsps: Vec<Vec<u8>>,
}

/// B-LT: appends a revision whose DSS holds `validation` (beside what an earlier DSS
/// holds) and a `/VRI` entry for each signature that has none.
///
/// # Errors
/// As [`Pdf::parse`].
pub fn add_dss(mut bytes: Vec<u8>, validation: &Validation) -> Result<Vec<u8>, Error> {
    let update = {
        let pdf = Pdf::parse(&bytes)?;
        let mut catalog = pdf.catalog()?;
        let mut update = Update::new(&pdf)?;
        if write_dss(&pdf, &mut update, &mut catalog, validation)? {
            update.put(pdf.root()?, &Object::Dict(catalog));
        }
        update
    };
    update.write(&mut bytes);
    Ok(bytes)
}

/// Writes the DSS with `validation` into `update` (merged with the document's); answers
/// whether `catalog` changed (a new DSS).
fn write_dss(
    pdf: &Pdf<'_>,
    update: &mut Update,
    catalog: &mut Dict,
    validation: &Validation,
) -> Result<bool, Error> {
    let (dss_num, mut dss) = match catalog.get("DSS").cloned() {
        Some(Object::Ref(n, _)) => (Some(n), pdf.dict(Some(&Object::Ref(n, 0)))?),
        other => (None, pdf.dict(other.as_ref())?),
    };
    let mut refs: [Vec<Object>; 3] = Default::default();
    for ((key, items), these) in [
        ("Certs", &validation.certificates),
        ("CRLs", &validation.crls),
        ("OCSPs", &validation.ocsps),
    ]
    .into_iter()
    .zip(refs.iter_mut())
    {
        let mut existing = match dss.get(key).map(|a| pdf.resolve(a)).transpose()? {
            Some(Object::Array(a)) => a,
            _ => Vec::new(),
        };
        let mut known = Vec::new();
        for item in &existing {
            if let Object::Ref(n, _) = item {
                let indirect = pdf.indirect(*n)?;
                if let (Object::Dict(d), Some(range)) = (indirect.object, indirect.data) {
                    let raw = pdf.bytes().get(range).unwrap_or_default();
                    known.push((*n, pdf.decode(&d, raw)?));
                }
            }
        }
        for item in items {
            if let Some((n, _)) = known.iter().find(|(_, data)| data == item) {
                these.push(Object::Ref(*n, 0));
                continue;
            }
            let n = update.allocate();
            update.put_stream(n, Dict::default(), item);
            known.push((n, item.clone()));
            existing.push(Object::Ref(n, 0));
            these.push(Object::Ref(n, 0));
        }
        dss.set(key, Object::Array(existing));
    }
    let [certs, crls, ocsps] = refs;
    let mut vri = pdf.dict(dss.get("VRI"))?;
    for (_, signature) in signature_fields(pdf)? {
        let Some(Object::Str(raw)) = signature.get("Contents") else {
            continue;
        };
        let key = hex::encode_upper(Sha1::digest(raw));
        if vri.get(&key).is_none() {
            vri.set(
                &key,
                Object::Dict(Dict::of(vec![
                    ("Cert", Object::Array(certs.clone())),
                    ("CRL", Object::Array(crls.clone())),
                    ("OCSP", Object::Array(ocsps.clone())),
                ])),
            );
        }
    }
    dss.set("VRI", Object::Dict(vri));
    let num = dss_num.unwrap_or_else(|| update.allocate());
    update.put(num, &Object::Dict(dss));
    if dss_num.is_none() {
        catalog.set("DSS", Object::Ref(num, 0));
    }
    Ok(dss_num.is_none())
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
    let cms_level = super::cms::level(&signature.contents).unwrap_or(Level::BB);
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

#[cfg(test)]
mod tests {
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
}
