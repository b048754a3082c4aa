//! Signed feedback links: a client rates through a link in the answer's mail, without a token.
//! The link's token names the inquiry and its client and when it expires, and carries an
//! HMAC-SHA256 of those over a key of the server's (`<payload>.<mac>`, both base64url without
//! padding); a token whose MAC does not match (checked in constant time) is forged, one past
//! its expiry is expired. The payload is not secret: it names only ids the client already has.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2_for_hmac::Sha256;

/// The shortest signing key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// The length of a key the server makes, in bytes.
pub const GENERATED_KEY_BYTES: usize = 32;

/// What a link lets its holder rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTarget {
    pub inquiry_id: String,
    pub client_id: String,
    /// When the link stops working, Unix milliseconds.
    pub expires_ms: i64,
}

/// Why a link's token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token this server signed (or not a token at all).
    #[error("this feedback link is not valid")]
    Forged,
    /// A token this server signed, past its expiry.
    #[error("this feedback link has expired")]
    Expired,
}

/// Signs and checks link tokens with one key.
#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner { key: <hidden> }")
    }
}

impl LinkSigner {
    /// A signer with `key`, of at least [`MIN_KEY_BYTES`] bytes (else `None`).
    pub fn new(key: Vec<u8>) -> Option<Self> {
        (key.len() >= MIN_KEY_BYTES).then_some(Self { key })
    }

    /// A fresh key from the operating system's random source.
    pub fn generate_key() -> Result<Vec<u8>, getrandom::Error> {
        let mut key = vec![0; GENERATED_KEY_BYTES];
        getrandom::fill(&mut key)?;
        Ok(key)
    }

    /// The token of a link to `target`.
    pub fn sign(&self, target: &LinkTarget) -> String {
        let payload =
            serde_json::json!([target.inquiry_id, target.client_id, target.expires_ms]).to_string();
        let mac = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// What `token` lets its holder rate at `now_ms`, or why it is refused.
    pub fn check(&self, token: &str, now_ms: i64) -> Result<LinkTarget, LinkError> {
        let (payload, mac) = token.split_once('.').ok_or(LinkError::Forged)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Forged)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| LinkError::Forged)?;
        self.mac(&payload)
            .verify_slice(&mac)
            .map_err(|_| LinkError::Forged)?;
        let (inquiry_id, client_id, expires_ms): (String, String, i64) =
            serde_json::from_slice(&payload).map_err(|_| LinkError::Forged)?;
        if now_ms > expires_ms {
            return Err(LinkError::Expired);
        }
        Ok(LinkTarget {
            inquiry_id,
            client_id,
            expires_ms,
        })
    }

    /// The MAC over `payload`, not yet finalized.
    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length; the constructor's error cannot happen.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC accepts keys of any length");
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(byte: u8) -> LinkSigner {
        LinkSigner::new(vec![byte; 32]).expect("a long enough key")
    }

    fn target() -> LinkTarget {
        LinkTarget {
            inquiry_id: "<q1@mail.example>".into(),
            client_id: "acme".into(),
            expires_ms: 2_000,
        }
    }

    /// A signed token reads back as its target until it expires, then is refused as expired.
    #[test]
    fn tokens_read_back_until_they_expire() {
        let token = signer(1).sign(&target());
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        assert_eq!(signer(1).check(&token, 2_000), Ok(target()));
        assert_eq!(signer(1).check(&token, 2_001), Err(LinkError::Expired));
    }

    /// Another key's token, a changed payload, a changed MAC and garbage are all forged.
    #[test]
    fn forged_tokens_are_refused() {
        let token = signer(1).sign(&target());
        assert_eq!(signer(2).check(&token, 0), Err(LinkError::Forged));
        let other = LinkTarget {
            client_id: "globex".into(),
            ..target()
        };
        let (_, mac) = token.split_once('.').unwrap();
        let (payload, _) = signer(2)
            .sign(&other)
            .split_once('.')
            .map(|(p, m)| (p.to_owned(), m.to_owned()))
            .unwrap();
        assert_eq!(
            signer(1).check(&format!("{payload}.{mac}"), 0),
            Err(LinkError::Forged)
        );
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(signer(1).check(&flipped, 0), Err(LinkError::Forged));
        for garbage in ["", ".", "abc", "a.b.c", "%%%.%%%"] {
            assert_eq!(
                signer(1).check(garbage, 0),
                Err(LinkError::Forged),
                "{garbage}"
            );
        }
    }

    /// A key shorter than the minimum is refused.
    #[test]
    fn short_keys_are_refused() {
        assert!(LinkSigner::new(vec![0; MIN_KEY_BYTES - 1]).is_none());
    }
}
