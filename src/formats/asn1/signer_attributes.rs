//! The CAdES signer-attributes-v2 attribute (ETSI EN 319 122-1 §5.2.6.1) and the capacity qsign
//! claims in it.
//!
//! A capacity is two claimed attributes: `role` (RFC 5755 §4.4.5) whose `roleName` is a
//! directoryName with `title` (the role), `organizationName` and `organizationIdentifier`
//! (`NTRDK-<CVR>`), which standard tools show in words; and `description` with the capacity's
//! canonical JSON ([`Capacity::to_json`]), which carries the rule and the power of attorney
//! too and which a validator reads back exactly. The two must agree.

use der::asn1::{ObjectIdentifier, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode, Sequence};
use x509_cert::attr::{Attribute, AttributeTypeAndValue};
use x509_cert::ext::pkix::name::{DirectoryString, GeneralName, GeneralNames};
use x509_cert::name::Name;

use super::super::representation::{Capacity, CapacityError, MAX_CAPACITY_JSON};
use super::oid;

/// The most claimed attributes read from one signer-attributes-v2.
const MAX_CLAIMED: usize = 16;

/// ETSI EN 319 122-1 §5.2.6.1 (the attribute `id-aa-ets-signerAttrV2`, 0.4.0.19122.1.1; the
/// module's tags are explicit):
///
/// ```text
/// SignerAttributeV2 ::= SEQUENCE {
///     claimedAttributes      [0] ClaimedAttributes OPTIONAL,
///     certifiedAttributesV2  [1] CertifiedAttributesV2 OPTIONAL,
///     signedAssertions       [2] SignedAssertions OPTIONAL }
/// ClaimedAttributes ::= SEQUENCE OF Attribute
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SignerAttributeV2 {
    /// Attributes the signer claims (qsign: the capacity).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub claimed_attributes: Option<Vec<Attribute>>,
    /// Attribute certificates; not written by qsign, kept so that others' decode.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub certified_attributes_v2: Option<Any>,
    /// Signed assertions (SAML and others); not written by qsign.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub signed_assertions: Option<Any>,
}

/// RFC 5755 §4.4.5 (the value of the `role` attribute, 2.5.4.72):
///
/// ```text
/// RoleSyntax ::= SEQUENCE {
///     roleAuthority  [0] GeneralNames OPTIONAL,
///     roleName       [1] GeneralName }
/// ```
///
/// The module's tags are implicit, but `GeneralName` is a CHOICE, so `roleName` is explicit.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RoleSyntax {
    /// Who assigns the role (not written by qsign).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub role_authority: Option<GeneralNames>,
    /// The role; qsign: a directoryName with `title`, `organizationName` and
    /// `organizationIdentifier`.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    pub role_name: GeneralName,
}

/// What is wrong with a claimed capacity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The value does not parse as signer-attributes-v2, or its claimed attributes are not as
    /// qsign writes a capacity.
    #[error("signer-attributes-v2: {0}")]
    Malformed(String),
    /// The role attribute says otherwise than the capacity's JSON.
    #[error("signer-attributes-v2: the role attribute does not agree with the capacity: {0}")]
    Disagree(&'static str),
    /// The capacity itself is refused (too long, not canonical, an invalid role or rule).
    #[error("signer-attributes-v2: {0}")]
    Capacity(#[from] CapacityError),
    /// A value that cannot be encoded.
    #[error("cannot encode the capacity: {0}")]
    Encoding(String),
}

fn enc(e: der::Error) -> Error {
    Error::Encoding(e.to_string())
}

fn single(id: ObjectIdentifier, value: Any) -> Result<Attribute, Error> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(enc)?;
    Ok(Attribute { oid: id, values })
}

fn utf8(text: &str) -> Result<Any, Error> {
    Any::encode_from(&Utf8StringRef::new(text).map_err(enc)?).map_err(enc)
}

/// The directoryName of the role: organizationName, organizationIdentifier (`NTRDK-<CVR>`)
/// and title, one per RDN, as UTF8Strings.
fn role_name(capacity: &Capacity) -> Result<Name, Error> {
    let cvr = format!("NTRDK-{}", capacity.cvr);
    let mut rdns: Vec<SetOfVec<AttributeTypeAndValue>> = Vec::with_capacity(3);
    for (id, text) in [
        (oid::ORGANIZATION_NAME, capacity.organisation.as_str()),
        (oid::ORGANIZATION_IDENTIFIER, cvr.as_str()),
        (oid::TITLE, capacity.role.as_str()),
    ] {
        let mut rdn = SetOfVec::new();
        rdn.insert(AttributeTypeAndValue {
            oid: id,
            value: utf8(text)?,
        })
        .map_err(enc)?;
        rdns.push(rdn);
    }
    Name::from_der(&rdns.to_der().map_err(enc)?).map_err(enc)
}

/// The `role` claimed attribute of a capacity.
fn role_attribute(capacity: &Capacity) -> Result<Attribute, Error> {
    let role = RoleSyntax {
        role_authority: None,
        role_name: GeneralName::DirectoryName(role_name(capacity)?),
    };
    single(oid::ROLE, Any::encode_from(&role).map_err(enc)?)
}

/// The `description` claimed attribute with `text`.
fn description_attribute(text: &str) -> Result<Attribute, Error> {
    single(oid::DESCRIPTION, utf8(text)?)
}

/// The signer-attributes-v2 attribute (one value) claiming `capacity`: the role in words and
/// the canonical JSON.
///
/// # Errors
/// [`Error::Capacity`] for a capacity that does not pass [`Capacity::check`] or whose JSON is
/// longer than [`MAX_CAPACITY_JSON`] (a validator would refuse it); [`Error::Encoding`].
pub fn attribute(capacity: &Capacity) -> Result<Attribute, Error> {
    capacity.check().map_err(CapacityError::from)?;
    let json = capacity.to_json();
    if json.len() > MAX_CAPACITY_JSON {
        return Err(CapacityError::TooLarge.into());
    }
    let value = SignerAttributeV2 {
        claimed_attributes: Some(vec![
            role_attribute(capacity)?,
            description_attribute(&json)?,
        ]),
        certified_attributes_v2: None,
        signed_assertions: None,
    };
    single(
        oid::SIGNER_ATTRIBUTES_V2,
        Any::encode_from(&value).map_err(enc)?,
    )
}

/// A string attribute value of a name or a description, if it is one.
fn text(value: &Any) -> Option<String> {
    DirectoryString::try_from(value).ok().map(String::from)
}

/// The capacity claimed in a signer-attributes-v2 value: `None` when its claimed attributes
/// hold none in qsign's encoding (no `description` that is a JSON object). The JSON is read
/// with [`Capacity::from_json`] and must agree with the `role` attribute.
///
/// # Errors
/// [`Error::Malformed`], [`Error::Disagree`], [`Error::Capacity`].
pub fn capacity(value: &Any) -> Result<Option<Capacity>, Error> {
    let parsed = value
        .decode_as::<SignerAttributeV2>()
        .map_err(|e| Error::Malformed(format!("does not parse: {e}")))?;
    let claimed = parsed.claimed_attributes.unwrap_or_default();
    if claimed.len() > MAX_CLAIMED {
        return Err(Error::Malformed(format!(
            "more than {MAX_CLAIMED} claimed attributes"
        )));
    }
    let mut json = None;
    for value in claimed
        .iter()
        .filter(|a| a.oid == oid::DESCRIPTION)
        .flat_map(|a| a.values.iter())
    {
        // Only a JSON object is qsign's capacity; other descriptions are the signer's words.
        if let Some(t) = text(value).filter(|t| t.trim_start().starts_with('{')) {
            if json.replace(t).is_some() {
                return Err(Error::Malformed("more than one capacity".into()));
            }
        }
    }
    let Some(json) = json else {
        return Ok(None);
    };
    let capacity = Capacity::from_json(&json)?;
    let mut roles = claimed.iter().filter(|a| a.oid == oid::ROLE);
    let (Some(role), None) = (roles.next(), roles.next()) else {
        return Err(Error::Disagree("not exactly one role attribute"));
    };
    let mut values = role.values.iter();
    let (Some(role), None) = (values.next(), values.next()) else {
        return Err(Error::Disagree(
            "the role attribute has not exactly one value",
        ));
    };
    let syntax = role
        .decode_as::<RoleSyntax>()
        .map_err(|e| Error::Malformed(format!("the role does not parse: {e}")))?;
    let GeneralName::DirectoryName(name) = &syntax.role_name else {
        return Err(Error::Disagree("the role is not a directory name"));
    };
    let field = |id: ObjectIdentifier| {
        name.iter()
            .find(|atv| atv.oid == id)
            .and_then(|atv| text(&atv.value))
    };
    if field(oid::TITLE).as_deref() != Some(capacity.role.as_str()) {
        return Err(Error::Disagree("the role"));
    }
    if field(oid::ORGANIZATION_NAME).as_deref() != Some(capacity.organisation.as_str()) {
        return Err(Error::Disagree("the organisation"));
    }
    if field(oid::ORGANIZATION_IDENTIFIER) != Some(format!("NTRDK-{}", capacity.cvr)) {
        return Err(Error::Disagree("the CVR"));
    }
    Ok(Some(capacity))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::representation::board_member;

    fn value(attribute: &Attribute) -> Any {
        attribute.values.iter().next().unwrap().clone()
    }

    /// A signer-attributes-v2 value with these claimed attributes.
    fn claiming(claimed: Vec<Attribute>) -> Any {
        Any::encode_from(&SignerAttributeV2 {
            claimed_attributes: Some(claimed),
            certified_attributes_v2: None,
            signed_assertions: None,
        })
        .unwrap()
    }

    #[test]
    fn a_capacity_round_trips_through_signer_attributes_v2() {
        let c = board_member();
        let attr = attribute(&c).unwrap();
        assert_eq!(attr.oid, oid::SIGNER_ATTRIBUTES_V2);
        assert_eq!(capacity(&value(&attr)).unwrap(), Some(c.clone()));
        // Decoding and encoding again gives the same DER.
        let parsed = value(&attr).decode_as::<SignerAttributeV2>().unwrap();
        assert_eq!(Any::encode_from(&parsed).unwrap(), value(&attr));
        // The role is RoleSyntax with roleName [1] EXPLICIT, a directoryName [4].
        let claimed = parsed.claimed_attributes.unwrap();
        assert_eq!(claimed.len(), 2);
        let role = claimed.iter().find(|a| a.oid == oid::ROLE).unwrap();
        let role_der = value(role).to_der().unwrap();
        let sequence = Any::from_der(&role_der).unwrap();
        assert_eq!(sequence.value()[0], 0xa1);
        let explicit = Any::from_der(sequence.value()).unwrap();
        assert_eq!(explicit.value()[0], 0xa4);
        let syntax = value(role).decode_as::<RoleSyntax>().unwrap();
        let GeneralName::DirectoryName(name) = syntax.role_name else {
            panic!("not a directory name");
        };
        let texts: Vec<String> = name.iter().filter_map(|atv| text(&atv.value)).collect();
        assert_eq!(
            texts,
            ["Rungstedlund A/S", "NTRDK-35408002", "board"].map(String::from)
        );
        // Without a rule or a mandate too.
        let plain = Capacity {
            rule: None,
            mandate: None,
            ..board_member()
        };
        assert_eq!(
            capacity(&value(&attribute(&plain).unwrap())).unwrap(),
            Some(plain)
        );
    }

    #[test]
    fn malformed_or_disagreeing_signer_attributes_are_refused() {
        // Not a SignerAttributeV2: an INTEGER, a SEQUENCE with an INTEGER in it, a [3].
        for der in [
            &b"\x02\x01\x05"[..],
            b"\x30\x03\x02\x01\x05",
            b"\x30\x04\xa3\x02\x05\x00",
        ] {
            let any = Any::from_der(der).unwrap();
            assert!(
                matches!(capacity(&any), Err(Error::Malformed(_))),
                "{der:?}"
            );
        }
        // Nothing claimed, or only words: no capacity.
        assert_eq!(capacity(&Any::from_der(b"\x30\x00").unwrap()), Ok(None));
        let words = claiming(vec![description_attribute("signed as a witness").unwrap()]);
        assert_eq!(capacity(&words), Ok(None));

        let c = board_member();
        let mut director = c.clone();
        director.role = "director".into();
        // The JSON says director, the role attribute board.
        let mixed = claiming(vec![
            role_attribute(&c).unwrap(),
            description_attribute(&director.to_json()).unwrap(),
        ]);
        assert_eq!(capacity(&mixed), Err(Error::Disagree("the role")));
        let mut other = c.clone();
        other.cvr = "12345678".into();
        let mixed = claiming(vec![
            role_attribute(&other).unwrap(),
            description_attribute(&c.to_json()).unwrap(),
        ]);
        assert_eq!(capacity(&mixed), Err(Error::Disagree("the CVR")));
        // No role attribute, two, or a role that is no RoleSyntax.
        let alone = claiming(vec![description_attribute(&c.to_json()).unwrap()]);
        assert!(matches!(capacity(&alone), Err(Error::Disagree(_))));
        let twice = claiming(vec![
            role_attribute(&c).unwrap(),
            role_attribute(&c).unwrap(),
            description_attribute(&c.to_json()).unwrap(),
        ]);
        assert!(matches!(capacity(&twice), Err(Error::Disagree(_))));
        let garbage = claiming(vec![
            single(oid::ROLE, Any::from_der(b"\x02\x01\x05").unwrap()).unwrap(),
            description_attribute(&c.to_json()).unwrap(),
        ]);
        assert!(matches!(capacity(&garbage), Err(Error::Malformed(_))));
        // Two capacities; JSON that is not canonical, too long or not a capacity.
        let two = claiming(vec![
            role_attribute(&c).unwrap(),
            description_attribute(&c.to_json()).unwrap(),
            description_attribute(&director.to_json()).unwrap(),
        ]);
        assert!(matches!(capacity(&two), Err(Error::Malformed(_))));
        for (json, expected) in [
            (
                c.to_json().replace(",\"", ", \""),
                CapacityError::NotCanonical,
            ),
            (
                format!("{}{}", c.to_json(), " ".repeat(MAX_CAPACITY_JSON)),
                CapacityError::TooLarge,
            ),
        ] {
            let claimed = claiming(vec![
                role_attribute(&c).unwrap(),
                description_attribute(&json).unwrap(),
            ]);
            assert_eq!(capacity(&claimed), Err(Error::Capacity(expected)));
        }
        let broken = claiming(vec![
            role_attribute(&c).unwrap(),
            description_attribute("{\"role\": 5}").unwrap(),
        ]);
        assert!(matches!(
            capacity(&broken),
            Err(Error::Capacity(CapacityError::Json(_)))
        ));
        // A capacity that may not be signed is refused when encoding.
        let mut bad = c;
        bad.role = "Board Member".into();
        assert!(matches!(
            attribute(&bad),
            Err(Error::Capacity(CapacityError::Invalid(_)))
        ));
    }
}
