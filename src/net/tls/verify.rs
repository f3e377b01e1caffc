//! The server's certificate checked against the caller's CAs, around
//! embedded-tls' `CertVerifier` (which does the signatures), with the
//! checks it lacks and a reason for every refusal.

use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CertificateEntryRef, CertificateRef, CertificateVerifyRef,
    CryptoProvider, CryptoRngCore, NoClock, TlsError, TlsVerifier,
};

use super::{der, Failure, CHAIN_CAPACITY};

type Suite = Aes128GcmSha256;

/// Checks one handshake's server certificate and its signature.
pub(super) struct Verifier<'c> {
    cas: &'c [&'c [u8]],
    host: &'c str,
    /// Set once the chain is trusted; taken by the signature check.
    chain: Option<CertVerifier<'c, Suite, NoClock, CHAIN_CAPACITY>>,
    /// Chain trusted and its key signed the transcript.
    pub authenticated: bool,
    /// Why the certificate was refused, if it was.
    pub failure: Option<Failure>,
}

impl<'c> Verifier<'c> {
    pub fn new(cas: &'c [&'c [u8]], host: &'c str) -> Self {
        Verifier {
            cas,
            host,
            chain: None,
            authenticated: false,
            failure: None,
        }
    }

    fn check(
        &mut self,
        transcript: &<Suite as embedded_tls::TlsCipherSuite>::Hash,
        cert: CertificateRef,
    ) -> Result<(), Failure> {
        self.chain = None;
        self.authenticated = false;
        let leaf = cert
            .entries
            .first()
            .and_then(x509)
            .ok_or(Failure::BadCertificate)?;
        let top = cert
            .entries
            .last()
            .and_then(x509)
            .ok_or(Failure::BadCertificate)?;
        // The CA that issued the top of the chain (subject = its issuer).
        let issuer = der::fields(top).ok_or(Failure::BadCertificate)?.issuer;
        let ca = self
            .cas
            .iter()
            .copied()
            .find(|ca| der::fields(ca).is_some_and(|f| f.subject == issuer))
            .ok_or(Failure::UnknownIssuer)?;
        // embedded-tls lets any link sign the next: the middle ones must be CAs.
        for e in cert.entries.iter().skip(1) {
            if !x509(e).is_some_and(der::is_ca) {
                return Err(Failure::NotCa);
            }
        }
        if der::names_match(leaf, self.host) == Some(false) {
            return Err(Failure::NameMismatch);
        }
        let mut chain = CertVerifier::new(Certificate::X509(ca));
        TlsVerifier::<Suite>::set_hostname_verification(&mut chain, self.host)
            .map_err(|_| Failure::NameMismatch)?;
        chain
            .verify_certificate(transcript, cert)
            .map_err(|e| match e {
                TlsError::OutOfMemory | TlsError::InsufficientSpace => Failure::ChainTooLarge,
                TlsError::InvalidSignatureScheme => Failure::UnsupportedAlgorithm,
                _ => Failure::BadCertificate,
            })?;
        self.chain = Some(chain);
        Ok(())
    }
}

impl TlsVerifier<Suite> for Verifier<'_> {
    fn set_hostname_verification(&mut self, _hostname: &str) -> Result<(), TlsError> {
        Ok(()) // the same name is in `self.host` already
    }

    fn verify_certificate(
        &mut self,
        transcript: &<Suite as embedded_tls::TlsCipherSuite>::Hash,
        cert: CertificateRef,
    ) -> Result<(), TlsError> {
        self.check(transcript, cert).map_err(|f| {
            self.failure = Some(f);
            TlsError::InvalidCertificate
        })
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef) -> Result<(), TlsError> {
        // Taken: a second CertificateVerify, or one without a trusted
        // Certificate before it, is refused (CertVerifier would panic).
        let Some(mut chain) = self.chain.take() else {
            self.failure = Some(Failure::NotAuthenticated);
            return Err(TlsError::InvalidSignature);
        };
        match chain.verify_signature(verify) {
            Ok(()) => {
                self.authenticated = true;
                Ok(())
            }
            Err(e) => {
                self.failure = Some(match e {
                    TlsError::InvalidSignatureScheme => Failure::UnsupportedAlgorithm,
                    _ => Failure::BadSignature,
                });
                Err(e)
            }
        }
    }
}

fn x509<'a>(e: &CertificateEntryRef<'a>) -> Option<&'a [u8]> {
    match *e {
        CertificateEntryRef::X509(d) => Some(d),
        CertificateEntryRef::RawPublicKey(_) => None,
    }
}

/// What embedded-tls asks for during a handshake: randomness and the verifier.
pub(super) struct Provider<'c, 'r, R> {
    pub rng: &'r mut R,
    pub verifier: Verifier<'c>,
    pub skip_verify: bool,
}

impl<R: CryptoRngCore> CryptoProvider for Provider<'_, '_, R> {
    type CipherSuite = Suite;
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut *self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Suite>, TlsError> {
        if self.skip_verify {
            Err(TlsError::Unimplemented) // embedded-tls then skips both checks
        } else {
            Ok(&mut self.verifier)
        }
    }
}
