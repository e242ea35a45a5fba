//! Which listeners other machines can reach without a token: binding one
//! beyond loopback without its token is refused unless `--allow-insecure`
//! says so, and then every such listener is named in a warning.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Whether only this machine can connect to `addr`. `0.0.0.0` and `::`
/// (every interface) are not loopback; IPv4-mapped `::ffff:127.0.0.1` is.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.to_canonical().is_loopback(),
    }
}

/// A listener reachable from other machines without a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// The address flag, e.g. `--ui-addr`.
    pub addr_flag: &'static str,
    pub addr: SocketAddr,
    /// The flag that would protect it, e.g. `--ui-token`.
    pub token_flag: &'static str,
    /// What anyone who can connect may do.
    pub consequence: &'static str,
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} is not a loopback address and no {} is set: {}",
            self.addr_flag, self.addr, self.token_flag, self.consequence
        )
    }
}

/// The listeners of one configuration and which tokens protect them.
pub struct Listeners {
    pub ui: SocketAddr,
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub ui_token: bool,
    pub ingest_token: bool,
}

const READ_ALL: &str = "anyone who can reach it can read every stored trace, log and metric";
const WRITE_ANY: &str =
    "anyone who can reach it can send telemetry (and fill the database up to --max-db-size)";

/// Every listener bound beyond loopback without its token.
pub fn unprotected(l: &Listeners) -> Vec<Exposure> {
    let mut out = Vec::new();
    if !l.ui_token && !is_loopback(&l.ui) {
        out.push(Exposure {
            addr_flag: "--ui-addr",
            addr: l.ui,
            token_flag: "--ui-token",
            consequence: READ_ALL,
        });
    }
    for (addr_flag, addr) in [
        ("--otlp-grpc-addr", l.otlp_grpc),
        ("--otlp-http-addr", l.otlp_http),
    ] {
        if !l.ingest_token && !is_loopback(&addr) {
            out.push(Exposure {
                addr_flag,
                addr,
                token_flag: "--ingest-token",
                consequence: WRITE_ANY,
            });
        }
    }
    out
}

/// The refusal message for `exposed` (not empty): what to set, and the
/// way out.
pub fn refusal(exposed: &[Exposure]) -> String {
    let mut msg = String::from("refusing to start: ");
    for (i, e) in exposed.iter().enumerate() {
        if i > 0 {
            msg.push_str("; ");
        }
        msg.push_str(&format!(
            "{e}. Set {0} (or {0}-file, or SIGHTLINE_{1})",
            e.token_flag,
            e.token_flag
                .trim_start_matches('-')
                .replace('-', "_")
                .to_ascii_uppercase()
        ));
    }
    msg.push_str(", or pass --allow-insecure to run without");
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_addresses() {
        for yes in [
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "[::1]:8080",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(is_loopback(&addr(yes)), "{yes}");
        }
        for no in [
            "0.0.0.0:8080",
            "[::]:8080",
            "192.168.1.10:8080",
            "10.0.0.1:0",
            "[fe80::1]:1",
            "[::ffff:10.0.0.1]:1",
        ] {
            assert!(!is_loopback(&addr(no)), "{no}");
        }
    }

    fn listeners(ui: &str, grpc: &str, http: &str, ui_token: bool, ingest: bool) -> Listeners {
        Listeners {
            ui: addr(ui),
            otlp_grpc: addr(grpc),
            otlp_http: addr(http),
            ui_token,
            ingest_token: ingest,
        }
    }

    #[test]
    fn each_listener_needs_its_own_token() {
        let local = "127.0.0.1:1";
        let any = "0.0.0.0:1";
        assert!(unprotected(&listeners(local, local, local, false, false)).is_empty());
        let ui = unprotected(&listeners(any, local, local, false, true));
        assert_eq!(ui.len(), 1);
        assert_eq!(ui[0].token_flag, "--ui-token");
        assert!(unprotected(&listeners(any, local, local, true, false)).is_empty());
        let otlp = unprotected(&listeners(local, any, any, true, false));
        assert_eq!(
            otlp.iter().map(|e| e.addr_flag).collect::<Vec<_>>(),
            ["--otlp-grpc-addr", "--otlp-http-addr"]
        );
        assert!(otlp.iter().all(|e| e.token_flag == "--ingest-token"));
        assert!(unprotected(&listeners(any, any, any, true, true)).is_empty());
    }

    #[test]
    fn the_refusal_names_the_flags_to_set() {
        let local = "127.0.0.1:1";
        let msg = refusal(&unprotected(&listeners(
            "0.0.0.0:8080",
            local,
            "0.0.0.0:4318",
            false,
            false,
        )));
        for want in [
            "--ui-addr 0.0.0.0:8080",
            "--ui-token",
            "SIGHTLINE_UI_TOKEN",
            "--otlp-http-addr 0.0.0.0:4318",
            "--ingest-token-file",
            "SIGHTLINE_INGEST_TOKEN",
            "--allow-insecure",
        ] {
            assert!(msg.contains(want), "{want} missing from {msg}");
        }
    }
}
