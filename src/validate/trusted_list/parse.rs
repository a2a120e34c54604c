//! Reading a trusted list (ETSI TS 119 612 v2) within its [`Budget`], and checking that its one
//! enveloped signature covers the whole list and is made by an allowed certificate.

use der::asn1::ObjectIdentifier;

use super::{
    Assert, Budget, Criteria, Criterion, Error, List, Period, Pointer, Provider,
    QualificationElement, Service, ECC, MAX_CRITERIA_DEPTH, TSL, TSLX,
};
use crate::formats::xml::{self, Element, XML_NS};
use crate::validate::chain::Cert;
use crate::validate::cms::Material;
use crate::validate::report::{Indication, SubIndication};
use crate::validate::xml::{b64, child, is, text, DS, ENVELOPED, XADES};

/// Parses a list without checking its signature.
///
/// # Errors
/// What makes it unusable.
pub fn parse(bytes: &[u8], budget: &Budget) -> Result<List, Error> {
    let doc = document(bytes, budget)?;
    list(&doc.root, budget)
}

/// Parses a list and verifies its signature: one enveloped signature over the whole list,
/// valid at `now`, by exactly one of `allowed`.
///
/// # Errors
/// What makes it unusable; [`Error::SignerNotAllowed`] for a signer not among `allowed`.
pub fn verify(bytes: &[u8], allowed: &[Cert], now: i64, budget: &Budget) -> Result<List, Error> {
    let doc = document(bytes, budget)?;
    let parsed = list(&doc.root, budget)?;
    covers_whole_list(&doc.root)?;
    let material = Material {
        anchors: allowed.to_vec(),
        now,
        ..Material::default()
    };
    let reports =
        crate::validate::xml::validate(bytes, None, &material).map_err(Error::Signature)?;
    let [report] = reports.as_slice() else {
        return Err(Error::Signature(format!(
            "{} signatures in the list, not one",
            reports.len()
        )));
    };
    if report.sub_indication == Some(SubIndication::NoCertificateChainFound) {
        return Err(Error::SignerNotAllowed);
    }
    if report.indication != Indication::TotalPassed {
        return Err(Error::Signature(report.errors.join("; ")));
    }
    // The signer itself must be one of the allowed certificates, not one they issued.
    match report.chain_certificates.as_slice() {
        [signer] if allowed.iter().any(|a| a.der == signer.der) => Ok(parsed),
        _ => Err(Error::SignerNotAllowed),
    }
}

/// Checks that a list pointed to is for the territory the pointer names.
///
/// # Errors
/// [`Error::Territory`].
pub fn check_territory(list: &List, pointer: &Pointer) -> Result<(), Error> {
    match &pointer.territory {
        Some(expected) if !expected.eq_ignore_ascii_case(&list.territory) => {
            Err(Error::Territory {
                expected: expected.clone(),
                found: list.territory.clone(),
            })
        }
        _ => Ok(()),
    }
}

fn document(bytes: &[u8], budget: &Budget) -> Result<xml::Document, Error> {
    let limits = xml::Limits {
        bytes: budget.bytes,
        ..xml::Limits::default()
    };
    xml::parse(bytes, limits).map_err(Error::Xml)
}

/// The list's one signature is a child of the root and references the whole list (`URI=""`
/// or the root's `Id`) with the enveloped-signature transform.
fn covers_whole_list(root: &Element) -> Result<(), Error> {
    let mut signatures = root.elements().filter(|e| is(e, DS, "Signature"));
    let (Some(signature), None) = (signatures.next(), signatures.next()) else {
        return Err(Error::Signature(
            "the list must carry exactly one enveloped ds:Signature".into(),
        ));
    };
    let info = child(signature, DS, "SignedInfo")
        .ok_or_else(|| Error::Signature("no ds:SignedInfo".into()))?;
    let root_id = root.attribute("Id");
    let whole = info
        .elements()
        .filter(|e| is(e, DS, "Reference"))
        .any(|reference| {
            let uri = reference.attribute("URI");
            let to_root = uri == Some("")
                || uri
                    .and_then(|u| u.strip_prefix('#'))
                    .is_some_and(|id| root_id == Some(id));
            let enveloped = child(reference, DS, "Transforms").is_some_and(|t| {
                t.elements()
                    .any(|x| x.attribute("Algorithm") == Some(ENVELOPED))
            });
            to_root && enveloped
        });
    if whole {
        Ok(())
    } else {
        Err(Error::Signature(
            "the signature does not cover the whole list".into(),
        ))
    }
}

/// The elements of an iterator, at most `limit` of them.
fn bounded<'a>(
    items: impl Iterator<Item = &'a Element>,
    what: &'static str,
    limit: usize,
) -> Result<Vec<&'a Element>, Error> {
    let out: Vec<&Element> = items.take(limit.saturating_add(1)).collect();
    if out.len() > limit {
        return Err(Error::TooMany { what, limit });
    }
    Ok(out)
}

/// The child elements `local` of `e` in namespace `ns`, at most `limit`.
fn children<'a>(
    e: &'a Element,
    ns: &'static str,
    local: &'static str,
    limit: usize,
) -> Result<Vec<&'a Element>, Error> {
    bounded(e.elements().filter(|c| is(c, ns, local)), local, limit)
}

/// The trimmed text of `e`, within the budget.
fn bounded_text(e: &Element, what: &'static str, budget: &Budget) -> Result<String, Error> {
    let t = text(e);
    if t.len() > budget.text {
        return Err(Error::TooLong {
            what,
            limit: budget.text,
        });
    }
    Ok(t.trim().to_owned())
}

/// The text of the child `local` (in the TSL namespace), if present and not empty.
fn optional(e: &Element, local: &'static str, budget: &Budget) -> Result<Option<String>, Error> {
    child(e, TSL, local)
        .map(|c| bounded_text(c, local, budget))
        .transpose()
        .map(|t| t.filter(|t| !t.is_empty()))
}

fn required(e: &Element, local: &'static str, budget: &Budget) -> Result<String, Error> {
    optional(e, local, budget)?.ok_or(Error::Missing(local))
}

fn time_of(value: &str, what: &'static str) -> Result<i64, Error> {
    super::date_time(value).ok_or_else(|| Error::Malformed {
        what,
        value: value.to_owned(),
    })
}

/// A multilingual name (`Name` children): the English one, else the first.
fn name(e: Option<&Element>, what: &'static str, budget: &Budget) -> Result<String, Error> {
    let Some(e) = e else {
        return Err(Error::Missing(what));
    };
    let names = children(e, TSL, "Name", budget.qualifications)?;
    let english = names.iter().find(|n| {
        n.attributes
            .iter()
            .any(|a| a.ns.as_deref() == Some(XML_NS) && a.local == "lang" && a.value == "en")
    });
    let Some(chosen) = english.or(names.first()) else {
        return Err(Error::Missing(what));
    };
    bounded_text(chosen, what, budget)
}

/// The certificates of `DigitalId/X509Certificate` under the identity elements given.
fn certificates(identities: &[&Element], budget: &Budget) -> Result<Vec<Cert>, Error> {
    let mut out = Vec::new();
    for identity in identities {
        for id in children(identity, TSL, "DigitalId", budget.identities)? {
            let Some(x509) = child(id, TSL, "X509Certificate") else {
                continue;
            };
            if text(x509).len() > budget.text {
                return Err(Error::TooLong {
                    what: "X509Certificate",
                    limit: budget.text,
                });
            }
            if out.len() >= budget.identities {
                return Err(Error::TooMany {
                    what: "certificates",
                    limit: budget.identities,
                });
            }
            out.extend(b64(Some(x509)).and_then(|der| Cert::parse(&der)));
        }
    }
    Ok(out)
}

fn list(root: &Element, budget: &Budget) -> Result<List, Error> {
    if !is(root, TSL, "TrustServiceStatusList") {
        return Err(Error::NotAList);
    }
    let info = child(root, TSL, "SchemeInformation").ok_or(Error::Missing("SchemeInformation"))?;
    let territory = required(info, "SchemeTerritory", budget)?;
    let sequence_number = optional(info, "TSLSequenceNumber", budget)?
        .map(|n| {
            n.parse::<u64>().map_err(|_| Error::Malformed {
                what: "TSLSequenceNumber",
                value: n.clone(),
            })
        })
        .transpose()?;
    let issued = optional(info, "ListIssueDateTime", budget)?
        .map(|t| time_of(&t, "ListIssueDateTime"))
        .transpose()?;
    let next_update = child(info, TSL, "NextUpdate")
        .and_then(|n| child(n, TSL, "dateTime"))
        .map(|d| bounded_text(d, "NextUpdate", budget))
        .transpose()?
        .filter(|t| !t.is_empty())
        .map(|t| time_of(&t, "NextUpdate"))
        .transpose()?;
    let mut pointers = Vec::new();
    if let Some(p) = child(info, TSL, "PointersToOtherTSL") {
        for e in children(p, TSL, "OtherTSLPointer", budget.pointers)? {
            pointers.push(pointer(e, budget)?);
        }
    }
    let mut providers = Vec::new();
    let mut services = 0usize;
    if let Some(p) = child(root, TSL, "TrustServiceProviderList") {
        for e in children(p, TSL, "TrustServiceProvider", budget.providers)? {
            providers.push(provider(e, budget, &mut services)?);
        }
    }
    Ok(List {
        territory,
        sequence_number,
        issued,
        next_update,
        pointers,
        providers,
    })
}

fn pointer(e: &Element, budget: &Budget) -> Result<Pointer, Error> {
    let location = required(e, "TSLLocation", budget)?;
    let identities = child(e, TSL, "ServiceDigitalIdentities")
        .map(|s| children(s, TSL, "ServiceDigitalIdentity", budget.identities))
        .transpose()?
        .unwrap_or_default();
    let certificates = certificates(&identities, budget)?;
    let (mut territory, mut mime_type, mut list_type) = (None, None, None);
    if let Some(additional) = child(e, TSL, "AdditionalInformation") {
        for other in children(additional, TSL, "OtherInformation", budget.qualifications)? {
            for item in other.elements() {
                let value = Some(bounded_text(item, "OtherInformation", budget)?);
                if is(item, TSL, "SchemeTerritory") {
                    territory = value;
                } else if is(item, TSLX, "MimeType") {
                    mime_type = value;
                } else if is(item, TSL, "TSLType") {
                    list_type = value;
                }
            }
        }
    }
    Ok(Pointer {
        location,
        territory,
        mime_type,
        list_type,
        certificates,
    })
}

fn provider(e: &Element, budget: &Budget, services: &mut usize) -> Result<Provider, Error> {
    let info = child(e, TSL, "TSPInformation").ok_or(Error::Missing("TSPInformation"))?;
    let name = name(child(info, TSL, "TSPName"), "TSPName", budget)?;
    let mut out = Vec::new();
    if let Some(list) = child(e, TSL, "TSPServices") {
        let left = budget.services.saturating_sub(*services);
        let found = bounded(
            list.elements().filter(|c| is(c, TSL, "TSPService")),
            "services",
            left,
        )
        .map_err(|_| Error::TooMany {
            what: "services",
            limit: budget.services,
        })?;
        *services = services.saturating_add(found.len());
        for s in found {
            out.push(service(s, budget)?);
        }
    }
    Ok(Provider {
        name,
        services: out,
    })
}

fn service(e: &Element, budget: &Budget) -> Result<Service, Error> {
    let info = child(e, TSL, "ServiceInformation").ok_or(Error::Missing("ServiceInformation"))?;
    let type_identifier = required(info, "ServiceTypeIdentifier", budget)?;
    let name = name(child(info, TSL, "ServiceName"), "ServiceName", budget)?;
    let identities = children(info, TSL, "ServiceDigitalIdentity", budget.identities)?;
    let certificates = certificates(&identities, budget)?;
    let mut periods = vec![period(info, budget)?];
    if let Some(history) = child(e, TSL, "ServiceHistory") {
        for h in bounded(
            history
                .elements()
                .filter(|c| is(c, TSL, "ServiceHistoryInstance")),
            "history instances",
            budget.history,
        )? {
            periods.push(period(h, budget)?);
        }
    }
    Ok(Service {
        type_identifier,
        name,
        certificates,
        periods,
    })
}

fn period(e: &Element, budget: &Budget) -> Result<Period, Error> {
    let status = required(e, "ServiceStatus", budget)?;
    let start = time_of(
        &required(e, "StatusStartingTime", budget)?,
        "StatusStartingTime",
    )?;
    let mut additional = Vec::new();
    let mut qualifications = Vec::new();
    if let Some(extensions) = child(e, TSL, "ServiceInformationExtensions") {
        for extension in children(extensions, TSL, "Extension", budget.qualifications)? {
            for info in children(
                extension,
                TSL,
                "AdditionalServiceInformation",
                budget.qualifications,
            )? {
                additional.push(required(info, "URI", budget)?);
            }
            for list in children(extension, ECC, "Qualifications", budget.qualifications)? {
                for element in children(list, ECC, "QualificationElement", budget.qualifications)? {
                    qualifications.push(qualification_element(element, budget)?);
                }
            }
        }
    }
    Ok(Period {
        status,
        start,
        additional,
        qualifications,
    })
}

fn qualification_element(e: &Element, budget: &Budget) -> Result<QualificationElement, Error> {
    let mut qualifiers = Vec::new();
    if let Some(list) = child(e, ECC, "Qualifiers") {
        for q in children(list, ECC, "Qualifier", budget.qualifications)? {
            let uri = q.attribute("uri").unwrap_or_default();
            if uri.len() > budget.text {
                return Err(Error::TooLong {
                    what: "Qualifier",
                    limit: budget.text,
                });
            }
            qualifiers.push(uri.trim().to_owned());
        }
    }
    let criteria = child(e, ECC, "CriteriaList").ok_or(Error::Missing("CriteriaList"))?;
    Ok(QualificationElement {
        qualifiers,
        criteria: criteria_list(criteria, budget, 0)?,
    })
}

fn criteria_list(e: &Element, budget: &Budget, depth: usize) -> Result<Criteria, Error> {
    if depth >= MAX_CRITERIA_DEPTH {
        return Err(Error::TooMany {
            what: "nested criteria lists",
            limit: MAX_CRITERIA_DEPTH,
        });
    }
    let assert = match e.attribute("assert") {
        None | Some("all") => Assert::All,
        Some("atLeastOne") => Assert::AtLeastOne,
        Some("none") => Assert::None,
        Some(other) => {
            return Err(Error::Malformed {
                what: "CriteriaList/@assert",
                value: other.chars().take(64).collect(),
            });
        }
    };
    let mut items = Vec::new();
    for c in bounded(e.elements(), "criteria", budget.qualifications)? {
        let item = if is(c, ECC, "KeyUsage") {
            let mut bits = Vec::new();
            for bit in children(c, ECC, "KeyUsageBit", budget.qualifications)? {
                let value = bounded_text(bit, "KeyUsageBit", budget)?;
                bits.push((
                    bit.attribute("name").unwrap_or_default().to_owned(),
                    value == "true",
                ));
            }
            Criterion::KeyUsage(bits)
        } else if is(c, ECC, "PolicySet") {
            let mut oids = Vec::new();
            let mut unreadable = false;
            for p in children(c, ECC, "PolicyIdentifier", budget.qualifications)? {
                let id = child(p, XADES, "Identifier")
                    .map(|i| bounded_text(i, "PolicyIdentifier", budget))
                    .transpose()?
                    .unwrap_or_default();
                let dotted = id.strip_prefix("urn:oid:").unwrap_or(&id);
                match ObjectIdentifier::new(dotted) {
                    Ok(oid) => oids.push(oid),
                    Err(_) => unreadable = true,
                }
            }
            if unreadable {
                Criterion::Unsupported("PolicySet with an identifier that is no OID".into())
            } else {
                Criterion::Policies(oids)
            }
        } else if is(c, ECC, "CriteriaList") {
            Criterion::Nested(criteria_list(c, budget, depth + 1)?)
        } else if c.local == "Description" {
            continue;
        } else {
            Criterion::Unsupported(c.local.chars().take(64).collect())
        };
        items.push(item);
    }
    Ok(Criteria { assert, items })
}
