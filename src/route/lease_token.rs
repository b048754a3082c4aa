//! `LeaseToken`: the secret that names one lease on a ticket. It is 128 bits drawn from the
//! operating system's random source when the ticket is claimed, so a token says nothing of any
//! other; it is written (on the wire, in the stores, to the specialist) as 32 lowercase
//! hexadecimal digits, and that is the only spelling accepted back.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::RouteError;

/// Hexadecimal digits in a written token.
const DIGITS: usize = 32;

/// The token of one lease, as [`Ticket`](super::Ticket) carries it and every lease operation
/// asks for it back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(u128);

/// A token that is not 32 lowercase hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be {DIGITS} lowercase hexadecimal digits")]
pub struct MalformedLeaseToken;

impl LeaseToken {
    /// A fresh token from the operating system's random source; UNAVAILABLE when the source
    /// fails (nothing else can stand in for it).
    pub fn random() -> Result<Self, RouteError> {
        let mut bits = [0_u8; 16];
        getrandom::fill(&mut bits).map_err(|err| {
            RouteError::Unavailable(format!("drawing a lease token failed: {err}"))
        })?;
        Ok(Self(u128::from_le_bytes(bits)))
    }

    /// A token with these bits, for tests that need a fixed one.
    #[cfg(test)]
    pub(crate) const fn from_bits(bits: u128) -> Self {
        Self(bits)
    }
}

impl fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$x}", self.0, width = DIGITS)
    }
}

impl fmt::Debug for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseToken({self})")
    }
}

impl FromStr for LeaseToken {
    type Err = MalformedLeaseToken;

    /// Exactly the written form: 32 digits `0-9a-f`, no sign, no prefix, no other case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let well_formed = text.len() == DIGITS
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(MalformedLeaseToken);
        }
        u128::from_str_radix(text, 16)
            .map(Self)
            .map_err(|_| MalformedLeaseToken)
    }
}

/// Stored as its written form, so a record reads the same in every store.
impl Serialize for LeaseToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LeaseToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token is written as 32 lowercase hex digits and parses back to itself.
    #[test]
    fn tokens_round_trip_through_their_written_form() {
        let token = LeaseToken::from_bits(0xab);
        assert_eq!(token.to_string(), format!("{}ab", "0".repeat(30)));
        assert_eq!(token.to_string().parse(), Ok(token));
        let drawn = LeaseToken::random().unwrap();
        assert_eq!(drawn.to_string().len(), 32);
        assert_eq!(drawn.to_string().parse(), Ok(drawn));
        let json = serde_json::to_string(&drawn).unwrap();
        assert_eq!(json, format!("\"{drawn}\""));
        assert_eq!(serde_json::from_str::<LeaseToken>(&json).unwrap(), drawn);
    }

    /// Anything but 32 lowercase hex digits is refused: short, long, upper case, signed,
    /// prefixed, a number, blank.
    #[test]
    fn malformed_tokens_are_refused() {
        let good = "0123456789abcdef0123456789abcdef";
        assert!(good.parse::<LeaseToken>().is_ok());
        for bad in [
            "",
            "1",
            &good[1..],
            &format!("{good}0"),
            &good.to_uppercase(),
            &format!("+{}", &good[1..]),
            &format!("0x{}", &good[2..]),
            &format!(" {}", &good[1..]),
            "0123456789abcdef0123456789abcdeg",
        ] {
            assert_eq!(
                bad.parse::<LeaseToken>(),
                Err(MalformedLeaseToken),
                "{bad:?}"
            );
        }
        assert!(serde_json::from_str::<LeaseToken>("7").is_err());
        assert_eq!(
            MalformedLeaseToken.to_string(),
            "must be 32 lowercase hexadecimal digits"
        );
    }

    /// Tokens drawn one after another share nothing a caller could extrapolate from: no two
    /// of many are equal and each half of the bits varies.
    #[test]
    fn drawn_tokens_differ() {
        let drawn: Vec<u128> = (0..256).map(|_| LeaseToken::random().unwrap().0).collect();
        let mut distinct = drawn.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), drawn.len());
        assert!(drawn.iter().any(|bits| bits >> 64 != drawn[0] >> 64));
        assert!(drawn.iter().any(|bits| *bits as u64 != drawn[0] as u64));
    }
}
