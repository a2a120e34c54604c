//! RFC 3161 time-stamp protocol structures.

use der::asn1::{BitString, GeneralizedTime, Int, ObjectIdentifier, OctetString};
use der::{Any, Decode as _, Encode as _, FixedTag as _, Sequence};
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
    /// When (RFC 3161 allows fractions of a second, which many TSAs send).
    pub gen_time: GenTime,
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

/// A `GeneralizedTime` as RFC 3161 §2.4.2 allows it in `TSTInfo`: `YYYYMMDDhhmmss[.s+]Z`, the
/// fraction without trailing zeros (DER). The fraction is kept, so a decoded token encodes to
/// the same bytes.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct GenTime {
    /// The time to the second.
    pub seconds: GeneralizedTime,
    /// The digits after the decimal point (none for whole seconds), at most nine.
    pub fraction: Vec<u8>,
}

impl GenTime {
    /// A whole-second time.
    #[must_use]
    pub fn whole(seconds: GeneralizedTime) -> Self {
        Self {
            seconds,
            fraction: Vec::new(),
        }
    }

    /// Since the Unix epoch, with the fraction.
    #[must_use]
    pub fn to_unix_duration(&self) -> core::time::Duration {
        let mut nanos: u32 = 0;
        for i in 0..9 {
            let digit = self.fraction.get(i).map_or(0, |d| u32::from(d - b'0'));
            nanos = nanos * 10 + digit;
        }
        self.seconds.to_unix_duration() + core::time::Duration::from_nanos(u64::from(nanos))
    }
}

impl<'a> der::DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: der::Reader<'a>>(reader: &mut R, header: der::Header) -> der::Result<Self> {
        let length = usize::try_from(header.length())?;
        // 14 digits and `Z`, or with `.` and one to nine digits before the `Z`.
        if !(15..=25).contains(&length) || length == 16 {
            return Err(reader.error(Self::TAG.value_error()));
        }
        let mut bytes = [0u8; 25];
        let bytes = bytes
            .get_mut(..length)
            .ok_or_else(|| reader.error(Self::TAG.value_error()))?;
        reader.read_into(bytes)?;
        let bad = || der::Error::from(Self::TAG.value_error());
        let (whole, rest) = bytes.split_at(14);
        let fraction = match rest {
            [b'Z'] => Vec::new(),
            [b'.', digits @ .., b'Z']
                if !digits.is_empty()
                    && digits.iter().all(u8::is_ascii_digit)
                    && digits.last() != Some(&b'0') =>
            {
                digits.to_vec()
            }
            _ => return Err(bad()),
        };
        let mut plain = [0u8; 15];
        plain[..14].copy_from_slice(whole);
        plain[14] = b'Z';
        let seconds = GeneralizedTime::from_der(&der_wrap(&plain)).map_err(|_| bad())?;
        Ok(Self { seconds, fraction })
    }
}

/// `plain` (a whole-second GeneralizedTime value) as a DER TLV.
fn der_wrap(plain: &[u8; 15]) -> [u8; 17] {
    let mut tlv = [0u8; 17];
    tlv[0] = 0x18;
    tlv[1] = 15;
    tlv[2..].copy_from_slice(plain);
    tlv
}

impl der::EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<der::Length> {
        let fraction = if self.fraction.is_empty() {
            0
        } else {
            1 + self.fraction.len()
        };
        der::Length::try_from(15 + fraction)
    }

    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        let whole = self.seconds.to_der()?;
        // The 14 digits of the whole seconds (the TLV's value without its `Z`).
        let digits = whole
            .get(2..16)
            .ok_or_else(|| der::Error::from(Self::TAG.value_error()))?;
        writer.write(digits)?;
        if !self.fraction.is_empty() {
            writer.write_byte(b'.')?;
            writer.write(&self.fraction)?;
        }
        writer.write_byte(b'Z')
    }
}

impl der::FixedTag for GenTime {
    const TAG: der::Tag = der::Tag::GeneralizedTime;
}

#[cfg(test)]
mod gen_time_tests {
    use der::{Decode as _, Encode as _};

    use super::GenTime;

    fn tlv(value: &str) -> Vec<u8> {
        let mut out = vec![0x18, u8::try_from(value.len()).unwrap()];
        out.extend_from_slice(value.as_bytes());
        out
    }

    #[test]
    fn fractions_of_a_second_are_read_and_written_back_unchanged() {
        for (value, millis) in [
            ("20261207035441Z", 0),
            ("20261207035441.123Z", 123),
            ("20261207035441.5Z", 500),
            ("20261207035441.000001Z", 0),
        ] {
            let time = GenTime::from_der(&tlv(value)).unwrap();
            assert_eq!(time.to_unix_duration().as_secs(), 1_796_615_681, "{value}");
            assert_eq!(time.to_unix_duration().subsec_millis(), millis, "{value}");
            assert_eq!(time.to_der().unwrap(), tlv(value), "{value}");
        }
    }

    #[test]
    fn malformed_times_are_refused() {
        for value in [
            "20261207035441.Z",
            "20261207035441.120Z",
            "20261207035441.12a4Z",
            "20261207035441+0100",
            "202612070354Z",
            "20261207035441.1234567890Z",
            "20261307035441Z",
        ] {
            assert!(GenTime::from_der(&tlv(value)).is_err(), "{value}");
        }
    }
}
