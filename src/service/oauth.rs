//! The OAuth 2.0 authorization server beyond the login page, part of [`Logins`]: the token
//! endpoint (the authorization-code, client-credentials and password grants, with client
//! authentication and DPoP-bound tokens), pushed authorization requests, the metadata
//! documents (RFC 8414 and OpenID discovery), and access tokens as requests present them
//! (with DPoP proofs; a system client's).
//!
//! The endpoints' URLs are the public URL's (`{public_url}/idp/token`, `{public_url}/idp/par`):
//! they are what a DPoP proof's `htu` and a client assertion's `aud` must name.

use serde_json::json;

use super::{Error, ErrorCode, Issued, Logins, Principal};
use crate::audit::Context;
use crate::identity::client_auth::ClientAssertion;
use crate::identity::dpop::Presented;
use crate::identity::loa::Loa;
use crate::identity::machine::Machine;
use crate::identity::oauth::AuthorizeQuery;
use crate::identity::par::Pushed;
use crate::identity::{Attempt, Proof};

/// A token request (RFC 6749 §4.1.3, §4.3 and §4.4, form-encoded), with client authentication
/// by assertion (RFC 7523 §2.2) and qsign's `otp` beside the password grant.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TokenRequest {
    /// `authorization_code`, `client_credentials` or `password`.
    pub grant_type: String,
    /// Password grant: the account.
    #[serde(default)]
    pub username: Option<String>,
    /// Password grant: the password.
    #[serde(default)]
    pub password: Option<String>,
    /// Password grant: a TOTP code.
    #[serde(default)]
    pub otp: Option<String>,
    /// Authorization-code grant: the code.
    #[serde(default)]
    pub code: Option<String>,
    /// Authorization-code grant: the redirect URI the code went to.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The client (or the assertion's issuer when absent).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Authorization-code grant: the PKCE verifier.
    #[serde(default)]
    pub code_verifier: Option<String>,
    /// Client-credentials grant: `service` when given.
    #[serde(default)]
    pub scope: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` for `private_key_jwt`.
    #[serde(default)]
    pub client_assertion_type: Option<String>,
    /// The client's signed assertion.
    #[serde(default)]
    pub client_assertion: Option<String>,
}

impl TokenRequest {
    /// The client assertion, when the request carries one.
    fn assertion(&self) -> Option<ClientAssertion<'_>> {
        self.client_assertion
            .as_deref()
            .map(|assertion| ClientAssertion {
                kind: self.client_assertion_type.as_deref().unwrap_or_default(),
                assertion,
            })
    }
}

/// The URLs of the token and PAR endpoints under a public URL.
fn endpoints(public_url: &str) -> (String, String) {
    (
        format!("{public_url}/idp/token"),
        format!("{public_url}/idp/par"),
    )
}

fn bad(message: &str) -> Error {
    Error::new(ErrorCode::InvalidRequest, message)
}

impl Logins {
    /// `POST /idp/token`: checks the DPoP proof when one came (its token is then bound to the
    /// proof's key), authenticates the client as it is registered, and answers the grant.
    ///
    /// # Errors
    /// `invalid_dpop_proof`, `invalid_client`, `invalid_grant`, `invalid_request`,
    /// `unsupported_grant_type`, `code_reused`, `too_many_attempts`.
    pub async fn token(
        &self,
        request: &TokenRequest,
        dpop: Option<&str>,
        public_url: &str,
        source: Option<String>,
        request_id: Option<String>,
    ) -> Result<Issued, Error> {
        let now = self.now();
        let (token_url, _) = endpoints(public_url);
        let jkt = match dpop {
            Some(proof) => Some(
                self.identity
                    .endpoint_proof(proof, "POST", &token_url, now)
                    .await?,
            ),
            None => None,
        };
        let issuer = self.issuer();
        let audiences = [token_url.as_str(), issuer.as_str()];
        let assertion = request.assertion();
        let client_id = request.client_id.as_deref();
        match request.grant_type.as_str() {
            "authorization_code" => {
                let (Some(code), Some(redirect_uri), Some(verifier)) = (
                    request.code.as_deref(),
                    request.redirect_uri.as_deref(),
                    request.code_verifier.as_deref(),
                ) else {
                    return Err(bad(
                        "code, redirect_uri, client_id and code_verifier are required",
                    ));
                };
                let client = self
                    .identity
                    .registered_client(client_id, assertion, &audiences, now)
                    .await?;
                Ok(self
                    .identity
                    .exchange_code(code, &client, redirect_uri, verifier, jkt, now)
                    .await?)
            }
            "client_credentials" => {
                if request.scope.as_deref().is_some_and(|s| s != "service") {
                    return Err(bad(
                        "invalid_scope: a system client's token has the scope service",
                    ));
                }
                let assertion = assertion.ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidClient,
                        "client_credentials needs private_key_jwt: client_assertion_type and client_assertion",
                    )
                })?;
                Ok(self
                    .identity
                    .client_credentials(client_id, assertion, &audiences, jkt, now)
                    .await?)
            }
            "password" => {
                let (Some(username), Some(password)) =
                    (request.username.as_deref(), request.password.as_deref())
                else {
                    return Err(bad("username and password are required"));
                };
                let attempt = Attempt {
                    username,
                    proof: Proof::Password {
                        password,
                        otp: request.otp.as_deref(),
                    },
                    source: source.as_deref(),
                };
                let ctx = Context::anonymous(request_id);
                Ok(self.identity.grant_bound(attempt, &ctx, now, jkt).await?)
            }
            _ => Err(Error::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code, client_credentials or password",
            )),
        }
    }

    /// `POST /idp/par` (RFC 9126): authenticates the client as it is registered (an
    /// assertion's `aud` may name the PAR endpoint, the token endpoint or the issuer), checks
    /// the request as `/idp/authorize` would, and keeps it under a new `request_uri`.
    ///
    /// # Errors
    /// `invalid_client`, `invalid_request`.
    pub async fn push(
        &self,
        query: &AuthorizeQuery,
        assertion: Option<ClientAssertion<'_>>,
        public_url: &str,
    ) -> Result<Pushed, Error> {
        let now = self.now();
        let (token_url, par_url) = endpoints(public_url);
        let issuer = self.issuer();
        let audiences = [par_url.as_str(), token_url.as_str(), issuer.as_str()];
        let client = self
            .identity
            .registered_client(query.client_id.as_deref(), assertion, &audiences, now)
            .await?;
        Ok(self.identity.push_request(&client, query, now).await?)
    }

    /// Verifies an access token as a request presents it (`Bearer`, or `DPoP` with a proof):
    /// a person's token, checked as [`crate::identity::Identity::authenticate_request`].
    ///
    /// # Errors
    /// `invalid_token`, `invalid_dpop_proof`.
    pub async fn authenticate_request(
        &self,
        presented: &Presented<'_>,
    ) -> Result<Principal, Error> {
        let principal = self
            .identity
            .authenticate_request(presented, self.now())
            .await?;
        // Every later line of this request names the person by their pseudonymous id (a
        // random UUID, never a name or a username).
        tracing::Span::current().record("person", tracing::field::display(&principal.person));
        Ok(principal)
    }

    /// Whether an access token is one of this issuer's for a system client, read without
    /// verifying it: such a token goes to the seal calls for machines, which verify it; any
    /// other call refuses it. (An external issuer's token may carry a `client_id` of its own.)
    #[must_use]
    pub fn names_a_client(&self, token: &str) -> bool {
        crate::identity::token::unverified_client(token)
            && crate::identity::token::unverified_issuer(token).as_deref()
                == Some(self.identity.settings().issuer.as_str())
    }

    /// Verifies a system client's access token as a request presents it.
    ///
    /// # Errors
    /// `invalid_token`, `invalid_dpop_proof`.
    pub async fn authenticate_machine(&self, presented: &Presented<'_>) -> Result<Machine, Error> {
        Ok(self
            .identity
            .authenticate_machine(presented, self.now())
            .await?)
    }

    /// Ends a system client's access token (CSC `auth/revoke`).
    ///
    /// # Errors
    /// Database failures.
    pub async fn revoke_machine(&self, machine: &Machine) -> Result<(), Error> {
        Ok(self.identity.revoke_machine(machine).await?)
    }

    /// The authorization server metadata (RFC 8414): the endpoints, and what the server
    /// offers — PKCE S256, PAR (not required), DPoP and client assertions with ES256, public
    /// and `private_key_jwt` clients, the CSC scopes and `credential` authorization details.
    #[must_use]
    pub fn authorization_server_metadata(&self, public_url: &str) -> serde_json::Value {
        let (token_url, par_url) = endpoints(public_url);
        json!({
            "issuer": self.issuer(),
            "authorization_endpoint": format!("{public_url}/idp/authorize"),
            "token_endpoint": token_url,
            "pushed_authorization_request_endpoint": par_url,
            "require_pushed_authorization_requests": false,
            "jwks_uri": format!("{public_url}/idp/jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials", "password"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["service", "credential"],
            "authorization_details_types_supported": ["credential"],
        })
    }

    /// The OpenID provider metadata: the authorization server metadata, and the OpenID
    /// members (subjects, levels of assurance, claims).
    #[must_use]
    pub fn discovery(&self, public_url: &str) -> serde_json::Value {
        let mut document = self.authorization_server_metadata(public_url);
        let acr: Vec<&str> = Loa::ALL.iter().map(|l| l.uri()).collect();
        if let Some(members) = document.as_object_mut() {
            members.insert(
                "subject_types_supported".into(),
                json!(["public", "pairwise"]),
            );
            members.insert("acr_values_supported".into(), json!(acr));
            members.insert(
                "id_token_signing_alg_values_supported".into(),
                json!(["ES256"]),
            );
            members.insert(
                "claims_supported".into(),
                json!([
                    "iss",
                    "sub",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "acr",
                    "amr",
                    "jti",
                    "cnf",
                    "scope",
                    "client_id"
                ]),
            );
        }
        document
    }
}
