//! The server's certificate checked against the caller's CAs, around
//! embedded-tls' `CertVerifier` (which does the signatures), with the
//! checks it lacks (CA flags, validity dates against the caller's time,
//! several CAs of one name) and a reason for every refusal; and the client's
//! certificate and P-256 key for mutual TLS.

use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CertificateEntryRef, CertificateRef, CertificateVerifyRef,
    CryptoProvider, CryptoRngCore, NoClock, SignatureScheme, TlsError, TlsVerifier,
};

use p256::ecdsa::{DerSignature, SigningKey};

use super::{der, Failure, CHAIN_CAPACITY};

type Suite = Aes128GcmSha256;

/// Checks one handshake's server certificate and its signature.
pub(super) struct Verifier<'c> {
    cas: &'c [&'c [u8]],
    host: &'c str,
    /// Unix seconds now, if known.
    now: Option<u64>,
    /// Without a time, check everything but the dates.
    accept_unknown_time: bool,
    /// Set once the chain is trusted; taken by the signature check.
    chain: Option<CertVerifier<'c, Suite, NoClock, CHAIN_CAPACITY>>,
    /// Chain trusted and its key signed the transcript.
    pub authenticated: bool,
    /// Why the certificate was refused, if it was.
    pub failure: Option<Failure>,
}

impl<'c> Verifier<'c> {
    pub fn new(
        cas: &'c [&'c [u8]],
        host: &'c str,
        now: Option<u64>,
        accept_unknown_time: bool,
    ) -> Self {
        Verifier {
            cas,
            host,
            now,
            accept_unknown_time,
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
        // The CAs that may have issued the top of the chain (subject = its
        // issuer); several may share a name (a renewed CA).
        let issuer = der::fields(top).ok_or(Failure::BadCertificate)?.issuer;
        let mut candidates = self
            .cas
            .iter()
            .copied()
            .filter(|ca| der::fields(ca).is_some_and(|f| f.subject == issuer));
        let first = candidates.next().ok_or(Failure::UnknownIssuer)?;
        // embedded-tls lets any link sign the next: the middle ones must be CAs.
        for e in cert.entries.iter().skip(1) {
            if !x509(e).is_some_and(der::is_ca) {
                return Err(Failure::NotCa);
            }
        }
        if der::names_match(leaf, self.host) == Some(false) {
            return Err(Failure::NameMismatch);
        }
        // Of several, the one whose key signed the top (ECDSA P-256 is
        // checked here); else the first, and embedded-tls will say no.
        let ca = if candidates.clone().next().is_none() {
            first // the usual case: no signature check twice
        } else {
            [first]
                .into_iter()
                .chain(candidates)
                .find(|ca| der::p256_signed_by(top, ca) == Some(true))
                .unwrap_or(first)
        };
        // Dates read now (the library takes the chain), reported only once
        // the chain is known to be genuine.
        let dated = self.dates(cert.entries.iter().filter_map(x509).chain([ca]));
        // A server that sends the trusted CA itself at the top of its chain
        // (mosquitto with its cafile does): nothing to check of it, so the
        // library starts from the one below it (saves one ECDSA check, a
        // quarter of a handshake's instructions: scripts/tls-handshake-cost).
        let mut cert = cert;
        if cert.entries.len() > 1 && cert.entries.last().and_then(x509) == Some(ca) {
            cert.entries.pop();
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
        dated?;
        self.chain = Some(chain);
        Ok(())
    }

    /// Every certificate's notBefore ≤ now ≤ notAfter (RFC 5280 §4.1.2.5,
    /// inclusive). Without a time: [`Failure::TimeUnknown`], unless the
    /// caller accepted that (then the dates alone go unchecked).
    fn dates<'a>(&self, certs: impl Iterator<Item = &'a [u8]>) -> Result<(), Failure> {
        let now = match self.now {
            Some(now) => i64::try_from(now).unwrap_or(i64::MAX),
            None if self.accept_unknown_time => return Ok(()),
            None => return Err(Failure::TimeUnknown),
        };
        for cert in certs {
            let (not_before, not_after) = der::validity(cert).ok_or(Failure::BadCertificate)?;
            if now < not_before {
                return Err(Failure::NotYetValid);
            }
            if now > not_after {
                return Err(Failure::Expired);
            }
        }
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

/// The client's certificate (DER) and its P-256 private key (DER).
#[derive(Clone, Copy, Debug)]
pub(super) struct Identity<'c> {
    pub certificate: &'c [u8],
    pub key: &'c [u8],
}

/// What embedded-tls asks for during a handshake: randomness, the verifier
/// and, when the server asks for one, the client's certificate and key.
pub(super) struct Provider<'c, 'r, R> {
    pub rng: &'r mut R,
    pub verifier: Verifier<'c>,
    pub skip_verify: bool,
    pub identity: Option<Identity<'c>>,
    /// The server sent a CertificateRequest.
    pub asked_for_certificate: bool,
}

impl<R: CryptoRngCore> CryptoProvider for Provider<'_, '_, R> {
    type CipherSuite = Suite;
    type Signature = DerSignature;

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

    fn client_cert(&mut self) -> Option<Certificate<impl AsRef<[u8]>>> {
        // Asked only after a CertificateRequest: without an identity an
        // empty Certificate goes out and the server decides.
        self.asked_for_certificate = true;
        self.identity.map(|id| Certificate::X509(id.certificate))
    }

    fn signer(
        &mut self,
    ) -> Result<
        (
            impl p256::ecdsa::signature::SignerMut<DerSignature>,
            SignatureScheme,
        ),
        TlsError,
    > {
        let key = self
            .identity
            .and_then(|id| der::p256_secret(id.key))
            .and_then(|secret| SigningKey::from_slice(secret).ok());
        match key {
            Some(key) => Ok((key, SignatureScheme::EcdsaSecp256r1Sha256)),
            None => {
                self.verifier.failure = Some(Failure::BadClientKey);
                Err(TlsError::InvalidPrivateKey)
            }
        }
    }
}
