//! Validation under a named validation policy, and the ETSI TS 119 102-2 XML report sealed by
//! the service (enveloped XAdES with the validation service's e-seal, the issuing CA in
//! `ds:KeyInfo`, so that the root alone verifies it; B-T with a signature timestamp of the
//! service's TSA when it answers, else B-B).

use sha2::{Digest as _, Sha256};

use super::Validation;
use crate::formats::xades;
use crate::formats::xml::{self, c14n, Limits};
use crate::pki::tsa::{ImprintHash, Source};
use crate::pki::Ca;
use crate::service::{unix_now, Error, ErrorCode};
use crate::validate::etsi::{self, Validator};
use crate::validate::{Policy, Report};

impl Validation {
    /// The validation policy `name` (`None`: `default`).
    ///
    /// # Errors
    /// `unknown_policy`.
    pub fn policy(&self, name: Option<&str>) -> Result<&Policy, Error> {
        self.settings.policies.get(name).ok_or_else(|| {
            let known: Vec<&str> = self
                .settings
                .policies
                .all()
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            Error::new(
                ErrorCode::UnknownPolicy,
                format!(
                    "no validation policy {:?}; known: {}",
                    name.unwrap_or(crate::validate::policy::DEFAULT_POLICY),
                    known.join(", ")
                ),
            )
        })
    }

    /// Validates a signed file as [`Validation::validate_file`] does, under the validation
    /// policy `policy` (`None`: `default`), which the report names.
    ///
    /// # Errors
    /// `unknown_policy` (before any work), and as [`Validation::validate_file`].
    pub async fn validate_under(
        &self,
        file: &[u8],
        content: Option<&[u8]>,
        extra_anchors: &[Vec<u8>],
        policy: Option<&str>,
    ) -> Result<Report, Error> {
        let policy = self.policy(policy)?.clone();
        let mut report = self.check_file(file, content, extra_anchors).await?;
        policy.apply(&mut report);
        Ok(report)
    }

    /// The report as ETSI TS 119 102-2 XML, sealed by the validation service (its e-seal is
    /// made on first use).
    ///
    /// # Errors
    /// HSM and store failures; a report that cannot be written as XML.
    pub async fn etsi_report(&self, report: &Report) -> Result<Vec<u8>, Error> {
        let policy = report
            .policy
            .as_ref()
            .and_then(|used| self.settings.policies.get(Some(used.name.as_str())));
        self.sealed_etsi_report(report, policy).await
    }

    /// [`Validation::etsi_report`] for a report judged under `policy` (which need not be one
    /// of the service's, as with `qsign verify --policy-file`).
    ///
    /// # Errors
    /// As [`Validation::etsi_report`].
    pub async fn sealed_etsi_report(
        &self,
        report: &Report,
        policy: Option<&Policy>,
    ) -> Result<Vec<u8>, Error> {
        let now = unix_now(&self.clock);
        let seal = self.pki.validation_seal(now).await?;
        let issuing = self.pki.ca_certificate(Ca::Issuing).await?;
        let validator = Validator {
            name: crate::pki::common_name(&seal).unwrap_or_else(|| "qsign".to_owned()),
            certificate: Some(seal.clone()),
        };
        let text = etsi::write(report, policy, &validator);
        let prepared = xades::prepare_enveloped(
            text.as_bytes(),
            &seal,
            &[issuing],
            xades::SignatureAlgorithm::EcdsaSha256,
            etsi::MEDIA_TYPE,
            now,
        )
        .map_err(|e| Error::internal(format!("the ETSI report cannot be sealed: {e}")))?;
        let value = self.pki.seal_digest(prepared.to_be_signed).await?;
        let sealed = xades::assemble(&prepared, &value);
        match self.seal_timestamp(&sealed, now).await {
            Ok(stamped) => Ok(stamped),
            Err(why) => {
                tracing::warn!(
                    error = %why,
                    "the ETSI report is sealed without a timestamp (B-B)"
                );
                Ok(sealed)
            }
        }
    }

    /// XAdES B-T for a sealed report: a signature timestamp of the service's TSA over the
    /// exclusive canonical form of the seal's own `ds:SignatureValue`. The report holds the
    /// signature values it reports on too, so the seal's is taken from the root's last child,
    /// the enveloped `ds:Signature`.
    ///
    /// # Errors
    /// In words: the TSA did not answer, or the sealed report cannot be read back.
    async fn seal_timestamp(&self, sealed: &[u8], now: i64) -> Result<Vec<u8>, String> {
        let input = {
            let parsed = xml::parse(sealed, Limits::default()).map_err(|e| e.to_string())?;
            let is = |e: &xml::Element, local: &str| {
                e.ns.as_deref() == Some(xades::DS) && e.local == local
            };
            let value = parsed
                .root
                .elements()
                .last()
                .filter(|s| is(s, "Signature"))
                .and_then(|s| s.elements().find(|e| is(e, "SignatureValue")))
                .ok_or("the seal has no ds:SignatureValue")?;
            c14n::exclusive(value, &|_| false)
        };
        let token = Source::Embedded(self.pki.clone())
            .token(ImprintHash::Sha256, &Sha256::digest(&input), now)
            .await
            .map_err(|e| e.to_string())?;
        xades::add_signature_timestamp(sealed, &token).map_err(|e| e.to_string())
    }
}
