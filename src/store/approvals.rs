//! Approval requests: what a relying party asked a person to approve on their own phone (CSC
//! `credentials/authorize` answered 202), the person's decision, and the SAD until the relying
//! party collects it, once. Every change of state is one statement conditional on the state it
//! leaves, so two nodes (or two devices) cannot both decide, and a SAD is handed out once.

use super::{Error, Store, Tx};

/// An approval request. Its `Debug` leaves the SAD out.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApprovalRow {
    /// Random id: the CSC `handle` and the page `/approvals/{id}`.
    pub id: String,
    /// The person asked (only they see and decide it).
    pub person: String,
    /// The access token that asked (`jti`): only it may collect the SAD.
    pub token_id: String,
    /// The level of assurance of that token (URI): the SAD never states more.
    pub loa: String,
    /// The factors of that token (RFC 8176 values, comma-separated), shown to the person.
    pub amr: String,
    /// The credential asked for.
    pub credential: String,
    /// Hash algorithm OID.
    pub hash_algorithm: String,
    /// JSON: each hash (base64) with its label, in the order asked.
    pub hashes: String,
    /// Signatures asked.
    pub num_signatures: i64,
    /// What the hashes stand for (CSC `description`).
    pub description: Option<String>,
    /// `pending`, `approved`, `refused`, `expired` or `collected`.
    pub status: String,
    /// The SAD, from the approval until it is collected.
    pub sad: Option<String>,
    /// When the SAD expires, Unix seconds.
    pub sad_expires_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Until when the person may decide, Unix seconds.
    pub expires_at: i64,
    /// When the person decided (or it expired), Unix seconds.
    pub decided_at: Option<i64>,
}

impl std::fmt::Debug for ApprovalRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalRow")
            .field("id", &self.id)
            .field("person", &self.person)
            .field("token_id", &self.token_id)
            .field("loa", &self.loa)
            .field("amr", &self.amr)
            .field("credential", &self.credential)
            .field("hash_algorithm", &self.hash_algorithm)
            .field("hashes", &self.hashes)
            .field("num_signatures", &self.num_signatures)
            .field("description", &self.description)
            .field("status", &self.status)
            .field("sad", &self.sad.as_ref().map(|_| "<redacted>"))
            .field("sad_expires_at", &self.sad_expires_at)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("decided_at", &self.decided_at)
            .finish()
    }
}

/// The columns of [`ApprovalRow`], in its order.
macro_rules! approval_columns {
    () => {
        "id, person, token_id, loa, amr, credential, hash_algorithm, hashes, num_signatures, \
         description, status, sad, sad_expires_at, created_at, expires_at, decided_at"
    };
}

impl Store {
    /// A person's approval request, in whatever state (another person's is `None`).
    ///
    /// # Errors
    /// Database errors.
    pub async fn approval(&self, id: &str, person: &str) -> Result<Option<ApprovalRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            ApprovalRow,
            select_from!(
                approval_columns,
                "approval_requests WHERE id = $1 AND person = $2"
            ),
            id,
            person
        )?)
    }

    /// A person's approval requests that wait for a decision at `now`, oldest first (at
    /// most 100).
    ///
    /// # Errors
    /// Database errors.
    pub async fn pending_approvals(
        &self,
        person: &str,
        now: i64,
    ) -> Result<Vec<ApprovalRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            ApprovalRow,
            select_from!(
                approval_columns,
                "approval_requests WHERE person = $1 AND status = 'pending' AND expires_at > $2 \
                 ORDER BY created_at, id LIMIT 100"
            ),
            person,
            now
        )?)
    }

    /// Deletes the approval requests whose decision time and SAD both ended before `now`;
    /// answers how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_approvals(&self, now: i64) -> Result<u64, Error> {
        Ok(execute!(
            self,
            "DELETE FROM approval_requests WHERE expires_at < $1 \
             AND COALESCE(sad_expires_at, 0) < $1",
            now
        )?)
    }
}

impl Tx {
    /// Stores a new approval request; `false` (nothing written) when its id is taken. It
    /// guards the audit record of the request, so a duplicate answers rather than fails the
    /// shared audit transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_approval(&mut self, r: &ApprovalRow) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            concat!(
                "INSERT INTO approval_requests (",
                approval_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            &r.id,
            &r.person,
            &r.token_id,
            &r.loa,
            &r.amr,
            &r.credential,
            &r.hash_algorithm,
            &r.hashes,
            r.num_signatures,
            &r.description,
            &r.status,
            &r.sad,
            r.sad_expires_at,
            r.created_at,
            r.expires_at,
            r.decided_at
        )? == 1)
    }

    /// Approves a person's pending request that has not expired at `now`, keeping the SAD
    /// until it is collected; `false` (nothing written) when it is not pending or expired.
    ///
    /// # Errors
    /// Database errors.
    pub async fn grant_approval(
        &mut self,
        id: &str,
        person: &str,
        sad: &str,
        sad_expires_at: i64,
        now: i64,
    ) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            "UPDATE approval_requests SET status = 'approved', sad = $3, sad_expires_at = $4, \
             decided_at = $5 WHERE id = $1 AND person = $2 AND status = 'pending' \
             AND expires_at > $5",
            id,
            person,
            sad,
            sad_expires_at,
            now
        )? == 1)
    }

    /// Refuses a person's pending request that has not expired at `now`; `false` (nothing
    /// written) otherwise.
    ///
    /// # Errors
    /// Database errors.
    pub async fn refuse_approval(
        &mut self,
        id: &str,
        person: &str,
        now: i64,
    ) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            "UPDATE approval_requests SET status = 'refused', decided_at = $3 \
             WHERE id = $1 AND person = $2 AND status = 'pending' AND expires_at > $3",
            id,
            person,
            now
        )? == 1)
    }

    /// Marks a person's pending request expired when its time ended at or before `now`;
    /// `false` (nothing written) otherwise.
    ///
    /// # Errors
    /// Database errors.
    pub async fn expire_approval(
        &mut self,
        id: &str,
        person: &str,
        now: i64,
    ) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            "UPDATE approval_requests SET status = 'expired', decided_at = $3 \
             WHERE id = $1 AND person = $2 AND status = 'pending' AND expires_at <= $3",
            id,
            person,
            now
        )? == 1)
    }

    /// Hands out an approved request's SAD once: to the token that asked, while the SAD is
    /// valid at `now`; the SAD is dropped from the row. `false` (nothing written) when it was
    /// collected already, is not approved, is another token's or has expired.
    ///
    /// # Errors
    /// Database errors.
    pub async fn collect_approval(
        &mut self,
        id: &str,
        person: &str,
        token_id: &str,
        now: i64,
    ) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            "UPDATE approval_requests SET status = 'collected', sad = NULL \
             WHERE id = $1 AND person = $2 AND token_id = $3 AND status = 'approved' \
             AND sad_expires_at > $4",
            id,
            person,
            token_id,
            now
        )? == 1)
    }
}
