//! TLS for the listeners: the certificate chain and key (PEM files, read
//! and checked at start-up), the rustls configuration of the HTTP
//! listeners, and a listener that hands axum only finished handshakes.
//! (The gRPC listener uses tonic's own rustls acceptor with the same PEM.)

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A handshake that has not finished by then is dropped, so idle
/// connections cannot hold a slot forever.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once per listener; beyond it new connections
/// wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {flag} {}: {source}", path.display())]
    Read {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{flag} {} holds no PEM certificate: {detail}", path.display())]
    NoCertificate {
        flag: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("{flag} {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {detail}", path.display())]
    NoKey {
        flag: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("--tls-cert and --tls-key do not make a usable pair: {0}")]
    Pair(#[source] rustls::Error),
}

/// The server's certificate chain and key, loaded and checked.
#[derive(Clone)]
pub struct TlsIdentity {
    cert_pem: Arc<[u8]>,
    key_pem: Arc<[u8]>,
    http: Arc<ServerConfig>,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsIdentity(<certificate and key>)")
    }
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        flag,
        path: path.to_owned(),
        source,
    })
}

impl TlsIdentity {
    /// Reads `cert` (the chain, leaf first) and `key`, and checks that they
    /// belong together.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let cert_pem = read("--tls-cert", cert)?;
        let key_pem = read("--tls-key", key)?;
        let no_cert = |detail: String| TlsError::NoCertificate {
            flag: "--tls-cert",
            path: cert.to_owned(),
            detail,
        };
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| no_cert(e.to_string()))?;
        if chain.is_empty() {
            return Err(no_cert("no CERTIFICATE section".into()));
        }
        let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
            flag: "--tls-key",
            path: key.to_owned(),
            detail: e.to_string(),
        })?;
        // tonic's acceptor uses the process-wide provider; make it ring (the
        // only one compiled in) explicitly. Fails harmlessly if already set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut http =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(TlsError::Pair)?
                .with_no_client_auth()
                .with_single_cert(chain, key_der)
                .map_err(TlsError::Pair)?;
        // The HTTP listeners speak HTTP/1.1 (axum is built without HTTP/2).
        http.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            http: Arc::new(http),
        })
    }

    /// The certificate chain as PEM (for tonic's `Identity`).
    pub fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    /// The private key as PEM (for tonic's `Identity`).
    pub fn key_pem(&self) -> &[u8] {
        &self.key_pem
    }

    /// An acceptor for the HTTP/1.1 listeners.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.http.clone())
    }
}

/// A TCP listener whose connections are handed to axum after their TLS
/// handshake. Handshakes run in their own tasks (at most
/// [`MAX_HANDSHAKES`] at once, each at most [`HANDSHAKE_TIMEOUT`]), so a
/// slow client never holds up the others.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener`; stops when the `TlsListener` is
    /// dropped.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(32);
        tokio::spawn(accept_loop(listener, acceptor, tx));
        Ok(TlsListener { ready, local })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let permit = tokio::select! {
            _ = tx.closed() => return,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (tcp, peer) = tokio::select! {
            _ = tx.closed() => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off as axum does.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop only ends once this receiver is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_or_non_pem_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let e = TlsIdentity::load(&cert, &key).unwrap_err().to_string();
        assert!(e.contains("--tls-cert") && e.contains("cert.pem"), "{e}");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let e = TlsIdentity::load(&cert, &key).unwrap_err().to_string();
        assert!(e.contains("holds no PEM certificate"), "{e}");
    }
}
