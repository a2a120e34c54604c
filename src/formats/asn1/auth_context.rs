//! The authentication context certificate extension (RFC 7773), with which a signing service
//! says in a certificate how the signer authenticated for it. qsign puts it in short-lived
//! certificates (`pki::short_lived`), as the Swedish signing services do.

use der::asn1::ObjectIdentifier;
use der::Sequence;

/// id-ce-authContext (RFC 7773 §3): `1.2.752.201.5.1`.
pub const AUTH_CONTEXT: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.752.201.5.1");

/// The context type of the SAML authentication context information (SACI) of the Swedish
/// e-identification board, the one profile of RFC 7773 in wide use: `contextInfo` is a
/// `saci:SAMLAuthContext` XML element.
pub const SACI: &str = "http://id.elegnamnden.se/auth-cont/1.0/saci";

/// RFC 7773 §3.1:
///
/// ```text
/// AuthenticationContexts ::= SEQUENCE SIZE (1..MAX) OF AuthenticationContext
/// ```
pub type AuthenticationContexts = Vec<AuthenticationContext>;

/// RFC 7773 §3.1:
///
/// ```text
/// AuthenticationContext ::= SEQUENCE {
///     contextType     UTF8String,
///     contextInfo     UTF8String OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct AuthenticationContext {
    /// A URI naming the kind of `context_info`.
    pub context_type: String,
    /// The context, in the form `context_type` names.
    pub context_info: Option<String>,
}

#[cfg(test)]
mod tests {
    use der::{Decode, Encode};

    use super::*;

    #[test]
    fn contexts_round_trip_and_trailing_data_is_refused() {
        let contexts: AuthenticationContexts = vec![AuthenticationContext {
            context_type: SACI.to_owned(),
            context_info: Some("<x/>".to_owned()),
        }];
        let der = contexts.to_der().unwrap();
        assert_eq!(AuthenticationContexts::from_der(&der).unwrap(), contexts);
        let mut longer = der.clone();
        longer.push(0);
        assert!(AuthenticationContexts::from_der(&longer).is_err());
    }
}
