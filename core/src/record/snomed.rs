//! [`SnomedCode`]: a SNOMED CT concept identifier (SCTID) with its Verhoeff
//! check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::wire;
use super::RecordError;

/// A SNOMED CT concept id, such as `38266002` (entire body) or `7569003`
/// (finger).
///
/// Checked as the SNOMED CT specification describes SCTIDs: 6 to 18 digits,
/// no leading zero, a valid Verhoeff check digit (the last digit), and a
/// partition identifier (the two digits before it) of `00` or `10`, which
/// mark a concept. Description and relationship ids are refused: they are the
/// usual wrong number to copy from a terminology browser.
///
/// Stored as a string in JSON, because 18-digit ids do not fit the integers
/// JavaScript handles exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SnomedCode(u64);

impl SnomedCode {
    /// Parses and validates a concept id (surrounding whitespace is ignored).
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        let s = s.trim();
        let bytes = s.as_bytes();
        if !(6..=18).contains(&bytes.len())
            || !bytes.iter().all(u8::is_ascii_digit)
            || bytes[0] == b'0'
        {
            return Err(RecordError::SnomedFormat);
        }
        if !verhoeff_valid(bytes) {
            return Err(RecordError::SnomedCheckDigit);
        }
        let partition = &bytes[bytes.len() - 3..bytes.len() - 1];
        if partition != b"00" && partition != b"10" {
            return Err(RecordError::SnomedNotConcept);
        }
        // At most 18 digits: always fits in a u64.
        s.parse()
            .map(SnomedCode)
            .map_err(|_| RecordError::SnomedFormat)
    }

    /// The id as a number.
    pub fn value(self) -> u64 {
        self.0
    }
}

/// Verhoeff multiplication table (the dihedral group D5).
const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

/// Verhoeff permutation table: row `i` is applied to the digit `i` places
/// from the right (counting the check digit as place 0), repeating every 8.
const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// True when the ASCII digits (check digit last) pass the Verhoeff check.
fn verhoeff_valid(digits: &[u8]) -> bool {
    let mut c = 0u8;
    for (i, &d) in digits.iter().rev().enumerate() {
        let d = usize::from(d - b'0');
        c = D[usize::from(c)][usize::from(P[i % 8][d])];
    }
    c == 0
}

impl fmt::Display for SnomedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for SnomedCode {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SnomedCode::parse(s)
    }
}

impl TryFrom<&str> for SnomedCode {
    type Error = RecordError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        SnomedCode::parse(s)
    }
}

impl Serialize for SnomedCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SnomedCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_string_with(deserializer, SnomedCode::parse, RecordError::SnomedFormat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Verhoeff check digit for `payload`: the one digit of ten that
    /// makes [`verhoeff_valid`] hold.
    fn check_digit_for(payload: &str) -> char {
        (b'0'..=b'9')
            .map(char::from)
            .find(|&c| verhoeff_valid(format!("{payload}{c}").as_bytes()))
            .expect("exactly one Verhoeff check digit exists")
    }

    #[test]
    fn tables_are_well_formed() {
        // Each permutation row is the previous one followed by P[1].
        for i in 1..8 {
            let expected: Vec<u8> = P[i - 1].iter().map(|&x| P[1][usize::from(x)]).collect();
            assert_eq!(P[i].to_vec(), expected, "row {i}");
        }
        // D is a group table: every row is a permutation and 0 is the identity.
        for (j, row) in D.iter().enumerate() {
            let mut seen = [false; 10];
            for &x in row {
                seen[usize::from(x)] = true;
            }
            assert!(seen.iter().all(|&s| s), "row {j}");
            assert_eq!(usize::from(D[0][j]), j);
        }
    }

    #[test]
    fn known_concepts() {
        for (code, meaning) in [
            ("38266002", "entire body"),
            ("7569003", "finger"),
            ("404684003", "clinical finding"),
            ("138875005", "SNOMED CT concept (root)"),
            ("24028007", "right"),
            ("7771000", "left"),
            ("51440002", "bilateral"),
            ("261665006", "unknown"),
        ] {
            let parsed = SnomedCode::parse(code).unwrap_or_else(|e| panic!("{meaning}: {e}"));
            assert_eq!(parsed.to_string(), code);
            assert_eq!(parsed.value().to_string(), code);
        }
        // An 18-digit long-format (namespaced) concept id.
        let payload = "99999991000123410";
        let with_check = format!("{payload}{}", check_digit_for(payload));
        assert_eq!(with_check.len(), 18);
        assert!(SnomedCode::parse(&with_check).is_ok(), "{with_check}");
    }

    #[test]
    fn verhoeff_catches_typos() {
        // Every single-digit change and every adjacent transposition of a
        // valid id is detected.
        let good = b"38266002";
        for i in 0..good.len() {
            for d in b'0'..=b'9' {
                if d == good[i] {
                    continue;
                }
                let mut typo = *good;
                typo[i] = d;
                assert!(!verhoeff_valid(&typo), "{:?}", std::str::from_utf8(&typo));
            }
            if i + 1 < good.len() && good[i] != good[i + 1] {
                let mut swapped = *good;
                swapped.swap(i, i + 1);
                assert!(!verhoeff_valid(&swapped));
            }
        }
        assert_eq!(
            SnomedCode::parse("38266003"),
            Err(RecordError::SnomedCheckDigit)
        );
        assert_eq!(
            SnomedCode::parse("7569004"),
            Err(RecordError::SnomedCheckDigit)
        );
    }

    #[test]
    fn format_and_partition_rules() {
        for bad in [
            "",
            "12345",
            "1234567890123456789",
            "0038266002",
            "38266-002",
            "38 266 002",
            "38266002x",
            "SCT38266002",
        ] {
            assert_eq!(
                SnomedCode::parse(bad),
                Err(RecordError::SnomedFormat),
                "{bad:?}"
            );
        }
        // A description id (partition 01) with a valid check digit.
        let description = format!("6237001{}", check_digit_for("6237001"));
        assert_eq!(
            SnomedCode::parse(&description),
            Err(RecordError::SnomedNotConcept)
        );
        // A relationship id (partition 02) likewise.
        let relationship = format!("1234502{}", check_digit_for("1234502"));
        assert_eq!(
            SnomedCode::parse(&relationship),
            Err(RecordError::SnomedNotConcept)
        );
        assert_eq!(
            " 7569003 ".parse::<SnomedCode>().map(SnomedCode::value),
            Ok(7569003)
        );
    }

    #[test]
    fn serde_as_string() {
        let code = SnomedCode::parse("7569003").expect("valid");
        assert_eq!(serde_json::to_string(&code).expect("ser"), "\"7569003\"");
        let back: SnomedCode = serde_json::from_str("\"7569003\"").expect("de");
        assert_eq!(back, code);
        assert!(serde_json::from_str::<SnomedCode>("7569003").is_err());
        assert!(serde_json::from_str::<SnomedCode>("\"7569004\"").is_err());
    }
}
