//! Registered OAuth clients (`[[identity.clients]]`, file only): their redirect URIs, their
//! tokens' audience, and how they authenticate at the token and PAR endpoints.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::Error;

/// A registered OAuth client.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Its id.
    pub client_id: String,
    /// Exact redirect URIs it may use.
    pub redirect_uris: Vec<String>,
    /// The audience of its tokens: absent for a signing client of this service (tokens carry
    /// the person's id), a relying party's own name otherwise (tokens carry a pairwise `sub`).
    pub audience: Option<String>,
    /// How it authenticates at the token and PAR endpoints: `none` (a public client, the
    /// default: PKCE protects its codes) or `private_key_jwt` (RFC 7523: an ES256 assertion
    /// signed with one of `jwks`, used once).
    #[serde(default)]
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// Its public keys for `private_key_jwt`: P-256 JWKs (`kty = "EC"`, `crv = "P-256"`, `x`,
    /// `y`); a private member (`d`) is refused.
    #[serde(default)]
    pub jwks: Vec<ClientJwk>,
    /// Exact URIs to which the results of its tokens' asynchronous signing requests may be
    /// sent (CSC `response_uri`); none by default, so no callback is made for it.
    #[serde(default)]
    pub response_uris: Vec<String>,
}

/// How a client authenticates (RFC 7591 `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// A public client: its id alone.
    #[default]
    None,
    /// A signed JWT assertion (RFC 7523, OpenID Connect Core §9).
    PrivateKeyJwt,
}

/// A client's public key, as a JWK (RFC 7517) of a P-256 key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientJwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The x coordinate, base64url (32 bytes).
    pub x: String,
    /// The y coordinate, base64url (32 bytes).
    pub y: String,
    /// A key id, if the client names its keys.
    #[serde(default)]
    pub kid: Option<String>,
    /// `ES256` when given.
    #[serde(default)]
    pub alg: Option<String>,
    /// `sig` when given.
    #[serde(default, rename = "use")]
    pub key_use: Option<String>,
}

impl ClientJwk {
    /// Whether it can be a P-256 signing key for ES256 (whether the point is on the curve is
    /// checked when the key is loaded).
    fn fits(&self) -> bool {
        let coordinate = |c: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .is_ok_and(|b| b.len() == 32)
        };
        self.kty == "EC"
            && self.crv == "P-256"
            && coordinate(&self.x)
            && coordinate(&self.y)
            && self.alg.as_deref().is_none_or(|a| a == "ES256")
            && self.key_use.as_deref().is_none_or(|u| u == "sig")
    }
}

/// Checks the registered clients: an id, https (or loopback http) redirect URIs without
/// fragments, ids unique, and keys exactly for `private_key_jwt` clients (1 to 8, each a
/// P-256 signing key).
///
/// # Errors
/// [`Error::Invalid`] naming the client.
pub(super) fn validate(clients: &[ClientConfig]) -> Result<(), Error> {
    for (i, c) in clients.iter().enumerate() {
        let bad_uri = c.redirect_uris.iter().chain(&c.response_uris).any(|u| {
            !(u.starts_with("https://")
                || u.starts_with("http://localhost")
                || u.starts_with("http://127.0.0.1"))
                || u.contains('#')
        });
        if c.client_id.is_empty() || c.redirect_uris.is_empty() || bad_uri {
            return Err(Error::Invalid(format!(
                "identity.clients {:?}: a client id and https (or loopback http) redirect and response URIs without fragments are required",
                c.client_id
            )));
        }
        if clients
            .iter()
            .skip(i.saturating_add(1))
            .any(|other| other.client_id == c.client_id)
        {
            return Err(Error::Invalid(format!(
                "identity.clients {:?}: registered twice",
                c.client_id
            )));
        }
        let keys_fit = match c.token_endpoint_auth_method {
            ClientAuthMethod::None => c.jwks.is_empty(),
            ClientAuthMethod::PrivateKeyJwt => {
                (1..=8).contains(&c.jwks.len()) && c.jwks.iter().all(ClientJwk::fits)
            }
        };
        if !keys_fit {
            return Err(Error::Invalid(format!(
                "identity.clients {:?}: token_endpoint_auth_method \"private_key_jwt\" needs 1 to 8 P-256 public keys in jwks (kty \"EC\", crv \"P-256\", x, y); \"none\" takes none",
                c.client_id
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> Result<Vec<ClientConfig>, String> {
        #[derive(Deserialize)]
        struct File {
            clients: Vec<ClientConfig>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        validate(&file.clients).map_err(|e| e.to_string())?;
        Ok(file.clients)
    }

    const X: &str = "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs";
    const Y: &str = "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA";

    #[test]
    fn private_key_jwt_clients_need_public_p256_keys() {
        let ok = client(&format!(
            r#"[[clients]]
client_id = "app"
redirect_uris = ["https://app.example/cb"]
token_endpoint_auth_method = "private_key_jwt"
jwks = [{{ kty = "EC", crv = "P-256", x = "{X}", y = "{Y}", use = "sig" }}]"#
        ))
        .unwrap();
        assert_eq!(
            ok[0].token_endpoint_auth_method,
            ClientAuthMethod::PrivateKeyJwt
        );
        let public = client(
            r#"[[clients]]
client_id = "app"
redirect_uris = ["https://app.example/cb"]"#,
        )
        .unwrap();
        assert_eq!(public[0].token_endpoint_auth_method, ClientAuthMethod::None);
        // No keys, a private key pasted in, an RSA key, keys for a public client, twice.
        let no_keys = r#"[[clients]]
client_id = "app"
redirect_uris = ["https://app.example/cb"]
token_endpoint_auth_method = "private_key_jwt""#;
        assert!(client(no_keys).unwrap_err().contains("private_key_jwt"));
        let private = format!(
            r#"[[clients]]
client_id = "app"
redirect_uris = ["https://app.example/cb"]
token_endpoint_auth_method = "private_key_jwt"
jwks = [{{ kty = "EC", crv = "P-256", x = "{X}", y = "{Y}", d = "{X}" }}]"#
        );
        assert!(client(&private).unwrap_err().contains("unknown field"));
        let rsa = format!(
            r#"[[clients]]
client_id = "app"
redirect_uris = ["https://app.example/cb"]
token_endpoint_auth_method = "private_key_jwt"
jwks = [{{ kty = "RSA", crv = "P-256", x = "{X}", y = "{Y}" }}]"#
        );
        assert!(client(&rsa).is_err());
        let keys_for_public = format!(
            r#"[[clients]]
client_id = "app"
redirect_uris = ["https://app.example/cb"]
jwks = [{{ kty = "EC", crv = "P-256", x = "{X}", y = "{Y}" }}]"#
        );
        assert!(client(&keys_for_public).is_err());
        let twice = r#"[[clients]]
client_id = "app"
redirect_uris = ["https://app.example/cb"]
[[clients]]
client_id = "app"
redirect_uris = ["https://app.example/other"]"#;
        assert!(client(twice).unwrap_err().contains("registered twice"));
    }
}
