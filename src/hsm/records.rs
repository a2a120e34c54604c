//! Integrity of the rows that grant access: HMAC-SHA256 under the records key in the HSM over
//! a canonical encoding of what each row grants, bound to its owner and its purpose.
//!
//! A database writer without the HSM can copy, move or edit rows, but cannot make their tags:
//! a password hash copied to another person, a passkey moved to another person, a credential
//! given another owner or policy, a membership given a right, all fail their check and are
//! refused. The encoding is `"qsign-record-v1" 0 purpose 0` followed by each field as a
//! 4-byte big-endian length and its bytes, so no two records share an encoding.

use super::{Error, Hsm};

/// A row that grants access, as its tag covers it.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A person's password hash.
    Password {
        /// Person id.
        person: &'a str,
        /// Argon2id PHC string.
        hash: &'a str,
    },
    /// A passkey of a person.
    Passkey {
        /// Person id.
        person: &'a str,
        /// WebAuthn credential id.
        credential_id: &'a str,
        /// webauthn-rs's stored passkey (JSON).
        passkey: &'a str,
        /// From when it counts for High.
        high_from: i64,
        /// How it was bound.
        bound_by: &'a str,
    },
    /// A signing credential.
    Credential {
        /// Credential id.
        id: &'a str,
        /// Owner (person id).
        person: &'a str,
        /// Policy name.
        policy: &'a str,
        /// `personal`, `employee` or `seal`.
        kind: &'a str,
        /// The organisation it acts for.
        cvr: Option<&'a str>,
        /// Key algorithm.
        algorithm: &'a str,
        /// The wrapped key.
        wrapped: &'a [u8],
        /// `active`, `suspended` or `revoked` (a revoked credential cannot be set back).
        status: &'a str,
    },
    /// An enrolment code (kept by hash) that lets its person bind a passkey.
    EnrolmentCode {
        /// SHA-256 of the code, hex.
        code_hash: &'a str,
        /// Person id.
        person: &'a str,
        /// Unix seconds.
        expires_at: i64,
    },
    /// An OAuth authorization code (kept by hash): who logged in, at what level, approving what.
    OauthCode {
        /// SHA-256 of the code, hex.
        code_hash: &'a str,
        /// The client it was issued to.
        client: &'a str,
        /// Redirect URI.
        redirect_uri: &'a str,
        /// PKCE challenge.
        challenge: &'a str,
        /// Person id.
        person: &'a str,
        /// Factors used.
        factors: &'a str,
        /// Level reached (URI).
        loa: &'a str,
        /// Unix seconds.
        auth_time: i64,
        /// Approved details (JSON), if any.
        details: Option<&'a str>,
    },
    /// An invitation to an organisation (kept by the hash of its code) with the rights it
    /// gives.
    Invitation {
        /// SHA-256 of the code, hex.
        id: &'a str,
        /// CVR number.
        cvr: &'a str,
        /// The invited person, if bound to one.
        person: Option<&'a str>,
        /// Joins as administrator.
        admin: bool,
        /// Gets `sign_on_behalf`.
        sign_on_behalf: bool,
        /// Gets `use_seal`.
        use_seal: bool,
        /// Unix seconds.
        expires_at: i64,
        /// Joins anonymously (covered only when set, or when roles are given: invitations
        /// made before either existed keep their tags).
        anonymous: bool,
        /// Roles given, space-separated (empty for none).
        roles: &'a str,
    },
    /// A trusted external issuer's subject, mapped to a person.
    ExternalSubject {
        /// The issuer.
        issuer: &'a str,
        /// Its subject.
        subject: &'a str,
        /// Person id.
        person: &'a str,
    },
    /// A person's membership of an organisation and its rights.
    Membership {
        /// CVR number.
        cvr: &'a str,
        /// Person id.
        person: &'a str,
        /// Administrator.
        admin: bool,
        /// May sign on behalf of the organisation.
        sign_on_behalf: bool,
        /// May use the seal.
        use_seal: bool,
        /// An anonymous member's pseudonym (covered only when anonymous: memberships made
        /// before anonymity existed keep their tags).
        pseudonym: Option<&'a str>,
    },
    /// A role a member of an organisation holds.
    Role {
        /// CVR number.
        cvr: &'a str,
        /// Person id.
        person: &'a str,
        /// The role's name.
        role: &'a str,
    },
    /// An organisation's rule of representation.
    Rule {
        /// CVR number.
        cvr: &'a str,
        /// The canonical rule text.
        rule: &'a str,
    },
    /// A power of attorney: who grants whom what, for how long, and in which state.
    Mandate {
        /// Mandate id.
        id: &'a str,
        /// The granting organisation's CVR number.
        grantor_cvr: &'a str,
        /// The holding organisation's CVR number, when an organisation holds it.
        grantee_cvr: Option<&'a str>,
        /// The holding person's id, when a person holds it.
        grantee_person: Option<&'a str>,
        /// What it allows.
        scope: &'a str,
        /// Unix seconds.
        valid_from: i64,
        /// Unix seconds.
        valid_until: i64,
        /// `offered`, `requested`, `active`, `refused` or `revoked`.
        state: &'a str,
    },
    /// A mandate held by an organisation, assigned to one of its members.
    MandateAssignment {
        /// Mandate id.
        mandate: &'a str,
        /// Person id.
        person: &'a str,
    },
    /// An organisation's system client: the key that may use the organisation's seal, and
    /// how much.
    SystemClient {
        /// Client id.
        client_id: &'a str,
        /// CVR number.
        cvr: &'a str,
        /// Its public key (JWK, JSON).
        jwk: &'a str,
        /// Most signatures per authorization.
        max_per_authorization: i64,
        /// Most authorizations per minute.
        per_minute: i64,
    },
}

impl Record<'_> {
    /// The canonical message the tag covers.
    #[must_use]
    pub fn message(&self) -> Vec<u8> {
        let flag = |b: bool| if b { &b"1"[..] } else { &b"0"[..] };
        let (purpose, fields): (&str, Vec<Vec<u8>>) = match *self {
            Self::Password { person, hash } => ("password", vec![person.into(), hash.into()]),
            Self::Passkey {
                person,
                credential_id,
                passkey,
                high_from,
                bound_by,
            } => (
                "passkey",
                vec![
                    person.into(),
                    credential_id.into(),
                    passkey.into(),
                    high_from.to_be_bytes().to_vec(),
                    bound_by.into(),
                ],
            ),
            Self::Credential {
                id,
                person,
                policy,
                kind,
                cvr,
                algorithm,
                wrapped,
                status,
            } => (
                "credential",
                vec![
                    id.into(),
                    person.into(),
                    policy.into(),
                    kind.into(),
                    cvr.unwrap_or_default().into(),
                    algorithm.into(),
                    wrapped.to_vec(),
                    status.into(),
                ],
            ),
            Self::EnrolmentCode {
                code_hash,
                person,
                expires_at,
            } => (
                "enrolment-code",
                vec![
                    code_hash.into(),
                    person.into(),
                    expires_at.to_be_bytes().to_vec(),
                ],
            ),
            Self::OauthCode {
                code_hash,
                client,
                redirect_uri,
                challenge,
                person,
                factors,
                loa,
                auth_time,
                details,
            } => (
                "oauth-code",
                vec![
                    code_hash.into(),
                    client.into(),
                    redirect_uri.into(),
                    challenge.into(),
                    person.into(),
                    factors.into(),
                    loa.into(),
                    auth_time.to_be_bytes().to_vec(),
                    details.unwrap_or_default().into(),
                ],
            ),
            Self::ExternalSubject {
                issuer,
                subject,
                person,
            } => (
                "external-subject",
                vec![issuer.into(), subject.into(), person.into()],
            ),
            Self::Invitation {
                id,
                cvr,
                person,
                admin,
                sign_on_behalf,
                use_seal,
                expires_at,
                anonymous,
                roles,
            } => {
                let mut fields = vec![
                    id.into(),
                    cvr.into(),
                    person.unwrap_or_default().into(),
                    flag(admin).to_vec(),
                    flag(sign_on_behalf).to_vec(),
                    flag(use_seal).to_vec(),
                    expires_at.to_be_bytes().to_vec(),
                ];
                if anonymous || !roles.is_empty() {
                    fields.push(flag(anonymous).to_vec());
                    fields.push(roles.into());
                }
                ("invitation", fields)
            }
            Self::Membership {
                cvr,
                person,
                admin,
                sign_on_behalf,
                use_seal,
                pseudonym,
            } => {
                let mut fields = vec![
                    cvr.into(),
                    person.into(),
                    flag(admin).to_vec(),
                    flag(sign_on_behalf).to_vec(),
                    flag(use_seal).to_vec(),
                ];
                fields.extend(pseudonym.map(|p| p.as_bytes().to_vec()));
                ("membership", fields)
            }
            Self::Role { cvr, person, role } => {
                ("role", vec![cvr.into(), person.into(), role.into()])
            }
            Self::Rule { cvr, rule } => ("rule", vec![cvr.into(), rule.into()]),
            Self::Mandate {
                id,
                grantor_cvr,
                grantee_cvr,
                grantee_person,
                scope,
                valid_from,
                valid_until,
                state,
            } => (
                "mandate",
                vec![
                    id.into(),
                    grantor_cvr.into(),
                    grantee_cvr.unwrap_or_default().into(),
                    grantee_person.unwrap_or_default().into(),
                    scope.into(),
                    valid_from.to_be_bytes().to_vec(),
                    valid_until.to_be_bytes().to_vec(),
                    state.into(),
                ],
            ),
            Self::MandateAssignment { mandate, person } => {
                ("mandate-assignment", vec![mandate.into(), person.into()])
            }
            Self::SystemClient {
                client_id,
                cvr,
                jwk,
                max_per_authorization,
                per_minute,
            } => (
                "system-client",
                vec![
                    client_id.into(),
                    cvr.into(),
                    jwk.into(),
                    max_per_authorization.to_be_bytes().to_vec(),
                    per_minute.to_be_bytes().to_vec(),
                ],
            ),
        };
        let mut out = b"qsign-record-v1\0".to_vec();
        out.extend_from_slice(purpose.as_bytes());
        out.push(0);
        for field in fields {
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&field);
        }
        out
    }
}

impl Hsm {
    /// The tag of a record.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn tag_record(&self, record: &Record<'_>) -> Result<Vec<u8>, Error> {
        self.mac(vec![record.message()])
            .await?
            .pop()
            .ok_or_else(|| Error::Worker("no tag".into()))
    }

    /// Whether each record's stored tag verifies (a missing tag does not); one HSM round
    /// trip for all. A record that fails is logged: it was written by someone without the
    /// HSM.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn records_intact(
        &self,
        records: &[(Record<'_>, Option<&[u8]>)],
    ) -> Result<Vec<bool>, Error> {
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = records
            .iter()
            .map(|(r, tag)| (r.message(), tag.map(<[u8]>::to_vec).unwrap_or_default()))
            .collect();
        let answers = self.mac_verify(pairs).await?;
        for ((record, _), ok) in records.iter().zip(&answers) {
            if !ok {
                tracing::error!(
                    record = record.kind(),
                    "a record's integrity tag does not verify; refused"
                );
            }
        }
        Ok(answers)
    }

    /// Whether one record's stored tag verifies.
    ///
    /// # Errors
    /// HSM failures.
    pub async fn record_intact(
        &self,
        record: Record<'_>,
        tag: Option<&[u8]>,
    ) -> Result<bool, Error> {
        Ok(self
            .records_intact(&[(record, tag)])
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    }
}

impl Record<'_> {
    /// The purpose, for logs (never the contents).
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Password { .. } => "password",
            Self::Passkey { .. } => "passkey",
            Self::Credential { .. } => "credential",
            Self::EnrolmentCode { .. } => "enrolment code",
            Self::OauthCode { .. } => "authorization code",
            Self::Invitation { .. } => "invitation",
            Self::ExternalSubject { .. } => "external subject",
            Self::Membership { .. } => "membership",
            Self::Mandate { .. } => "mandate",
            Self::MandateAssignment { .. } => "mandate assignment",
            Self::Role { .. } => "role",
            Self::Rule { .. } => "rule",
            Self::SystemClient { .. } => "system client",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Record;

    #[test]
    fn messages_differ_by_purpose_owner_and_every_field() {
        let a = Record::Password {
            person: "p1",
            hash: "h",
        }
        .message();
        let b = Record::Password {
            person: "p2",
            hash: "h",
        }
        .message();
        let c = Record::Password {
            person: "p1h",
            hash: "",
        }
        .message();
        assert_ne!(a, b);
        assert_ne!(a, c, "length prefixes keep fields apart");
        let m = |admin, sign, seal, pseudonym| {
            Record::Membership {
                cvr: "1",
                person: "p",
                admin,
                sign_on_behalf: sign,
                use_seal: seal,
                pseudonym,
            }
            .message()
        };
        assert_ne!(m(true, false, false, None), m(false, true, false, None));
        assert_ne!(m(false, false, true, None), m(false, false, false, None));
        assert_ne!(
            m(false, true, false, Some("3f0c")),
            m(false, true, false, None),
            "anonymity is covered"
        );
        let role = |role| {
            Record::Role {
                cvr: "1",
                person: "p",
                role,
            }
            .message()
        };
        assert_ne!(role("director"), role("board"));
        assert_ne!(
            Record::Rule {
                cvr: "1",
                rule: "director"
            }
            .message(),
            role("director"),
            "the purpose keeps a rule apart from a role"
        );
    }
}
