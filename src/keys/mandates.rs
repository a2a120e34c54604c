//! Integrity tags of powers of attorney and their assignments (`orgs::mandates` writes them
//! with every change and checks them wherever a mandate is listed or used): a mandate a
//! database writer inserted, activated or extended, or an assignment it added, counts as none.

use super::{Error, Keys};
use crate::hsm::Record;
use crate::store::{MandateAssignmentRow, MandateRow};

impl Keys {
    /// The integrity tag of a mandate as it is about to be written (its state included).
    ///
    /// # Errors
    /// HSM failures.
    pub async fn tag_mandate(&self, m: &MandateRow) -> Result<Vec<u8>, Error> {
        Ok(self.hsm.tag_record(&mandate_record(m)).await?)
    }

    /// Whether a mandate carries its integrity tag.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn mandate_intact(&self, m: &MandateRow) -> Result<bool, Error> {
        Ok(self
            .hsm
            .record_intact(mandate_record(m), m.mac.as_deref())
            .await?)
    }

    /// The integrity tag of a mandate's assignment to a member.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn tag_mandate_assignment(&self, a: &MandateAssignmentRow) -> Result<Vec<u8>, Error> {
        Ok(self.hsm.tag_record(&assignment_record(a)).await?)
    }

    /// Whether a mandate's assignment carries its integrity tag.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn mandate_assignment_intact(&self, a: &MandateAssignmentRow) -> Result<bool, Error> {
        Ok(self
            .hsm
            .record_intact(assignment_record(a), a.mac.as_deref())
            .await?)
    }
}

/// What a mandate row's integrity tag covers: everything but the times of the row itself.
fn mandate_record(m: &MandateRow) -> Record<'_> {
    Record::Mandate {
        id: &m.id,
        grantor_cvr: &m.grantor_cvr,
        grantee_cvr: m.grantee_cvr.as_deref(),
        grantee_person: m.grantee_person.as_deref(),
        scope: &m.scope,
        valid_from: m.valid_from,
        valid_until: m.valid_until,
        state: &m.state,
    }
}

/// What an assignment row's integrity tag covers (the person's names are read from
/// `persons`, not stored with it).
fn assignment_record(a: &MandateAssignmentRow) -> Record<'_> {
    Record::MandateAssignment {
        mandate: &a.mandate,
        person: &a.person,
    }
}
