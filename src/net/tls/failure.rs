//! Why the TLS layer refused or ended a connection, and what it amounts to
//! for the application.

pub use embedded_tls::alert::AlertDescription;
use embedded_tls::TlsError;

use crate::security::SecurityFailure;

/// Why the TLS layer refused or ended a connection.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// None of the CAs issued the server's chain.
    UnknownIssuer,
    /// The certificate is not for the configured name.
    NameMismatch,
    /// A certificate above the leaf is not a CA.
    NotCa,
    /// A certificate's signature or encoding is wrong.
    BadCertificate,
    /// The server's CertificateVerify signature is wrong.
    BadSignature,
    /// The server did not prove it holds a trusted certificate's key.
    NotAuthenticated,
    /// A signature algorithm this build cannot check.
    UnsupportedAlgorithm,
    /// The server's chain is larger than [`CHAIN_CAPACITY`](super::CHAIN_CAPACITY).
    ChainTooLarge,
    /// A certificate's notAfter is before the time given.
    Expired,
    /// A certificate's notBefore is after the time given.
    NotYetValid,
    /// No time was given, so validity dates cannot be checked (see
    /// [`Config`](super::Config)'s "Time").
    TimeUnknown,
    /// The client key given is not a P-256 private key in DER.
    BadClientKey,
    /// The server asked for a client certificate, none was configured, and
    /// it then ended the session with an alert. TLS 1.3 sends that alert
    /// encrypted after the handshake and embedded-tls 0.19 does not report
    /// its code, so this is inferred.
    ClientCertificateRequired,
    /// The server asked for a client certificate, got the configured one,
    /// and then ended the session with an alert (code not reported, as for
    /// [`Failure::ClientCertificateRequired`]): the server does not trust it.
    ClientCertificateRefused,
    /// A record larger than the read buffer.
    RecordTooLarge,
    /// A record that no TLS 1.3 server sends.
    Malformed,
    /// The server sent this alert.
    Alert(AlertDescription),
    /// The server closed the TLS session (close_notify).
    Closed,
    /// Anything else embedded-tls refused.
    Protocol(TlsError),
}

impl Failure {
    /// What it amounts to for the application ([`SecurityFailure`], the
    /// client's `Reason::Security`); `None` for a session that simply ended
    /// (`close_notify`): a plain transport failure.
    pub fn security(&self) -> Option<SecurityFailure> {
        Some(match self {
            Failure::UnknownIssuer | Failure::NotCa => SecurityFailure::UntrustedIssuer,
            Failure::NameMismatch => SecurityFailure::NameMismatch,
            Failure::Expired => SecurityFailure::Expired,
            Failure::NotYetValid => SecurityFailure::NotYetValid,
            Failure::TimeUnknown => SecurityFailure::TimeUnknown,
            Failure::BadCertificate
            | Failure::BadSignature
            | Failure::NotAuthenticated
            | Failure::ChainTooLarge => SecurityFailure::BadCertificate,
            Failure::UnsupportedAlgorithm => SecurityFailure::Unsupported,
            Failure::BadClientKey
            | Failure::ClientCertificateRequired
            | Failure::ClientCertificateRefused => SecurityFailure::ClientCertificate,
            Failure::Alert(alert) => SecurityFailure::Alert(*alert as u8),
            Failure::RecordTooLarge | Failure::Malformed | Failure::Protocol(_) => {
                SecurityFailure::Malformed
            }
            Failure::Closed => return None,
        })
    }
}

/// A [`Tls`](super::Tls) transport's error: the inner transport's, or the TLS layer's.
#[derive(Debug)]
pub enum Error<E> {
    /// The inner transport failed.
    Transport(E),
    /// The TLS layer refused the server or the session ended.
    Tls(Failure),
    /// `send` or `recv` without a connection.
    NotConnected,
}
