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
//! // Caller buffers: the pipes (plaintext, ciphertext), and the TLS records
//! // (a whole record must fit the read buffer: 16,640 bytes for full-size
//! // records).
//! let (mut plain, mut cipher) = ([0u8; 1024], [0u8; 1024]);
//! let mail = Mailbox::new(&mut plain, &mut cipher);
//! let (mut read_record, mut write_record) = ([0u8; 16_640], [0u8; 2048]);
//! let rng = rand_core::OsRng;                               // the chip's TRNG
//! let driver = pin!(tls::drive(config, rng, &mut read_record, &mut write_record, &mail));
//! let mut tls = Tls::new(&mail, driver);
//! let inner = StdTcp::new(([127, 0, 0, 1], 8883).into()); // any Transport
//! let mut transport = tls.over(inner);  // or, each pass, `tls.over(&mut stack)`
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
//! # Design: the station pattern, sans I/O
//!
//! The blocking API cannot be resumed: `open` keeps the handshake state in
//! locals and the record reader reads a record header into a local array,
//! so a `WouldBlock` from below loses bytes and state. The async API can:
//! [`drive`] is one future that runs the connections and never ends; the
//! [`Tls`] facade polls it with a no-op waker (as `wlan::station` does),
//! and the two talk through a [`Mailbox`] of `Cell`s and pipes in caller
//! buffers. The future is pinned by the caller (`core::pin::pin!` in the
//! superloop's frame, which never returns), so nothing here needs `unsafe`
//! or a heap.
//!
//! The driver owns no transport (quinn-proto's shape): it reads and writes
//! ciphertext in two pipes and asks for a connect or a close; [`Tls::over`]
//! lends it an inner transport for the duration of a call, does what it
//! asked and moves the ciphertext. So the TLS layer can sit on a transport
//! that something else owns and polls — a `Device`'s smoltcp stack
//! (`Device::with_layer`; [`Tls`] is a [`super::Layer`]) — with no
//! `RefCell` around it. After the handshake the connection is split: a
//! reader (records → receive pipe) and a writer (send pipe → records) run
//! side by side, so a half-read record never blocks a send. A failure of
//! the inner transport reaches the session only after the bytes that came
//! before it (an alert says more than the reset that followed it).
//!
//! Mutual TLS: [`Config::with_client_certificate`] (P-256 key, signed with
//! `p256`); ALPN: [`Config::with_alpn`]; PEM: [`pem`].
//!
//! Max fragment length: [`Config::with_max_fragment_length`] (then a read
//! record buffer of the length plus 256 bytes is enough).
//!
//! Not yet: revocation (no CRL or OCSP), name constraints and key usage in
//! the server's chain, session resumption (embedded-tls has none).

mod config;
mod der;
mod driver;
mod failure;
mod mailbox;
pub mod pem;
mod pipe;
mod verify;

use core::future::Future;
use core::pin::Pin;

pub use config::{Config, FragmentLength};
pub use driver::drive;
pub use failure::{AlertDescription, Error, Failure};
pub use mailbox::Mailbox;
pub use rand_core::CryptoRngCore;

use super::{Layer, Transport};
use crate::security::SecurityFailure;
use mailbox::{Command, Phase};

/// Bytes of the server's certificate chain (as sent) the verifier keeps
/// between the Certificate and CertificateVerify messages.
pub const CHAIN_CAPACITY: usize = 2048;

/// Driver polls and pumps per call at most: enough for a few records
/// through small pipes; the rest waits for the next call
/// ([`Tls::busy`] says so).
const ROUNDS: usize = 8;

/// The TLS layer: the [`Mailbox`] and the pinned [`drive`] future. It
/// holds no transport: [`Tls::over`] gives, for as long as it is used, the
/// [`Transport`] the client polls — TLS over the inner transport given.
/// As a [`Layer`], it goes between a `Device`'s stack and its client.
pub struct Tls<'m, 'b, F: Future, E> {
    mail: &'m Mailbox<'b, E>,
    driver: Pin<&'m mut F>,
    busy: bool,
}

impl<'m, 'b, F: Future, E> Tls<'m, 'b, F, E> {
    /// The layer over `driver`, the pinned future of [`drive`] given the
    /// same `mail`.
    pub fn new(mail: &'m Mailbox<'b, E>, driver: Pin<&'m mut F>) -> Self {
        Tls {
            mail,
            driver,
            busy: false,
        }
    }

    /// The current unix time for the validity checks ([`Mailbox::set_time`]).
    pub fn set_time(&self, unix_seconds: u64) {
        self.mail.set_time(unix_seconds);
    }

    /// TLS over `inner` (a transport, or `&mut` one that lives elsewhere),
    /// as the [`Transport`] the client polls. Build it for each pass or
    /// keep it: the session lives in the layer, not in this value.
    pub fn over<T: Transport<Error = E>>(&mut self, inner: T) -> TlsOver<'_, 'm, 'b, F, T> {
        TlsOver { tls: self, inner }
    }

    /// The last call stopped with ciphertext still moving: poll again now
    /// rather than sleep.
    pub fn busy(&self) -> bool {
        self.busy
    }

    fn run(&mut self) {
        let _ = crate::polled::poll_once(self.driver.as_mut());
    }

    /// Driver and pump in turn until nothing moves (bounded: [`ROUNDS`]).
    fn step<T: Transport<Error = E> + ?Sized>(&mut self, inner: &mut T) {
        for _ in 0..ROUNDS {
            self.run();
            if !self.mail.pump(inner) {
                self.busy = false;
                return;
            }
        }
        self.busy = true;
    }

    /// The failure that ended the connection, once; the phase goes back to idle.
    fn failed(&mut self) -> nb::Error<Error<E>> {
        self.mail.phase.set(Phase::Idle);
        nb::Error::Other(self.mail.failure.take().unwrap_or(Error::NotConnected))
    }
}

/// TLS over an inner transport: what [`Tls::over`] gives.
pub struct TlsOver<'t, 'm, 'b, F: Future, T: Transport> {
    tls: &'t mut Tls<'m, 'b, F, T::Error>,
    inner: T,
}

impl<F: Future, T: Transport> Transport for TlsOver<'_, '_, '_, F, T> {
    type Error = Error<T::Error>;

    fn security_failure(error: &Self::Error) -> Option<SecurityFailure> {
        match error {
            Error::Tls(failure) => failure.security(),
            Error::Transport(_) | Error::NotConnected => None,
        }
    }

    fn connect(&mut self) -> nb::Result<(), Self::Error> {
        let mail = self.tls.mail;
        if mail.phase.get() == Phase::Idle {
            mail.command.set(Command::Connect);
        }
        self.tls.step(&mut self.inner);
        match mail.phase.get() {
            Phase::Up => Ok(()),
            Phase::Down => Err(self.tls.failed()),
            Phase::Idle | Phase::Connecting => Err(nb::Error::WouldBlock),
        }
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, Self::Error> {
        let mail = self.tls.mail;
        match mail.phase.get() {
            Phase::Up => {}
            Phase::Down => return Err(self.tls.failed()),
            _ => return Err(nb::Error::Other(Error::NotConnected)),
        }
        let n = match mail.tx.try_borrow_mut() {
            Ok(mut tx) => tx.push(data),
            Err(_) => 0, // the writer is waiting on the network
        };
        self.tls.step(&mut self.inner);
        match (n, mail.phase.get()) {
            (0, Phase::Down) => Err(self.tls.failed()),
            (0, _) => Err(nb::Error::WouldBlock),
            (n, _) => Ok(n),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, Self::Error> {
        let mail = self.tls.mail;
        self.tls.step(&mut self.inner);
        let n = match mail.rx.try_borrow_mut() {
            Ok(mut rx) => rx.pop_into(buf),
            Err(_) => 0,
        };
        if n > 0 {
            self.tls.step(&mut self.inner); // room in the pipe: the reader goes on
            return Ok(n);
        }
        match mail.phase.get() {
            Phase::Up => Err(nb::Error::WouldBlock),
            Phase::Down => Err(self.tls.failed()),
            _ => Err(nb::Error::Other(Error::NotConnected)),
        }
    }

    fn close(&mut self) {
        let mail = self.tls.mail;
        mail.failure.set(None);
        if mail.phase.get() != Phase::Idle {
            mail.command.set(Command::Close);
        }
        // The driver asks for the inner close (now, or when its session
        // ended); the pump does it.
        self.tls.step(&mut self.inner);
        mail.phase.set(Phase::Idle);
    }
}

/// The layer between a `Device`'s stack and its client.
impl<'m, 'b, F: Future, T: Transport> Layer<T> for Tls<'m, 'b, F, T::Error> {
    type Over<'s>
        = TlsOver<'s, 'm, 'b, F, &'s mut T>
    where
        Self: 's,
        T: 's;

    fn over<'s>(&'s mut self, inner: &'s mut T) -> Self::Over<'s> {
        Tls::over(self, inner)
    }

    fn busy(&self) -> bool {
        self.busy
    }
}

/// The certificate decoder on arbitrary bytes, for the fuzz target
/// `tls_certs` (cargo-fuzz builds with `--cfg fuzzing`): every question
/// the verifier asks of a certificate, and of a client key. Whether the
/// certificate's fields decoded.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_certificate(cert: &[u8], issuer: &[u8], host: &str) -> bool {
    let decoded = der::fields(cert).is_some();
    let _ = der::validity(cert);
    let _ = der::is_ca(cert);
    let _ = der::names_match(cert, host);
    let _ = der::p256_signed_by(cert, issuer);
    let _ = der::p256_secret(cert);
    decoded
}
