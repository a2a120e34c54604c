//! Signature formats. **Pure**: bytes in, bytes out; no I/O, no HSM, no database.
//!
//! [`asn1`]: the ETSI, ESS, RFC 3161 and RFC 6960 structures that no RustCrypto crate of the
//! stack in use models; [`cms`]: CAdES signatures; [`xades`] (over [`xml`]): XAdES signatures;
//! [`pades`] (over [`pdf`]): PAdES signatures by incremental update; [`representation`]: the
//! capacity a signature is made in and the rule-of-representation language.
//!
//! Uses nothing else of the crate.

pub mod asn1;
pub mod cms;
pub mod pades;
pub mod pdf;
pub mod representation;
pub mod xades;
pub mod xml;
