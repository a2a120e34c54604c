//! Typed values that travel between modules: digests with their hash algorithm, Unix times,
//! the UUID ids of persons, credentials, SADs and documents, and signature activation factors;
//! and the shape of the policy files that `keys` and `validate` both read.
//!
//! Text forms are parsed once, where a value enters (a request, a token, a database row), and
//! written back only where one leaves; the text and database forms stay what they were (base64,
//! Unix seconds, hyphenated UUIDs, factor names).
//!
//! A leaf: uses nothing else of the crate, so every module may use it.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Hash algorithms over which qsign signs digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Digest length in bytes.
    #[must_use]
    pub const fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Never true: a digest always has bytes. Present for clippy's `len_without_is_empty`.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        false
    }
}

/// Why bytes or text are not a digest of an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The text is base64 in none of the accepted alphabets.
    #[error("digest is not base64")]
    NotBase64,
    /// A digest of the wrong length for its algorithm.
    #[error("digest is {got} bytes, its algorithm needs {expected}")]
    WrongLength {
        /// Length the algorithm needs.
        expected: usize,
        /// Length given.
        got: usize,
    },
}

/// A digest, checked against its algorithm's length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: HashAlgorithm,
    bytes: Vec<u8>,
}

impl Digest {
    /// Wraps digest bytes computed with `algorithm`.
    ///
    /// # Errors
    /// [`DigestError::WrongLength`] when the length does not match the algorithm.
    pub fn new(algorithm: HashAlgorithm, bytes: Vec<u8>) -> Result<Self, DigestError> {
        if bytes.len() != algorithm.len() {
            return Err(DigestError::WrongLength {
                expected: algorithm.len(),
                got: bytes.len(),
            });
        }
        Ok(Self { algorithm, bytes })
    }

    /// A SHA-256 digest.
    #[must_use]
    pub fn sha256(bytes: [u8; 32]) -> Self {
        Self {
            algorithm: HashAlgorithm::Sha256,
            bytes: bytes.to_vec(),
        }
    }

    /// A SHA-384 digest.
    #[must_use]
    pub fn sha384(bytes: [u8; 48]) -> Self {
        Self {
            algorithm: HashAlgorithm::Sha384,
            bytes: bytes.to_vec(),
        }
    }

    /// A SHA-512 digest.
    #[must_use]
    pub fn sha512(bytes: [u8; 64]) -> Self {
        Self {
            algorithm: HashAlgorithm::Sha512,
            bytes: bytes.to_vec(),
        }
    }

    /// Parses a digest of `algorithm` sent as base64, as CSC clients send hashes: the standard
    /// alphabet, or the URL-safe one with or without padding; surrounding whitespace is
    /// ignored.
    ///
    /// # Errors
    /// [`DigestError::NotBase64`], or [`DigestError::WrongLength`] when the decoded length does
    /// not match the algorithm.
    pub fn parse_base64(text: &str, algorithm: HashAlgorithm) -> Result<Self, DigestError> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
            .map_err(|_| DigestError::NotBase64)?;
        Self::new(algorithm, bytes)
    }

    /// The hash algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The digest bytes, owned.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Standard base64 (with padding), as CSC carries hashes.
    #[must_use]
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// A point in time as Unix seconds, the unit of tokens, the database and the audit API. The
/// audit log stamps records in milliseconds: [`UnixTime::as_millis`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(i64);

impl UnixTime {
    /// From Unix seconds.
    #[must_use]
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// From Unix milliseconds, rounded down to the second.
    #[must_use]
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis.div_euclid(1000))
    }

    /// Unix seconds.
    #[must_use]
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// Unix milliseconds of the start of the second (saturating).
    #[must_use]
    pub const fn as_millis(self) -> i64 {
        self.0.saturating_mul(1000)
    }

    /// `secs` seconds later (earlier when negative), saturating.
    #[must_use]
    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Seconds from `earlier` to this time (negative when `earlier` is later), saturating.
    #[must_use]
    pub const fn secs_since(self, earlier: Self) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// As a date and time in UTC; `None` outside the years `time` represents.
    #[must_use]
    pub fn to_offset_date_time(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.0).ok()
    }
}

impl From<OffsetDateTime> for UnixTime {
    /// The whole seconds of `t` (what the clock gives, sub-second part dropped).
    fn from(t: OffsetDateTime) -> Self {
        Self(t.unix_timestamp())
    }
}

impl TryFrom<UnixTime> for OffsetDateTime {
    type Error = time::error::ComponentRange;

    fn try_from(t: UnixTime) -> Result<Self, Self::Error> {
        Self::from_unix_timestamp(t.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Text that is not an id: not a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what}: expected a UUID")]
pub struct IdError {
    what: &'static str,
}

/// A UUID id: its text form is the hyphenated lowercase UUID (as kept in the database and
/// sent on the wire), in serde too.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new random id (UUID version 4).
            #[must_use]
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            /// Parses the text form (any form of UUID that `uuid` reads).
            ///
            /// # Errors
            /// [`IdError`] when `text` is not a UUID.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                uuid::Uuid::parse_str(text)
                    .map(Self)
                    .map_err(|_| IdError { what: $what })
            }

            /// The UUID.
            #[must_use]
            pub const fn as_uuid(self) -> uuid::Uuid {
                self.0
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

uuid_id!(
    /// A person (an account), by their random UUID.
    PersonId,
    "person id"
);
uuid_id!(
    /// A signing credential (the CSC `credentialID`).
    CredentialId,
    "credential id"
);
uuid_id!(
    /// Signature activation data (the SAD's `jti`, the key of its use count).
    SadId,
    "SAD id"
);
uuid_id!(
    /// An uploaded document.
    DocumentId,
    "document id"
);

/// How a signer activated a signature (the `factor` of the audit record of an issued SAD).
/// Not a login factor (the identity module's `loa::Factor`): `oauth` and `external` are
/// approvals carried by an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivationFactor {
    /// A passkey assertion over the activation's commitment.
    Webauthn,
    /// An approval on qsign's own login page (the OAuth authorization-code flow).
    Oauth,
    /// An approval at a trusted external issuer.
    External,
    /// A TOTP code sent by the client.
    Totp,
    /// An organisation's system client, authenticated by its own key (`private_key_jwt`), using
    /// the organisation's seal with no person involved (SCAL1).
    Client,
}

impl ActivationFactor {
    /// Every factor.
    pub const ALL: [Self; 5] = [
        Self::Webauthn,
        Self::Oauth,
        Self::External,
        Self::Totp,
        Self::Client,
    ];

    /// The stable name, as the audit records carry it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Webauthn => "webauthn",
            Self::Oauth => "oauth",
            Self::External => "external",
            Self::Totp => "totp",
            Self::Client => "client",
        }
    }
}

/// A name that is no activation factor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activation factor {0:?}")]
pub struct UnknownFactor(pub String);

impl FromStr for ActivationFactor {
    type Err = UnknownFactor;

    fn from_str(name: &str) -> Result<Self, UnknownFactor> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| UnknownFactor(name.to_owned()))
    }
}

impl fmt::Display for ActivationFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy file (signature policies, validation policies): its `[[policy]]` entries in file
/// order, each of a type that refuses unknown keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile<E> {
    /// The entries.
    pub policy: Vec<E>,
}

impl<E: serde::de::DeserializeOwned> PolicyFile<E> {
    /// The entries of a policy file (TOML).
    ///
    /// # Errors
    /// Why the text is not such a file, in words.
    pub fn entries(text: &str) -> Result<Vec<E>, String> {
        toml::from_str::<Self>(text)
            .map(|file| file.policy)
            .map_err(|e| e.to_string())
    }
}

/// Checks the name of an entry of a policy file: not empty, made of `a-z`, `0-9` and `-`, and
/// none of the names `before` it.
///
/// # Errors
/// What is wrong with the name, in words.
pub fn check_policy_name<'a>(
    name: &str,
    mut before: impl Iterator<Item = &'a str>,
) -> Result<(), &'static str> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("the name must be made of a-z, 0-9 and -");
    }
    if before.any(|b| b == name) {
        return Err("defined twice");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_read_from_the_standard_and_url_safe_alphabets() {
        // 0xfb 0xff ... gives `+` and `/` in the standard alphabet, `-` and `_` in URL-safe.
        let bytes = [
            0xfb_u8, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
        ]
        .repeat(2);
        let standard = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let url = base64::engine::general_purpose::URL_SAFE.encode(&bytes);
        let url_no_pad = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        assert!(standard.contains('+') && url.contains('-') && !url_no_pad.ends_with('='));
        for text in [standard.clone(), url, url_no_pad, format!("  {standard}\n")] {
            let d = Digest::parse_base64(&text, HashAlgorithm::Sha256).unwrap();
            assert_eq!(d.as_bytes(), bytes.as_slice(), "{text}");
            assert_eq!(d.algorithm(), HashAlgorithm::Sha256);
        }
        let d = Digest::parse_base64(&standard, HashAlgorithm::Sha256).unwrap();
        assert_eq!(d.to_base64(), standard);
        assert_eq!(
            d,
            Digest::new(HashAlgorithm::Sha256, bytes.clone()).unwrap()
        );
        assert_eq!(d.into_bytes(), bytes);
    }

    #[test]
    fn digests_of_the_wrong_length_or_not_base64_are_refused() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(
            Digest::parse_base64(&b64, HashAlgorithm::Sha384),
            Err(DigestError::WrongLength {
                expected: 48,
                got: 32
            })
        );
        assert_eq!(
            Digest::parse_base64("not base64!", HashAlgorithm::Sha256),
            Err(DigestError::NotBase64)
        );
        assert_eq!(
            Digest::new(HashAlgorithm::Sha512, vec![0; 63]),
            Err(DigestError::WrongLength {
                expected: 64,
                got: 63
            })
        );
        assert!(Digest::parse_base64("", HashAlgorithm::Sha256).is_err());
        assert_eq!(Digest::sha384([1; 48]).algorithm().len(), 48);
        assert_eq!(Digest::sha512([1; 64]).as_bytes().len(), 64);
    }

    #[test]
    fn activation_factor_names_round_trip() {
        let names: Vec<&str> = ActivationFactor::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, ["webauthn", "oauth", "external", "totp", "client"]);
        for f in ActivationFactor::ALL {
            assert_eq!(f.as_str().parse::<ActivationFactor>(), Ok(f));
            assert_eq!(f.to_string(), f.as_str());
        }
        assert!("password".parse::<ActivationFactor>().is_err());
        assert!("TOTP".parse::<ActivationFactor>().is_err());
    }

    #[test]
    fn ids_parse_only_uuids_and_keep_their_text_form() {
        let text = "6f1c2b9e-3d4a-4e5f-8a7b-0c1d2e3f4a5b";
        let id = CredentialId::parse(text).unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(id.as_uuid(), uuid::Uuid::parse_str(text).unwrap());
        assert_eq!(text.parse::<CredentialId>(), Ok(id));
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
        assert_eq!(
            serde_json::from_str::<CredentialId>(&format!("\"{text}\"")).unwrap(),
            id
        );
        for bad in ["", "person-1", "6f1c2b9e-3d4a-4e5f-8a7b", "g f1c2b9e"] {
            assert!(PersonId::parse(bad).is_err(), "{bad}");
            assert!(SadId::parse(bad).is_err(), "{bad}");
            assert!(DocumentId::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<SadId>("\"not-a-uuid\"").is_err());
        let random = SadId::random();
        assert_eq!(SadId::parse(&random.to_string()), Ok(random));
        assert_eq!(PersonId::from(id.as_uuid()).as_uuid(), id.as_uuid());
    }

    #[test]
    fn unix_times_convert_between_seconds_milliseconds_and_dates() {
        let t = UnixTime::from_secs(1_700_000_000);
        assert_eq!(t.as_secs(), 1_700_000_000);
        assert_eq!(t.as_millis(), 1_700_000_000_000);
        assert_eq!(UnixTime::from_millis(1_700_000_000_999), t);
        assert_eq!(UnixTime::from_millis(-1), UnixTime::from_secs(-1));
        assert_eq!(t.plus_secs(300).as_secs(), 1_700_000_300);
        assert_eq!(t.plus_secs(300).secs_since(t), 300);
        assert!(t < t.plus_secs(1));
        assert_eq!(UnixTime::from_secs(i64::MAX).as_millis(), i64::MAX);
        assert_eq!(
            UnixTime::from_secs(i64::MAX).plus_secs(1).as_secs(),
            i64::MAX
        );
        let date = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
            + time::Duration::milliseconds(750);
        assert_eq!(UnixTime::from(date), t);
        assert_eq!(
            OffsetDateTime::try_from(t).unwrap(),
            OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
        );
        assert_eq!(t.to_offset_date_time(), OffsetDateTime::try_from(t).ok());
        assert!(UnixTime::from_secs(i64::MAX)
            .to_offset_date_time()
            .is_none());
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000");
        assert_eq!(serde_json::from_str::<UnixTime>("1700000000").unwrap(), t);
    }
}
