//! Powers of attorney (mandates) between organisations and persons, and the members of a
//! grantee organisation they are assigned to.

use super::{Error, Store, Tx};

/// A power of attorney: the grantor organisation lets the grantee (an organisation or a named
/// person, exactly one of the two) act for it within a scope and a validity window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MandateRow {
    /// Random UUID.
    pub id: String,
    /// The CVR number of the organisation that grants it.
    pub grantor_cvr: String,
    /// The CVR number of the organisation that holds it (its administrators assign it).
    pub grantee_cvr: Option<String>,
    /// The person who holds it directly (a person id).
    pub grantee_person: Option<String>,
    /// `sign_on_behalf`, `use_seal` or a theme (`accounting`).
    pub scope: String,
    /// From when it may be used, Unix seconds.
    pub valid_from: i64,
    /// Until when (exclusive), Unix seconds.
    pub valid_until: i64,
    /// `offered`, `requested`, `active`, `refused` or `revoked`.
    pub state: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When the state last changed, Unix seconds.
    pub updated_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::Mandate`).
    pub mac: Option<Vec<u8>>,
}

/// A mandate held by an organisation, assigned to one of its members, with the person's
/// names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MandateAssignmentRow {
    /// Mandate id.
    pub mandate: String,
    /// Person id.
    pub person: String,
    /// Login name (read only: from `persons`).
    pub username: String,
    /// Given name (read only).
    pub given_name: String,
    /// Family name (read only).
    pub family_name: String,
    /// Unix seconds.
    pub assigned_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::MandateAssignment`).
    pub mac: Option<Vec<u8>>,
}

/// The columns of [`MandateRow`].
macro_rules! mandate_columns {
    () => {
        "id, grantor_cvr, grantee_cvr, grantee_person, scope, valid_from, valid_until, state, \
         created_at, updated_at, mac"
    };
}

/// The columns of [`MandateAssignmentRow`], from `mandate_assignments a JOIN persons p`.
macro_rules! select_assignments {
    ($where:literal) => {
        concat!(
            "SELECT a.mandate, a.person, p.username, p.given_name, p.family_name, \
             a.assigned_at, a.mac FROM mandate_assignments a JOIN persons p ON p.id = a.person ",
            $where
        )
    };
}

impl Store {
    /// A mandate by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mandate(&self, id: &str) -> Result<Option<MandateRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            MandateRow,
            select_from!(mandate_columns, "mandates WHERE id = $1"),
            id
        )?)
    }

    /// The mandates an organisation granted or holds, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mandates_of(&self, cvr: &str) -> Result<Vec<MandateRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            MandateRow,
            select_from!(
                mandate_columns,
                "mandates WHERE grantor_cvr = $1 OR grantee_cvr = $1 ORDER BY created_at, id"
            ),
            cvr
        )?)
    }

    /// The mandates granted to a person directly, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mandates_of_person(&self, person: &str) -> Result<Vec<MandateRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            MandateRow,
            select_from!(
                mandate_columns,
                "mandates WHERE grantee_person = $1 ORDER BY created_at, id"
            ),
            person
        )?)
    }

    /// One assignment of a mandate.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mandate_assignment(
        &self,
        mandate: &str,
        person: &str,
    ) -> Result<Option<MandateAssignmentRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            MandateAssignmentRow,
            select_assignments!("WHERE a.mandate = $1 AND a.person = $2"),
            mandate,
            person
        )?)
    }

    /// The members a mandate is assigned to, by username.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mandate_assignments(
        &self,
        mandate: &str,
    ) -> Result<Vec<MandateAssignmentRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            MandateAssignmentRow,
            select_assignments!("WHERE a.mandate = $1 ORDER BY p.username"),
            mandate
        )?)
    }

    /// The mandates assigned to a person, by mandate id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn mandate_assignments_of(
        &self,
        person: &str,
    ) -> Result<Vec<MandateAssignmentRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            MandateAssignmentRow,
            select_assignments!("WHERE a.person = $1 ORDER BY a.mandate"),
            person
        )?)
    }
}

impl Tx {
    /// Records a mandate inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a taken id; database errors (an unknown organisation or
    /// person, or not exactly one grantee).
    pub async fn insert_mandate(&mut self, m: &MandateRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO mandates (id, grantor_cvr, grantee_cvr, grantee_person, scope, \
             valid_from, valid_until, state, created_at, updated_at, mac) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &m.id,
            &m.grantor_cvr,
            &m.grantee_cvr,
            &m.grantee_person,
            &m.scope,
            m.valid_from,
            m.valid_until,
            &m.state,
            m.created_at,
            m.updated_at,
            &m.mac
        )?;
        Ok(())
    }

    /// Moves a mandate to `m.state` (with `m.updated_at` and `m.mac`) inside this transaction,
    /// only while it is still in state `from`; answers whether it moved.
    ///
    /// # Errors
    /// Database errors.
    pub async fn update_mandate_state(
        &mut self,
        m: &MandateRow,
        from: &str,
    ) -> Result<bool, Error> {
        let n = execute!(
            tx self,
            "UPDATE mandates SET state = $2, updated_at = $3, mac = $4 \
             WHERE id = $1 AND state = $5",
            &m.id,
            &m.state,
            m.updated_at,
            &m.mac,
            from
        )?;
        Ok(n == 1)
    }

    /// Assigns a mandate to a person (or renews the assignment's time and tag) inside this
    /// transaction.
    ///
    /// # Errors
    /// Database errors (an unknown mandate or person).
    pub async fn upsert_mandate_assignment(
        &mut self,
        a: &MandateAssignmentRow,
    ) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO mandate_assignments (mandate, person, assigned_at, mac) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (mandate, person) DO UPDATE SET \
             assigned_at = excluded.assigned_at, mac = excluded.mac",
            &a.mandate,
            &a.person,
            a.assigned_at,
            &a.mac
        )?;
        Ok(())
    }

    /// Takes a mandate away from a person inside this transaction; answers whether it was
    /// assigned.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_mandate_assignment(
        &mut self,
        mandate: &str,
        person: &str,
    ) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            "DELETE FROM mandate_assignments WHERE mandate = $1 AND person = $2",
            mandate,
            person
        )? > 0)
    }
}
