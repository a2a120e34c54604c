//! Organisations (by CVR), their members and pending invitations.

use super::{Error, Store, Tx};

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrganisationRow {
    /// CVR number.
    pub cvr: String,
    /// Registered name.
    pub name: String,
    /// `active`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A member of an organisation, with the person's names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    /// CVR number.
    pub cvr: String,
    /// Person id.
    pub person: String,
    /// Login name.
    pub username: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Administrator of the organisation.
    pub admin: bool,
    /// May sign on behalf of the organisation (has an employee credential).
    pub sign_on_behalf: bool,
    /// May use the organisation's seal.
    pub use_seal: bool,
    /// Unix seconds.
    pub joined_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::Membership`).
    pub mac: Option<Vec<u8>>,
    /// Anonymous: the employee certificate names the pseudonym, not the person.
    pub anonymous: bool,
    /// The pseudonym (a UUID) of an anonymous member.
    pub pseudonym: Option<String>,
}

/// A pending invitation (its id is the SHA-256 of the code, hex).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvitationRow {
    /// SHA-256 of the code, hex.
    pub id: String,
    /// CVR number.
    pub cvr: String,
    /// The invited person, or `None` for whoever holds the code.
    pub person: Option<String>,
    /// Joins as administrator.
    pub admin: bool,
    /// Gets `sign_on_behalf`.
    pub sign_on_behalf: bool,
    /// Gets `use_seal`.
    pub use_seal: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Integrity tag under the HSM's records key (`hsm::Record::Invitation`).
    pub mac: Option<Vec<u8>>,
    /// Joins anonymously (a pseudonym in the employee certificate).
    pub anonymous: bool,
    /// Roles the member gets, space-separated and sorted (empty for none).
    pub roles: String,
}

/// The columns of [`MemberRow`], from `org_members m JOIN persons p`.
macro_rules! select_members {
    ($where:literal) => {
        concat!(
            "SELECT m.cvr, m.person, p.username, p.given_name, p.family_name, m.admin, \
             m.sign_on_behalf, m.use_seal, m.joined_at, m.mac, m.anonymous, m.pseudonym \
             FROM org_members m JOIN persons p ON p.id = m.person ",
            $where
        )
    };
}
pub(super) use select_members;

impl Store {
    /// An organisation by CVR.
    ///
    /// # Errors
    /// Database errors.
    pub async fn organisation(&self, cvr: &str) -> Result<Option<OrganisationRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            OrganisationRow,
            "SELECT cvr, name, status, created_at FROM organisations WHERE cvr = $1",
            cvr
        )?)
    }

    /// Every organisation, by CVR.
    ///
    /// # Errors
    /// Database errors.
    pub async fn organisations(&self) -> Result<Vec<OrganisationRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            OrganisationRow,
            "SELECT cvr, name, status, created_at FROM organisations ORDER BY cvr"
        )?)
    }

    /// One member of an organisation.
    ///
    /// # Errors
    /// Database errors.
    pub async fn member(&self, cvr: &str, person: &str) -> Result<Option<MemberRow>, Error> {
        Ok(fetch!(
            self,
            fetch_optional,
            MemberRow,
            select_members!("WHERE m.cvr = $1 AND m.person = $2"),
            cvr,
            person
        )?)
    }

    /// The members of an organisation, by username.
    ///
    /// # Errors
    /// Database errors.
    pub async fn members(&self, cvr: &str) -> Result<Vec<MemberRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            MemberRow,
            select_members!("WHERE m.cvr = $1 ORDER BY p.username"),
            cvr
        )?)
    }

    /// A person's memberships, by CVR.
    ///
    /// # Errors
    /// Database errors.
    pub async fn memberships(&self, person: &str) -> Result<Vec<MemberRow>, Error> {
        Ok(fetch!(
            self,
            fetch_all,
            MemberRow,
            select_members!("WHERE m.person = $1 ORDER BY m.cvr"),
            person
        )?)
    }
}

impl Tx {
    /// Adds a member (or updates an existing member's role and rights) inside this
    /// transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn upsert_member(&mut self, m: &MemberRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO org_members (cvr, person, admin, sign_on_behalf, use_seal, joined_at, \
             mac, anonymous, pseudonym) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (cvr, person) DO UPDATE SET admin = excluded.admin, \
             sign_on_behalf = excluded.sign_on_behalf, use_seal = excluded.use_seal, \
             mac = excluded.mac, anonymous = excluded.anonymous, pseudonym = excluded.pseudonym",
            &m.cvr,
            &m.person,
            m.admin,
            m.sign_on_behalf,
            m.use_seal,
            m.joined_at,
            &m.mac,
            m.anonymous,
            &m.pseudonym
        )?;
        Ok(())
    }

    /// Removes a member inside this transaction; answers whether there was one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_member(&mut self, cvr: &str, person: &str) -> Result<bool, Error> {
        Ok(execute!(
            tx self,
            "DELETE FROM org_members WHERE cvr = $1 AND person = $2",
            cvr,
            person
        )? > 0)
    }

    /// Records an organisation inside this transaction.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the CVR is registered already; database errors.
    pub async fn insert_organisation(&mut self, o: &OrganisationRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO organisations (cvr, name, status, created_at) VALUES ($1, $2, $3, $4)",
            &o.cvr,
            &o.name,
            &o.status,
            o.created_at
        )?;
        Ok(())
    }

    /// Records an invitation inside this transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_invitation(&mut self, i: &InvitationRow) -> Result<(), Error> {
        execute!(
            tx self,
            "INSERT INTO org_invitations (id, cvr, person, admin, sign_on_behalf, use_seal, \
             created_at, expires_at, mac, anonymous, roles) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &i.id,
            &i.cvr,
            &i.person,
            i.admin,
            i.sign_on_behalf,
            i.use_seal,
            i.created_at,
            i.expires_at,
            &i.mac,
            i.anonymous,
            &i.roles
        )?;
        Ok(())
    }

    /// Takes (deletes and answers) an invitation inside this transaction: used once.
    ///
    /// # Errors
    /// Database errors.
    pub async fn take_invitation(&mut self, id: &str) -> Result<Option<InvitationRow>, Error> {
        Ok(fetch!(
            tx self,
            fetch_optional,
            InvitationRow,
            "DELETE FROM org_invitations WHERE id = $1 RETURNING id, cvr, person, admin, \
             sign_on_behalf, use_seal, created_at, expires_at, mac, anonymous, roles",
            id
        )?)
    }
}
