//! Integrity tags of rows written before the records key existed: found once, tagged once.

use super::credentials::credential_columns;
use super::orgs::select_members;
use super::persons::{passkey_columns, person_columns};
use super::{CredentialRow, Error, MemberRow, PasskeyRow, PersonRow, Store};

/// Rows without an integrity tag (written before tags existed).
#[derive(Debug, Clone, Default)]
pub struct Untagged {
    /// Persons.
    pub persons: Vec<PersonRow>,
    /// Passkeys.
    pub passkeys: Vec<PasskeyRow>,
    /// Credentials.
    pub credentials: Vec<CredentialRow>,
    /// Organisation memberships.
    pub members: Vec<MemberRow>,
    /// External subjects as (issuer, subject, person).
    pub externals: Vec<(String, String, String)>,
}

/// Which row a tag belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Tagged<'a> {
    /// A person's password tag, with the TOTP seed as it is to be stored.
    Person {
        /// Person id.
        id: &'a str,
        /// The (sealed) TOTP seed.
        totp_secret: Option<&'a str>,
    },
    /// A passkey by credential id.
    Passkey(&'a str),
    /// A credential by id.
    Credential(&'a str),
    /// A membership.
    Member {
        /// CVR number.
        cvr: &'a str,
        /// Person id.
        person: &'a str,
    },
    /// An external issuer's subject.
    External {
        /// The issuer.
        issuer: &'a str,
        /// Its subject.
        subject: &'a str,
    },
}

impl Store {
    /// Rows written before integrity tags existed (no tag yet): persons with a password,
    /// passkeys, credentials, memberships and external subjects. Read once, when the records
    /// key is created.
    ///
    /// # Errors
    /// Database errors.
    pub async fn untagged(&self) -> Result<Untagged, Error> {
        Ok(Untagged {
            persons: fetch!(
                self,
                fetch_all,
                PersonRow,
                select_from!(person_columns, "persons WHERE password_mac IS NULL")
            )?,
            passkeys: fetch!(
                self,
                fetch_all,
                PasskeyRow,
                select_from!(passkey_columns, "passkeys WHERE mac IS NULL")
            )?,
            credentials: fetch!(
                self,
                fetch_all,
                CredentialRow,
                select_from!(credential_columns, "credentials WHERE mac IS NULL")
            )?,
            members: fetch!(
                self,
                fetch_all,
                MemberRow,
                select_members!("WHERE m.mac IS NULL")
            )?,
            externals: fetch!(
                self,
                fetch_all,
                (String, String, String),
                "SELECT issuer, subject, person_id FROM external_subjects WHERE mac IS NULL"
            )?,
        })
    }

    /// Stores the integrity tag of a row named by `untagged`, and (for a person) the TOTP
    /// seed sealed in place of a plaintext one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_tag(&self, row: Tagged<'_>, mac: &[u8]) -> Result<(), Error> {
        match row {
            Tagged::Person { id, totp_secret } => execute!(
                self,
                "UPDATE persons SET password_mac = $2, totp_secret = $3 WHERE id = $1",
                id,
                mac,
                totp_secret
            )?,
            Tagged::Passkey(id) => execute!(
                self,
                "UPDATE passkeys SET mac = $2 WHERE credential_id = $1",
                id,
                mac
            )?,
            Tagged::Credential(id) => execute!(
                self,
                "UPDATE credentials SET mac = $2 WHERE id = $1",
                id,
                mac
            )?,
            Tagged::External { issuer, subject } => execute!(
                self,
                "UPDATE external_subjects SET mac = $3 WHERE issuer = $1 AND subject = $2",
                issuer,
                subject,
                mac
            )?,
            Tagged::Member { cvr, person } => execute!(
                self,
                "UPDATE org_members SET mac = $3 WHERE cvr = $1 AND person = $2",
                cvr,
                person,
                mac
            )?,
        };
        Ok(())
    }
}
