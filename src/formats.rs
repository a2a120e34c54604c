//! Signature formats. **Pure**: bytes in, bytes out; no I/O, no HSM, no database.
//!
//! [`asn1`]: the ETSI, ESS, RFC 3161 and RFC 6960 structures that no RustCrypto crate of the
//! stack in use models; [`cms`]: CAdES signatures (B-B, B-T, B-LT). The PAdES and XAdES
//! builders come here.
//!
//! Uses nothing else of the crate.

pub mod asn1;
pub mod cms;
pub mod xades;
pub mod xml;
