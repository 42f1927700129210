//! TLS: the certificate (generated on first start, or the operator's), its
//! SPKI pin, and the rustls server configuration (ring provider only).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use sealcam_platform::fsio::write_atomic as write_secret_file;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The certificate could not be generated.
    #[error("generating the TLS certificate failed: {0}")]
    Generate(String),
    /// Writing the generated certificate failed.
    #[error("writing the TLS certificate: {0}")]
    Io(#[from] std::io::Error),
    /// rustls refused the certificate and key.
    #[error("the TLS certificate and key do not fit together: {0}")]
    Rustls(#[from] rustls::Error),
    /// The certificate is not parseable X.509.
    #[error("the TLS certificate is not valid X.509 DER")]
    BadCertificate,
}

/// Certificate chain, key and pin, ready to serve.
pub struct TlsMaterial {
    /// The rustls configuration.
    pub server_config: Arc<rustls::ServerConfig>,
    /// `sha256/<base64 of SHA-256(SubjectPublicKeyInfo DER)>` of the leaf.
    pub pin: String,
}

/// Loads the operator's PEM files, or the generated pair under
/// `DIR/tls/`, generating it on first start with SANs `localhost`,
/// `127.0.0.1`, `::1` and `extra_host` (from `--public-url`).
pub fn load_or_generate(
    data: &Path,
    operator: Option<(&Path, &Path)>,
    extra_host: Option<&str>,
) -> Result<TlsMaterial, TlsError> {
    let (cert_path, key_path) = match operator {
        Some((c, k)) => (c.to_path_buf(), k.to_path_buf()),
        None => {
            let dir = data.join("tls");
            let c = dir.join("cert.pem");
            let k = dir.join("key.pem");
            if !c.exists() || !k.exists() {
                generate(&dir, &c, &k, extra_host)?;
            }
            (c, k)
        }
    };
    let pem_err = |path: &Path, message: String| TlsError::Pem {
        path: path.to_path_buf(),
        message,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| pem_err(&cert_path, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err(&cert_path, e.to_string()))?;
    let leaf = certs
        .first()
        .ok_or_else(|| pem_err(&cert_path, "holds no certificate".into()))?;
    let pin = spki_pin(leaf)?;
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| pem_err(&key_path, format!("no usable private key ({e})")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        server_config: Arc::new(config),
        pin,
    })
}

fn generate(dir: &Path, cert: &Path, key: &Path, extra_host: Option<&str>) -> Result<(), TlsError> {
    std::fs::create_dir_all(dir)?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Some(h) = extra_host {
        if !names.iter().any(|n| n == h) {
            names.push(h.to_string());
        }
    }
    let ck =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    write_secret_file(key, ck.key_pair.serialize_pem().as_bytes())?;
    write_secret_file(cert, ck.cert.pem().as_bytes())?;
    Ok(())
}

/// The host of a URL like `https://host:port/path` (brackets removed for IPv6).
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    let host = authority.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// The pin of a certificate: `sha256/` + base64 of SHA-256 of its
/// SubjectPublicKeyInfo DER, computed by the code the clients check it with.
pub fn spki_pin(cert: &CertificateDer<'_>) -> Result<String, TlsError> {
    sealcam_platform::TlsPin::of_certificate(cert)
        .map(|p| p.to_string())
        .ok_or(TlsError::BadCertificate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    #[test]
    fn generated_pin_matches_rcgen_spki() {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let pin = spki_pin(ck.cert.der()).expect("pin");
        let want = format!(
            "sha256/{}",
            STANDARD.encode(Sha256::digest(ck.key_pair.public_key_der()))
        );
        assert_eq!(pin, want);
    }

    #[test]
    fn generate_then_reload_keeps_pin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = load_or_generate(dir.path(), None, Some("store.example")).expect("gen");
        let b = load_or_generate(dir.path(), None, None).expect("load");
        assert_eq!(a.pin, b.pin);
        assert!(a.pin.starts_with("sha256/"));
    }

    #[test]
    fn hosts_from_urls() {
        assert_eq!(
            url_host("https://store.example:8443/x"),
            Some("store.example")
        );
        assert_eq!(url_host("https://[::1]:8443"), Some("::1"));
        assert_eq!(url_host("https://10.0.0.1"), Some("10.0.0.1"));
    }
}
