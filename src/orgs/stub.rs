//! Temporary.
#![allow(missing_docs, clippy::unused_async)]
use super::{Cvr, Error, Orgs};
use crate::formats::representation::Rule;
use crate::types::PersonId;

impl Orgs {
    pub async fn rule(&self, _cvr: &Cvr) -> Result<Option<Rule>, Error> {
        Ok(Rule::parse("director | board{2}").ok())
    }
    pub async fn roles_of(&self, _cvr: &Cvr, _p: &PersonId) -> Result<Vec<String>, Error> {
        Ok(vec!["board".into()])
    }
}
