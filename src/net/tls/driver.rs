//! The TLS side: one future that runs the sessions, one after another.

use core::cell::Cell;
use core::future::poll_fn;
use core::task::Poll;

use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use embedded_tls::{Aes128GcmSha256, TlsConfig, TlsConnection, TlsContext, TlsError};
use rand_core::CryptoRngCore;

use super::config::Config;
use super::failure::{Error, Failure};
use super::mailbox::{Command, Link, Mailbox, Phase};
use super::verify::{Provider, Verifier};
use crate::polled::{first, Either};

/// Largest TLS 1.3 ciphertext record: 2^14 + 256 (RFC 8446 §5.2).
const MAX_RECORD: usize = 16_384 + 256;
/// AES-GCM tag: an encrypted record must be longer (content type byte).
const TAG: usize = 16;
/// An encrypted record longer than this carries the full 2^14 bytes of
/// plaintext (with its content type byte and the tag).
const FULL_RECORD: usize = 16_384 + TAG;

/// The TLS side: while connected, one TLS 1.3 session whose records live
/// in `read_record` (a whole encrypted record must fit: 16 640 bytes for
/// any server) and `write_record` (≥ 512 bytes: the ClientHello and each
/// outgoing record). It owns no transport: the [`super::Tls`] facade
/// connects, closes and carries its ciphertext over whatever transport the
/// caller gives it (`E` is that transport's error). Never finishes; pin it
/// and give it to [`super::Tls::new`] with the same `mail`.
pub async fn drive<E, R: CryptoRngCore>(
    config: Config<'_>,
    mut rng: R,
    read_record: &mut [u8],
    write_record: &mut [u8],
    mail: &Mailbox<'_, E>,
) {
    loop {
        mail.command().await;
        let command = mail.command.replace(Command::None);
        if command != Command::Connect {
            mail.close_inner();
            mail.phase.set(Phase::Idle);
            continue;
        }
        mail.phase.set(Phase::Connecting);
        let io = Io {
            mail,
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
        mail.close_inner();
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

/// One connection, from the inner connect to its end; returns why it ended.
// The send pipe stays borrowed while a record waits for the inner transport
// (so `Tls::send` says WouldBlock meanwhile); every borrow is `try_`, never
// a panic.
#[allow(clippy::await_holding_refcell_ref)]
async fn session<E, R: CryptoRngCore>(
    io: Io<'_, '_, E>,
    config: &Config<'_>,
    rng: &mut R,
    read_record: &mut [u8],
    write_record: &mut [u8],
    mail: &Mailbox<'_, E>,
) -> Error<E> {
    match mail.connect_inner().await {
        Ok(()) => {}
        Err(Some(e)) => return Error::Transport(e),
        Err(None) => return Error::NotConnected,
    }
    let (stash, framing) = (io.stash, io.framing);
    // A refusal of our own (`verifier`) comes first: a transport error
    // after it (the alert we send, the server hanging up) is its consequence.
    let why = |e: TlsError, verifier: Option<Failure>| -> Error<E> {
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
    let mut conn: TlsConnection<'_, Io<'_, '_, E>, Aes128GcmSha256> =
        TlsConnection::new(io, read_record, write_record);
    let mut tls_config = TlsConfig::new().with_server_name(config.server_name);
    if let Some(alpn) = config.alpn {
        tls_config = tls_config.with_alpn(alpn);
    }
    if let Some(length) = config.fragment {
        tls_config = tls_config.with_max_fragment_length(length.code());
    }
    // Records written no larger than asked of the server (embedded-tls
    // fills its write buffer whole otherwise).
    let fragment = config.fragment.map_or(usize::MAX, |f| f.bytes());
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
    // Whether any application data came: a hang-up before any is how some
    // servers (Node's TLS) refuse a client certificate, with no alert.
    let heard = Cell::new(false);
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
                    heard.set(true);
                }
            }
        }
    };
    let outbound = async {
        // Plaintext in the record being filled.
        let mut pending = 0usize;
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
            let data = tx.data();
            let chunk = data.get(..fragment.saturating_sub(pending)).unwrap_or(data);
            let n = match writer.write(chunk).await {
                Ok(n) => n,
                Err(e) => return Err::<core::convert::Infallible, TlsError>(e),
            };
            tx.consume(n);
            pending += n;
            if tx.is_empty() || pending >= fragment {
                writer.flush().await?;
                pending = 0;
            }
        }
    };
    let e: TlsError = match first(inbound, outbound).await {
        Either::First(Err(e)) | Either::Second(Err(e)) => e,
    };
    // An alert other than close_notify after the handshake comes out of
    // embedded-tls as InternalError, without its code; or the server hangs
    // up (its connection ends) before it said anything.
    let hung_up = framing.get().failure.is_none() && stash_has_error(stash) && !heard.get();
    let ended = matches!(e, TlsError::InternalError) || hung_up;
    why(e, client_refusal(&provider, config, ended))
}

/// Whether the inner transport's error was kept (the session ran into it),
/// leaving it in place.
fn stash_has_error<E>(stash: &Cell<Option<E>>) -> bool {
    let e = stash.take();
    let has = e.is_some();
    stash.set(e);
    has
}

/// After the server asked for a client certificate, an alert (or a hang-up
/// before it said anything) is the server refusing it, or its absence (inferred: TLS 1.3
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

/// The ciphertext pipes as embedded-io-async wants them: an empty pipe is
/// `Pending`; the inner transport's failure (its error kept in the mailbox
/// for [`Error::Transport`]) comes after the bytes received before it.
struct Io<'s, 'b, E> {
    mail: &'s Mailbox<'b, E>,
    /// The inner transport's error, once the session ran into it (not
    /// before: the pump may see it while bytes that came first still
    /// wait to be read, and they say more).
    stash: &'s Cell<Option<E>>,
    framing: &'s Cell<Framing>,
}

impl<E> Clone for Io<'_, '_, E> {
    fn clone(&self) -> Self {
        Io {
            mail: self.mail,
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

impl<E> ErrorType for Io<'_, '_, E> {
    type Error = IoFailed;
}

impl<E> Io<'_, '_, E> {
    /// Once the pipe is empty: wait while the link is up, fail otherwise.
    fn stopped(&self) -> Poll<Result<usize, IoFailed>> {
        match self.mail.link.get() {
            Link::Up => Poll::Pending,
            _ => Poll::Ready(Err(self.failed())),
        }
    }

    /// The session ran into the inner transport's failure.
    fn failed(&self) -> IoFailed {
        if let Some(e) = self.mail.inner_error.take() {
            self.stash.set(Some(e));
        }
        IoFailed
    }
}

impl<E> Read for Io<'_, '_, E> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoFailed> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = poll_fn(|_| match self.mail.from_net.try_borrow_mut() {
            Ok(mut from) if !from.is_empty() => Poll::Ready(Ok(from.pop_into(&mut *buf))),
            _ => self.stopped(),
        })
        .await?;
        // A record's length is checked once its header is in; embedded-tls
        // reads at most one header or one body at a time.
        let mut framing = self.framing.get();
        let checked = framing.scan(buf.get(..n).unwrap_or(&[]), MAX_RECORD);
        if let Err(f) = checked {
            framing.failure = Some(f);
        }
        self.framing.set(framing);
        checked.map(|()| n).map_err(|_| IoFailed)
    }
}

impl<E> Write for Io<'_, '_, E> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, IoFailed> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|_| {
            if self.mail.link.get() != Link::Up {
                return Poll::Ready(Err(self.failed()));
            }
            match self.mail.to_net.try_borrow_mut() {
                Ok(mut to) => match to.push(buf) {
                    0 => Poll::Pending,
                    n => Poll::Ready(Ok(n)),
                },
                Err(_) => Poll::Pending,
            }
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), IoFailed> {
        Ok(())
    }
}
