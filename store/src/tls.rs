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
/// `DIR/tls/`: the key is generated on first start and kept; the
/// self-signed certificate (SANs `localhost`, `127.0.0.1`, `::1` and
/// `extra_host` from `--public-url`) is issued anew over that key at every
/// start, valid for [`GENERATED_VALIDITY_DAYS`], so it never expires on a
/// running deployment and the pin (a hash of the key) never changes.
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
            generate(&dir, &c, &k, extra_host)?;
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

/// How long a generated certificate is valid: the 397 days browsers
/// accept for a server certificate.
pub const GENERATED_VALIDITY_DAYS: i64 = 397;

fn generate(dir: &Path, cert: &Path, key: &Path, extra_host: Option<&str>) -> Result<(), TlsError> {
    let gen_err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    std::fs::create_dir_all(dir)?;
    let key_pair = match std::fs::read_to_string(key) {
        Ok(pem) => rcgen::KeyPair::from_pem(&pem).map_err(|_| TlsError::Pem {
            path: key.to_path_buf(),
            message: "the generated TLS key is damaged; move the tls directory away to \
                      generate a new key (devices must then be given the new pin)"
                .into(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key_pair = rcgen::KeyPair::generate().map_err(gen_err)?;
            write_secret_file(key, key_pair.serialize_pem().as_bytes())?;
            key_pair
        }
        Err(e) => return Err(e.into()),
    };
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
    let mut params = rcgen::CertificateParams::new(names).map_err(gen_err)?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(GENERATED_VALIDITY_DAYS);
    let issued = params.self_signed(&key_pair).map_err(gen_err)?;
    write_secret_file(cert, issued.pem().as_bytes())?;
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

    /// The UTCTime values (tag 0x17, `YYMMDDHHMMSSZ`, 20YY here) in a DER
    /// certificate: not before and not after, for dates before 2050.
    fn utc_times(der: &[u8]) -> Vec<time::OffsetDateTime> {
        der.windows(15)
            .filter(|w| w[0] == 0x17 && w[1] == 13 && w[14] == b'Z')
            .filter_map(|w| {
                let digits = std::str::from_utf8(&w[2..14]).ok()?;
                let n = |i: usize| digits.get(i..i + 2)?.parse::<u8>().ok();
                let date = time::Date::from_calendar_date(
                    2000 + i32::from(n(0)?),
                    time::Month::try_from(n(2)?).ok()?,
                    n(4)?,
                )
                .ok()?;
                let t = time::Time::from_hms(n(6)?, n(8)?, n(10)?).ok()?;
                Some(time::PrimitiveDateTime::new(date, t).assume_utc())
            })
            .collect()
    }

    #[test]
    fn the_generated_certificate_is_renewed_over_the_same_key_and_expires_in_397_days() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = load_or_generate(dir.path(), None, None).expect("gen");
        let pem = std::fs::read(dir.path().join("tls/cert.pem")).expect("cert");
        let der = CertificateDer::from_pem_slice(&pem).expect("pem");
        let times = utc_times(der.as_ref());
        assert_eq!(times.len(), 2, "not before and not after, as UTCTime");
        let now = time::OffsetDateTime::now_utc();
        let days = (times[1] - now).whole_days();
        assert!((396..=397).contains(&days), "valid for {days} days");
        assert!(times[0] <= now);
        // Every start issues a fresh certificate over the same key.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = load_or_generate(dir.path(), None, None).expect("renew");
        let renewed = std::fs::read(dir.path().join("tls/cert.pem")).expect("cert");
        assert_ne!(pem, renewed, "a new certificate");
        assert_eq!(a.pin, b.pin, "over the same key");
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
