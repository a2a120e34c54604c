//! Asynchronous signing operations (CSC `operationMode: "A"`): accepted within a person's
//! quota, finished once with the body the caller polls for, kept until they expire.

use super::{Error, Store, Tx};

/// An asynchronous signing operation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OperationRow {
    /// Random UUID, the CSC `responseID`.
    pub id: String,
    /// The person who asked; the only one who may poll.
    pub person: String,
    /// `hash` (signHash) or `doc` (signDoc).
    pub kind: String,
    /// `pending`, `done` or `failed`.
    pub status: String,
    /// The body polled for (JSON), once finished.
    pub result: Option<Vec<u8>>,
    /// Unix seconds of its acceptance.
    pub created_at: i64,
    /// Unix seconds by which it ends; a pending operation past it was interrupted.
    pub deadline_at: i64,
    /// Unix seconds until which it (or its result) is kept.
    pub expires_at: i64,
}

/// The columns of [`OperationRow`].
macro_rules! operation_columns {
    () => {
        "id, person, kind, status, result, created_at, deadline_at, expires_at"
    };
}

/// Operations of `$1` that still count against the quota at `$2`: pending, within their
/// deadline.
const PENDING: &str = "SELECT COUNT(*) FROM csc_operations \
     WHERE person = $1 AND status = 'pending' AND deadline_at > $2";

impl Store {
    /// Accepts an operation (as `pending`) when its person has fewer than `max_pending`
    /// pending operations within their deadlines at its `created_at`; `false` when the quota
    /// is full. The count and the insert are one transaction, serialised per person (SQLite's
    /// single writer; on PostgreSQL a transaction-scoped advisory lock on the person), so
    /// nodes accepting at once cannot pass the quota together.
    ///
    /// # Errors
    /// [`Error::Conflict`] for an id taken; database errors.
    pub async fn start_operation(
        &self,
        row: &OperationRow,
        max_pending: i64,
    ) -> Result<bool, Error> {
        let mut tx = self.begin().await?;
        if let Tx::Postgres(t) = &mut tx {
            sqlx::query("SELECT pg_advisory_xact_lock(72910002, hashtext($1))")
                .bind(&row.person)
                .execute(&mut **t)
                .await?;
        }
        let (pending,) = fetch!(
            tx &mut tx,
            fetch_one,
            (i64,),
            PENDING,
            &row.person,
            row.created_at
        )?;
        if pending >= max_pending {
            return Ok(false);
        }
        execute!(
            tx &mut tx,
            concat!(
                "INSERT INTO csc_operations (",
                operation_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &row.id,
            &row.person,
            &row.kind,
            &row.status,
            &row.result,
            row.created_at,
            row.deadline_at,
            row.expires_at
        )?;
        tx.commit().await?;
        Ok(true)
    }

    /// Finishes a pending operation with its status (`done` or `failed`) and body, kept until
    /// `expires_at`; `false` when it is not pending (finished already, or gone).
    ///
    /// # Errors
    /// Database errors.
    pub async fn finish_operation(
        &self,
        id: &str,
        status: &str,
        result: &[u8],
        expires_at: i64,
    ) -> Result<bool, Error> {
        Ok(execute!(
            self,
            "UPDATE csc_operations SET status = $2, result = $3, expires_at = $4 \
             WHERE id = $1 AND status = 'pending'",
            id,
            status,
            result,
            expires_at
        )? > 0)
    }

    /// A person's operation that has not expired at `now`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn operation(
        &self,
        id: &str,
        person: &str,
        now: i64,
    ) -> Result<Option<OperationRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            OperationRow,
            select_from!(
                operation_columns,
                "csc_operations WHERE id = $1 AND person = $2 AND expires_at > $3"
            ),
            id,
            person,
            now
        )?)
    }
}
