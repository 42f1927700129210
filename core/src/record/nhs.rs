//! [`NhsNumber`]: a ten-digit NHS number with its Modulus 11 check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::wire;
use super::RecordError;

/// An NHS number (England, Wales, Isle of Man), validated with the Modulus 11
/// check digit.
///
/// Parsing accepts `9434765919`, `943 476 5919` and `943-476-5919`
/// (surrounding whitespace is ignored). The canonical form, used in JSON, is
/// the ten digits; [`Display`](fmt::Display) groups them 3-3-4 with spaces.
/// `Debug` never shows the number: it prints `NhsNumber(<redacted>)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NhsNumber([u8; 10]);

impl NhsNumber {
    /// Parses and validates an NHS number (see the type documentation for the
    /// accepted forms).
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        let mut digits = [0u8; 10];
        let mut count = 0usize;
        let mut after_digit = false;
        for c in s.trim().bytes() {
            match c {
                b'0'..=b'9' => {
                    let slot = digits.get_mut(count).ok_or(RecordError::NhsNumberFormat)?;
                    *slot = c - b'0';
                    count += 1;
                    after_digit = true;
                }
                // One space or hyphen may follow the third and the sixth digit.
                b' ' | b'-' if after_digit && (count == 3 || count == 6) => after_digit = false,
                _ => return Err(RecordError::NhsNumberFormat),
            }
        }
        if count != 10 {
            return Err(RecordError::NhsNumberFormat);
        }
        if check_digit(&digits) != Some(digits[9]) {
            return Err(RecordError::NhsNumberCheckDigit);
        }
        Ok(NhsNumber(digits))
    }

    /// The ten digits without separators (`9434765919`): the form stored in JSON.
    pub fn canonical(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

/// The Modulus 11 check digit for the first nine digits: weights 10 down to
/// 2, `11 - (sum mod 11)`, where 11 becomes 0 and 10 means no valid number
/// starts with these nine digits (`None`).
fn check_digit(digits: &[u8; 10]) -> Option<u8> {
    let sum: u32 = digits[..9]
        .iter()
        .zip((2..=10u32).rev())
        .map(|(&d, weight)| u32::from(d) * weight)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        // 1..=9, so the cast cannot truncate.
        check => u8::try_from(check).ok(),
    }
}

impl fmt::Display for NhsNumber {
    /// Writes the number grouped 3-3-4 with spaces: `943 476 5919`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.canonical();
        write!(f, "{} {} {}", &s[..3], &s[3..6], &s[6..])
    }
}

impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NhsNumber").field(&wire::Redacted).finish()
    }
}

impl FromStr for NhsNumber {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NhsNumber::parse(s)
    }
}

impl TryFrom<&str> for NhsNumber {
    type Error = RecordError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        NhsNumber::parse(s)
    }
}

impl Serialize for NhsNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for NhsNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_string_with(deserializer, NhsNumber::parse, RecordError::NhsNumberFormat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: [&str; 3] = ["9434765919", "4010232137", "9990548609"];

    #[test]
    fn known_valid_numbers() {
        for n in VALID {
            let parsed = NhsNumber::parse(n).expect(n);
            assert_eq!(parsed.canonical(), n);
        }
        // Check digit 0 (11 - sum mod 11 = 11): 000000000 sums to 0.
        assert!(NhsNumber::parse("0000000000").is_ok());
    }

    #[test]
    fn accepted_forms_and_display() {
        let plain = NhsNumber::parse("9434765919").expect("plain");
        for form in [
            "943 476 5919",
            "943-476-5919",
            "  9434765919\n",
            "943 476-5919",
            "943476 5919",
        ] {
            assert_eq!(NhsNumber::parse(form), Ok(plain), "{form:?}");
        }
        assert_eq!("943 476 5919".parse::<NhsNumber>(), Ok(plain));
        assert_eq!(NhsNumber::try_from("943-476-5919"), Ok(plain));
        assert_eq!(plain.to_string(), "943 476 5919");
    }

    #[test]
    fn format_errors() {
        for bad in [
            "",
            "943476591",
            "94347659190",
            "943 476 591 9",
            "9434 765 919",
            "943  476 5919",
            "943.476.5919",
            "943476591X",
            "９４３４７６５９１９",
            "943476  5919",
            "943 476 -5919",
            "-9434765919",
            "9434765919-",
        ] {
            assert_eq!(
                NhsNumber::parse(bad),
                Err(RecordError::NhsNumberFormat),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn check_digit_errors() {
        // A single mistyped digit and a transposition are both caught.
        assert_eq!(
            NhsNumber::parse("9434765918"),
            Err(RecordError::NhsNumberCheckDigit)
        );
        assert_eq!(
            NhsNumber::parse("9434765991"),
            Err(RecordError::NhsNumberCheckDigit)
        );
        // 943476596: the weighted sum leaves remainder 1, so the check digit
        // would be 10: no number starting with these nine digits is valid.
        let prefix: [u8; 10] = [9, 4, 3, 4, 7, 6, 5, 9, 6, 0];
        assert_eq!(check_digit(&prefix), None);
        for last in 0..=9 {
            let n = format!("943476596{last}");
            assert_eq!(
                NhsNumber::parse(&n),
                Err(RecordError::NhsNumberCheckDigit),
                "{n}"
            );
        }
    }

    #[test]
    fn errors_and_debug_do_not_echo_the_number() {
        let n = NhsNumber::parse("9434765919").expect("valid");
        assert_eq!(format!("{n:?}"), "NhsNumber(<redacted>)");
        for bad in ["9434765918", "94347659"] {
            let e = NhsNumber::parse(bad).expect_err(bad);
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(bad), "{shown}");
            assert!(!shown.contains("434765"), "{shown}");
        }
    }

    #[test]
    fn serde_as_canonical_string() {
        let n = NhsNumber::parse("943 476 5919").expect("valid");
        assert_eq!(serde_json::to_string(&n).expect("ser"), "\"9434765919\"");
        let back: NhsNumber = serde_json::from_str("\"9434765919\"").expect("de");
        assert_eq!(back, n);
        let spaced: NhsNumber = serde_json::from_str("\"943 476 5919\"").expect("de");
        assert_eq!(spaced, n);
        for bad in ["\"9434765918\"", "9434765919", "null", "[\"9434765919\"]"] {
            let e = serde_json::from_str::<NhsNumber>(bad).expect_err(bad);
            assert!(!e.to_string().contains("434765"), "{e}");
        }
    }
}
