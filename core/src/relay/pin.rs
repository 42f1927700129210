//! TLS with a pinned store key instead of certificate authorities.
//!
//! The store's certificate is usually self-signed; what the device trusts
//! is the SHA-256 of its SubjectPublicKeyInfo, learnt from the enrolment
//! payload. A certificate renewed over the same key keeps working; any
//! other key is refused, whatever CA signed it. The handshake signature is
//! still checked against the certificate's key (rustls' webpki helpers), so
//! only the holder of the pinned key can complete a handshake.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The SPKI pin of a DER certificate.
pub fn spki_pin(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let cert = webpki::EndEntityCert::try_from(cert).ok()?;
    Some(Sha256::digest(cert.subject_public_key_info().as_ref()).into())
}

#[derive(Debug)]
struct PinnedServer {
    pin: [u8; 32],
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
        match spki_pin(end_entity) {
            Some(pin) if pin == self.pin => Ok(ServerCertVerified::assertion()),
            Some(_) => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
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

/// A rustls client configuration that accepts exactly the server key
/// pinned (ring provider, TLS 1.2 and 1.3).
pub fn client_config(pin: [u8; 32]) -> Result<rustls::ClientConfig, rustls::Error> {
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
        let pin = spki_pin(&first).expect("pin");
        assert_eq!(spki_pin(&renewed), Some(pin), "same key, same pin");
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
        assert!(check(&impostor).is_err());
        assert!(check(&CertificateDer::from(vec![0x30, 0x00])).is_err());
    }
}
