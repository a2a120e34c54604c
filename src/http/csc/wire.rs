//! The bodies of the CSC API as types, with the member names as the CSC v2 specification
//! spells them (`credentialID`, `SAD`, `hashAlgorithmOID`, `signAlgo`, …) and, where widely
//! used clients still send them, the v1.0.4 names as aliases (`hash`, `hashAlgo`). Optional
//! members a reply leaves out are skipped rather than sent as `null`.
//!
//! `docs/openapi.json` documents exactly these members: the unit test in `http::wire` checks
//! it against the samples below.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::service::Hashes;

/// `credentials/list` request. Every member is optional, and so is the body.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListRequest {
    /// Must be the caller when given.
    #[serde(rename = "userID", alias = "userId")]
    pub(super) user_id: Option<String>,
    pub(super) credential_info: bool,
    /// `none`, `single` (the default) or `chain`.
    pub(super) certificates: Option<String>,
    pub(super) cert_info: bool,
    pub(super) auth_info: bool,
    pub(super) only_valid: bool,
    pub(super) max_results: Option<u32>,
}

/// `credentials/info` request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoRequest {
    #[serde(rename = "credentialID")]
    pub(super) credential_id: String,
    #[serde(default)]
    pub(super) certificates: Option<String>,
    #[serde(default)]
    pub(super) cert_info: bool,
    #[serde(default)]
    pub(super) auth_info: bool,
}

/// Declares a request about hashes to sign: its members are the credential (or, for a
/// short-lived certificate, the signature qualifier), the number of signatures, the hashes,
/// their algorithm and what they stand for, then its own; its `hashes()` gives the credential
/// and the next four to the service.
macro_rules! hashes_request {
    ($(#[$attr:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $(#[$attr])*
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Empty when left out: then `signatureQualifier` must be there.
            #[serde(default, rename = "credentialID")]
            pub(super) credential_id: String,
            /// A short-lived certificate's qualifier (`eu_eidas_qes`, `eu_eidas_aes`), in
            /// place of `credentialID`.
            #[serde(default, rename = "signatureQualifier")]
            pub(super) signature_qualifier: Option<String>,
            #[serde(default)]
            pub(super) num_signatures: Option<u32>,
            #[serde(default, alias = "hash")]
            pub(super) hashes: Vec<String>,
            #[serde(default, rename = "hashAlgorithmOID", alias = "hashAlgo")]
            pub(super) hash_algorithm: Option<String>,
            /// What the hashes stand for; shown to the signer and recorded.
            #[serde(default)]
            pub(super) description: Option<String>,
            $($own)*
        }

        impl $name {
            /// The credential and the hashes, as the service takes them.
            pub(super) fn hashes(&self) -> Hashes {
                Hashes {
                    credential_id: self.credential_id.clone(),
                    hash_algorithm: self.hash_algorithm.clone(),
                    hashes: self.hashes.clone(),
                    num_signatures: self.num_signatures,
                    label: self.description.clone(),
                }
            }
        }
    };
}

hashes_request! {
    /// `credentials/getChallenge` request (a qsign extension): the credential and the hashes a
    /// passkey activation will cover.
    pub struct ChallengeRequest {}
}

/// One `authData` entry (CSC v2).
#[derive(Debug, Deserialize)]
pub struct AuthData {
    /// `OTP`, `PIN`, `challengeID` or `webauthn` (any case).
    pub(super) id: String,
    /// A string; for `webauthn` also the assertion as an object.
    pub(super) value: Value,
}

hashes_request! {
    /// `credentials/authorize` request: the hashes and the activation factor, from the v2
    /// `authData` entries or the v1.0.4 members `OTP`, `PIN`, or qsign's `challengeID` and
    /// `webauthn`; without any, the access token must carry the approval.
    pub struct AuthorizeRequest {
        #[serde(default, rename = "authData")]
        pub(super) auth_data: Vec<AuthData>,
        #[serde(default, rename = "PIN")]
        pub(super) pin: Option<String>,
        #[serde(default, rename = "OTP")]
        pub(super) otp: Option<String>,
        #[serde(default, rename = "challengeID")]
        pub(super) challenge_id: Option<String>,
        #[serde(default)]
        pub(super) webauthn: Option<Value>,
        /// qsign: `oob` (or CSC's `implicit`) asks the person to approve on their own phone:
        /// the answer is 202 with a `handle` for `credentials/authorizeCheck` (see `oob`).
        #[serde(default, rename = "authMode")]
        pub(super) auth_mode: Option<String>,
        /// qsign, with `authMode` `oob`: what each hash stands for, shown to the person.
        #[serde(default)]
        pub(super) labels: Option<Vec<String>>,
    }
}

/// `signatures/signHash` request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignHashRequest {
    /// Empty when left out: then `signatureQualifier` must be there.
    #[serde(default, rename = "credentialID")]
    pub(super) credential_id: String,
    /// In place of `credentialID`: sign with a key made for this operation under a
    /// short-lived certificate of this qualifier (`eu_eidas_qes`, `eu_eidas_aes`).
    #[serde(default, rename = "signatureQualifier")]
    pub(super) signature_qualifier: Option<String>,
    /// May be left out when the access token carries the approval.
    #[serde(default, rename = "SAD")]
    pub(super) sad: Option<String>,
    #[serde(default, alias = "hash")]
    pub(super) hashes: Vec<String>,
    #[serde(default, rename = "hashAlgorithmOID", alias = "hashAlgo")]
    pub(super) hash_algorithm: Option<String>,
    pub(super) sign_algo: String,
    /// `S` (synchronous, the default) or `A` (asynchronous: 202 with a `responseID`).
    #[serde(default)]
    pub(super) operation_mode: Option<String>,
    /// Asynchronous only: milliseconds the result is kept after the operation ends.
    #[serde(default, rename = "validity_period")]
    pub(super) validity_period: Option<u64>,
    /// Asynchronous only: where the result is sent, one of the URIs registered for the OAuth
    /// client of the access token.
    #[serde(default, rename = "response_uri")]
    pub(super) response_uri: Option<String>,
}

/// One document of a `signatures/signDoc` request (CSC v2 names its members in snake case).
#[derive(Debug, Deserialize)]
pub struct SignDocDocument {
    /// The document, base64.
    pub(super) document: String,
    /// `C` (CAdES), `X` (XAdES) or `P` (PAdES).
    pub(super) signature_format: String,
    /// `Ades-B-B`, `Ades-B-T`, `Ades-B-LT` or `Ades-B-LTA` (also without `B-`).
    #[serde(default)]
    pub(super) conformance_level: Option<String>,
    /// `Attached` or `Detached` for CAdES; `Enveloped`, `Enveloping` or `Detached` for
    /// XAdES; `Revision` or `Certification` for PAdES.
    #[serde(default)]
    pub(super) signed_envelope_property: Option<String>,
    /// PAdES extension of qsign: reason, location, contact info and a visible field
    /// (`{"page": 1, "rect": [x1, y1, x2, y2]}`).
    #[serde(default, rename = "qsign_pdf")]
    pub(super) pdf: Option<PdfExtension>,
    #[serde(default, rename = "signAlgo")]
    pub(super) sign_algo: Option<String>,
}

/// The PAdES options a `signDoc` document may carry (a qsign extension).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfExtension {
    #[serde(default)]
    pub(super) reason: Option<String>,
    #[serde(default)]
    pub(super) location: Option<String>,
    #[serde(default)]
    pub(super) contact_info: Option<String>,
    #[serde(default)]
    pub(super) visible: Option<VisibleField>,
}

/// A visible signature field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisibleField {
    /// From 1.
    #[serde(default = "first_page")]
    pub(super) page: u32,
    /// `[x1, y1, x2, y2]` in points.
    pub(super) rect: [f64; 4],
}

const fn first_page() -> u32 {
    1
}

/// `signatures/signDoc` request.
#[derive(Debug, Deserialize)]
pub struct SignDocRequest {
    /// Empty when left out: then `signatureQualifier` must be there.
    #[serde(default, rename = "credentialID")]
    pub(super) credential_id: String,
    /// In place of `credentialID`: sign with a key made for this operation under a
    /// short-lived certificate of this qualifier (`eu_eidas_qes`, `eu_eidas_aes`).
    #[serde(default, rename = "signatureQualifier")]
    pub(super) signature_qualifier: Option<String>,
    /// May be left out when the access token carries the approval.
    #[serde(default, rename = "SAD")]
    pub(super) sad: Option<String>,
    #[serde(default)]
    pub(super) documents: Vec<SignDocDocument>,
    /// `S` (synchronous, the default) or `A` (asynchronous: 202 with a `responseID`).
    #[serde(default, rename = "operationMode")]
    pub(super) operation_mode: Option<String>,
    /// Answer `validationInfo` (certificates, CRLs, OCSP responses) for the credential.
    #[serde(default, rename = "returnValidationInfo")]
    pub(super) return_validation_info: bool,
    /// Asynchronous only: milliseconds the result is kept after the operation ends.
    #[serde(default)]
    pub(super) validity_period: Option<u64>,
    /// Asynchronous only: where the result is sent, one of the URIs registered for the OAuth
    /// client of the access token.
    #[serde(default)]
    pub(super) response_uri: Option<String>,
}

/// `signatures/signPolling` request: the `responseID` of an asynchronous `signHash` or
/// `signDoc`.
#[derive(Debug, Deserialize)]
pub struct PollRequest {
    #[serde(rename = "responseID")]
    pub(super) response_id: String,
}

/// `signatures/timestamp` request.
#[derive(Debug, Deserialize)]
pub struct TimestampRequest {
    /// The hash to timestamp, base64.
    pub(super) hash: String,
    #[serde(default, rename = "hashAlgorithmOID", alias = "hashAlgo")]
    pub(super) hash_algorithm: Option<String>,
}

/// `auth/login` reply (OAuth 2.0 member names, as CSC keeps them).
#[derive(Debug, Serialize)]
pub struct LoginResponse {
    pub(super) access_token: String,
    /// Seconds.
    pub(super) expires_in: u64,
}

/// `info` reply.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoResponse {
    pub(super) specs: &'static str,
    pub(super) name: &'static str,
    pub(super) logo: String,
    pub(super) region: &'static str,
    pub(super) lang: &'static str,
    pub(super) description: &'static str,
    pub(super) auth_type: &'static [&'static str],
    pub(super) oauth2: String,
    pub(super) oauth2_issuer: String,
    /// The pushed authorization request endpoint (RFC 9126), a qsign extension.
    #[serde(rename = "oauth2PAR")]
    pub(super) oauth2_par: String,
    pub(super) asynchronous_operation_mode: bool,
    pub(super) methods: &'static [&'static str],
    pub(super) validation_info: bool,
}

/// `credentials/list` reply.
#[derive(Debug, Serialize)]
pub struct ListResponse {
    #[serde(rename = "credentialIDs")]
    pub(super) credential_ids: Vec<String>,
    /// Only when `credentialInfo` was asked for.
    #[serde(rename = "credentialInfos", skip_serializing_if = "Option::is_none")]
    pub(super) credential_infos: Option<Vec<ListedCredential>>,
    #[serde(rename = "onlyValid")]
    pub(super) only_valid: bool,
}

/// A credential in `credentialInfos`: its id and its `credentials/info` description.
#[derive(Debug, Serialize)]
pub struct ListedCredential {
    #[serde(rename = "credentialID")]
    pub(super) credential_id: String,
    #[serde(flatten)]
    pub(super) info: CredentialInfoResponse,
}

/// `credentials/info` reply: the CSC description of a credential, with qsign's `kind`, `cvr`,
/// `policy` and `activation`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfoResponse {
    pub(super) description: String,
    /// `personal`, `employee` or `seal`.
    pub(super) kind: &'static str,
    /// The organisation's CVR number; `null` for a personal credential.
    pub(super) cvr: Option<String>,
    /// `eu_eidas_qes` or `eu_eidas_aes`.
    pub(super) signature_qualifier: &'static str,
    pub(super) policy: String,
    pub(super) key: KeyInfo,
    pub(super) cert: CertInfo,
    /// `explicit` or `oauth2code`; `implicit` for a system client's seal.
    pub(super) auth_mode: &'static str,
    /// `1` or `2`.
    #[serde(rename = "SCAL")]
    pub(super) scal: &'static str,
    pub(super) multisign: u32,
    pub(super) lang: &'static str,
    /// qsign's activation methods for this credential, strongest first.
    pub(super) activation: &'static [&'static str],
    /// Only when `authInfo` was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) auth: Option<AuthInfo>,
    /// CSC v1.0.4: the one-time code a client sends (explicit mode, with `authInfo`).
    #[serde(rename = "OTP", skip_serializing_if = "Option::is_none")]
    pub(super) otp: Option<OtpInfo>,
}

/// The key of a credential.
#[derive(Debug, Serialize)]
pub struct KeyInfo {
    /// `enabled` or `disabled`.
    pub(super) status: &'static str,
    /// The `signAlgo` OIDs the key can use.
    pub(super) algo: &'static [&'static str],
    /// Bits.
    pub(super) len: u32,
    /// The named curve's OID, for EC keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) curve: Option<&'static str>,
}

/// The certificate of a credential.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertInfo {
    /// `valid`, `suspended` or `revoked`.
    pub(super) status: &'static str,
    /// Base64 DER: none, the credential's, or the chain (`certificates`).
    pub(super) certificates: Vec<String>,
    /// With `certInfo`.
    #[serde(rename = "issuerDN", skip_serializing_if = "Option::is_none")]
    pub(super) issuer_dn: Option<String>,
    #[serde(rename = "subjectDN", skip_serializing_if = "Option::is_none")]
    pub(super) subject_dn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) serial_number: Option<String>,
    /// `YYYYMMDDHHMMSSZ`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) valid_to: Option<String>,
}

/// CSC v2 `auth`: how the credential is activated.
#[derive(Debug, Serialize)]
pub struct AuthInfo {
    /// `explicit` or `oauth2code`.
    pub(super) mode: &'static str,
    /// Explicit mode: which objects to send (`OTP`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) expression: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) objects: Option<Vec<AuthObject>>,
}

impl AuthInfo {
    /// Explicit mode: the one-time code of the signer's authenticator app (`OTP`).
    pub(super) fn explicit_otp() -> Self {
        Self {
            mode: "explicit",
            expression: Some("OTP"),
            objects: Some(vec![AuthObject {
                kind: "Password",
                id: "OTP",
                format: "N",
                generator: "totp",
                label: OTP_LABEL,
                description: OTP_DESCRIPTION,
            }]),
        }
    }

    /// The OAuth 2.0 authorization-code flow.
    pub(super) const fn oauth2code() -> Self {
        Self {
            mode: "oauth2code",
            expression: None,
            objects: None,
        }
    }
}

/// What a signer's authenticator app shows, for the explicit mode's descriptions.
const OTP_LABEL: &str = "One-time code";
const OTP_DESCRIPTION: &str = "The 6-digit code of your authenticator app";

/// An object of explicit mode.
#[derive(Debug, Serialize)]
pub struct AuthObject {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) id: &'static str,
    pub(super) format: &'static str,
    pub(super) generator: &'static str,
    pub(super) label: &'static str,
    pub(super) description: &'static str,
}

/// CSC v1.0.4 `OTP`.
#[derive(Debug, Serialize)]
pub struct OtpInfo {
    pub(super) presence: &'static str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) format: &'static str,
    pub(super) label: &'static str,
    #[serde(rename = "ID")]
    pub(super) id: &'static str,
    pub(super) provider: &'static str,
    pub(super) description: &'static str,
}

impl OtpInfo {
    /// The one-time code of the signer's authenticator app, entered online.
    pub(super) const fn totp() -> Self {
        Self {
            presence: "true",
            kind: "online",
            format: "N",
            label: OTP_LABEL,
            id: "totp",
            provider: "qsign",
            description: OTP_DESCRIPTION,
        }
    }
}

/// `credentials/getChallenge` reply: the challenge id and the options for
/// `navigator.credentials.get`.
#[derive(Debug, Serialize)]
pub struct ChallengeResponse {
    #[serde(rename = "challengeID")]
    pub(super) challenge_id: String,
    #[serde(rename = "publicKey")]
    pub(super) public_key: Value,
}

/// `credentials/authorize` reply.
#[derive(Debug, Serialize)]
pub struct AuthorizeResponse {
    #[serde(rename = "SAD")]
    pub(super) sad: String,
    /// Seconds.
    #[serde(rename = "expiresIn")]
    pub(super) expires_in: i64,
}

/// `signatures/signHash` reply: base64 signatures in the order of the hashes.
#[derive(Debug, Serialize)]
pub struct SignHashResponse {
    pub(super) signatures: Vec<String>,
    /// Under a short-lived certificate (`signatureQualifier`): the certificate, then the
    /// issuing CA and the root, base64 DER (a qsign extension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) certificates: Option<Vec<String>>,
}

/// `signatures/signDoc` reply: base64, each in request order.
#[derive(Debug, Serialize)]
pub struct SignDocResponse {
    /// Attached and enveloped signatures: the signed documents.
    #[serde(rename = "DocumentWithSignature")]
    pub(super) document_with_signature: Vec<String>,
    /// Detached signatures.
    #[serde(rename = "SignatureObject")]
    pub(super) signature_object: Vec<String>,
    /// With `returnValidationInfo`.
    #[serde(rename = "validationInfo", skip_serializing_if = "Option::is_none")]
    pub(super) validation_info: Option<ValidationInfo>,
    /// Under a short-lived certificate (`signatureQualifier`): the certificate, then the
    /// issuing CA and the root, base64 DER (a qsign extension, as for `signHash`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) certificates: Option<Vec<String>>,
}

/// CSC `validationInfo`: what a verifier needs for the signer's certificate, base64 DER each.
#[derive(Debug, Serialize)]
pub struct ValidationInfo {
    /// OCSP responses (`OCSPResponse`) on the signer's certificate.
    pub(super) ocsp: Vec<String>,
    /// CRLs of the issuing CA and the root.
    pub(super) crl: Vec<String>,
    /// The signer's, CA, TSA and OCSP-responder certificates.
    pub(super) certificates: Vec<String>,
}

/// The answer to an asynchronous `signHash` or `signDoc` (HTTP 202), and to `signPolling`
/// while the operation runs (HTTP 202 again).
#[derive(Debug, Serialize)]
pub struct AcceptedResponse {
    #[serde(rename = "responseID")]
    pub(super) response_id: String,
}

/// `signatures/signPolling` reply once the operation has ended: what the synchronous call
/// would have answered, `signatures` for `signHash`, `DocumentWithSignature` and
/// `SignatureObject` for `signDoc`.
#[derive(Debug, Serialize)]
pub struct PollResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) signatures: Option<Vec<String>>,
    #[serde(
        rename = "DocumentWithSignature",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) document_with_signature: Option<Vec<String>>,
    #[serde(rename = "SignatureObject", skip_serializing_if = "Option::is_none")]
    pub(super) signature_object: Option<Vec<String>>,
}

/// `signatures/timestamp` reply: the RFC 3161 token, base64.
#[derive(Debug, Serialize)]
pub struct TimestampResponse {
    pub(super) timestamp: String,
}

#[cfg(test)]
mod samples {
    use serde_json::json;

    use super::*;
    use crate::http::wire::{request_samples, response_samples, ResponseBody};

    const CREDENTIAL: &str = "0b7f0c59-31c5-4cb5-9a4c-0d6c3c6e2f1a";
    const SHA256: &str = "2.16.840.1.101.3.4.2.1";
    const HASH: &str = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
    const SAD: &str = "eyJhbGciOiJFUzI1NiJ9.e30.AAAA";
    const ES256: &str = "1.2.840.10045.4.3.2";
    const RESPONSE_URI: &str = "https://app.example.dk/signed";
    const RESPONSE_ID: &str = "5d0c7a35-9d4e-4a57-8f0b-2f1e6c3b9a10";

    request_samples! {
        ListRequest => json!({"userID": "2c8e7f4e-6f0b-4d8e-9d43-5b7c1e0f9a21",
            "credentialInfo": true, "certificates": "chain", "certInfo": true, "authInfo": true,
            "onlyValid": true, "maxResults": 10});
        InfoRequest => json!({"credentialID": CREDENTIAL, "certificates": "single",
            "certInfo": true, "authInfo": true});
        ChallengeRequest => json!({"credentialID": CREDENTIAL,
            "signatureQualifier": "eu_eidas_qes", "numSignatures": 1,
            "hashes": [HASH], "hashAlgorithmOID": SHA256, "description": "tenancy agreement"});
        AuthData => json!({"id": "OTP", "value": "123456"});
        AuthorizeRequest => json!({"credentialID": CREDENTIAL,
            "signatureQualifier": "eu_eidas_aes", "numSignatures": 1,
            "hashes": [HASH], "hashAlgorithmOID": SHA256, "description": "tenancy agreement",
            "authData": [{"id": "OTP", "value": "123456"}], "PIN": "1234", "OTP": "123456",
            "challengeID": "f3b1", "webauthn": {}, "authMode": "oob", "labels": ["Lease.pdf"]}),
            members: ["authData" => AuthData];
        SignHashRequest => json!({"credentialID": CREDENTIAL, "signatureQualifier": "eu_eidas_aes", "SAD": SAD, "hashes": [HASH],
            "hashAlgorithmOID": SHA256, "signAlgo": ES256, "operationMode": "A",
            "validity_period": 600_000, "response_uri": RESPONSE_URI});
        VisibleField => json!({"page": 1, "rect": [50.0, 50.0, 250.0, 110.0]});
        PdfExtension => json!({"reason": "Agreed", "location": "Aarhus",
            "contact_info": "karen@example.dk", "visible": VisibleField::sample()}),
            members: ["visible" => VisibleField];
        SignDocDocument => json!({"document": "JVBERi0xLjcK", "signature_format": "P",
            "conformance_level": "Ades-B-T", "signed_envelope_property": "Certification",
            "qsign_pdf": PdfExtension::sample(), "signAlgo": ES256}),
            members: ["qsign_pdf" => PdfExtension];
        SignDocRequest => json!({"credentialID": CREDENTIAL,
            "signatureQualifier": "eu_eidas_qes", "SAD": SAD,
            "documents": [SignDocDocument::sample()], "operationMode": "A",
            "validity_period": 600_000, "response_uri": RESPONSE_URI, "returnValidationInfo": true}),
            members: ["documents" => SignDocDocument];
        PollRequest => json!({"responseID": RESPONSE_ID});
        TimestampRequest => json!({"hash": HASH, "hashAlgorithmOID": SHA256});
    }

    /// A credential described with everything (`full`) or with nothing optional; `auth`
    /// alone gives the SCAL2 form of `auth`.
    fn credential(full: bool, auth: bool) -> CredentialInfoResponse {
        let some = |s: &str| full.then(|| s.to_owned());
        CredentialInfoResponse {
            description: "Qualified signature (personal)".into(),
            kind: "personal",
            cvr: some("12345678"),
            signature_qualifier: "eu_eidas_qes",
            policy: "qualified".into(),
            key: KeyInfo {
                status: "enabled",
                algo: &["1.2.840.10045.4.3.2"],
                len: 256,
                curve: full.then_some("1.2.840.10045.3.1.7"),
            },
            cert: CertInfo {
                status: "valid",
                certificates: vec!["MIIB".into()],
                issuer_dn: some("CN=qsign CA"),
                subject_dn: some("CN=Karen Blixen"),
                serial_number: some("1f"),
                valid_from: some("20250101000000Z"),
                valid_to: some("20280101000000Z"),
            },
            auth_mode: "explicit",
            scal: "1",
            multisign: 10,
            lang: "en-US",
            activation: &["webauthn", "totp"],
            auth: if full {
                Some(AuthInfo::explicit_otp())
            } else {
                auth.then(AuthInfo::oauth2code)
            },
            otp: full.then(OtpInfo::totp),
        }
    }

    response_samples! {
        LoginResponse => [LoginResponse { access_token: SAD.into(), expires_in: 3600 }];
        InfoResponse => [InfoResponse {
            specs: "2.0.0.2",
            name: "qsign",
            logo: "https://qsign.example/static/logo.svg".into(),
            region: "DK",
            lang: "en-US",
            description: "Remote qualified signing",
            auth_type: &["basic"],
            oauth2: "https://qsign.example/idp".into(),
            oauth2_issuer: "https://qsign.example/idp".into(),
            oauth2_par: "https://qsign.example/idp/par".into(),
            asynchronous_operation_mode: false,
            methods: &["signatures/signHash"],
            validation_info: false,
        }];
        CredentialInfoResponse => [
            credential(true, true),
            credential(false, true),
            credential(false, false),
        ];
        ListResponse => [
            ListResponse {
                credential_ids: vec![CREDENTIAL.into()],
                credential_infos: Some(vec![ListedCredential {
                    credential_id: CREDENTIAL.into(),
                    info: credential(true, true),
                }]),
                only_valid: false,
            },
            ListResponse { credential_ids: Vec::new(), credential_infos: None, only_valid: true },
        ];
        ChallengeResponse => [ChallengeResponse {
            challenge_id: "f3b1".into(),
            public_key: json!({}),
        }];
        AuthorizeResponse => [AuthorizeResponse { sad: SAD.into(), expires_in: 300 }];
        SignHashResponse => [
            SignHashResponse { signatures: vec!["MEUCIQ".into()], certificates: None },
            SignHashResponse {
                signatures: vec!["MEUCIQ".into()],
                certificates: Some(vec!["MIIB".into(), "MIIC".into(), "MIID".into()]),
            },
        ];
        SignDocResponse => [
            SignDocResponse {
                document_with_signature: vec!["MIAG".into()],
                signature_object: Vec::new(),
                validation_info: None,
                certificates: None,
            },
            SignDocResponse {
                document_with_signature: Vec::new(),
                signature_object: vec!["MIAG".into()],
                validation_info: Some(ValidationInfo {
                    ocsp: vec!["MIIE".into()],
                    crl: vec!["MIIC".into(), "MIIB".into()],
                    certificates: vec!["MIIB".into()],
                }),
                certificates: Some(vec!["MIIB".into(), "MIIC".into(), "MIID".into()]),
            },
        ];
        TimestampResponse => [TimestampResponse { timestamp: "MIAG".into() }];
        AcceptedResponse => [AcceptedResponse { response_id: RESPONSE_ID.into() }];
        PollResponse => [
            PollResponse {
                signatures: Some(vec!["MEUCIQ".into()]),
                document_with_signature: None,
                signature_object: None,
            },
            PollResponse {
                signatures: None,
                document_with_signature: Some(vec!["JVBERi0xLjcK".into()]),
                signature_object: Some(Vec::new()),
            },
        ];
    }

    /// The wire names are the CSC v2 spellings, and the v1.0.4 ones are accepted beside them.
    #[test]
    fn members_have_their_csc_names_and_v1_aliases() {
        let v1: SignHashRequest = serde_json::from_value(json!({"credentialID": CREDENTIAL,
            "hash": [HASH], "hashAlgo": SHA256, "signAlgo": "1.2.840.10045.4.3.2"}))
        .unwrap();
        assert_eq!(v1.hashes, [HASH]);
        assert_eq!(v1.hash_algorithm.as_deref(), Some(SHA256));
        let listed = serde_json::to_value(&ListResponse::samples()[0]).unwrap();
        let info = &listed["credentialInfos"][0];
        for key in [
            "credentialID",
            "signatureQualifier",
            "authMode",
            "SCAL",
            "OTP",
        ] {
            assert!(info.get(key).is_some(), "{key} in {info}");
        }
        assert!(info["cert"].get("issuerDN").is_some());
        let minimal = serde_json::to_value(credential(false, false)).unwrap();
        assert_eq!(minimal["cvr"], Value::Null);
        assert!(minimal.get("auth").is_none() && minimal["key"].get("curve").is_none());
        let sad = serde_json::to_value(&AuthorizeResponse::samples()[0]).unwrap();
        assert_eq!(
            sad,
            json!({"SAD": "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "expiresIn": 300})
        );
    }
}
