//! The stored form of a user private key wrapped under the master key.
//!
//! ```text
//! WrappedKey v1 :=  "QSWK" | version=1 (u8) | algorithm (u8) | mechanism (u8)
//!                   | master-label length (u8) | master label (bytes)
//!                   | wrapped length (u16, big endian) | wrapped bytes
//! ```
//!
//! The wrapped bytes are what `C_WrapKey` with `CKM_AES_KEY_WRAP_PAD` (RFC 5649) returned.
//! The header says how to unwrap them, so a future format, mechanism or master key can be read
//! beside today's. Decoding is strict: unknown versions, mechanisms or algorithms, and trailing
//! bytes are errors.

use super::mechanism::KeyAlgorithm;
use super::Error;

const MAGIC: &[u8; 4] = b"QSWK";
const VERSION: u8 = 1;
/// `CKM_AES_KEY_WRAP_PAD`, the only wrapping mechanism of format version 1.
const MECHANISM_AES_KEY_WRAP_PAD: u8 = 1;

/// A private key wrapped under a master key in the HSM, with the header needed to unwrap it.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    algorithm: KeyAlgorithm,
    master_label: String,
    wrapped: Vec<u8>,
}

impl std::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedKey")
            .field("algorithm", &self.algorithm)
            .field("master_label", &self.master_label)
            .field("wrapped_len", &self.wrapped.len())
            .finish()
    }
}

impl WrappedKey {
    pub(crate) fn new(
        algorithm: KeyAlgorithm,
        master_label: &str,
        wrapped: Vec<u8>,
    ) -> Result<Self, Error> {
        if master_label.len() > usize::from(u8::MAX) || u16::try_from(wrapped.len()).is_err() {
            return Err(Error::BadBlob("field too long"));
        }
        Ok(Self {
            algorithm,
            master_label: master_label.to_owned(),
            wrapped,
        })
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Label of the master key that wrapped it.
    #[must_use]
    pub fn master_label(&self) -> &str {
        &self.master_label
    }

    /// The bytes `C_WrapKey` produced (what an attacker holding the database would see).
    #[must_use]
    pub fn wrapped_bytes(&self) -> &[u8] {
        &self.wrapped
    }

    /// Encodes the blob (format version 1).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + self.master_label.len() + self.wrapped.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(self.algorithm.code());
        out.push(MECHANISM_AES_KEY_WRAP_PAD);
        // Lengths were checked in `new`.
        out.push(u8::try_from(self.master_label.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.master_label.as_bytes());
        out.extend_from_slice(
            &u16::try_from(self.wrapped.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        out.extend_from_slice(&self.wrapped);
        out
    }

    /// Decodes a blob.
    ///
    /// # Errors
    /// [`Error::BadBlob`] for anything but a well-formed version-1 blob.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(Error::BadBlob("bad magic"));
        }
        if r.byte()? != VERSION {
            return Err(Error::BadBlob("unknown version"));
        }
        let algorithm =
            KeyAlgorithm::from_code(r.byte()?).ok_or(Error::BadBlob("unknown algorithm"))?;
        if r.byte()? != MECHANISM_AES_KEY_WRAP_PAD {
            return Err(Error::BadBlob("unknown wrapping mechanism"));
        }
        let label_len = usize::from(r.byte()?);
        let label = std::str::from_utf8(r.take(label_len)?)
            .map_err(|_| Error::BadBlob("master label is not UTF-8"))?
            .to_owned();
        let len_bytes = r.take(2)?;
        let wrapped_len = usize::from(u16::from_be_bytes([
            *len_bytes.first().ok_or(Error::BadBlob("truncated"))?,
            *len_bytes.get(1).ok_or(Error::BadBlob("truncated"))?,
        ]));
        let wrapped = r.take(wrapped_len)?.to_vec();
        if !r.0.is_empty() {
            return Err(Error::BadBlob("trailing bytes"));
        }
        if wrapped.len() < 16 || wrapped.len() % 8 != 0 {
            return Err(Error::BadBlob(
                "wrapped key length is not an RFC 5649 output",
            ));
        }
        Ok(Self {
            algorithm,
            master_label: label,
            wrapped,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Error::BadBlob("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Error> {
        self.take(1)?
            .first()
            .copied()
            .ok_or(Error::BadBlob("truncated"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> WrappedKey {
        WrappedKey::new(KeyAlgorithm::EcP256, "qsign-master", vec![7; 80]).unwrap()
    }

    #[test]
    fn blob_round_trips() {
        let blob = sample().encode();
        assert_eq!(&blob[..4], b"QSWK");
        assert_eq!(WrappedKey::decode(&blob).unwrap(), sample());
    }

    #[test]
    fn blob_rejects_every_truncation_and_trailing_data() {
        let blob = sample().encode();
        for n in 0..blob.len() {
            assert!(
                WrappedKey::decode(&blob[..n]).is_err(),
                "prefix {n} accepted"
            );
        }
        let mut long = blob.clone();
        long.push(0);
        assert!(matches!(
            WrappedKey::decode(&long),
            Err(Error::BadBlob("trailing bytes"))
        ));
    }

    #[test]
    fn blob_rejects_unknown_header_values() {
        let blob = sample().encode();
        for (index, value) in [(0, b'X'), (4, 2), (5, 9), (6, 2)] {
            let mut bad = blob.clone();
            bad[index] = value;
            assert!(
                WrappedKey::decode(&bad).is_err(),
                "byte {index} = {value} accepted"
            );
        }
    }

    #[test]
    fn debug_does_not_show_wrapped_bytes() {
        let shown = format!("{:?}", sample());
        assert!(shown.contains("wrapped_len: 80"));
        assert!(!shown.contains("7, 7"));
    }
}
