//! Signature formats. **Pure**: bytes in, bytes out; no I/O, no HSM, no database.
//!
//! So far only [`asn1`]: the ETSI, ESS, RFC 3161 and RFC 6960 structures that no RustCrypto
//! crate of the stack in use models. The PAdES, XAdES and CAdES builders come here.
//!
//! Uses nothing else of the crate.

pub mod asn1;
