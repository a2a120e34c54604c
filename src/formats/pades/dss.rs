//! The document security store (B-LT): certificates, CRLs and OCSP responses appended in a
//! revision, with a `/VRI` entry per signature.

use sha1::Sha1;
use sha2::Digest as _;

use super::super::pdf::{Dict, Object, Pdf, Update};
use super::inspect::signature_fields;
use super::Error;

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
pub(super) fn write_dss(
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
