//! A test certificate authority and a server certificate it signed for
//! `localhost` and `127.0.0.1`, as PEM files: for TLS listeners of the
//! binary and of the test ClickHouse.

use std::path::PathBuf;

/// A test CA and a server certificate it signed for `localhost` and
/// `127.0.0.1`, written as PEM files.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub ca_pem: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sightline test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // Python 3.13's OpenSSL context is strict (VERIFY_X509_STRICT) and wants
    // the issuer's key identifier in the leaf.
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    Pki {
        ca_pem: ca.pem(),
        ca: write("ca.pem", &ca.pem()),
        cert: write("cert.pem", &leaf_cert.pem()),
        key: write("key.pem", &leaf_key.serialize_pem()),
        _dir: dir,
    }
}
