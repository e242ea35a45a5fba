//! The dashboard's session cookie: proof that the browser once presented
//! the UI token, without being the token.
//!
//! The value is `<expiry>.<mac>`, the MAC being HMAC-SHA256 keyed with the
//! token over a fixed label and the expiry. It is stateless (nothing to
//! store, it survives restarts), it stops working when the token changes,
//! and a stolen cookie neither reveals the token nor outlives its expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::token::Token;

/// How long a login lasts.
pub const LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Domain separation: a MAC made for anything else never passes as a session.
const LABEL: &[u8] = b"sightline dashboard session v1\n";

/// The cookie's name: with TLS, the `__Host-` prefix makes browsers refuse
/// it unless it is `Secure`, host-only and for `/`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-sightline_session"
    } else {
        "sightline_session"
    }
}

fn mac(token: &Token, expires: u64) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this never fails, whatever the input.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.secret()).expect("HMAC takes any key length");
    mac.update(LABEL);
    mac.update(expires.to_string().as_bytes());
    mac
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The cookie value of a session that ends at `expires` (Unix seconds).
pub fn value(token: &Token, expires: u64) -> String {
    let tag = mac(token, expires).finalize().into_bytes();
    format!("{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Whether `value` is a session made with `token` that has not expired at
/// `now`; the MAC is checked in constant time.
pub fn verify(token: &Token, value: &str, now: u64) -> bool {
    let Some((expires, tag)) = value.split_once('.') else {
        return false;
    };
    let Ok(expires) = expires.parse::<u64>() else {
        return false;
    };
    if expires <= now {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    mac(token, expires).verify_slice(&tag).is_ok()
}

/// Whether the request carries a valid session cookie.
pub fn from_headers(token: &Token, headers: &HeaderMap, secure: bool, now: u64) -> bool {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .any(|(_, v)| verify(token, v.trim(), now))
}

/// The `Set-Cookie` value that starts a session: HttpOnly (scripts never
/// see it), SameSite=Strict (no other site can make the browser send it),
/// Secure when served over TLS.
pub fn set_cookie(token: &Token, secure: bool, now: u64) -> String {
    let v = value(token, now.saturating_add(LIFETIME.as_secs()));
    attributes(cookie_name(secure), &v, LIFETIME.as_secs(), secure)
}

/// The `Set-Cookie` value that ends the session.
pub fn clear_cookie(secure: bool) -> String {
    attributes(cookie_name(secure), "", 0, secure)
}

fn attributes(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let mut s = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict");
    if secure {
        s.push_str("; Secure");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn token(s: &str) -> Token {
        Token::new("--ui-token", s).unwrap()
    }

    #[test]
    fn a_session_verifies_with_its_token_until_it_expires() {
        let t = token("abc123");
        let v = value(&t, 2_000);
        assert!(verify(&t, &v, 1_000));
        assert!(verify(&t, &v, 1_999));
        assert!(!verify(&t, &v, 2_000), "expired");
        assert!(!verify(&token("abc124"), &v, 1_000), "another token");
    }

    #[test]
    fn the_cookie_is_not_the_token_and_cannot_be_edited() {
        let t = token("the-real-token");
        let v = value(&t, 5_000);
        assert!(!v.contains("the-real-token"));
        assert_eq!(v, value(&t, 5_000), "stateless: same input, same value");
        // A later expiry with the old MAC fails.
        let (_, tag) = v.split_once('.').unwrap();
        assert!(!verify(&t, &format!("9999999999.{tag}"), 1_000));
        for junk in [
            "",
            ".",
            "5000",
            "5000.",
            "x.y",
            "5000.!!!",
            "the-real-token",
        ] {
            assert!(!verify(&t, junk, 1_000), "{junk:?}");
        }
    }

    #[test]
    fn set_cookie_attributes() {
        let t = token("abc");
        let plain = set_cookie(&t, false, 100);
        assert!(plain.starts_with("sightline_session="), "{plain}");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
            assert!(plain.contains(attr), "{attr} missing: {plain}");
        }
        assert!(!plain.contains("Secure"), "{plain}");
        let tls = set_cookie(&t, true, 100);
        assert!(tls.starts_with("__Host-sightline_session="), "{tls}");
        assert!(tls.ends_with("; Secure"), "{tls}");
        let clear = clear_cookie(false);
        assert!(
            clear.starts_with("sightline_session=;") && clear.contains("Max-Age=0"),
            "{clear}"
        );
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let t = token("abc");
        let v = value(&t, 10_000);
        let mut h = HeaderMap::new();
        assert!(!from_headers(&t, &h, false, 1));
        h.append(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=1; sightline_session={v}; b=2")).unwrap(),
        );
        assert!(from_headers(&t, &h, false, 1));
        assert!(!from_headers(&t, &h, true, 1), "TLS uses the __Host- name");
        let mut other = HeaderMap::new();
        other.append(
            header::COOKIE,
            HeaderValue::from_str(&format!("other_session={v}")).unwrap(),
        );
        assert!(!from_headers(&t, &other, false, 1));
    }
}
