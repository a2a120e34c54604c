//! XML signatures (XAdES and plain XML-DSig): the document is read by the hostile-input-proof
//! parser; each `ds:Signature` has its references resolved only within the document (the whole
//! document for `URI=""`, an element whose `Id` is unique for `#id` — a duplicate `Id`, the
//! tell-tale of signature wrapping, fails the signature — or the detached content), digested
//! after exclusive C14N, and its `SignedInfo` verified; XAdES signing certificate, signature
//! timestamp, validation data and archive timestamp are checked as in CAdES.

use std::collections::HashMap;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::chain::Cert;
use super::cms::{self, Checked, Material};
use super::report::{
    baseline_level, CapacityReport, Indication, SignatureReport, SignedData, SubIndication,
};
use crate::formats::representation::Capacity;
use crate::formats::xml::{self, c14n, Element};

/// The XML-DSig namespace.
pub(super) const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XAdES 1.3.2 namespace.
pub(super) const XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
const XADES141: &str = "http://uri.etsi.org/01903/v1.4.1#";
/// The enveloped-signature transform.
pub(super) const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// The most signatures validated in one XML document.
const MAX_SIGNATURES: usize = 100;
/// The most references one signature may have.
const MAX_REFERENCES: usize = 64;
/// The most `ClaimedRole` elements read from one signature.
const MAX_CLAIMED_ROLES: usize = 16;

/// Canonical digests already computed in this document, by element (and the signature an
/// enveloped transform leaves out): an element referenced many times is canonicalized once.
#[derive(Default)]
struct Digests(HashMap<(usize, usize, c14n::Method), Option<Vec<u8>>>);

impl Digests {
    fn of(
        &mut self,
        e: &Element,
        left_out: Option<&Element>,
        method: c14n::Method,
        make: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        let key = (
            std::ptr::from_ref(e) as usize,
            left_out.map_or(0, |s| std::ptr::from_ref(s) as usize),
            method,
        );
        self.0.entry(key).or_insert_with(make).clone()
    }
}

/// The ancestors of `target` under `root`, from `root` down (none for `root` itself): what
/// inclusive canonicalization takes namespaces and `xml:` attributes from. The walk is as
/// deep as the parser allowed the document to be.
fn ancestors<'a>(root: &'a Element, target: &Element) -> Vec<&'a Element> {
    fn walk<'a>(e: &'a Element, target: &Element, path: &mut Vec<&'a Element>) -> bool {
        if std::ptr::eq(e, target) {
            return true;
        }
        path.push(e);
        if e.elements().any(|c| walk(c, target, path)) {
            return true;
        }
        path.pop();
        false
    }
    let mut path = Vec::new();
    walk(root, target, &mut path);
    path
}

/// Whether `e` is the element `local` in namespace `ns`.
pub(super) fn is(e: &Element, ns: &str, local: &str) -> bool {
    e.ns.as_deref() == Some(ns) && e.local == local
}

/// The first child element `local` in namespace `ns`.
pub(super) fn child<'a>(e: &'a Element, ns: &str, local: &str) -> Option<&'a Element> {
    e.elements().find(|c| is(c, ns, local))
}

fn descendants<'a>(e: &'a Element, out: &mut Vec<&'a Element>) {
    out.push(e);
    for c in e.elements() {
        descendants(c, out);
    }
}

/// The text directly inside `e`.
pub(super) fn text(e: &Element) -> String {
    e.children
        .iter()
        .filter_map(|n| match n {
            xml::Node::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// The base64 text of `e`, decoded (whitespace ignored).
pub(super) fn b64(e: Option<&Element>) -> Option<Vec<u8>> {
    let t: String = text(e?).chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(t).ok()
}

/// A raw ECDSA `r || s` as the DER `ECDSA-Sig-Value` ring's ASN.1 verifiers take.
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let int = |half: &[u8]| {
        let trimmed: Vec<u8> = half.iter().copied().skip_while(|b| *b == 0).collect();
        let mut v = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            vec![0]
        } else {
            Vec::new()
        };
        v.extend(if trimmed.is_empty() { vec![0] } else { trimmed });
        let mut out = vec![0x02, u8::try_from(v.len()).unwrap_or(0)];
        out.extend(v);
        out
    };
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [int(r), int(s)].concat();
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap_or(0)];
    out.extend(body);
    out
}

fn algorithm(e: Option<&Element>) -> &str {
    e.and_then(|e| e.attribute("Algorithm")).unwrap_or("")
}

/// Validates every `ds:Signature` of an XML document.
///
/// # Errors
/// The refusal of the XML parser (DTDs, entities, nesting, size), with its code.
pub fn validate(
    bytes: &[u8],
    detached: Option<&[u8]>,
    m: &Material,
) -> Result<Vec<SignatureReport>, String> {
    let doc =
        xml::parse(bytes, xml::Limits::default()).map_err(|e| format!("{e} ({})", e.code()))?;
    let mut all = Vec::new();
    descendants(&doc.root, &mut all);
    let mut ids: HashMap<&str, Vec<&Element>> = HashMap::new();
    for e in &all {
        for a in &e.attributes {
            if a.ns.is_none() && matches!(a.local.as_str(), "Id" | "ID" | "id") {
                ids.entry(a.value.as_str()).or_default().push(e);
            }
        }
    }
    let mut out = Vec::new();
    let mut digests = Digests::default();
    for (n, sig) in all.iter().filter(|e| is(e, DS, "Signature")).enumerate() {
        if n >= MAX_SIGNATURES {
            return Err(format!("more than {MAX_SIGNATURES} signatures"));
        }
        if m.past_deadline() {
            break;
        }
        out.push(signature(
            bytes,
            &doc.root,
            sig,
            &ids,
            detached,
            m,
            n + 1,
            &mut digests,
        ));
    }
    Ok(out)
}

#[allow(
    clippy::too_many_lines,
    reason = "the checks in order, each a few lines"
)]
#[allow(clippy::too_many_arguments, reason = "one signature in its document")]
fn signature(
    bytes: &[u8],
    root: &Element,
    sig: &Element,
    ids: &HashMap<&str, Vec<&Element>>,
    detached: Option<&[u8]>,
    m: &Material,
    n: usize,
    digests: &mut Digests,
) -> SignatureReport {
    let xades = child(sig, DS, "Object")
        .and_then(|o| child(o, XADES, "QualifyingProperties"))
        .or_else(|| {
            sig.elements()
                .filter(|e| is(e, DS, "Object"))
                .find_map(|o| child(o, XADES, "QualifyingProperties"))
        });
    let format = if xades.is_some() { "XAdES" } else { "XML-DSig" };
    let mut r = SignatureReport::new(
        sig.attribute("Id")
            .map_or_else(|| format!("signature-{n}"), str::to_owned),
        format,
    );
    let format_failure = |r: &mut SignatureReport, why: &str| {
        r.fail(
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            why.to_owned(),
        );
    };
    let Some(info) = child(sig, DS, "SignedInfo") else {
        format_failure(&mut r, "no ds:SignedInfo");
        return r;
    };
    let Some(info_method) =
        c14n::Method::from_uri(algorithm(child(info, DS, "CanonicalizationMethod")))
    else {
        format_failure(
            &mut r,
            "the canonicalization method is not one of exclusive or inclusive C14N 1.0 or 1.1",
        );
        return r;
    };
    // References.
    let mut signed_properties = None;
    let mut signed_data = None;
    for (count, reference) in info
        .elements()
        .filter(|e| is(e, DS, "Reference"))
        .enumerate()
    {
        if count >= MAX_REFERENCES || m.past_deadline() {
            format_failure(&mut r, "too many references, or the time budget is spent");
            return r;
        }
        let uri = reference.attribute("URI").unwrap_or("");
        let transforms: Vec<&str> = child(reference, DS, "Transforms")
            .map(|t| {
                t.elements()
                    .filter_map(|e| e.attribute("Algorithm"))
                    .collect()
            })
            .unwrap_or_default();
        if algorithm(child(reference, DS, "DigestMethod")) != SHA256_URI {
            r.fail(
                Indication::Indeterminate,
                SubIndication::SigConstraintsFailure,
                "only SHA-256 digests are supported".into(),
            );
            continue;
        }
        let expected = b64(child(reference, DS, "DigestValue")).unwrap_or_default();
        let enveloped = transforms.contains(&ENVELOPED);
        if let Some(other) = transforms
            .iter()
            .find(|t| **t != ENVELOPED && c14n::Method::from_uri(t).is_none())
        {
            format_failure(&mut r, &format!("the transform {other:?} is not supported"));
            return r;
        }
        // The last canonicalization named, else XML-DSig's default for a same-document
        // reference (inclusive C14N 1.0); such a node set never has comments.
        let method = transforms
            .iter()
            .rev()
            .find_map(|t| c14n::Method::from_uri(t))
            .or_else(|| c14n::Method::from_uri(c14n::INCLUSIVE))
            .map(c14n::Method::without_comments);
        let Some(method) = method else {
            format_failure(&mut r, "no canonicalization");
            return r;
        };
        let skip = |e: &Element| enveloped && std::ptr::eq(e, sig);
        let canonical = |target: &Element| {
            c14n::canonical(target, &ancestors(root, target), method, &skip)
                .map(|bytes| Sha256::digest(bytes).to_vec())
        };
        let digest = if uri.is_empty() {
            digests.of(root, enveloped.then_some(sig), method, || canonical(root))
        } else if let Some(id) = uri.strip_prefix('#') {
            match ids.get(id).map(Vec::as_slice) {
                Some([target]) => {
                    if reference.attribute("Type")
                        == Some("http://uri.etsi.org/01903#SignedProperties")
                    {
                        signed_properties = Some(*target);
                    }
                    digests.of(target, enveloped.then_some(sig), method, || {
                        canonical(target)
                    })
                }
                Some(_) => {
                    format_failure(
                        &mut r,
                        &format!("more than one element has Id {id:?} (signature wrapping)"),
                    );
                    return r;
                }
                None => {
                    format_failure(&mut r, &format!("the referenced element #{id} is missing"));
                    return r;
                }
            }
        } else if let Some(content) = detached {
            Some(Sha256::digest(content).to_vec())
        } else {
            r.fail(
                Indication::Indeterminate,
                SubIndication::SigConstraintsFailure,
                format!("detached data {uri:?} was not supplied"),
            );
            return r;
        };
        let Some(digest) = digest else {
            format_failure(
                &mut r,
                "an inherited xml:base under C14N 1.1 is not supported",
            );
            return r;
        };
        if digest != expected {
            r.fail(
                Indication::TotalFailed,
                SubIndication::HashFailure,
                format!("the data of reference {uri:?} does not match its digest"),
            );
            return r;
        }
        if signed_data.is_none()
            && reference.attribute("Type") != Some("http://uri.etsi.org/01903#SignedProperties")
        {
            signed_data = Some(digest);
        }
    }
    if xades.is_some() && signed_properties.is_none() {
        format_failure(&mut r, "the XAdES signed properties are not signed");
        return r;
    }
    // The signer's certificate and the signature value.
    let certs: Vec<Cert> = sig
        .elements()
        .filter(|e| is(e, DS, "KeyInfo"))
        .flat_map(|k| k.elements().filter(|e| is(e, DS, "X509Data")))
        .flat_map(|d| d.elements().filter(|e| is(e, DS, "X509Certificate")))
        .filter_map(|c| b64(Some(c)).and_then(|d| Cert::parse(&d)))
        .collect();
    let Some(cert) = certs.first().cloned() else {
        r.fail(
            Indication::Indeterminate,
            SubIndication::NoSigningCertificateFound,
            "no X509Certificate in KeyInfo".into(),
        );
        return r;
    };
    let value_element = child(sig, DS, "SignatureValue");
    let value = b64(value_element).unwrap_or_default();
    let method = algorithm(child(info, DS, "SignatureMethod"));
    let Some(signed_info) = c14n::canonical(info, &ancestors(root, info), info_method, &|_| false)
    else {
        format_failure(
            &mut r,
            "an inherited xml:base under C14N 1.1 is not supported",
        );
        return r;
    };
    let verified = match method {
        ECDSA_SHA256 => cert.verifies(
            &crate::formats::asn1::oid::ECDSA_WITH_SHA256,
            &signed_info,
            &ecdsa_der(&value),
        ),
        RSA_SHA256 => cert.verifies(
            &crate::formats::asn1::oid::RSA_WITH_SHA256,
            &signed_info,
            &value,
        ),
        _ => false,
    };
    if !verified {
        r.fail(
            Indication::TotalFailed,
            SubIndication::SigCryptoFailure,
            "the signature value does not verify".into(),
        );
        return r;
    }
    // XAdES properties.
    let mut checked = Checked::new_passed();
    checked.signature_value.clone_from(&value);
    checked.facts.digest_algorithm = Some("SHA-256");
    checked.facts.signed_data = signed_data.map(|digest| SignedData {
        algorithm: "SHA-256",
        digest,
    });
    checked.facts.signature_algorithm = match method {
        ECDSA_SHA256 => Some("ECDSA"),
        RSA_SHA256 => Some("RSA"),
        _ => None,
    };
    checked.facts.rsa_bits = cert.rsa_bits();
    let mut pool = certs.clone();
    pool.extend(m.certificates.iter().cloned());
    let mut crls = Vec::new();
    if let Some(props) = signed_properties {
        let mut found = Vec::new();
        descendants(props, &mut found);
        let digest = found
            .iter()
            .find(|e| is(e, XADES, "CertDigest"))
            .and_then(|d| b64(child(d, DS, "DigestValue")));
        if digest.as_deref() != Some(Sha256::digest(&cert.der).as_slice()) {
            r.fail(
                Indication::Indeterminate,
                SubIndication::NoSigningCertificateFound,
                "SigningCertificateV2 names another certificate".into(),
            );
            return r;
        }
        r.claimed_signing_time = found
            .iter()
            .find(|e| is(e, XADES, "SigningTime"))
            .map(|e| text(e));
        // A signed capacity that cannot be read as meant fails the signature.
        match claimed_capacity(&found) {
            Ok(Some(capacity)) => checked.capacity = Some(CapacityReport::from(&capacity)),
            Ok(None) => {}
            Err(why) => checked.fail(Indication::TotalFailed, SubIndication::FormatFailure, why),
        }
    }
    let mut unsigned = Vec::new();
    if let Some(q) = xades {
        descendants(q, &mut unsigned);
    }
    if let Some(stamp) = unsigned.iter().find(|e| is(e, XADES, "SignatureTimeStamp")) {
        let token = b64(child(stamp, XADES, "EncapsulatedTimeStamp")).unwrap_or_default();
        // The timestamp names its canonicalization (XAdES: inclusive C14N 1.0 when it does not).
        let method = c14n::Method::from_uri(algorithm(child(stamp, DS, "CanonicalizationMethod")))
            .or_else(|| c14n::Method::from_uri(c14n::INCLUSIVE));
        let imprint = value_element
            .zip(method)
            .and_then(|(v, method)| c14n::canonical(v, &ancestors(root, v), method, &|_| false))
            .map(|bytes| Sha256::digest(bytes).to_vec())
            .unwrap_or_default();
        checked.facts.timestamps.push(token.clone());
        checked.record_signature_timestamp(cms::timestamp(&token, &imprint, m));
    }
    for e in &unsigned {
        if is(e, XADES, "EncapsulatedX509Certificate") {
            pool.extend(b64(Some(e)).and_then(|d| Cert::parse(&d)));
        } else if is(e, XADES, "EncapsulatedCRLValue") {
            crls.extend(b64(Some(e)));
        }
    }
    let embedded = !crls.is_empty();
    for e in unsigned
        .iter()
        .filter(|e| e.local == "ArchiveTimeStamp" && e.ns.as_deref() != Some(XADES141))
    {
        r.errors.push(format!(
            "an ArchiveTimeStamp in namespace {:?} is not XAdES 1.4.1's and was ignored",
            e.ns.as_deref().unwrap_or("")
        ));
    }
    // The newest archive timestamp (a renewal covers the ones before it), the one whose
    // input `archive_imprint` rebuilds.
    let archived = match unsigned
        .iter()
        .rev()
        .find(|e| is(e, XADES141, "ArchiveTimeStamp"))
    {
        None => false,
        Some(stamp) => {
            let token = b64(child(stamp, XADES, "EncapsulatedTimeStamp"))
                .or_else(|| b64(child(stamp, XADES141, "EncapsulatedTimeStamp")))
                .unwrap_or_default();
            checked.record_archive_timestamp(
                archive_imprint(bytes, detached)
                    .and_then(|imprint| cms::timestamp(&token, &imprint, m))
                    .map(|_| true),
            )
        }
    };
    cms::assess(&mut checked, &cert, &pool, &crls, m);
    checked.report_into(&mut r);
    r.signer = r.signer.take().or_else(|| Some(cms::signer_of(&cert)));
    r.qualification = cms::qualification(&cert);
    r.level = Some(baseline_level(checked.proven.is_some(), embedded, archived).to_owned());
    r
}

/// The capacity claimed in the signed `SignerRoleV2`, if any. qsign writes it twice: in words
/// and as its canonical JSON; the JSON (a `ClaimedRole` that is a JSON object) is read with
/// [`Capacity::from_json`] and the same capacity must be claimed in words too. Roles claimed
/// in words alone are not a capacity.
fn claimed_capacity(signed: &[&Element]) -> Result<Option<Capacity>, String> {
    let roles: Vec<String> = signed
        .iter()
        .filter(|e| is(e, XADES, "ClaimedRole"))
        .take(MAX_CLAIMED_ROLES + 1)
        .map(|e| text(e))
        .collect();
    if roles.len() > MAX_CLAIMED_ROLES {
        return Err(format!(
            "SignerRoleV2: more than {MAX_CLAIMED_ROLES} claimed roles"
        ));
    }
    let mut capacities = roles.iter().filter(|t| t.trim_start().starts_with('{'));
    let (Some(json), None) = (capacities.next(), capacities.next()) else {
        return if roles.iter().any(|t| t.trim_start().starts_with('{')) {
            Err("SignerRoleV2: more than one capacity".into())
        } else {
            Ok(None)
        };
    };
    let capacity = Capacity::from_json(json).map_err(|e| format!("SignerRoleV2: {e}"))?;
    let words = capacity.text();
    if !roles.contains(&words) {
        return Err(
            "SignerRoleV2: the role claimed in words does not agree with the capacity".into(),
        );
    }
    Ok(Some(capacity))
}

/// The imprint an `ArchiveTimeStamp` covers: the archive input of the document as it stood
/// without that element (qsign writes it as one element; others' are cut the same way).
fn archive_imprint(bytes: &[u8], detached: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let start = text
        .rfind("<xades141:ArchiveTimeStamp")
        .ok_or("the ArchiveTimeStamp is not written as xades141:ArchiveTimeStamp")?;
    let close = "</xades141:ArchiveTimeStamp>";
    let end = text
        .get(start..)
        .and_then(|t| t.find(close))
        .ok_or("unterminated ArchiveTimeStamp")?
        + start
        + close.len();
    let without = [
        text.get(..start).unwrap_or(""),
        text.get(end..).unwrap_or(""),
    ]
    .concat();
    let input = crate::formats::xades::archive_input(without.as_bytes(), detached)
        .map_err(|e| e.to_string())?;
    Ok(Sha256::digest(input).to_vec())
}
