//! The signature revision: the field, its widget (and visible appearance), the signature
//! dictionary with its `/ByteRange` and `/Contents` placeholder, appended as one update.

use sha2::{Digest as _, Sha256};

use super::super::pdf::{Dict, Object, Pdf, Update};
use super::dss::write_dss;
use super::inspect::signature_fields;
use super::{appearance, format_number, Error, Kind, Prepared, Validation};

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

pub(super) fn append_signature(
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
        let rect = if let (
            Some(v),
            Kind::Signature {
                options,
                signing_time,
            },
        ) = (visible, kind)
        {
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
            if let Some(c) = &options.capacity {
                lines.push(format!(
                    "as {} of {} (CVR {})",
                    c.role, c.organisation, c.cvr
                ));
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
    let (approval_text, capacity) = match kind {
        Kind::Signature { options, .. } => (options.approval_text(), options.capacity.clone()),
        Kind::DocTimeStamp => (None, None),
    };
    Ok(Prepared {
        digest: h.finalize().into(),
        pdf: bytes,
        original,
        range,
        approval_text,
        capacity,
    })
}

fn display_time(unix: i64) -> Result<String, Error> {
    let [y, mo, d, h, mi, s] = utc_parts(unix)?;
    Ok(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
}
