//! TLS 1.3 over any [`Transport`] (feature `tls`): the client cannot tell
//! the difference. Polled, allocation-free, and the server verified by
//! default.
//!
//! ```no_run
//! use core::pin::pin;
//! use limpet::net::std_tcp::StdTcp;
//! use limpet::net::tls::{self, Config as TlsConfig, Mailbox, Tls};
//! use limpet::{Client, Config, Event, Instant, Options};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ca_der: &[u8] = &[];
//! # let unix_now = 1_800_000_000;
//! # let now = || Instant::from_ticks(0);
//!
//! // The broker's name (checked against its certificate, sent as SNI), the
//! // CAs to trust, and the time to check validity dates against (SNTP).
//! let cas = [ca_der];
//! let config = TlsConfig::new("broker.example", &cas).with_time(unix_now);
//!
//! // Caller buffers: plaintext pipes, and the TLS records (a whole record
//! // must fit the read buffer: 16,640 bytes for full-size records).
//! let (mut to_tls, mut from_tls) = ([0u8; 512], [0u8; 512]);
//! let mail = Mailbox::new(&mut to_tls, &mut from_tls);
//! let (mut read_record, mut write_record) = ([0u8; 16_640], [0u8; 2048]);
//! let inner = StdTcp::new(([127, 0, 0, 1], 8883).into()); // any Transport
//! let rng = rand_core::OsRng;                               // the chip's TRNG
//! let driver = pin!(tls::drive(inner, config, rng, &mut read_record, &mut write_record, &mail));
//! let mut transport = Tls::new(&mail, driver);
//!
//! let (mut rx, mut tx, mut store) = ([0u8; 1024], [0u8; 1024], [0u8; 1024]);
//! let mut client: Client<'_, 4, 4> =
//!     Client::new(Config::new("sensor-7"), Options::default(), &mut rx, &mut tx, &mut store)?;
//! loop {
//!     match client.poll(now(), &mut transport) {
//!         // A refused server is a reason, then the usual backoff:
//!         // ConnectFailed(Reason::Security(SecurityFailure::UntrustedIssuer)), ...
//!         Some(Event::ConnectFailed(reason)) => eprintln!("{reason:?}"),
//!         Some(_) => {}
//!         None => { /* sleep until client.next_deadline(now), or the socket */ }
//!     }
//! }
//! # }
//! ```
//!
//! # The library: embedded-tls 0.19.0 (evaluated for issue 15)
//!
//! - **no_std, no alloc**: builds for `thumbv7em-none-eabihf` with
//!   `default-features = false` (its default is `std`, `log`, `tokio`); it
//!   needs no allocator unless its `rsa` feature is on (RSA pulls in
//!   `alloc`). It has one `unsafe` block (pointer offset in its read path).
//! - **API**: async (`TlsConnection` over `embedded-io-async` 0.7) and
//!   blocking (`blocking::TlsConnection` over `embedded-io` 0.7), the same
//!   record layer underneath; the record layer and handshake states are
//!   private. TLS 1.3 only; cipher suites `TLS_AES_128_GCM_SHA256` and
//!   `TLS_AES_256_GCM_SHA384` (a type parameter; we use the first); key
//!   exchange secp256r1 only.
//! - **Verification**: feature `rustpki` (`pki::CertVerifier`: one CA, the
//!   chain's ECDSA P-256/SHA-256 signatures, P-384 with `p384`, Ed25519 with
//!   `ed25519`, RSA only with `rsa` + alloc; DNS names in SAN or CN,
//!   wildcards; validity dates only through a type-level `TlsClock` with a
//!   static `now()`) or `webpki` (rustls-webpki 0.101, std only in
//!   practice). Without a verifier it skips both the chain and the
//!   CertificateVerify signature.
//! - **Extensions**: SNI (`with_server_name`), ALPN (`with_alpn`), client
//!   certificates (`CryptoProvider::client_cert` + `signer`, P-256),
//!   max fragment length (`with_max_fragment_length`, sent; writes are not
//!   fragmented to it), PSK; no session resumption from tickets.
//! - **RAM**: the caller gives a read record buffer (a whole encrypted record
//!   must fit: 16 640 bytes for full records, less with max fragment length)
//!   and a write buffer (≥ the ClientHello, ~200 bytes, plus 128 bytes of
//!   record overhead); the state (key schedule, transcript hashes) is in the
//!   connection. `CertVerifier` copies the server's chain
//!   ([`CHAIN_CAPACITY`] bytes).
//! - **Defects found, and what this module does about them**:
//!   1. A server that sends no Certificate/CertificateVerify is accepted
//!      by `open` even with a verifier: a man in the middle needs no
//!      certificate. Here the handshake counts only if the chain was
//!      trusted *and* its key signed the transcript
//!      ([`Failure::NotAuthenticated`]).
//!   2. `CertVerifier` lets any certificate in the chain sign the next (no
//!      basicConstraints check): here every link above the leaf must be a
//!      CA ([`Failure::NotCa`]).
//!   3. Panics reachable from the network: an encrypted record of ≤ 16
//!      bytes (empty plaintext, `unwrap` in `decrypt_record`), reachable
//!      before the server is authenticated — refused here before it
//!      reaches the library ([`Failure::Malformed`]); a CertificateVerify
//!      before or after the certificate (`unwrap` in `CertVerifier`) —
//!      refused here; a handshake message other than NewSessionTicket
//!      after the handshake (`unimplemented!` in its read path) — NOT
//!      guarded, see "Faults" below.
//!   4. Every certificate failure is one `InvalidCertificate`: the reason
//!      ([`Failure`]) comes from this module's own checks (issuer lookup,
//!      CA flags, DNS names in `der.rs`) made before the library's.
//!   5. Validity dates only from a type-level clock (`TlsClock::now()`, no
//!      `self`), so no time the caller learns at run time (SNTP): here the
//!      dates are read by `der.rs` and checked against [`Config::with_time`]
//!      / [`Mailbox::set_time`] ([`Failure::Expired`],
//!      [`Failure::NotYetValid`], [`Failure::TimeUnknown`]; see [`Config`]).
//!   6. One CA per verifier: here the issuer is looked up among all the
//!      caller's CAs, by name and, among several of one name, by key.
//!   7. An alert after the handshake loses its code (`InternalError`); in
//!      TLS 1.3 that is how a server refuses a client certificate, so the
//!      reason is inferred ([`Failure::ClientCertificateRequired`],
//!      [`Failure::ClientCertificateRefused`]).
//!
//! # Faults (tests/tls_faults.rs, fuzz/fuzz_targets/tls.rs)
//!
//! - **A server that stalls mid-handshake**: [`Tls`]'s `connect` says
//!   `WouldBlock` until the handshake is over, so the client's own
//!   `Options::connect_timeout` ends a stalled handshake (`Link::Connecting`)
//!   like a stalled TCP connect: `close` drops the session and closes the
//!   inner transport, and the next attempt waits out the backoff. Used
//!   without the client, the caller bounds `connect` the same way (the
//!   [`Transport`] trait carries no time).
//! - **Garbage, truncated records, alerts**: refused with a [`Failure`]
//!   (`Malformed` for impossible record lengths, `Protocol(..)` for what
//!   the library's parser refuses, `Alert(..)` with the server's code), or
//!   the inner transport's error when the server closes mid-record.
//! - **A chain larger than the buffers**: a record larger than the read
//!   buffer is `RecordTooLarge`; a chain larger than [`CHAIN_CAPACITY`] is
//!   `ChainTooLarge`; a Certificate message larger than one record (2^14
//!   bytes, so split over several: embedded-tls does not join handshake
//!   fragments and fails parsing it) is `ChainTooLarge` too, told by a
//!   full-size encrypted record before the parse error.
//! - **Not guarded: the post-handshake `unimplemented!`.** After the
//!   handshake, embedded-tls decrypts a record and hands it to
//!   `DecryptedReadHandler::handle`, which panics on a ServerHello,
//!   EncryptedExtensions, Certificate, CertificateRequest, CertificateVerify
//!   or Finished (KeyUpdate and unknown types are refused by its parser, as
//!   `Protocol(Unimplemented)`; NewSessionTicket is ignored). The message
//!   type travels encrypted in an application_data record, so this module
//!   (below the library: ciphertext only; above it: plaintext only after the
//!   handler) cannot see it, and the library exposes no step in between. So
//!   only a peer holding the session's traffic keys can reach it: the
//!   authenticated server, or, with [`Config::insecure_skip_verify`], anyone
//!   in the path (a man in the middle completes an unauthenticated
//!   handshake). The fuzz target cannot reach it either (it would have to
//!   encrypt under keys derived from an ECDHE exchange). The fix belongs
//!   upstream: return an error instead of `unimplemented!()`.
//!
//! # Design: the station pattern, not blocking over non-blocking
//!
//! The blocking API cannot be resumed: `open` keeps the handshake state in
//! locals and the record reader reads a record header into a local array,
//! so a `WouldBlock` from below loses bytes and state. The async API can:
//! [`drive`] is one future that owns the inner transport and the
//! connection and never ends; the [`Tls`] facade polls it once per call
//! with a no-op waker (as `wlan::station` does), and the two talk through a
//! [`Mailbox`] of `Cell`s and two small plaintext pipes (caller buffers).
//! An adapter turns the inner transport's `WouldBlock` into
//! `Poll::Pending`. The future is pinned by the caller (`core::pin::pin!`
//! in the superloop's frame, which never returns), so nothing here needs
//! `unsafe` or a heap. After the handshake the connection is split: a reader
//! (records → receive pipe) and a writer (send pipe → records) run side by
//! side, so a half-read record never blocks a send.
//!
//! Mutual TLS: [`Config::with_client_certificate`] (P-256 key, signed with
//! `p256`); ALPN: [`Config::with_alpn`]; PEM: [`pem`].
//!
//! Not yet: max fragment length, revocation (no CRL or OCSP), name
//! constraints and key usage in the server's chain, a `Down` reason
//! carrying the [`Failure`] (the client reports [`Error`] as
//! `Reason::Transport`; a later `Reason::Tls(Failure)` needs
//! `Transport::Error` to expose a `Failure`, e.g. through a small trait the
//! client's error path asks).

use crate::security::SecurityFailure;
mod der;
pub mod pem;
mod verify;

use core::cell::{Cell, RefCell};
use core::future::{poll_fn, Future};
use core::pin::{pin, Pin};
use core::task::{Context, Poll, Waker};

use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
pub use embedded_tls::alert::AlertDescription;
use embedded_tls::{Aes128GcmSha256, TlsConfig, TlsConnection, TlsContext, TlsError};
pub use rand_core::CryptoRngCore;

use super::Transport;
use verify::{Identity, Provider, Verifier};

/// Bytes of the server's certificate chain (as sent) the verifier keeps
/// between the Certificate and CertificateVerify messages.
pub const CHAIN_CAPACITY: usize = 2048;

/// Largest TLS 1.3 ciphertext record: 2^14 + 256 (RFC 8446 §5.2).
const MAX_RECORD: usize = 16_384 + 256;
/// AES-GCM tag: an encrypted record must be longer (content type byte).
const TAG: usize = 16;
/// An encrypted record longer than this carries the full 2^14 bytes of
/// plaintext (with its content type byte and the tag).
const FULL_RECORD: usize = 16_384 + TAG;

/// What a connection trusts and offers: the broker's name, the CAs, the
/// time, and optionally ALPN names and a client certificate.
///
/// # Time
///
/// Every certificate's validity dates (the server's chain and the CA that
/// issued it) are checked against the unix time the caller gives:
/// [`Config::with_time`] here, or later [`Mailbox::set_time`] /
/// [`Tls::set_time`] (e.g. from SNTP; the latest given wins). Until a time
/// is given the server is refused with [`Failure::TimeUnknown`] — after
/// every other check has passed — unless the caller names
/// [`Config::accept_unknown_time`]: then everything but the dates is still
/// checked. Expired is [`Failure::Expired`], not yet valid
/// [`Failure::NotYetValid`].
#[derive(Clone, Copy, Debug)]
pub struct Config<'c> {
    server_name: &'c str,
    cas: &'c [&'c [u8]],
    skip_verify: bool,
    time: Option<u64>,
    accept_unknown_time: bool,
    alpn: Option<&'c [&'c [u8]]>,
    identity: Option<Identity<'c>>,
}

impl<'c> Config<'c> {
    /// Verify the server against `cas` (DER certificates, as many as
    /// wanted; PEM through [`pem::certificates`]) and `server_name` (a DNS
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

    /// Mutual TLS: when the server asks, send `certificate` (DER) and sign
    /// with `key`, its P-256 private key (DER: SEC1 `EC PRIVATE KEY` or
    /// PKCS#8 `PRIVATE KEY`; PEM through [`pem::decode`]). A key that is not
    /// P-256 fails the handshake with [`Failure::BadClientKey`].
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
    /// The server's chain is larger than [`CHAIN_CAPACITY`].
    ChainTooLarge,
    /// A certificate's notAfter is before the time given.
    Expired,
    /// A certificate's notBefore is after the time given.
    NotYetValid,
    /// No time was given, so validity dates cannot be checked (see
    /// [`Config`]'s "Time").
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

/// A [`Tls`] transport's error: the inner transport's, or the TLS layer's.
#[derive(Debug)]
pub enum Error<E> {
    /// The inner transport failed.
    Transport(E),
    /// The TLS layer refused the server or the session ended.
    Tls(Failure),
    /// `send` or `recv` without a connection.
    NotConnected,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Command {
    None,
    Connect,
    Close,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    Connecting,
    Up,
    Down,
}

/// A byte queue in a caller's buffer.
struct Pipe<'b> {
    buf: &'b mut [u8],
    start: usize,
    end: usize,
}

impl Pipe<'_> {
    fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }
    fn is_empty(&self) -> bool {
        self.start >= self.end
    }
    fn has_room(&self) -> bool {
        self.start > 0 || self.end < self.buf.len()
    }
    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.clear();
        }
    }
    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }
    /// Appends what fits of `data`; how much.
    fn push(&mut self, data: &[u8]) -> usize {
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let room = self.buf.get_mut(self.end..).unwrap_or(&mut []);
        let n = room.len().min(data.len());
        room[..n].copy_from_slice(&data[..n]);
        self.end += n;
        n
    }
    /// Moves what fits into `out`; how much.
    fn pop_into(&mut self, out: &mut [u8]) -> usize {
        let data = self.data();
        let n = data.len().min(out.len());
        out[..n].copy_from_slice(&data[..n]);
        self.consume(n);
        n
    }
}

/// What the [`Tls`] facade and the [`drive`] future share: commands one
/// way, the phase and the failure the other, and the plaintext pipes.
pub struct Mailbox<'b, E> {
    command: Cell<Command>,
    phase: Cell<Phase>,
    failure: Cell<Option<Error<E>>>,
    /// Unix seconds from [`Mailbox::set_time`], over [`Config::with_time`].
    time: Cell<Option<u64>>,
    tx: RefCell<Pipe<'b>>,
    rx: RefCell<Pipe<'b>>,
}

impl<'b, E> Mailbox<'b, E> {
    /// A mailbox whose send and receive pipes are `tx` and `rx` (a few
    /// hundred bytes each is plenty: the records live in `drive`'s buffers).
    pub fn new(tx: &'b mut [u8], rx: &'b mut [u8]) -> Self {
        let pipe = |buf| {
            RefCell::new(Pipe {
                buf,
                start: 0,
                end: 0,
            })
        };
        Mailbox {
            command: Cell::new(Command::None),
            phase: Cell::new(Phase::Idle),
            failure: Cell::new(None),
            time: Cell::new(None),
            tx: pipe(tx),
            rx: pipe(rx),
        }
    }

    /// The current unix time (seconds, UTC), e.g. from SNTP, for the next
    /// handshakes' validity checks; replaces [`Config::with_time`]'s. Keep it
    /// current (a few minutes off only shifts the dates that much).
    pub fn set_time(&self, unix_seconds: u64) {
        self.time.set(Some(unix_seconds));
    }

    async fn command(&self) {
        poll_fn(|_| match self.command.get() {
            Command::None => Poll::Pending,
            _ => Poll::Ready(()),
        })
        .await
    }
}

/// The TLS side: owns `inner` and, while connected, one TLS 1.3 session
/// whose records live in `read_record` (a whole encrypted record must fit:
/// 16 640 bytes for any server) and `write_record` (≥ 512 bytes: the
/// ClientHello and each outgoing record). Never finishes; pin it and give
/// it to [`Tls::new`] with the same `mail`.
pub async fn drive<T: Transport, R: CryptoRngCore>(
    inner: T,
    config: Config<'_>,
    mut rng: R,
    read_record: &mut [u8],
    write_record: &mut [u8],
    mail: &Mailbox<'_, T::Error>,
) {
    let inner = RefCell::new(inner);
    loop {
        mail.command().await;
        let command = mail.command.replace(Command::None);
        if command != Command::Connect {
            close(&inner);
            mail.phase.set(Phase::Idle);
            continue;
        }
        mail.phase.set(Phase::Connecting);
        for pipe in [&mail.tx, &mail.rx] {
            if let Ok(mut p) = pipe.try_borrow_mut() {
                p.clear();
            }
        }
        let io = Io {
            inner: &inner,
            stash: &Cell::new(None),
            framing: &Cell::new(Framing::default()),
        };
        let run = session(
            io,
            &config,
            &mut rng,
            &mut *read_record,
            &mut *write_record,
            mail,
        );
        let ended = first(run, mail.command()).await;
        close(&inner);
        match ended {
            Either::First(error) => {
                mail.failure.set(Some(error));
                mail.phase.set(Phase::Down);
            }
            // A command: Close ends here; a Connect is taken by the loop.
            Either::Second(()) => mail.phase.set(Phase::Idle),
        }
    }
}

fn close<T: Transport>(inner: &RefCell<T>) {
    if let Ok(mut t) = inner.try_borrow_mut() {
        t.close();
    }
}

/// One connection, from the inner connect to its end; returns why it ended.
// The send pipe stays borrowed while a record waits for the inner transport
// (so `Tls::send` says WouldBlock meanwhile); every borrow is `try_`, never
// a panic.
#[allow(clippy::await_holding_refcell_ref)]
async fn session<T: Transport, R: CryptoRngCore>(
    io: Io<'_, T>,
    config: &Config<'_>,
    rng: &mut R,
    read_record: &mut [u8],
    write_record: &mut [u8],
    mail: &Mailbox<'_, T::Error>,
) -> Error<T::Error> {
    let connected = poll_fn(|_| {
        let Ok(mut t) = io.inner.try_borrow_mut() else {
            return Poll::Pending;
        };
        match t.connect() {
            Ok(()) => Poll::Ready(Ok(())),
            Err(nb::Error::WouldBlock) => Poll::Pending,
            Err(nb::Error::Other(e)) => Poll::Ready(Err(e)),
        }
    })
    .await;
    if let Err(e) = connected {
        return Error::Transport(e);
    }
    let (stash, framing) = (io.stash, io.framing);
    // A refusal of our own (`verifier`) comes first: a transport error
    // after it (the alert we send, the server hanging up) is its consequence.
    let why = |e: TlsError, verifier: Option<Failure>| -> Error<T::Error> {
        if let Some(f) = verifier {
            let _ = stash.take();
            return Error::Tls(f);
        }
        if let Some(e) = stash.take() {
            return Error::Transport(e);
        }
        if let Some(f) = framing.get().failure {
            return Error::Tls(f);
        }
        Error::Tls(match e {
            TlsError::HandshakeAborted(_, d) => Failure::Alert(d),
            TlsError::ConnectionClosed => Failure::Closed,
            TlsError::InsufficientSpace | TlsError::OutOfMemory => Failure::RecordTooLarge,
            e => Failure::Protocol(e),
        })
    };
    let mut conn: TlsConnection<'_, Io<'_, T>, Aes128GcmSha256> =
        TlsConnection::new(io, read_record, write_record);
    let mut tls_config = TlsConfig::new().with_server_name(config.server_name);
    if let Some(alpn) = config.alpn {
        tls_config = tls_config.with_alpn(alpn);
    }
    let now = mail.time.get().or(config.time);
    let mut provider = Provider {
        rng,
        verifier: Verifier::new(
            config.cas,
            config.server_name,
            now,
            config.accept_unknown_time,
        ),
        skip_verify: config.skip_verify,
        identity: config.identity,
        asked_for_certificate: false,
    };
    if let Err(e) = conn.open(TlsContext::new(&tls_config, &mut provider)).await {
        // Once asked for a certificate, only our last flight is left: a
        // failure then is the server hanging up on the certificate.
        let refused = client_refusal(&provider, config, true);
        let split = framing.get().split_message(&e);
        return why(e, provider.verifier.failure.or(split).or(refused));
    }
    if !config.skip_verify && !provider.verifier.authenticated {
        return Error::Tls(Failure::NotAuthenticated);
    }
    mail.phase.set(Phase::Up);
    let (mut reader, mut writer) = conn.split();
    let inbound = async {
        loop {
            let mut records = match reader.read_buffered().await {
                Ok(records) => records,
                Err(e) => return Err::<core::convert::Infallible, TlsError>(e),
            };
            while !records.is_empty() {
                poll_fn(|_| match mail.rx.try_borrow() {
                    Ok(p) if p.has_room() => Poll::Ready(()),
                    _ => Poll::Pending,
                })
                .await;
                if let Ok(mut rx) = mail.rx.try_borrow_mut() {
                    let n = rx.push(records.peek_all());
                    records.pop(n);
                }
            }
        }
    };
    let outbound = async {
        loop {
            poll_fn(|_| match mail.tx.try_borrow() {
                Ok(p) if !p.is_empty() => Poll::Ready(()),
                _ => Poll::Pending,
            })
            .await;
            // Held across the write: `Tls::send` says WouldBlock meanwhile.
            let Ok(mut tx) = mail.tx.try_borrow_mut() else {
                continue;
            };
            let n = match writer.write(tx.data()).await {
                Ok(n) => n,
                Err(e) => return Err::<core::convert::Infallible, TlsError>(e),
            };
            tx.consume(n);
            if tx.is_empty() {
                writer.flush().await?;
            }
        }
    };
    let e: TlsError = match first(inbound, outbound).await {
        Either::First(Err(e)) | Either::Second(Err(e)) => e,
    };
    // An alert other than close_notify after the handshake comes out of
    // embedded-tls as InternalError, without its code.
    let alert = matches!(e, TlsError::InternalError);
    why(e, client_refusal(&provider, config, alert))
}

/// After the server asked for a client certificate, an alert (or a hang-up
/// mid-flight) is the server refusing it, or its absence (inferred: TLS 1.3
/// sends that alert encrypted and embedded-tls does not report its code).
fn client_refusal<R>(
    provider: &Provider<'_, '_, R>,
    config: &Config<'_>,
    ended: bool,
) -> Option<Failure> {
    match (provider.asked_for_certificate && ended, config.identity) {
        (true, Some(_)) => Some(Failure::ClientCertificateRefused),
        (true, None) => Some(Failure::ClientCertificateRequired),
        (false, _) => None,
    }
}

/// How far the inbound byte stream is into its current record, to refuse
/// records embedded-tls would panic on or cannot hold.
#[derive(Clone, Copy, Default)]
struct Framing {
    header: [u8; 5],
    got: usize,
    body: usize,
    failure: Option<Failure>,
    /// An encrypted record of the full 2^14 bytes of plaintext arrived.
    full: bool,
}

impl Framing {
    /// A handshake message that spans records (only a chain this large
    /// needs more than one full record) fails in embedded-tls, which does
    /// not join fragments, as a parse error: say why.
    fn split_message(&self, e: &TlsError) -> Option<Failure> {
        let parse = matches!(
            e,
            TlsError::InvalidCertificate | TlsError::InvalidHandshake | TlsError::DecodeError
        );
        (self.full && parse).then_some(Failure::ChainTooLarge)
    }

    fn scan(&mut self, bytes: &[u8], capacity: usize) -> Result<(), Failure> {
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.body > 0 {
                let n = self.body.min(rest.len());
                self.body -= n;
                rest = &rest[n..];
                continue;
            }
            self.header[self.got] = rest[0];
            self.got += 1;
            rest = &rest[1..];
            if self.got == self.header.len() {
                self.got = 0;
                let len = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                let encrypted = self.header[0] == 23;
                if len == 0 || len > MAX_RECORD || (encrypted && len <= TAG) {
                    return Err(Failure::Malformed);
                }
                if len > capacity {
                    return Err(Failure::RecordTooLarge);
                }
                self.body = len;
                self.full |= encrypted && len > FULL_RECORD;
            }
        }
        Ok(())
    }
}

/// The inner transport as embedded-io-async wants it: `WouldBlock` is
/// `Pending`; its error is kept aside for [`Error::Transport`].
struct Io<'s, T: Transport> {
    inner: &'s RefCell<T>,
    stash: &'s Cell<Option<T::Error>>,
    framing: &'s Cell<Framing>,
}

impl<T: Transport> Clone for Io<'_, T> {
    fn clone(&self) -> Self {
        Io {
            inner: self.inner,
            stash: self.stash,
            framing: self.framing,
        }
    }
}

/// The inner transport failed, or sent a record refused by [`Framing`].
#[derive(Debug)]
struct IoFailed;

impl core::fmt::Display for IoFailed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("transport failed")
    }
}

impl core::error::Error for IoFailed {}

impl embedded_io_async::Error for IoFailed {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl<T: Transport> ErrorType for Io<'_, T> {
    type Error = IoFailed;
}

impl<T: Transport> Io<'_, T> {
    fn io<N>(
        &self,
        op: impl FnOnce(&mut T) -> nb::Result<N, T::Error>,
    ) -> Poll<Result<N, IoFailed>> {
        let Ok(mut t) = self.inner.try_borrow_mut() else {
            return Poll::Pending;
        };
        match op(&mut t) {
            Ok(n) => Poll::Ready(Ok(n)),
            Err(nb::Error::WouldBlock) => Poll::Pending,
            Err(nb::Error::Other(e)) => {
                self.stash.set(Some(e));
                Poll::Ready(Err(IoFailed))
            }
        }
    }
}

impl<T: Transport> Read for Io<'_, T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoFailed> {
        if buf.is_empty() {
            return Ok(0);
        }
        // A record's length is checked once its header is in; embedded-tls
        // reads at most one header or one body at a time.
        let n = poll_fn(|_| self.io(|t| t.recv(&mut *buf))).await?;
        let mut framing = self.framing.get();
        let checked = framing.scan(buf.get(..n).unwrap_or(&[]), MAX_RECORD);
        if let Err(f) = checked {
            framing.failure = Some(f);
        }
        self.framing.set(framing);
        checked.map(|()| n).map_err(|_| IoFailed)
    }
}

impl<T: Transport> Write for Io<'_, T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, IoFailed> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|_| self.io(|t| t.send(buf))).await
    }

    async fn flush(&mut self) -> Result<(), IoFailed> {
        Ok(())
    }
}

/// A [`Transport`] over TLS: the facade the client polls, over a pinned
/// [`drive`] future. Every call polls that future once and returns.
pub struct Tls<'m, 'b, F: Future, E> {
    mail: &'m Mailbox<'b, E>,
    driver: Pin<&'m mut F>,
}

impl<'m, 'b, F: Future, E> Tls<'m, 'b, F, E> {
    /// The transport over `driver`, the pinned future of [`drive`] given
    /// the same `mail`.
    pub fn new(mail: &'m Mailbox<'b, E>, driver: Pin<&'m mut F>) -> Self {
        Tls { mail, driver }
    }

    /// The current unix time for the validity checks ([`Mailbox::set_time`]).
    pub fn set_time(&self, unix_seconds: u64) {
        self.mail.set_time(unix_seconds);
    }

    fn run(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        let _ = self.driver.as_mut().poll(&mut cx);
    }

    /// The failure that ended the connection, once; the phase goes back to idle.
    fn failed(&mut self) -> nb::Error<Error<E>> {
        self.mail.phase.set(Phase::Idle);
        nb::Error::Other(self.mail.failure.take().unwrap_or(Error::NotConnected))
    }
}

impl<F: Future, E: core::fmt::Debug> Transport for Tls<'_, '_, F, E> {
    type Error = Error<E>;

    fn security_failure(error: &Error<E>) -> Option<SecurityFailure> {
        match error {
            Error::Tls(failure) => failure.security(),
            Error::Transport(_) | Error::NotConnected => None,
        }
    }

    fn connect(&mut self) -> nb::Result<(), Error<E>> {
        if self.mail.phase.get() == Phase::Idle {
            self.mail.command.set(Command::Connect);
        }
        self.run();
        match self.mail.phase.get() {
            Phase::Up => Ok(()),
            Phase::Down => Err(self.failed()),
            Phase::Idle | Phase::Connecting => Err(nb::Error::WouldBlock),
        }
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, Error<E>> {
        match self.mail.phase.get() {
            Phase::Up => {}
            Phase::Down => return Err(self.failed()),
            _ => return Err(nb::Error::Other(Error::NotConnected)),
        }
        let n = match self.mail.tx.try_borrow_mut() {
            Ok(mut tx) => tx.push(data),
            Err(_) => 0, // the writer is waiting on the inner transport
        };
        self.run();
        match (n, self.mail.phase.get()) {
            (0, Phase::Down) => Err(self.failed()),
            (0, _) => Err(nb::Error::WouldBlock),
            (n, _) => Ok(n),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, Error<E>> {
        self.run();
        let n = match self.mail.rx.try_borrow_mut() {
            Ok(mut rx) => rx.pop_into(buf),
            Err(_) => 0,
        };
        if n > 0 {
            self.run(); // room in the pipe: let the reader go on
            return Ok(n);
        }
        match self.mail.phase.get() {
            Phase::Up => Err(nb::Error::WouldBlock),
            Phase::Down => Err(self.failed()),
            _ => Err(nb::Error::Other(Error::NotConnected)),
        }
    }

    fn close(&mut self) {
        self.mail.failure.set(None);
        if self.mail.phase.get() != Phase::Idle {
            self.mail.command.set(Command::Close);
            self.run();
        }
        self.mail.phase.set(Phase::Idle);
    }
}

enum Either<A, B> {
    First(A),
    Second(B),
}

/// The first of `a` and `b` to finish; the other is dropped.
async fn first<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::First(x));
        }
        if let Poll::Ready(y) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Second(y));
        }
        Poll::Pending
    })
    .await
}
