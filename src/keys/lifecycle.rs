//! Deleting a credential (CSC `credentials/delete`): its certificate is revoked (CRL and OCSP
//! say so), its key destroyed and the row marked deleted.
//!
//! The key of a credential exists only as its wrapped blob in the row (nothing per user stays
//! in the HSM), so overwriting the blob with [`DESTROYED_KEY`] destroys it. The row stays, as
//! a tombstone: the audit records name it, and it still counts towards the new credentials a
//! person may make in a day, so that a delete and create loop cannot grow the CRL without end.
//! A deleted credential is no longer found, listed, or made again on first use.

use super::{Credential, Error, Keys, Status};
use crate::audit::{Context, Event};
use crate::store::CredentialRow;
use crate::types::PersonId;

/// What the wrapped key of a deleted credential is overwritten with. It is no wrapped-key
/// blob (those begin `QSWK`), so nothing can ever unwrap it.
pub const DESTROYED_KEY: &[u8] = b"destroyed";

/// Whether a stored credential was deleted (its key destroyed).
pub(super) fn destroyed(row: &CredentialRow) -> bool {
    row.wrapped == DESTROYED_KEY
}

impl Keys {
    /// A person's own credentials (personal and employee, under configured policies, with
    /// intact rows, not deleted), oldest first; and the policies under which they deleted a
    /// credential.
    pub(super) async fn listed(
        &self,
        person: &PersonId,
    ) -> Result<(Vec<Credential>, Vec<String>), Error> {
        let rows = self.store.credentials(&person.to_string()).await?;
        let deleted: Vec<String> = rows
            .iter()
            .filter(|row| destroyed(row))
            .map(|row| row.policy.clone())
            .collect();
        let rows: Vec<CredentialRow> = rows
            .into_iter()
            .filter(|row| {
                !destroyed(row) && self.policy(&row.policy).is_some() && row.kind != "seal"
            })
            .collect();
        let intact = self.intact(&rows).await?;
        let credentials = rows
            .into_iter()
            .zip(intact)
            .filter(|(_, ok)| *ok)
            .map(|(row, _)| self.credential(row))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok((credentials, deleted))
    }

    /// Deletes a credential the caller was found entitled to delete: revokes it and its
    /// certificate, then overwrites its wrapped key and marks the row deleted, with an audit
    /// record, in one transaction. `false` when it was deleted already.
    ///
    /// # Errors
    /// PKI, HSM, store and audit failures.
    pub async fn delete(
        &self,
        credential: &Credential,
        ctx: &Context,
        now: i64,
    ) -> Result<bool, Error> {
        // Revoked first: a crash between the two steps leaves a revoked credential, which a
        // second delete finishes.
        self.revoke_credential(credential, ctx, now).await?;
        let id = credential.id.to_string();
        let mac = self
            .tag_credential(credential, DESTROYED_KEY, Status::Revoked)
            .await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_credential(&id, DESTROYED_KEY, &mac, now).await? {
            return Ok(false);
        }
        let entry = ctx.entry(
            Some(credential.audit_subject()),
            Event::CredentialDeleted { credential: id },
        );
        self.audit
            .append_and_commit(tx, &entry, now.saturating_mul(1000))
            .await?;
        Ok(true)
    }
}
