//! What a connection trusts and offers.

use super::verify::Identity;

/// What a connection trusts and offers: the broker's name, the CAs, the
/// time, and optionally ALPN names and a client certificate.
///
/// # Time
///
/// Every certificate's validity dates (the server's chain and the CA that
/// issued it) are checked against the unix time the caller gives:
/// [`Config::with_time`] here, or later [`Mailbox::set_time`](super::Mailbox::set_time) /
/// [`Tls::set_time`](super::Tls::set_time) (e.g. from SNTP; the latest given wins). Until a time
/// is given the server is refused with [`Failure::TimeUnknown`](super::Failure::TimeUnknown) — after
/// every other check has passed — unless the caller names
/// [`Config::accept_unknown_time`]: then everything but the dates is still
/// checked. Expired is [`Failure::Expired`](super::Failure::Expired), not yet valid
/// [`Failure::NotYetValid`](super::Failure::NotYetValid).
#[derive(Clone, Copy, Debug)]
pub struct Config<'c> {
    pub(super) server_name: &'c str,
    pub(super) cas: &'c [&'c [u8]],
    pub(super) skip_verify: bool,
    pub(super) time: Option<u64>,
    pub(super) accept_unknown_time: bool,
    pub(super) alpn: Option<&'c [&'c [u8]]>,
    pub(super) fragment: Option<FragmentLength>,
    pub(super) identity: Option<Identity<'c>>,
}

impl<'c> Config<'c> {
    /// Verify the server against `cas` (DER certificates, as many as
    /// wanted; PEM through [`pem::certificates`](super::pem::certificates)) and `server_name` (a DNS
    /// name, checked against the certificate and sent as SNI). The issuer
    /// of the server's chain is looked up among `cas` by name (and, among
    /// several of one name, by key).
    pub fn new(server_name: &'c str, cas: &'c [&'c [u8]]) -> Self {
        Config {
            server_name,
            cas,
            skip_verify: false,
            time: None,
            accept_unknown_time: false,
            alpn: None,
            fragment: None,
            identity: None,
        }
    }

    /// The current time, unix seconds (UTC), for the validity dates.
    pub fn with_time(mut self, unix_seconds: u64) -> Self {
        self.time = Some(unix_seconds);
        self
    }

    /// Without a time, check everything but the validity dates (an expired
    /// or stolen-then-revoked-by-expiry certificate is then accepted). Once
    /// a time is given it is used.
    pub fn accept_unknown_time(mut self) -> Self {
        self.accept_unknown_time = true;
        self
    }

    /// Offer these ALPN protocol names in the ClientHello, e.g.
    /// `&[b"x-amzn-mqtt-ca"]` for AWS IoT Core on port 443.
    pub fn with_alpn(mut self, protocols: &'c [&'c [u8]]) -> Self {
        self.alpn = Some(protocols);
        self
    }

    /// Ask the server for records of at most `length` bytes of plaintext
    /// (max fragment length, RFC 6066 §4), so the read record buffer can
    /// be that plus 256 bytes instead of 16,640. This layer then writes
    /// records no larger either. A server that ignores the request (the
    /// extension is optional) and sends larger records ends the connection
    /// with [`super::Failure::RecordTooLarge`]. The server's Certificate
    /// message must then fit in one record: embedded-tls does not join a
    /// handshake message split over records, so a chain larger than
    /// `length` fails ([`super::Failure::ChainTooLarge`] or a parse error).
    pub fn with_max_fragment_length(mut self, length: FragmentLength) -> Self {
        self.fragment = Some(length);
        self
    }

    /// Mutual TLS: when the server asks, send `certificate` (DER) and sign
    /// with `key`, its P-256 private key (DER: SEC1 `EC PRIVATE KEY` or
    /// PKCS#8 `PRIVATE KEY`; PEM through [`pem::decode`](super::pem::decode)). A key that is not
    /// P-256 fails the handshake with [`Failure::BadClientKey`](super::Failure::BadClientKey).
    pub fn with_client_certificate(mut self, certificate: &'c [u8], key: &'c [u8]) -> Self {
        self.identity = Some(Identity { certificate, key });
        self
    }

    /// Accept any server: no chain, name or signature check (the link is
    /// encrypted but anyone in the path can read it). For tests only.
    pub fn insecure_skip_verify(mut self) -> Self {
        self.skip_verify = true;
        self
    }
}

/// The largest record plaintext asked of the server
/// ([`Config::with_max_fragment_length`]): the four lengths RFC 6066 §4
/// allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragmentLength {
    /// 512 bytes.
    B512,
    /// 1,024 bytes.
    B1024,
    /// 2,048 bytes.
    B2048,
    /// 4,096 bytes.
    B4096,
}

impl FragmentLength {
    /// The length in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            FragmentLength::B512 => 512,
            FragmentLength::B1024 => 1024,
            FragmentLength::B2048 => 2048,
            FragmentLength::B4096 => 4096,
        }
    }

    pub(super) fn code(self) -> embedded_tls::MaxFragmentLength {
        use embedded_tls::MaxFragmentLength as M;
        match self {
            FragmentLength::B512 => M::Bits9,
            FragmentLength::B1024 => M::Bits10,
            FragmentLength::B2048 => M::Bits11,
            FragmentLength::B4096 => M::Bits12,
        }
    }
}
