//! Why a secure transport refused a server or ended a session, in the few
//! words an application acts on: the `Down` / `ConnectFailed` reason
//! [`crate::session::Reason::Security`].
//!
//! A leaf below `session` and `net`: the session reports it without
//! knowing any transport, and a TLS transport (`net::tls`, feature `tls`)
//! says which of its own, finer failures is which
//! ([`crate::net::Transport::security_failure`]).

/// Why a secure transport refused the server, or the session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityFailure {
    /// No trusted CA issued the server's chain (or a link of it is not a CA).
    UntrustedIssuer,
    /// The server's certificate is not for the broker's name.
    NameMismatch,
    /// A certificate of the chain has expired.
    Expired,
    /// A certificate of the chain is not valid yet.
    NotYetValid,
    /// No time was given, so validity dates could not be checked.
    TimeUnknown,
    /// A certificate or the server's signature is wrong, or the server did
    /// not prove it holds its certificate's key.
    BadCertificate,
    /// A signature algorithm or cipher this build cannot use.
    Unsupported,
    /// The server wants a client certificate, or refused the one given (or
    /// the configured client key is unusable).
    ClientCertificate,
    /// The server sent an alert (its TLS alert description).
    Alert(u8),
    /// Records that do not follow the protocol, or larger than the buffer.
    Malformed,
    /// The handshake did not finish in time.
    Timeout,
}
