//! Bearer tokens as the configuration holds them: each one's holder, role and rights, and the
//! SHA-256 digest of the token (never the token itself), read from the config, a tokens file or
//! the environment, all in one format.
//!
//! A token is a high-entropy random string (`triage token new` makes one of 256 bits), so one
//! unsalted SHA-256 is enough to keep it: there is nothing to guess a token from. A plain-text
//! `token` of older configs is still read, hashed at once, and reported as deprecated.

use std::fmt;

use serde::Deserialize;

use crate::helpdesk::Role;

/// The SHA-256 digest of a bearer token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `token`.
    pub fn of(token: &str) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(token.as_bytes()).into())
    }

    /// Reads 64 hex digits (either case).
    pub fn from_hex(hex: &str) -> Result<Self, String> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(format!(
                "token_sha256 must be 64 hex digits, not {}",
                bytes.len()
            ));
        }
        let nibble = |byte: u8| char::from(byte).to_digit(16);
        let mut digest = [0u8; 32];
        for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
            let (Some(high), Some(low)) = (nibble(pair[0]), nibble(pair[1])) else {
                return Err("token_sha256 is not hex".to_owned());
            };
            *byte = (high * 16 + low) as u8;
        }
        Ok(Self(digest))
    }

    /// Whether `self` and `other` are equal, compared without an early exit.
    pub fn matches(&self, other: &TokenDigest) -> bool {
        self.0
            .iter()
            .zip(other.0)
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
    }

    /// The first 8 hex digits: names a token in a log without revealing anything of it.
    pub fn fingerprint(&self) -> String {
        self.to_string()[..8].to_owned()
    }
}

impl fmt::Display for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({})", self.fingerprint())
    }
}

/// One bearer token and what it grants.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TokenEntry")]
pub struct TokenConfig {
    /// Who holds the token; it names the holder of leases and audit records.
    pub name: String,
    /// The digest of the token.
    pub digest: TokenDigest,
    /// Whether the configuration held the token itself (deprecated) rather than its digest.
    pub plain_text: bool,
    pub role: Role,
    /// For intake: the clients it may submit for; all when empty.
    pub clients: Vec<String>,
    /// For specialists: the queues it may see and work on (required).
    pub queues: Vec<String>,
}

impl TokenConfig {
    /// A token entry for `token` (kept as its digest).
    pub fn new(name: &str, token: &str, role: Role) -> Self {
        Self {
            name: name.to_owned(),
            digest: TokenDigest::of(token),
            plain_text: false,
            role,
            clients: Vec::new(),
            queues: Vec::new(),
        }
    }

    /// The entry as the lines of a `[[tokens]]` table, as the config or a tokens file holds it.
    pub fn to_toml(&self) -> String {
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
            format!("[{}]", quoted.join(", "))
        };
        let role = match self.role {
            Role::Submitter => "submitter",
            Role::Specialist => "specialist",
            Role::Admin => "admin",
        };
        let mut text = format!("[[tokens]]\nname = {:?}\nrole = \"{role}\"\n", self.name);
        if !self.clients.is_empty() {
            text.push_str(&format!("clients = {}\n", list(&self.clients)));
        }
        if !self.queues.is_empty() {
            text.push_str(&format!("queues = {}\n", list(&self.queues)));
        }
        text.push_str(&format!("token_sha256 = \"{}\"\n", self.digest));
        text
    }
}

/// A `[[tokens]]` table as written: the digest (`token_sha256`) or, deprecated, the token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    #[serde(default)]
    token_sha256: Option<String>,
    #[serde(default)]
    token: Option<String>,
    role: Role,
    #[serde(default)]
    clients: Vec<String>,
    #[serde(default)]
    queues: Vec<String>,
}

/// The shortest plain-text token read.
const MIN_PLAIN_TOKEN_CHARS: usize = 16;

impl TryFrom<TokenEntry> for TokenConfig {
    type Error = String;

    fn try_from(entry: TokenEntry) -> Result<Self, String> {
        let (digest, plain_text) = match (entry.token_sha256, entry.token) {
            (Some(hex), None) => (TokenDigest::from_hex(&hex)?, false),
            (None, Some(token)) if token.len() >= MIN_PLAIN_TOKEN_CHARS => {
                (TokenDigest::of(&token), true)
            }
            (None, Some(_)) => {
                return Err(format!(
                    "token must have at least {MIN_PLAIN_TOKEN_CHARS} characters (better: \
                     token_sha256 of a token from `triage token new`)"
                ));
            }
            (Some(_), Some(_)) => return Err("give token_sha256 or token, not both".to_owned()),
            (None, None) => return Err("a token needs token_sha256".to_owned()),
        };
        Ok(Self {
            name: entry.name,
            digest,
            plain_text,
            role: entry.role,
            clients: entry.clients,
            queues: entry.queues,
        })
    }
}

/// A tokens file, or the `TRIAGE_TOKENS` variable: `[[tokens]]` tables and nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokensFile {
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
}

/// Checks a set of tokens from every source: each has a name, a specialist has queues, and no
/// name or token is given twice.
pub(super) fn validate(tokens: &[TokenConfig]) -> Result<(), String> {
    for (i, token) in tokens.iter().enumerate() {
        if token.name.trim().is_empty() {
            return Err(format!("tokens[{i}]: a token needs a name"));
        }
        if token.role == Role::Specialist && token.queues.is_empty() {
            return Err(format!(
                "tokens[{i}] ({}): a specialist needs queues",
                token.name
            ));
        }
        if tokens[..i]
            .iter()
            .any(|other| other.digest == token.digest || other.name == token.name)
        {
            return Err(format!(
                "tokens[{i}] ({}): name or token used twice",
                token.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A digest reads back from its hex form; anything but 64 hex digits is refused.
    #[test]
    fn digests_read_from_hex() {
        let digest = TokenDigest::of("0123456789abcdef");
        assert_eq!(TokenDigest::from_hex(&digest.to_string()), Ok(digest));
        assert_eq!(
            TokenDigest::from_hex(&digest.to_string().to_uppercase()),
            Ok(digest)
        );
        assert!(TokenDigest::from_hex("abc").unwrap_err().contains("64 hex"));
        assert!(
            TokenDigest::from_hex(&"zz".repeat(32))
                .unwrap_err()
                .contains("not hex")
        );
        assert!(digest.matches(&TokenDigest::of("0123456789abcdef")));
        assert!(!digest.matches(&TokenDigest::of("0123456789abcdeF")));
        assert_eq!(digest.fingerprint().len(), 8);
    }

    /// The printed table parses back to the same entry.
    #[test]
    fn an_entry_round_trips_through_its_toml() {
        let mut entry = TokenConfig::new("alice", "a-long-random-token-0123", Role::Specialist);
        entry.queues = vec!["seo".into(), "content \"x\"".into()];
        let file: TokensFile = toml::from_str(&entry.to_toml()).unwrap();
        assert_eq!(file.tokens, [entry]);
    }
}
