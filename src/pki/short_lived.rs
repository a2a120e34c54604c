//! Short-lived certificates: a natural-person certificate (EN 319 412-2, the same subject and
//! policies as a long-term one) for a key made in the HSM for one signing operation, valid for
//! minutes, that says how the signer authenticated for the approval it serves.
//!
//! How the signer authenticated goes in the authentication context extension of RFC 7773
//! (`1.2.752.201.5.1`, non-critical), with the SAML authentication context profile (SACI) that
//! the Swedish signing services use: `AuthnContextClassRef` is the level of assurance of the
//! login behind the approval (the NSIS URI, `https://data.gov.dk/concept/core/nsis/loa/High`),
//! `AuthenticationInstant` when the signer approved, `IdentityProvider` who authenticated them
//! and `AssertionRef` the approval's id (the SAD id, which the audit log records). A verifier
//! that does not know the extension can ignore it; the certificate is otherwise an ordinary
//! user certificate, kept in the certificate store (so CRL and OCSP answer for it) under the
//! role [`SHORT_LIVED_ROLE`].

use std::time::Duration;

use der::asn1::{ObjectIdentifier, OctetString};
use der::Encode;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::name::Name;

use super::profile::{enc, Kind, Profile};
use super::{Ca, Error, Issue, Issued, NaturalPerson, Pki, Role, Subject};
use crate::audit::Context;
use crate::formats::asn1::auth_context::{
    AuthenticationContext, AuthenticationContexts, AUTH_CONTEXT, SACI,
};
use crate::formats::asn1::oid;

/// The role short-lived certificates are stored under in the certificate store.
pub const SHORT_LIVED_ROLE: &str = "short_lived";

/// How the signer authenticated for the approval a short-lived certificate serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// Who authenticated the signer: the identity provider's issuer.
    pub identity_provider: String,
    /// When the signer approved, Unix seconds.
    pub instant: i64,
    /// The level of assurance of that login, as its URI.
    pub loa: String,
    /// The approval's id (the SAD id).
    pub assertion: String,
}

/// The user profile with the authentication context added.
struct ShortLived {
    base: Profile,
    context: Extension,
}

impl BuilderProfile for ShortLived {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.base.get_issuer(subject)
    }

    fn get_subject(&self) -> Name {
        self.base.get_subject()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut extensions = self.base.build_extensions(spk, issuer_spk, tbs)?;
        extensions.push(self.context.clone());
        Ok(extensions)
    }
}

impl Pki {
    /// Issues a short-lived certificate under the issuing CA for `spki_der` (a key made in the
    /// HSM for one operation), valid from `now` for `lifetime`, naming `person` as a long-term
    /// natural-person certificate does and carrying `authentication` (RFC 7773).
    ///
    /// # Errors
    /// [`Error::InvalidSubject`], [`Error::InvalidPublicKey`], HSM and store failures.
    #[allow(
        clippy::too_many_arguments,
        reason = "one certificate's parts, as the other issue functions take them"
    )]
    pub async fn issue_short_lived(
        &self,
        spki_der: &[u8],
        person: &NaturalPerson,
        signature_policy: Option<ObjectIdentifier>,
        lifetime: Duration,
        authentication: &Authentication,
        ctx: &Context,
        now: i64,
    ) -> Result<Issued, Error> {
        let issuing = self.service_cert(Role::Issuing).await?;
        let (qc_type, mut policies) = if person.qualified {
            (Some(oid::QC_TYPE_ESIGN), vec![oid::QCP_N_QSCD])
        } else {
            (None, vec![oid::NCP_PLUS])
        };
        policies.extend(signature_policy);
        let base = Profile {
            kind: Kind::User {
                qc_type,
                policies,
                pds_url: self.settings.pds_url.clone(),
            },
            subject: Subject::NaturalPerson(person.clone()).name()?,
            issuer: issuing.tbs_certificate().subject().clone(),
            urls: Some(self.urls(Ca::Issuing)),
            policy: self.settings.policy_oid,
        };
        let profile = ShortLived {
            base,
            context: context_extension(authentication)?,
        };
        let what = Issue {
            role: SHORT_LIVED_ROLE,
            issuer: Ca::Issuing,
            validity: lifetime,
        };
        self.build(profile, &what, spki_der, ctx, now).await
    }
}

/// The RFC 7773 extension with one SACI context.
fn context_extension(authentication: &Authentication) -> Result<Extension, Error> {
    let contexts: AuthenticationContexts = vec![AuthenticationContext {
        context_type: SACI.to_owned(),
        context_info: Some(saci(authentication)?),
    }];
    Ok(Extension {
        extn_id: AUTH_CONTEXT,
        critical: false,
        extn_value: OctetString::new(contexts.to_der().map_err(enc)?).map_err(enc)?,
    })
}

/// The `saci:SAMLAuthContext` element with its `AuthContextInfo`.
fn saci(a: &Authentication) -> Result<String, Error> {
    let instant = time::OffsetDateTime::from_unix_timestamp(a.instant)
        .map_err(|_| Error::Encoding("authentication instant out of range".into()))?;
    let instant = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        instant.year(),
        u8::from(instant.month()),
        instant.day(),
        instant.hour(),
        instant.minute(),
        instant.second()
    );
    Ok(format!(
        "<saci:SAMLAuthContext xmlns:saci=\"{SACI}\"><saci:AuthContextInfo \
         IdentityProvider=\"{}\" AuthenticationInstant=\"{instant}\" ServiceID=\"qsign\" \
         AuthnContextClassRef=\"{}\" AssertionRef=\"{}\"/></saci:SAMLAuthContext>",
        attribute(&a.identity_provider),
        attribute(&a.loa),
        attribute(&a.assertion)
    ))
}

/// An XML attribute value, escaped.
fn attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push_str(&format!("&#{};", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_names_the_level_the_time_and_the_approval_escaped() {
        let xml = saci(&Authentication {
            identity_provider: "https://qsign.example/idp?a=1&b=\"2\"".into(),
            instant: 1_700_000_000,
            loa: "https://data.gov.dk/concept/core/nsis/loa/High".into(),
            assertion: "0b7f0c59".into(),
        })
        .unwrap();
        assert!(
            xml.contains("AuthnContextClassRef=\"https://data.gov.dk/concept/core/nsis/loa/High\"")
        );
        assert!(
            xml.contains("AuthenticationInstant=\"2023-11-14T22:13:20Z\""),
            "{xml}"
        );
        assert!(
            xml.contains("IdentityProvider=\"https://qsign.example/idp?a=1&amp;b=&quot;2&quot;\"")
        );
        assert!(xml.contains("AssertionRef=\"0b7f0c59\""));
    }
}
