//! Representation: an organisation's rule (which roles bind it), the roles its members hold,
//! and members' pending requests for a right or a role. Roles and requests go with the
//! membership (deleting a member deletes them).

use super::{Error, Store, Tx};

/// A role a member of an organisation holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoleRow {
    /// CVR number.
    pub cvr: String,
    /// Person id.
    pub person: String,
    /// The role's name (`director`, `board`, ...).
    pub role: String,
    /// Unix seconds.
    pub granted_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::Role`).
    pub mac: Option<Vec<u8>>,
}

/// An organisation's rule of representation, in its canonical text.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RuleRow {
    /// CVR number.
    pub cvr: String,
    /// The rule (`director | board{2}`).
    pub rule: String,
    /// Unix seconds.
    pub set_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::Rule`).
    pub mac: Option<Vec<u8>>,
}

/// A member's pending request for a right or a role.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RequestRow {
    /// A random UUID.
    pub id: String,
    /// CVR number.
    pub cvr: String,
    /// The member asking.
    pub person: String,
    /// `right` or `role`.
    pub kind: String,
    /// The right (`sign_on_behalf`, `use_seal`) or the role asked for.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// The columns of [`RoleRow`].
macro_rules! role_columns {
    () => {
        "cvr, person, role, granted_at, mac"
    };
}

/// The columns of [`RequestRow`].
macro_rules! request_columns {
    () => {
        "id, cvr, person, kind, name, created_at"
    };
}

impl Store {
    /// The roles of an organisation's members, by person and role.
    ///
    /// # Errors
    /// Database errors.
    pub async fn roles(&self, cvr: &str) -> Result<Vec<RoleRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            RoleRow,
            select_from!(
                role_columns,
                "org_roles WHERE cvr = $1 ORDER BY person, role"
            ),
            cvr
        )?)
    }

    /// A person's roles in every organisation, by CVR and role.
    ///
    /// # Errors
    /// Database errors.
    pub async fn person_roles(&self, person: &str) -> Result<Vec<RoleRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            RoleRow,
            select_from!(
                role_columns,
                "org_roles WHERE person = $1 ORDER BY cvr, role"
            ),
            person
        )?)
    }

    /// An organisation's rule of representation, if it has one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn rule(&self, cvr: &str) -> Result<Option<RuleRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            RuleRow,
            "SELECT cvr, rule, set_at, mac FROM org_rules WHERE cvr = $1",
            cvr
        )?)
    }

    /// An organisation's pending requests, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn org_requests(&self, cvr: &str) -> Result<Vec<RequestRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            RequestRow,
            select_from!(
                request_columns,
                "org_requests WHERE cvr = $1 ORDER BY created_at, id"
            ),
            cvr
        )?)
    }

    /// A person's pending requests in every organisation, by CVR, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn person_requests(&self, person: &str) -> Result<Vec<RequestRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            RequestRow,
            select_from!(
                request_columns,
                "org_requests WHERE person = $1 ORDER BY cvr, created_at, id"
            ),
            person
        )?)
    }
}

impl Tx {
    /// Gives a member a role inside this transaction; `false` when they hold it already (the
    /// stored row is kept).
    ///
    /// # Errors
    /// A query error when the membership does not exist; database errors.
    pub async fn insert_role(&mut self, r: &RoleRow) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            "INSERT INTO org_roles (cvr, person, role, granted_at, mac) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cvr, person, role) DO NOTHING",
            &r.cvr,
            &r.person,
            &r.role,
            r.granted_at,
            &r.mac
        )? > 0)
    }

    /// Takes a role from a member inside this transaction; answers whether they held it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_role(
        &mut self,
        cvr: &str,
        person: &str,
        role: &str,
    ) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            "DELETE FROM org_roles WHERE cvr = $1 AND person = $2 AND role = $3",
            cvr,
            person,
            role
        )? > 0)
    }

    /// Sets (or replaces) an organisation's rule inside this transaction.
    ///
    /// # Errors
    /// A query error when the organisation does not exist; database errors.
    pub async fn put_rule(&mut self, r: &RuleRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO org_rules (cvr, rule, set_at, mac) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (cvr) DO UPDATE SET rule = excluded.rule, set_at = excluded.set_at, \
             mac = excluded.mac",
            &r.cvr,
            &r.rule,
            r.set_at,
            &r.mac
        )?;
        Ok(())
    }

    /// Records a member's request inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the member asked for the same already (or the id is taken); a
    /// query error when the membership does not exist; database errors.
    pub async fn insert_request(&mut self, r: &RequestRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO org_requests (id, cvr, person, kind, name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &r.id,
            &r.cvr,
            &r.person,
            &r.kind,
            &r.name,
            r.created_at
        )?;
        Ok(())
    }

    /// Takes (deletes and answers) an organisation's pending request inside this transaction:
    /// decided once.
    ///
    /// # Errors
    /// Database errors.
    pub async fn take_request(&mut self, cvr: &str, id: &str) -> Result<Option<RequestRow>, Error> {
        Ok(fetch!(
            tx self,
            fetch_optional,
            RequestRow,
            concat!(
                "DELETE FROM org_requests WHERE cvr = $1 AND id = $2 RETURNING ",
                request_columns!()
            ),
            cvr,
            id
        )?)
    }
}
