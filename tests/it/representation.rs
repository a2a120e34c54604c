//! Representation: the capacity a signature is made in, signed into CAdES (signer-attributes-v2),
//! XAdES (`SignerRoleV2`) and PAdES (signer-attributes-v2 in the CMS, covered by the PDF
//! approval) with user keys in SoftHSM; checked by independent tools (`openssl cms`, xmlsec1,
//! pyHanko, which decodes the claimed role) and read back by qsign's validator, with the
//! representation check over a PDF signed by board members. The SAM signs a CAdES document in a
//! capacity only with the approval of exactly that capacity.

use std::path::PathBuf;

use der::{Decode, Encode};
use qsign::audit::Context;
use qsign::formats::asn1::oid;
use qsign::formats::asn1::signer_attributes::{self, SignerAttributeV2};
use qsign::formats::cms::{self, Level, SignatureAlgorithm};
use qsign::formats::pades::{Options, Visible};
use qsign::formats::representation::{capacity_approval, Capacity, Mandate};
use qsign::formats::xades;
use qsign::hsm::{ecdsa_signature_der, Digest, HashAlgorithm, SignAlgorithm, WrappedKey};
use qsign::identity::loa::Loa;
use qsign::identity::AccountRequest;
use qsign::keys::policy::Scal;
use qsign::keys::Credential;
use qsign::pki::Ca;
use qsign::sam::{Derive, Grant, InCapacity, SignRequest};
use qsign::types::{ActivationFactor, UnixTime};
use qsign::validate::{CapacityReport, Indication, Report, SubIndication};

use crate::pades::{assert_valid, key, sign};
use crate::support::{self, sample_pdf, Service};

/// `role` of Rungstedlund A/S under "the director alone, or two board members jointly".
fn capacity(role: &str) -> Capacity {
    Capacity {
        role: role.into(),
        organisation: "Rungstedlund A/S".into(),
        cvr: "35408002".into(),
        rule: Some("director | board{2}".into()),
        mandate: None,
    }
}

async fn validate(svc: &Service, file: &[u8], content: Option<&[u8]>) -> Report {
    svc.service
        .validation
        .validate_file(file, content, &[])
        .await
        .unwrap()
}

async fn root_file(svc: &Service) -> PathBuf {
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    svc.file(
        &format!("root-{}.pem", uuid::Uuid::new_v4()),
        support::cert_pem(&root).as_bytes(),
    )
}

/// What `openssl cms -cmsout -print` shows of a CMS signature.
fn cms_print(svc: &Service, signed: &[u8]) -> String {
    let file = svc.file(&format!("{}.p7s", uuid::Uuid::new_v4()), signed);
    let (ok, dump) = support::openssl(&[
        "cms".as_ref(),
        "-cmsout".as_ref(),
        "-print".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        file.as_os_str(),
    ]);
    assert!(ok, "{dump}");
    dump
}

/// A DER ECDSA signature by `wrapped` (P-256, in the HSM) over a SHA-256 digest.
async fn hsm_sign(svc: &Service, wrapped: &WrappedKey, digest: [u8; 32]) -> Vec<u8> {
    let raw = svc
        .hsm
        .sign_with_wrapped(
            wrapped,
            SignAlgorithm::Ecdsa,
            vec![Digest::new(HashAlgorithm::Sha256, digest.to_vec()).unwrap()],
        )
        .await
        .unwrap()
        .remove(0);
    ecdsa_signature_der(&raw).unwrap()
}

/// `signed` with the value of its signer-attributes-v2 replaced by `value` and its signed
/// attributes signed again by `wrapped`: a proper signature over a claim qsign never makes.
async fn resign(svc: &Service, wrapped: &WrappedKey, signed: &[u8], value: der::Any) -> Vec<u8> {
    use ::cms::content_info::ContentInfo;
    use ::cms::signed_data::{SignedData, SignerInfos};
    use der::asn1::{OctetString, SetOfVec};
    use x509_cert::attr::Attribute;

    let info = ContentInfo::from_der(signed).unwrap();
    let mut data: SignedData = info.content.decode_as().unwrap();
    let mut signer = data.signer_infos.0.iter().next().unwrap().clone();
    let attrs: Vec<Attribute> = signer
        .signed_attrs
        .as_ref()
        .unwrap()
        .iter()
        .map(|a| {
            if a.oid == oid::SIGNER_ATTRIBUTES_V2 {
                let mut values = SetOfVec::new();
                values.insert(value.clone()).unwrap();
                Attribute { oid: a.oid, values }
            } else {
                a.clone()
            }
        })
        .collect();
    let attrs = SetOfVec::try_from(attrs).unwrap();
    let digest: [u8; 32] = support::sha256(&attrs.to_der().unwrap())
        .try_into()
        .unwrap();
    signer.signature = OctetString::new(hsm_sign(svc, wrapped, digest).await).unwrap();
    signer.signed_attrs = Some(attrs);
    data.signer_infos = SignerInfos(SetOfVec::try_from(vec![signer]).unwrap());
    ContentInfo {
        content_type: info.content_type,
        content: der::Any::encode_from(&data).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// The claimed attributes qsign writes for `capacity`.
fn claimed(capacity: &Capacity) -> Vec<x509_cert::attr::Attribute> {
    let attribute = signer_attributes::attribute(capacity).unwrap();
    attribute
        .values
        .iter()
        .next()
        .unwrap()
        .decode_as::<SignerAttributeV2>()
        .unwrap()
        .claimed_attributes
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cades_in_a_capacity_shows_in_openssl_and_reads_back_in_the_validator() {
    let svc = Service::start().await;
    let content = b"Board resolution 2026-01: the company buys the farm.";
    let mut director = capacity("director");
    director.mandate = Some(Mandate {
        id: "poa-17".into(),
        holder_cvr: Some("12345678".into()),
        scope: "sign_on_behalf".into(),
        valid_until: svc.now() + 86_400,
    });
    let (wrapped, cert) = support::user_key(&svc).await;
    let digest: [u8; 32] = support::sha256(content).try_into().unwrap();
    let prepared = cms::prepare(&digest, &cert, Some(svc.now()), Some(&director)).unwrap();
    let chain = vec![svc.pki.ca_certificate(Ca::Issuing).await.unwrap()];
    let signed = cms::assemble(
        &prepared,
        None,
        &chain,
        SignatureAlgorithm::EcdsaSha256,
        &hsm_sign(&svc, &wrapped, prepared.to_be_signed).await,
    )
    .unwrap();
    let root = root_file(&svc).await;
    let (ok, out) = support::cms_verify(&svc, &root, &signed, Some(content), &[]);
    assert!(ok, "{out}");
    // openssl shows the attribute and the role in words.
    let dump = cms_print(&svc, &signed);
    for shown in [
        "0.4.0.19122.1.1",
        "director",
        "Rungstedlund A/S",
        "NTRDK-35408002",
        "poa-17",
    ] {
        assert!(dump.contains(shown), "{shown} missing:\n{dump}");
    }

    // qsign reads every field back.
    let report = validate(&svc, &signed, Some(content)).await;
    let s = &report.signatures[0];
    assert_eq!(s.indication, Indication::TotalPassed, "{report:?}");
    assert_eq!(s.capacity, Some(CapacityReport::from(&director)));
    assert_eq!(s.capacity.as_ref().unwrap().text, director.text());
    assert_eq!(report.representation.len(), 1, "{report:?}");
    let r = &report.representation[0];
    assert!(r.satisfied, "{report:?}");
    assert_eq!(
        (r.cvr.as_str(), r.rule.as_str()),
        ("35408002", "director | board{2}")
    );
    assert_eq!(r.signed_as, ["director: Karen Blixen"]);

    // A role attribute saying board beside JSON saying director, properly signed: openssl
    // verifies the signature, qsign refuses the claim.
    let role_of_board = claimed(&capacity("board"))
        .into_iter()
        .find(|a| a.oid == oid::ROLE)
        .unwrap();
    let json_of_director = claimed(&director)
        .into_iter()
        .find(|a| a.oid == oid::DESCRIPTION)
        .unwrap();
    let mixed = SignerAttributeV2 {
        claimed_attributes: Some(vec![role_of_board, json_of_director]),
        certified_attributes_v2: None,
        signed_assertions: None,
    };
    let disagreeing = resign(
        &svc,
        &wrapped,
        &signed,
        der::Any::encode_from(&mixed).unwrap(),
    )
    .await;
    let garbage = resign(
        &svc,
        &wrapped,
        &signed,
        der::Any::from_der(b"\x02\x01\x05").unwrap(),
    )
    .await;
    for (tampered, why) in [
        (disagreeing, "does not agree with the capacity"),
        (garbage, "does not parse"),
    ] {
        let (ok, out) = support::cms_verify(&svc, &root, &tampered, Some(content), &[]);
        assert!(ok, "the tampered claim is signed properly: {out}");
        let report = validate(&svc, &tampered, Some(content)).await;
        let s = &report.signatures[0];
        assert_eq!(
            (s.indication, s.sub_indication),
            (Indication::TotalFailed, Some(SubIndication::FormatFailure)),
            "{report:?}"
        );
        assert!(
            s.errors
                .iter()
                .any(|e| e.contains("signer-attributes-v2") && e.contains(why)),
            "{report:?}"
        );
        assert!(s.capacity.is_none());
        assert!(report.representation.is_empty(), "{report:?}");
    }
    svc.stop().await;
}

/// The `advanced` credential of a new account.
async fn advanced(svc: &Service) -> Credential {
    let account = svc
        .identity
        .create_account(
            &AccountRequest {
                username: "karen",
                given_name: "Karen",
                family_name: "Blixen",
                password: "Rungstedlund 1885",
                with_totp: true,
            },
            &Context::system(),
            svc.now(),
        )
        .await
        .unwrap();
    let owner = qsign::keys::Owner {
        id: account.id,
        given_name: "Karen".into(),
        family_name: "Blixen".into(),
    };
    svc.keys
        .ensure(&owner, &Context::system(), svc.now())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.policy.name == "advanced")
        .unwrap()
}

/// A SAD for one signature over `hash`.
async fn issue(svc: &Service, credential: &Credential, hash: [u8; 32]) -> String {
    svc.sam
        .issue(
            &Grant {
                credential,
                hash_algorithm: HashAlgorithm::Sha256,
                hashes: vec![Digest::sha256(hash)],
                num_signatures: 1,
                loa: Loa::Substantial,
                scal: Scal::Scal1,
                factor: ActivationFactor::Totp,
                label: None,
            },
            &Context::system(),
            UnixTime::from_secs(svc.now()),
        )
        .await
        .unwrap()
        .token
}

/// The SAM signing `hash` as CAdES (`signDoc`) with `claim`.
async fn sam_cades(
    svc: &Service,
    credential: &Credential,
    sad: &str,
    hash: [u8; 32],
    claim: Option<InCapacity<'_>>,
    now: UnixTime,
) -> Result<Vec<Vec<u8>>, qsign::sam::Error> {
    let capacities = [claim];
    let (scheme, sign_algo) = if credential.algorithm.is_ec() {
        (SignAlgorithm::Ecdsa, "1.2.840.10045.4.3.2")
    } else {
        (SignAlgorithm::RsaPkcs1v15, "1.2.840.113549.1.1.11")
    };
    let request = SignRequest {
        credential,
        sad,
        hash_algorithm: HashAlgorithm::Sha256,
        hashes: vec![Digest::sha256(hash)],
        scheme,
        sign_algo,
        derive: Derive::Cades {
            time: now,
            capacities: &capacities,
        },
        spent: None,
    };
    svc.sam.sign(&request, &Context::system(), now).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sam_signs_cades_in_a_capacity_only_with_the_approval_of_that_capacity() {
    let svc = Service::start().await;
    let credential = advanced(&svc).await;
    let content = b"Minutes of the board meeting of 2 March.";
    let sha: [u8; 32] = support::sha256(content).try_into().unwrap();
    let (director, board) = (capacity("director"), capacity("board"));
    let approval = capacity_approval(&sha, &director);
    let now = UnixTime::from_secs(svc.now());

    // An approval of the document alone does not sign it in a capacity.
    let plain = issue(&svc, &credential, sha).await;
    let claim = InCapacity {
        sha256: sha,
        capacity: &director,
    };
    let refused = sam_cades(&svc, &credential, &plain, sha, Some(claim), now).await;
    assert!(
        matches!(refused, Err(qsign::sam::Error::HashNotCovered)),
        "{refused:?}"
    );
    // An approval as director signs neither as board member nor another document.
    let sad = issue(&svc, &credential, approval).await;
    for claim in [
        InCapacity {
            sha256: sha,
            capacity: &board,
        },
        InCapacity {
            sha256: [0; 32],
            capacity: &director,
        },
    ] {
        let refused = sam_cades(&svc, &credential, &sad, approval, Some(claim), now).await;
        assert!(
            matches!(refused, Err(qsign::sam::Error::HashNotCovered)),
            "{refused:?}"
        );
    }
    // The approved capacity signs (the refusals spent nothing).
    let raw = sam_cades(&svc, &credential, &sad, approval, Some(claim), now)
        .await
        .unwrap()
        .remove(0);
    let (signature, algorithm) = if credential.algorithm.is_ec() {
        (
            ecdsa_signature_der(&raw).unwrap(),
            SignatureAlgorithm::EcdsaSha256,
        )
    } else {
        (raw, SignatureAlgorithm::RsaSha256)
    };
    let prepared = cms::prepare(
        &sha,
        &credential.certificate,
        Some(now.as_secs()),
        Some(&director),
    )
    .unwrap();
    let chain = vec![svc.pki.ca_certificate(Ca::Issuing).await.unwrap()];
    let signed = cms::assemble(&prepared, Some(content), &chain, algorithm, &signature).unwrap();
    let root = root_file(&svc).await;
    let (ok, out) = support::cms_verify(&svc, &root, &signed, None, &[]);
    assert!(ok, "{out}");
    let report = validate(&svc, &signed, None).await;
    let s = &report.signatures[0];
    assert_eq!(s.indication, Indication::TotalPassed, "{report:?}");
    assert_eq!(s.capacity, Some(CapacityReport::from(&director)));
    assert!(report.representation[0].satisfied, "{report:?}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xades_in_a_capacity_verifies_with_xmlsec1_and_reads_back() {
    let svc = Service::start().await;
    let (wrapped, cert) = support::user_key(&svc).await;
    let chain = [svc.pki.ca_certificate(Ca::Issuing).await.unwrap()];
    let document = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<resolution xmlns=\"urn:example:board\"><item>Buy the farm</item></resolution>\n";
    // Characters XML escapes, in the organisation's name.
    let director = Capacity {
        organisation: "Dinesen & Co <\"Holding\"> A/S".into(),
        ..capacity("director")
    };
    let prepare = |capacity: &Capacity| {
        xades::prepare(
            document,
            xades::Packaging::Enveloped,
            &cert,
            &chain,
            xades::SignatureAlgorithm::EcdsaSha256,
            "text/xml",
            svc.now(),
            Some(capacity),
        )
    };
    let prepared = prepare(&director).unwrap();
    let raw = svc
        .hsm
        .sign_with_wrapped(
            &wrapped,
            SignAlgorithm::Ecdsa,
            vec![Digest::new(HashAlgorithm::Sha256, prepared.to_be_signed.to_vec()).unwrap()],
        )
        .await
        .unwrap()
        .remove(0);
    let signed = xades::assemble(&prepared, &raw);
    let (ok, out) = support::xmlsec_verify(&svc, &signed).await;
    assert!(ok, "{out}\n{}", String::from_utf8_lossy(&signed));
    let text = String::from_utf8(signed.clone()).unwrap();
    assert!(
        text.contains(
            "</xades:SigningCertificateV2><xades:SignerRoleV2><xades:ClaimedRoles>\
             <xades:ClaimedRole>director of Dinesen &amp; Co &lt;&quot;Holding&quot;&gt; A/S \
             (CVR 35408002) under the rule 'director | board{2}'</xades:ClaimedRole>"
        ),
        "{text}"
    );
    let report = validate(&svc, &signed, None).await;
    let s = &report.signatures[0];
    assert_eq!(s.indication, Indication::TotalPassed, "{report:?}");
    assert_eq!(s.capacity, Some(CapacityReport::from(&director)));
    assert!(report.representation[0].satisfied, "{report:?}");

    // The claim is signed: changing the role in it breaks the signature for both.
    let changed = text.replacen(
        "&quot;role&quot;:&quot;director&quot;",
        "&quot;role&quot;:&quot;board&quot;",
        1,
    );
    assert_ne!(changed, text);
    let (ok, _) = support::xmlsec_verify(&svc, changed.as_bytes()).await;
    assert!(!ok, "a changed claimed role must fail");
    let report = validate(&svc, changed.as_bytes(), None).await;
    assert_eq!(
        report.signatures[0].indication,
        Indication::TotalFailed,
        "{report:?}"
    );
    // A capacity XML cannot carry is refused before anything is signed.
    let bell = Capacity {
        organisation: "Rungstedlund\u{7} A/S".into(),
        ..capacity("director")
    };
    assert!(matches!(prepare(&bell), Err(xades::Error::Capacity(_))));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pades_in_a_capacity_is_decoded_by_pyhanko_and_two_board_members_meet_the_rule() {
    let svc = Service::start().await;
    // A director alone, with the capacity in the visible box too.
    let director = key(&svc).await;
    let options = Options {
        capacity: Some(capacity("director")),
        visible: Some(Visible {
            page: 1,
            rect: [300.0, 60.0, 560.0, 140.0],
            signer: "Karen Blixen".into(),
            organisation: None,
            cvr: None,
        }),
        ..Options::default()
    };
    let pdf = sign(
        &svc,
        &director,
        sample_pdf(1, "1.7", 0),
        &options,
        Level::BT,
    )
    .await;
    let found = assert_valid(&svc, &pdf, 1, false, "a director").await;
    // pyHanko decodes the claimed role (RoleSyntax with its directoryName) and the JSON.
    let claimed = &found["signatures"][0]["claimed_attributes"];
    let role = claimed["role"].to_string();
    assert!(
        role.contains("director") && role.contains("NTRDK-35408002"),
        "pyHanko: {found}"
    );
    assert!(
        !claimed.to_string().contains("undecodable"),
        "pyHanko: {found}"
    );
    assert!(
        claimed.to_string().contains("director | board{2}"),
        "pyHanko: {found}"
    );
    let report = validate(&svc, &pdf, None).await;
    assert_eq!(
        report.signatures[0].indication,
        Indication::TotalPassed,
        "{report:?}"
    );
    assert_eq!(
        report.signatures[0].capacity,
        Some(CapacityReport::from(&capacity("director")))
    );
    assert!(report.representation[0].satisfied, "{report:?}");

    // Two board members: one is not enough, two are; the same one twice is one.
    let (first, second) = (key(&svc).await, key(&svc).await);
    let board = Options {
        capacity: Some(capacity("board")),
        ..Options::default()
    };
    let once = sign(&svc, &first, sample_pdf(2, "1.7", 0), &board, Level::BB).await;
    let report = validate(&svc, &once, None).await;
    assert_eq!(
        report.signatures[0].indication,
        Indication::TotalPassed,
        "{report:?}"
    );
    assert_eq!(report.representation.len(), 1, "{report:?}");
    let r = &report.representation[0];
    assert_eq!(r.rule, "director | board{2}");
    assert!(!r.satisfied, "{report:?}");
    assert_eq!(r.missing, ["1 more board", "1 more director"]);

    let again = sign(&svc, &first, once.clone(), &board, Level::BB).await;
    let report = validate(&svc, &again, None).await;
    assert!(
        report
            .signatures
            .iter()
            .all(|s| s.indication == Indication::TotalPassed),
        "{report:?}"
    );
    assert!(!report.representation[0].satisfied, "{report:?}");
    assert_eq!(report.representation[0].signed_as.len(), 1, "{report:?}");

    let twice = sign(&svc, &second, once, &board, Level::BB).await;
    let found = assert_valid(&svc, &twice, 2, false, "two board members").await;
    for s in found["signatures"].as_array().unwrap() {
        assert!(
            s["claimed_attributes"]["role"]
                .to_string()
                .contains("board"),
            "pyHanko: {found}"
        );
    }
    let report = validate(&svc, &twice, None).await;
    assert!(
        report
            .signatures
            .iter()
            .all(|s| s.indication == Indication::TotalPassed),
        "{report:?}"
    );
    assert_eq!(report.representation.len(), 1, "{report:?}");
    let r = &report.representation[0];
    assert!(r.satisfied, "{report:?}");
    assert!(r.missing.is_empty());
    assert_eq!(r.signed_as.len(), 2, "{report:?}");
    svc.stop().await;
}
