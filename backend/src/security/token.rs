//! Bearer tokens: the secret itself (never printed), where it comes from
//! (a flag, its environment variable, or a file), and the constant-time
//! check of what a client presents.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a token cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{flag} is empty")]
    Empty { flag: &'static str },
    #[error(
        "{flag} may only hold visible ASCII characters (no spaces, no control characters): \
         clients send it in an HTTP header"
    )]
    Invalid { flag: &'static str },
    #[error("cannot read {flag} {}: {source}", path.display())]
    File {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{flag} {} is empty", path.display())]
    EmptyFile { flag: &'static str, path: PathBuf },
    #[error("{flag} {}: {source}", path.display())]
    InvalidFile {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: Box<TokenError>,
    },
}

/// A shared secret that clients present as `Authorization: Bearer <token>`.
///
/// Cheap to clone; `Debug` never shows the secret, so a `Config` can be
/// logged.
#[derive(Clone)]
pub struct Token {
    inner: Arc<TokenInner>,
}

struct TokenInner {
    secret: Vec<u8>,
    /// SHA-256 of the secret: presented values are hashed and compared with
    /// this, so the comparison takes the same time whatever their length.
    digest: [u8; 32],
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token given on the command line or in an environment variable;
    /// `flag` names where it came from in error messages.
    pub fn new(flag: &'static str, value: &str) -> Result<Self, TokenError> {
        if value.is_empty() {
            return Err(TokenError::Empty { flag });
        }
        // Visible ASCII is what every client can put in a header value
        // (and what `OTEL_EXPORTER_OTLP_HEADERS` can carry percent-encoded).
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Invalid { flag });
        }
        let secret = value.as_bytes().to_vec();
        let digest = Sha256::digest(&secret).into();
        Ok(Token {
            inner: Arc::new(TokenInner { secret, digest }),
        })
    }

    /// A token read from a file (as secret stores mount them): trailing
    /// line breaks are dropped; an unreadable or empty file is an error.
    pub fn from_file(flag: &'static str, path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::File {
            flag,
            path: path.to_owned(),
            source,
        })?;
        let value = text.trim_end_matches(['\n', '\r']);
        if value.is_empty() {
            return Err(TokenError::EmptyFile {
                flag,
                path: path.to_owned(),
            });
        }
        Token::new(flag, value).map_err(|e| TokenError::InvalidFile {
            flag,
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Whether `presented` is the token, in time that depends on neither
    /// its content nor its length.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        digest.ct_eq(&self.inner.digest).into()
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`.
    pub fn matches_authorization(&self, header: &[u8]) -> bool {
        bearer(header).is_some_and(|t| self.matches(t))
    }

    /// The secret, as the key of the session cookie's MAC.
    pub(crate) fn secret(&self) -> &[u8] {
        &self.inner.secret
    }
}

/// The credentials of an `Authorization: Bearer <credentials>` value (the
/// scheme is case-insensitive, RFC 9110 §11.1), or `None` for any other
/// scheme.
pub fn bearer(header: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    let head = header.get(..SCHEME.len())?;
    if !head.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let rest = header.get(SCHEME.len()..)?.trim_ascii();
    (!rest.is_empty()).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_exact_token() {
        let t = Token::new("--ui-token", "s3cret-Token").unwrap();
        assert!(t.matches(b"s3cret-Token"));
        for wrong in [
            &b""[..],
            b"s3cret-token",
            b"s3cret-Token ",
            b"s3cret-Toke",
            b"s3cret-Token2",
        ] {
            assert!(!t.matches(wrong), "{:?}", String::from_utf8_lossy(wrong));
        }
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"bearer   abc "), Some(&b"abc"[..]));
        assert_eq!(bearer(b"BEARER abc"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer "), None);
        assert_eq!(bearer(b"Bearerabc"), None);
        assert_eq!(bearer(b"abc"), None);
        let t = Token::new("--ingest-token", "abc").unwrap();
        assert!(t.matches_authorization(b"Bearer abc"));
        assert!(!t.matches_authorization(b"abc"));
        assert!(!t.matches_authorization(b"Bearer abcd"));
    }

    #[test]
    fn tokens_must_be_header_safe_and_non_empty() {
        assert!(matches!(
            Token::new("--ui-token", ""),
            Err(TokenError::Empty { .. })
        ));
        for bad in ["two words", "tab\there", "line\n", "grüße"] {
            let e = Token::new("--ui-token", bad).unwrap_err();
            assert!(e.to_string().contains("--ui-token"), "{e}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = Token::new("--ui-token", "hunter2hunter2").unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
    }

    #[test]
    fn files_lose_their_trailing_newline_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "from-a-file\r\n").unwrap();
        let t = Token::from_file("--ui-token-file", &p).unwrap();
        assert!(t.matches(b"from-a-file"));

        std::fs::write(&p, "\n").unwrap();
        let e = Token::from_file("--ui-token-file", &p).unwrap_err();
        assert!(matches!(e, TokenError::EmptyFile { .. }), "{e}");
        assert!(e.to_string().contains("is empty"), "{e}");

        let missing = dir.path().join("missing");
        let e = Token::from_file("--ingest-token-file", &missing).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("--ingest-token-file") && msg.contains("missing"),
            "{msg}"
        );

        std::fs::write(&p, "two words\n").unwrap();
        let e = Token::from_file("--ui-token-file", &p).unwrap_err();
        assert!(matches!(e, TokenError::InvalidFile { .. }), "{e}");
    }
}
