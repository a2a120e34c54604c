//! Temporary.
#![allow(missing_docs, clippy::unused_async)]
use super::{Cvr, Error, Orgs};
use crate::formats::representation::{Mandate, Rule};
use crate::types::PersonId;

pub struct Grant {
    pub grantor_cvr: String,
}
impl Grant {
    pub fn to_mandate(&self) -> Mandate {
        Mandate { id: String::new(), holder_cvr: None, scope: String::new(), valid_until: 0 }
    }
}
impl Orgs {
    pub async fn rule(&self, _cvr: &Cvr) -> Result<Option<Rule>, Error> {
        Ok(Rule::parse("director | board{2}").ok())
    }
    pub async fn roles_of(&self, _cvr: &Cvr, _p: &PersonId) -> Result<Vec<String>, Error> {
        Ok(vec!["board".into()])
    }
    pub async fn mandate_usable(&self, _p: &PersonId, _id: &str, _c: &Cvr, _s: &str, _n: i64) -> Result<Grant, Error> {
        Err(Error::NotFound)
    }
    pub async fn mandates_usable_by(&self, _p: &PersonId, _n: i64) -> Result<Vec<Grant>, Error> {
        Ok(vec![])
    }
}
