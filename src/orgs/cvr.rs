//! The CVR number, the Danish business register's key of an organisation.

use super::Error;

/// A CVR number: eight digits, the first not 0, passing the modulus-11 check (weights
/// 2, 7, 6, 5, 4, 3, 2, 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cvr(String);

impl Cvr {
    /// Parses and checks a CVR number.
    ///
    /// # Errors
    /// [`Error::InvalidCvr`].
    pub fn parse(s: &str) -> Result<Self, Error> {
        const WEIGHTS: [u32; 8] = [2, 7, 6, 5, 4, 3, 2, 1];
        let s = s.trim();
        let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
        let valid = s.len() == 8
            && digits.len() == 8
            && digits.first() != Some(&0)
            && digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum::<u32>() % 11 == 0;
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::InvalidCvr(s.chars().take(16).collect()))
        }
    }

    /// The eight digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Cvr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvr_numbers_need_eight_digits_and_the_check_digit() {
        for valid in ["35408002", "25313763", "12345674"] {
            assert!(Cvr::parse(valid).is_ok(), "{valid}");
        }
        for invalid in [
            "12345678",
            "1234567",
            "123456789",
            "0123456X",
            "01234567",
            "",
            "abcdefgh",
        ] {
            assert!(
                matches!(Cvr::parse(invalid), Err(Error::InvalidCvr(_))),
                "{invalid}"
            );
        }
    }
}
