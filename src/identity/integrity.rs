//! Integrity of what the database keeps for logins: TOTP seeds sealed under the HSM data key,
//! and the one-time tagging of rows written before integrity tags existed
//! ([`Identity::tag_existing`]).

use zeroize::Zeroizing;

use super::{Error, Identity};
use crate::hsm::Record;
use crate::store::{CredentialRow, MemberRow, PersonRow};

/// Marks a TOTP seed sealed under the HSM data key in the database.
const SEALED_PREFIX: &str = "sealed:";

/// What a credential row's integrity tag covers: who owns it, under which policy, for whom it
/// acts, its key and its status. The one definition for the tags `keys` writes and those
/// [`Identity::tag_existing`] writes once.
pub(crate) fn credential_record(row: &CredentialRow) -> Record<'_> {
    Record::Credential {
        id: &row.id,
        person: &row.person,
        policy: &row.policy,
        kind: &row.kind,
        cvr: row.cvr.as_deref(),
        algorithm: &row.algorithm,
        wrapped: &row.wrapped,
        status: &row.status,
    }
}

/// What an organisation membership's integrity tag covers: the pseudonym only when the member
/// is anonymous (a pseudonym without the flag, or the flag without a pseudonym, is no
/// anonymity). The one definition for the tags `keys` writes with every change of a membership
/// and for those [`Identity::tag_existing`] writes once.
pub(crate) fn membership_record(m: &MemberRow) -> Record<'_> {
    Record::Membership {
        cvr: &m.cvr,
        person: &m.person,
        admin: m.admin,
        sign_on_behalf: m.sign_on_behalf,
        use_seal: m.use_seal,
        pseudonym: m.pseudonym.as_deref().filter(|_| m.anonymous),
    }
}

impl Identity {
    /// Seals a TOTP seed under the HSM data key, bound to the person: what the database keeps.
    pub(super) async fn seal_secret(&self, person: &str, secret: &str) -> Result<String, Error> {
        let sealed = self
            .hsm
            .seal(secret.as_bytes().to_vec(), person.as_bytes().to_vec())
            .await?;
        Ok(format!(
            "{SEALED_PREFIX}{}",
            data_encoding::BASE64URL_NOPAD.encode(&sealed)
        ))
    }

    /// Once, when the records key is created (`qsign init` or `serve` on an existing
    /// database): tags the rows written before integrity tags existed, and seals TOTP seeds
    /// still stored in plaintext. Only then: afterwards an untagged row or an unsealed seed is
    /// one written without the HSM, and is refused.
    ///
    /// Answers how many rows were tagged.
    ///
    /// # Errors
    /// Store and HSM failures.
    pub async fn tag_existing(&self) -> Result<usize, Error> {
        use crate::store::Tagged;
        let (store, hsm) = (&self.store, &self.hsm);
        let rows = store.untagged().await?;
        let count = rows.persons.len()
            + rows.passkeys.len()
            + rows.credentials.len()
            + rows.members.len()
            + rows.externals.len();
        for p in &rows.persons {
            let seed = self.sealed_seed(p).await?;
            let mac = hsm
                .tag_record(&Record::Password {
                    person: &p.id,
                    hash: &p.password_hash,
                })
                .await?;
            store
                .set_tag(
                    Tagged::Person {
                        id: &p.id,
                        totp_secret: seed.as_deref(),
                    },
                    &mac,
                )
                .await?;
        }
        // Then every other row, in this order, with what its tag covers.
        let mut others: Vec<(Record<'_>, Tagged<'_>)> = Vec::with_capacity(count);
        others.extend(rows.passkeys.iter().map(|k| {
            (
                super::passkey::passkey_record(k),
                Tagged::Passkey(&k.credential_id),
            )
        }));
        others.extend(
            rows.credentials
                .iter()
                .map(|c| (credential_record(c), Tagged::Credential(&c.id))),
        );
        others.extend(rows.externals.iter().map(|(issuer, subject, person)| {
            let record = Record::ExternalSubject {
                issuer,
                subject,
                person,
            };
            (record, Tagged::External { issuer, subject })
        }));
        others.extend(rows.members.iter().map(|m| {
            let row = Tagged::Member {
                cvr: &m.cvr,
                person: &m.person,
            };
            (membership_record(m), row)
        }));
        for (record, row) in others {
            let mac = hsm.tag_record(&record).await?;
            store.set_tag(row, &mac).await?;
        }
        Ok(count)
    }

    /// A person's TOTP seed as it is to be stored: sealed (a seed stored in plaintext by an
    /// earlier version is sealed now). Used once, when integrity tags are introduced.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn sealed_seed(&self, person: &PersonRow) -> Result<Option<String>, Error> {
        match person.totp_secret.as_deref() {
            Some(s) if !s.starts_with(SEALED_PREFIX) => {
                Ok(Some(self.seal_secret(&person.id, s).await?))
            }
            other => Ok(other.map(str::to_owned)),
        }
    }

    /// The person's TOTP seed, unsealed; `None` when there is none or it does not open (which
    /// is logged: it means the row was tampered with, moved to another person, or written
    /// unsealed by someone other than qsign).
    pub(super) async fn open_secret(&self, person: &PersonRow) -> Option<Zeroizing<String>> {
        let stored = person.totp_secret.as_deref()?;
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            tracing::error!(person = %person.id, "TOTP seed is not sealed; refused");
            return None;
        };
        let sealed = data_encoding::BASE64URL_NOPAD
            .decode(encoded.as_bytes())
            .ok()?;
        match self.hsm.unseal(sealed, person.id.as_bytes().to_vec()).await {
            Ok(plain) => String::from_utf8(plain).ok().map(Zeroizing::new),
            Err(e) => {
                tracing::error!(person = %person.id, error = %e, "TOTP seed does not open");
                None
            }
        }
    }
}
