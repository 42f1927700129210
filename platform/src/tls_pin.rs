//! TLS with a pinned store key instead of certificate authorities.
//!
//! The store's certificate is usually self-signed; what the device trusts
//! is the SHA-256 of its SubjectPublicKeyInfo, learnt from the enrolment
//! payload. A certificate renewed over the same key keeps working; any
//! other key is refused, whatever CA signed it. The handshake signature is
//! still checked against the certificate's key (rustls' webpki helpers), so
//! only the holder of the pinned key can complete a handshake.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// A store's TLS pin: the SHA-256 of its certificate's
/// SubjectPublicKeyInfo. Its text form is `sha256/<base64>`, as the store
/// prints it and the enrolment payload carries it. The store computes it
/// with [`TlsPin::of_certificate`], the device checks it with the same
/// function inside [`client_config`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsPin([u8; 32]);

impl TlsPin {
    /// The pin of a DER certificate; `None` if it is not a certificate.
    pub fn of_certificate(cert: &CertificateDer<'_>) -> Option<TlsPin> {
        let cert = webpki::EndEntityCert::try_from(cert).ok()?;
        Some(TlsPin(
            Sha256::digest(cert.subject_public_key_info().as_ref()).into(),
        ))
    }

    /// A pin from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> TlsPin {
        TlsPin(bytes)
    }

    /// Its 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses `sha256/<base64 of 32 bytes>` (surrounding white space
    /// allowed); `None` otherwise.
    pub fn parse(s: &str) -> Option<TlsPin> {
        let b64 = s.trim().strip_prefix("sha256/")?;
        if b64.len() != 44 {
            return None;
        }
        let mut out = [0u8; 32];
        match STANDARD.decode_slice(b64, &mut out) {
            Ok(32) => Some(TlsPin(out)),
            _ => None,
        }
    }
}

impl std::fmt::Display for TlsPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256/{}", STANDARD.encode(self.0))
    }
}

impl std::fmt::Debug for TlsPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A pin is public (the store prints it); shown in its text form.
        write!(f, "TlsPin({self})")
    }
}

impl std::str::FromStr for TlsPin {
    type Err = PinParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TlsPin::parse(s).ok_or(PinParseError)
    }
}

/// A pin's text is not `sha256/` followed by the base64 of 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a TLS pin is `sha256/` followed by 44 base64 characters, as the store printed it")]
pub struct PinParseError;

/// What a handshake with a certificate that does not match the pin fails
/// with (rustls wraps it in its own error; [`is_pin_mismatch`] finds it).
const PIN_MISMATCH: &str = "the store's certificate does not match the TLS pin";

/// Whether an error chain (e.g. from reqwest) is a pin mismatch.
pub fn is_pin_mismatch(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.to_string().contains(PIN_MISMATCH) {
            return true;
        }
        current = e.source();
    }
    false
}

#[derive(Debug)]
struct PinnedServer {
    pin: TlsPin,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match TlsPin::of_certificate(end_entity) {
            Some(pin) if pin == self.pin => Ok(ServerCertVerified::assertion()),
            Some(_) => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(std::sync::Arc::new(PinMismatch)),
            ))),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::BadEncoding,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// rustls shows a certificate error through `Debug`, so both forms say
/// the same plain sentence.
struct PinMismatch;

impl std::fmt::Debug for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(PIN_MISMATCH)
    }
}

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(PIN_MISMATCH)
    }
}

impl std::error::Error for PinMismatch {}

/// A rustls client configuration that accepts exactly the server key
/// pinned (ring provider, TLS 1.2 and 1.3).
pub fn client_config(pin: TlsPin) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer { pin, algorithms }))
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;

    fn cert(key: &rcgen::KeyPair, name: &str) -> CertificateDer<'static> {
        rcgen::CertificateParams::new(vec![name.to_owned()])
            .expect("params")
            .self_signed(key)
            .expect("self-signed")
            .der()
            .clone()
    }

    #[test]
    fn the_pinned_key_is_accepted_in_any_certificate_and_no_other_key() {
        let key = rcgen::KeyPair::generate().expect("key");
        let other = rcgen::KeyPair::generate().expect("key");
        let first = cert(&key, "store.example");
        let renewed = cert(&key, "renamed.example");
        let impostor = cert(&other, "store.example");
        let pin = TlsPin::of_certificate(&first).expect("pin");
        assert_eq!(
            TlsPin::of_certificate(&renewed),
            Some(pin),
            "same key, same pin"
        );
        let verifier = PinnedServer {
            pin,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        };
        let name = ServerName::try_from("store.example").expect("name");
        let check = |c: &CertificateDer<'_>| {
            verifier.verify_server_cert(c, &[], &name, &[], UnixTime::now())
        };
        assert!(check(&first).is_ok());
        assert!(check(&renewed).is_ok());
        let refused = check(&impostor).expect_err("another key");
        assert!(is_pin_mismatch(&refused), "{refused}");
        assert!(check(&CertificateDer::from(vec![0x30, 0x00])).is_err());
    }

    #[test]
    fn pin_text_round_trips_and_refuses_junk() {
        let pin = TlsPin::from_bytes([0xff; 32]);
        let s = pin.to_string();
        assert!(s.starts_with("sha256/"));
        assert_eq!(TlsPin::parse(&s), Some(pin));
        assert_eq!(TlsPin::parse(&format!("  {s}\n")), Some(pin));
        assert_eq!(TlsPin::parse(&s[..s.len() - 1]), None);
        assert_eq!(TlsPin::parse("sha256/"), None);
        assert_eq!(TlsPin::parse(&s.replace("sha256/", "sha1/")), None);
    }
}
