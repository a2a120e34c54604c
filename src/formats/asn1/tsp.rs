//! RFC 3161 time-stamp protocol structures.

use der::asn1::{BitString, GeneralizedTime, Int, ObjectIdentifier, OctetString};
use der::{Any, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;

/// RFC 3161 §2.4.1:
///
/// ```text
/// TimeStampReq ::= SEQUENCE  {
///    version                  INTEGER  { v1(1) },
///    messageImprint           MessageImprint,
///    reqPolicy                TSAPolicyId              OPTIONAL,
///    nonce                    INTEGER                  OPTIONAL,
///    certReq                  BOOLEAN                  DEFAULT FALSE,
///    extensions               [0] IMPLICIT Extensions  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// Always 1.
    pub version: u8,
    /// The hash to be time-stamped.
    pub message_imprint: MessageImprint,
    /// A policy the requester asks for.
    pub req_policy: Option<ObjectIdentifier>,
    /// Echoed in the token.
    pub nonce: Option<Int>,
    /// Whether the TSA certificate must be in the token.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Extensions (qsign accepts none).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// RFC 3161 §2.4.1:
///
/// ```text
/// MessageImprint ::= SEQUENCE  {
///      hashAlgorithm                AlgorithmIdentifier,
///      hashedMessage                OCTET STRING  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash.
    pub hashed_message: OctetString,
}

/// RFC 3161 §2.4.2:
///
/// ```text
/// TSTInfo ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    policy                       TSAPolicyId,
///    messageImprint               MessageImprint,
///    serialNumber                 INTEGER,
///    genTime                      GeneralizedTime,
///    accuracy                     Accuracy                 OPTIONAL,
///    ordering                     BOOLEAN             DEFAULT FALSE,
///    nonce                        INTEGER                  OPTIONAL,
///    tsa                          [0] GeneralName          OPTIONAL,
///    extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// Always 1.
    pub version: u8,
    /// The TSA policy under which the token was made.
    pub policy: ObjectIdentifier,
    /// Copied from the request.
    pub message_imprint: MessageImprint,
    /// Unique per token.
    pub serial_number: Int,
    /// When.
    pub gen_time: GeneralizedTime,
    /// How precise `gen_time` is.
    pub accuracy: Option<Accuracy>,
    /// Whether tokens can be ordered by `gen_time` alone.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// Copied from the request.
    pub nonce: Option<Int>,
    /// The TSA's name.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<Any>,
    /// Extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// RFC 3161 §2.4.2:
///
/// ```text
/// Accuracy ::= SEQUENCE {
///          seconds        INTEGER              OPTIONAL,
///          millis     [0] INTEGER  (1..999)    OPTIONAL,
///          micros     [1] INTEGER  (1..999)    OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Whole seconds.
    pub seconds: Option<u32>,
    /// Milliseconds.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// RFC 3161 §2.4.2:
///
/// ```text
/// TimeStampResp ::= SEQUENCE  {
///      status                  PKIStatusInfo,
///      timeStampToken          TimeStampToken     OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// Granted or why not.
    pub status: PkiStatusInfo,
    /// A CMS ContentInfo with SignedData over a TSTInfo.
    pub time_stamp_token: Option<Any>,
}

/// RFC 3161 §2.4.2 (from RFC 4210):
///
/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// 0 granted, 2 rejection, 3 waiting, 5 revocation notification.
    pub status: u8,
    /// Text for people.
    pub status_string: Option<Vec<String>>,
    /// Which failure, as a named bit.
    pub fail_info: Option<BitString>,
}

/// PKIFailureInfo bit numbers (RFC 3161 §2.4.2).
pub mod failure {
    /// Unrecognized or unsupported algorithm.
    pub const BAD_ALG: usize = 0;
    /// Transaction not permitted or supported.
    pub const BAD_REQUEST: usize = 2;
    /// The data submitted has the wrong format.
    pub const BAD_DATA_FORMAT: usize = 5;
    /// The requested TSA policy is not supported.
    pub const UNACCEPTED_POLICY: usize = 15;
    /// The requested extension is not supported.
    pub const UNACCEPTED_EXTENSION: usize = 16;
    /// The request cannot be handled due to system failure.
    pub const SYSTEM_FAILURE: usize = 25;
}
