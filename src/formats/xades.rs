//! XAdES (ETSI EN 319 132-1) signatures, enveloped, enveloping or detached, in the three steps
//! of every format here: [`prepare`] builds the `ds:Signature` with `SignedProperties` (signing
//! time, `SigningCertificateV2`, `SignerRoleV2` for a signature made in a capacity,
//! `DataObjectFormat`) and the digest of the canonical
//! `SignedInfo` to be signed; the signer signs it (remotely, through the SAM); [`assemble`]
//! puts the signature value in (and, enveloped, the signature into the document as the last
//! child of its root element).
//!
//! Then extend: [`add_signature_timestamp`] (B-T, over the canonical `ds:SignatureValue`) and
//! [`add_validation_data`] (B-LT: `CertificateValues`, `RevocationValues`).
//!
//! Canonicalization is exclusive C14N 1.0 everywhere (SignedInfo, the document reference after
//! the enveloped-signature transform, SignedProperties, the timestamped SignatureValue), so
//! verifiers never fall back to inclusive C14N. B-LTA: [`archive_input`] and
//! [`add_archive_timestamp`] (`xades141:ArchiveTimeStamp`).

use base64::Engine as _;
use der::{Decode, Encode};
use sha2::{Digest as _, Sha256};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::Certificate;

use super::asn1::etsi::IssuerSerial;
use super::representation::Capacity;
use super::xml::{self, c14n, Element, Limits};

/// The XML-DSig namespace.
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XAdES 1.3.2 namespace.
pub const XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";

/// What can go wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The document is refused (hostile or malformed XML).
    #[error(transparent)]
    Xml(#[from] xml::Error),
    /// The signer's certificate does not parse.
    #[error("malformed signer certificate")]
    Certificate,
    /// The document cannot carry an enveloped signature (a self-closing root element).
    #[error("the document element must have an end tag to take an enveloped signature")]
    NoEndTag,
    /// A value cannot be encoded.
    #[error("cannot encode: {0}")]
    Encoding(String),
    /// A capacity that cannot be signed ([`Capacity::check`], or characters XML cannot carry).
    #[error("{0}")]
    Capacity(String),
}

/// The signature algorithm of the signer's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// ECDSA with SHA-256; the value is raw `r || s` (RFC 4051).
    EcdsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
}

impl SignatureAlgorithm {
    const fn uri(self) -> &'static str {
        match self {
            Self::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        }
    }
}

/// A signature waiting for its value.
#[derive(Debug, Clone)]
pub struct Prepared {
    before: Vec<u8>,
    after: Vec<u8>,
    head: String,
    tail: String,
    /// SHA-256 over the canonical `SignedInfo`: the digest to sign.
    pub to_be_signed: [u8; 32],
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Escapes text for element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn find<'a>(e: &'a Element, ns: &str, local: &str) -> Option<&'a Element> {
    if e.ns.as_deref() == Some(ns) && e.local == local {
        return Some(e);
    }
    e.elements().find_map(|c| find(c, ns, local))
}

fn is_signature(e: &Element) -> bool {
    e.ns.as_deref() == Some(DS) && e.local == "Signature"
}

/// UTC `YYYY-MM-DDThh:mm:ssZ` (RFC 3339 of a whole second).
fn xml_time(unix: i64) -> Result<String, Error> {
    let encoding = |e: &dyn std::fmt::Display| Error::Encoding(e.to_string());
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|e| encoding(&e))?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| encoding(&e))
}

/// How the signature and the signed data are packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging<'a> {
    /// The signature inside the XML document, as the last child of its root element.
    Enveloped,
    /// The XML document's root element inside the signature, in a `ds:Object`.
    Enveloping,
    /// The signature apart from the data (any bytes), which it names by `uri`.
    Detached {
        /// The reference URI (a file name, for example).
        uri: &'a str,
    },
}

/// What the document reference is: its XML, and where the signature text goes.
struct DataReference {
    reference: String,
    data_object: String,
    before: Vec<u8>,
    after: Vec<u8>,
}

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

fn data_reference(
    document: &[u8],
    packaging: Packaging<'_>,
    id: &str,
) -> Result<DataReference, Error> {
    let c14n_uri = c14n::EXCLUSIVE;
    let reference = |uri: &str, transforms: &str, digest: &[u8]| {
        format!(
            "<ds:Reference Id=\"ref-{id}\" URI=\"{uri}\">{transforms}\
             <ds:DigestMethod Algorithm=\"{SHA256_URI}\"/>\
             <ds:DigestValue>{}</ds:DigestValue></ds:Reference>",
            b64(digest)
        )
    };
    if let Packaging::Detached { uri } = packaging {
        return Ok(DataReference {
            reference: reference(&escape(uri), "", &Sha256::digest(document)),
            data_object: String::new(),
            before: XML_DECLARATION.as_bytes().to_vec(),
            after: Vec::new(),
        });
    }
    let parsed = xml::parse(document, Limits::default())?;
    let text =
        std::str::from_utf8(document).map_err(|_| xml::Error::Malformed("not UTF-8".into()))?;
    let root_name = match &parsed.root.prefix {
        Some(p) => format!("{p}:{}", parsed.root.local),
        None => parsed.root.local.clone(),
    };
    if packaging == Packaging::Enveloped {
        // The signature goes right before the root element's end tag.
        let insert_at = text
            .rfind(&format!("</{root_name}"))
            .ok_or(Error::NoEndTag)?;
        let digest = Sha256::digest(c14n::exclusive(&parsed.root, &is_signature));
        let transforms = format!(
            "<ds:Transforms>\
             <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
             <ds:Transform Algorithm=\"{c14n_uri}\"/></ds:Transforms>"
        );
        return Ok(DataReference {
            reference: reference("", &transforms, &digest),
            data_object: String::new(),
            before: document.get(..insert_at).unwrap_or_default().to_vec(),
            after: document.get(insert_at..).unwrap_or_default().to_vec(),
        });
    }
    // Enveloping: the root element, as written, inside a ds:Object.
    let start = text
        .find(&format!("<{root_name}"))
        .ok_or_else(|| xml::Error::Malformed("no document element".into()))?;
    let end = text
        .rfind('>')
        .ok_or_else(|| xml::Error::Malformed("no document element".into()))?;
    let root_text = text
        .get(start..=end)
        .ok_or_else(|| xml::Error::Malformed("no document element".into()))?;
    let data_object = format!("<ds:Object Id=\"obj-{id}\">{root_text}</ds:Object>");
    let wrapper = format!("<ds:Signature xmlns:ds=\"{DS}\">{data_object}</ds:Signature>");
    let wrapper = xml::parse(wrapper.as_bytes(), Limits::default())?;
    let object = wrapper
        .root
        .elements()
        .next()
        .ok_or_else(|| Error::Encoding("ds:Object".into()))?;
    let digest = Sha256::digest(c14n::exclusive(object, &|_| false));
    let transforms =
        format!("<ds:Transforms><ds:Transform Algorithm=\"{c14n_uri}\"/></ds:Transforms>");
    Ok(DataReference {
        reference: reference(&format!("#obj-{id}"), &transforms, &digest),
        data_object,
        before: XML_DECLARATION.as_bytes().to_vec(),
        after: Vec::new(),
    })
}

/// Step 1: the enveloped signature over an XML `document` (see [`prepare`]).
///
/// # Errors
/// As [`prepare`].
pub fn prepare_enveloped(
    document: &[u8],
    signer_certificate: &[u8],
    chain: &[Vec<u8>],
    algorithm: SignatureAlgorithm,
    mime_type: &str,
    signing_time: i64,
) -> Result<Prepared, Error> {
    prepare(
        document,
        Packaging::Enveloped,
        signer_certificate,
        chain,
        algorithm,
        mime_type,
        signing_time,
        None,
    )
}

/// `SignerRoleV2` (ETSI EN 319 132-1 §5.2.6) claiming `capacity` twice: in words
/// ([`Capacity::text`]) for people and tools, and as its canonical JSON
/// ([`Capacity::to_json`]), which a validator reads back exactly.
fn signer_role(capacity: &Capacity) -> Result<String, Error> {
    capacity
        .check()
        .map_err(|e| Error::Capacity(format!("the capacity is not valid: {e}")))?;
    let (words, json) = (capacity.text(), capacity.to_json());
    if json.len() > super::representation::MAX_CAPACITY_JSON {
        return Err(Error::Capacity("the capacity is too long".into()));
    }
    // XML 1.0 cannot carry most control characters, and a carriage return would come back as
    // a line feed: such a capacity is refused rather than read back otherwise.
    if words
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}'))
    {
        return Err(Error::Capacity(
            "the capacity has characters an XML signature cannot carry".into(),
        ));
    }
    Ok(format!(
        "<xades:SignerRoleV2><xades:ClaimedRoles>\
         <xades:ClaimedRole>{}</xades:ClaimedRole>\
         <xades:ClaimedRole>{}</xades:ClaimedRole>\
         </xades:ClaimedRoles></xades:SignerRoleV2>",
        escape(&words),
        escape(&json)
    ))
}

/// Step 1: the signature over `document` packaged as asked, for the signer's certificate,
/// with `mime_type` in `DataObjectFormat`, at `signing_time` (Unix seconds), in `capacity`
/// when given (`SignerRoleV2`). `ds:KeyInfo` carries the signer's certificate and then
/// `chain` (its CA certificates up to, not including, the root), so that a verifier who has
/// only the root can build the path.
///
/// # Errors
/// [`Error::Xml`] for a refused document (enveloped and enveloping); [`Error::Certificate`];
/// [`Error::NoEndTag`]; [`Error::Capacity`].
#[allow(
    clippy::too_many_arguments,
    reason = "one signature: the document, how it is packaged, and each signed property"
)]
pub fn prepare(
    document: &[u8],
    packaging: Packaging<'_>,
    signer_certificate: &[u8],
    chain: &[Vec<u8>],
    algorithm: SignatureAlgorithm,
    mime_type: &str,
    signing_time: i64,
    capacity: Option<&Capacity>,
) -> Result<Prepared, Error> {
    // After SigningCertificateV2 (no SignatureProductionPlaceV2 is written), as the schema
    // orders SignedSignatureProperties.
    let role_xml = capacity.map(signer_role).transpose()?.unwrap_or_default();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let data = data_reference(document, packaging, &id)?;
    let cert = Certificate::from_der(signer_certificate).map_err(|_| Error::Certificate)?;
    let issuer_serial = IssuerSerial {
        issuer: vec![GeneralName::DirectoryName(
            cert.tbs_certificate().issuer().clone(),
        )],
        serial_number: cert.tbs_certificate().serial_number().clone(),
    }
    .to_der()
    .map_err(|e| Error::Encoding(e.to_string()))?;
    let signed_properties = format!(
        "<xades:SignedProperties Id=\"xades-{id}\">\
         <xades:SignedSignatureProperties>\
         <xades:SigningTime>{time}</xades:SigningTime>\
         <xades:SigningCertificateV2><xades:Cert><xades:CertDigest>\
         <ds:DigestMethod Algorithm=\"{SHA256_URI}\"/>\
         <ds:DigestValue>{cert_digest}</ds:DigestValue></xades:CertDigest>\
         <xades:IssuerSerialV2>{issuer_serial}</xades:IssuerSerialV2></xades:Cert>\
         </xades:SigningCertificateV2>{role_xml}</xades:SignedSignatureProperties>\
         <xades:SignedDataObjectProperties>\
         <xades:DataObjectFormat ObjectReference=\"#ref-{id}\">\
         <xades:MimeType>{mime}</xades:MimeType></xades:DataObjectFormat>\
         </xades:SignedDataObjectProperties></xades:SignedProperties>",
        time = xml_time(signing_time)?,
        cert_digest = b64(&Sha256::digest(signer_certificate)),
        issuer_serial = b64(&issuer_serial),
        mime = escape(mime_type),
    );
    let object = format!(
        "<ds:Object><xades:QualifyingProperties xmlns:xades=\"{XADES}\" Target=\"#sig-{id}\">\
         {signed_properties}</xades:QualifyingProperties></ds:Object>"
    );
    // The SignedProperties digest, canonicalized as a verifier will find it.
    let wrapper = format!("<ds:Signature xmlns:ds=\"{DS}\">{object}</ds:Signature>");
    let wrapper = xml::parse(wrapper.as_bytes(), Limits::default())?;
    let properties = find(&wrapper.root, XADES, "SignedProperties")
        .ok_or_else(|| Error::Encoding("SignedProperties".into()))?;
    let properties_digest = Sha256::digest(c14n::exclusive(properties, &|_| false));

    let c14n_uri = c14n::EXCLUSIVE;
    let signed_info = format!(
        "<ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"{c14n_uri}\"/>\
         <ds:SignatureMethod Algorithm=\"{method}\"/>{data_reference}\
         <ds:Reference Type=\"http://uri.etsi.org/01903#SignedProperties\" URI=\"#xades-{id}\">\
         <ds:Transforms><ds:Transform Algorithm=\"{c14n_uri}\"/></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"{SHA256_URI}\"/>\
         <ds:DigestValue>{properties_digest}</ds:DigestValue></ds:Reference>\
         </ds:SignedInfo>",
        method = algorithm.uri(),
        data_reference = data.reference,
        properties_digest = b64(&properties_digest),
    );
    let head =
        format!("<ds:Signature xmlns:ds=\"{DS}\" Id=\"sig-{id}\">{signed_info}<ds:SignatureValue>");
    let certificates: String = std::iter::once(signer_certificate)
        .chain(chain.iter().map(Vec::as_slice))
        .map(|der| format!("<ds:X509Certificate>{}</ds:X509Certificate>", b64(der)))
        .collect();
    let tail = format!(
        "</ds:SignatureValue><ds:KeyInfo><ds:X509Data>{certificates}</ds:X509Data></ds:KeyInfo>\
         {object}{}</ds:Signature>",
        data.data_object
    );
    // The SignedInfo digest, canonicalized in the signature as it will stand.
    let probe = xml::parse(format!("{head}{tail}").as_bytes(), Limits::default())?;
    let info =
        find(&probe.root, DS, "SignedInfo").ok_or_else(|| Error::Encoding("SignedInfo".into()))?;
    let to_be_signed = Sha256::digest(c14n::exclusive(info, &|_| false)).into();
    Ok(Prepared {
        before: data.before,
        after: data.after,
        head,
        tail,
        to_be_signed,
    })
}

/// Step 3: the signed document (enveloped: the document with the signature in it; enveloping
/// and detached: the signature document), with the signature value (raw `r || s` for ECDSA).
#[must_use]
pub fn assemble(prepared: &Prepared, signature_value: &[u8]) -> Vec<u8> {
    let value = b64(signature_value);
    let mut out = Vec::with_capacity(
        prepared.before.len()
            + prepared.after.len()
            + prepared.head.len()
            + prepared.tail.len()
            + value.len(),
    );
    out.extend_from_slice(&prepared.before);
    out.extend_from_slice(prepared.head.as_bytes());
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(prepared.tail.as_bytes());
    out.extend_from_slice(&prepared.after);
    out
}

/// The levels a XAdES signature made here can be extended to: the baseline levels, as for
/// CAdES (B-T adds a `SignatureTimeStamp`, B-LT `CertificateValues` and `RevocationValues`,
/// B-LTA an `ArchiveTimeStamp` over all of it).
pub use super::cms::Level;

/// The input of the signature timestamp: the exclusive canonical form of `ds:SignatureValue`
/// (its SHA-256 is the imprint to ask the TSA for).
///
/// # Errors
/// [`Error::Xml`]; [`Error::Encoding`] when the document has no qsign signature.
pub fn signature_value_c14n(signed: &[u8]) -> Result<Vec<u8>, Error> {
    let parsed = xml::parse(signed, Limits::default())?;
    let value = find(&parsed.root, DS, "SignatureValue")
        .ok_or_else(|| Error::Encoding("no ds:SignatureValue".into()))?;
    Ok(c14n::exclusive(value, &|_| false))
}

/// Inserts `fragment` into the unsigned signature properties of the qsign signature in
/// `signed`, creating `UnsignedProperties` when needed.
fn add_unsigned(signed: &[u8], fragment: &str) -> Result<Vec<u8>, Error> {
    let text =
        std::str::from_utf8(signed).map_err(|_| xml::Error::Malformed("not UTF-8".into()))?;
    // Checked first, so that only well-formed, acceptable XML is extended.
    xml::parse(signed, Limits::default())?;
    let out = if let Some(at) = text.rfind("</xades:UnsignedSignatureProperties>") {
        format!("{}{fragment}{}", &text[..at], &text[at..])
    } else {
        let at = text
            .rfind("</xades:SignedProperties>")
            .ok_or_else(|| Error::Encoding("not a qsign XAdES signature".into()))?
            + "</xades:SignedProperties>".len();
        format!(
            "{}<xades:UnsignedProperties><xades:UnsignedSignatureProperties>{fragment}\
             </xades:UnsignedSignatureProperties></xades:UnsignedProperties>{}",
            &text[..at],
            &text[at..]
        )
    };
    Ok(out.into_bytes())
}

/// B-T: adds a `SignatureTimeStamp` with an RFC 3161 token (DER) over the SHA-256 of
/// [`signature_value_c14n`].
///
/// # Errors
/// [`Error::Xml`], [`Error::Encoding`].
pub fn add_signature_timestamp(signed: &[u8], token: &[u8]) -> Result<Vec<u8>, Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    add_unsigned(
        signed,
        &format!(
            "<xades:SignatureTimeStamp Id=\"ts-{id}\">\
             <ds:CanonicalizationMethod Algorithm=\"{}\"/>\
             <xades:EncapsulatedTimeStamp>{}</xades:EncapsulatedTimeStamp>\
             </xades:SignatureTimeStamp>",
            c14n::EXCLUSIVE,
            b64(token)
        ),
    )
}

/// B-LT: adds `CertificateValues` (the CA and TSA certificates) and `RevocationValues` (CRLs).
///
/// # Errors
/// [`Error::Xml`], [`Error::Encoding`].
pub fn add_validation_data(
    signed: &[u8],
    certificates: &[Vec<u8>],
    crls: &[Vec<u8>],
) -> Result<Vec<u8>, Error> {
    let certs: String = certificates
        .iter()
        .map(|c| {
            format!(
                "<xades:EncapsulatedX509Certificate>{}</xades:EncapsulatedX509Certificate>",
                b64(c)
            )
        })
        .collect();
    let crls: String = crls
        .iter()
        .map(|c| {
            format!(
                "<xades:EncapsulatedCRLValue>{}</xades:EncapsulatedCRLValue>",
                b64(c)
            )
        })
        .collect();
    add_unsigned(
        signed,
        &format!(
            "<xades:CertificateValues>{certs}</xades:CertificateValues>\
             <xades:RevocationValues><xades:CRLValues>{crls}</xades:CRLValues></xades:RevocationValues>"
        ),
    )
}

/// The level of a XAdES signature, read from its unsigned properties.
///
/// # Errors
/// [`Error::Xml`].
pub fn level(signed: &[u8]) -> Result<Level, Error> {
    let parsed = xml::parse(signed, Limits::default())?;
    let has = |local: &str| find(&parsed.root, XADES, local).is_some();
    let archived = find(&parsed.root, XADES141, "ArchiveTimeStamp").is_some();
    Ok(
        match (
            has("SignatureTimeStamp"),
            has("CertificateValues") && has("RevocationValues"),
            archived,
        ) {
            (true, true, true) => Level::BLTA,
            (true, true, false) => Level::BLT,
            (true, false, _) => Level::BT,
            _ => Level::BB,
        },
    )
}

/// The XAdES 1.4.1 namespace (`ArchiveTimeStamp`).
pub const XADES141: &str = "http://uri.etsi.org/01903/v1.4.1#";

/// The input of an archive timestamp (ETSI EN 319 132-1 §5.5.2, not distributed case), in
/// exclusive C14N: the data each `ds:Reference` covers (after its transforms), `SignedInfo`,
/// `SignatureValue`, `KeyInfo`, every child of `UnsignedSignatureProperties` in order, and every
/// `ds:Object` but the one with the qualifying properties. `detached` is the data of a
/// detached signature (which the signature does not contain). Its SHA-256 is the imprint.
///
/// # Errors
/// [`Error::Xml`]; [`Error::Encoding`] for a signature qsign did not make or missing data.
pub fn archive_input(signed: &[u8], detached: Option<&[u8]>) -> Result<Vec<u8>, Error> {
    let parsed = xml::parse(signed, Limits::default())?;
    let signature = find(&parsed.root, DS, "Signature")
        .ok_or_else(|| Error::Encoding("no ds:Signature".into()))?;
    let info = find(signature, DS, "SignedInfo")
        .ok_or_else(|| Error::Encoding("no ds:SignedInfo".into()))?;
    let canonical = |e: &Element| c14n::exclusive(e, &|_| false);
    let by_id = |id: &str| -> Option<&Element> {
        fn walk<'a>(e: &'a Element, id: &str) -> Option<&'a Element> {
            if e.attribute("Id") == Some(id) {
                return Some(e);
            }
            e.elements().find_map(|c| walk(c, id))
        }
        walk(&parsed.root, id)
    };
    let mut input = Vec::new();
    for reference in info
        .elements()
        .filter(|e| e.ns.as_deref() == Some(DS) && e.local == "Reference")
    {
        match reference.attribute("URI").unwrap_or("") {
            "" => input.extend(c14n::exclusive(&parsed.root, &is_signature)),
            uri => match uri.strip_prefix('#') {
                Some(id) => input.extend(canonical(
                    by_id(id).ok_or_else(|| Error::Encoding(format!("no element {uri}")))?,
                )),
                None => input.extend_from_slice(
                    detached
                        .ok_or_else(|| Error::Encoding("the detached data is needed".into()))?,
                ),
            },
        }
    }
    input.extend(canonical(info));
    for local in ["SignatureValue", "KeyInfo"] {
        if let Some(e) = signature
            .elements()
            .find(|e| e.ns.as_deref() == Some(DS) && e.local == local)
        {
            input.extend(canonical(e));
        }
    }
    if let Some(unsigned) = find(signature, XADES, "UnsignedSignatureProperties") {
        for child in unsigned.elements() {
            input.extend(canonical(child));
        }
    }
    for object in signature
        .elements()
        .filter(|e| e.ns.as_deref() == Some(DS) && e.local == "Object")
    {
        if find(object, XADES, "QualifyingProperties").is_none() {
            input.extend(canonical(object));
        }
    }
    Ok(input)
}

/// B-LTA: adds an `ArchiveTimeStamp` with an RFC 3161 token over the SHA-256 of
/// [`archive_input`].
///
/// # Errors
/// [`Error::Xml`], [`Error::Encoding`].
pub fn add_archive_timestamp(signed: &[u8], token: &[u8]) -> Result<Vec<u8>, Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    add_unsigned(
        signed,
        &format!(
            "<xades141:ArchiveTimeStamp xmlns:xades141=\"{XADES141}\" Id=\"ats-{id}\">\
             <ds:CanonicalizationMethod Algorithm=\"{}\"/>\
             <xades:EncapsulatedTimeStamp>{}</xades:EncapsulatedTimeStamp>\
             </xades141:ArchiveTimeStamp>",
            c14n::EXCLUSIVE,
            b64(token)
        ),
    )
}
