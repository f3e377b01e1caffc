//! One handshake of limpet's TLS layer replayed from a recording, the
//! instructions of every `connect()` call (one superloop pass) counted.

use core::fmt;
use core::pin::pin;

use limpet::net::tls::{self, Config, Mailbox, Tls};
use limpet::net::Transport;
use tls_cost::{records, FixedRng, PIPE, READ_RECORD, WRITE_RECORD};

use crate::counter;

/// Most passes a handshake may take before the replay calls it stalled.
pub const MAX_PASSES: usize = 64;

/// How the server's recorded bytes reach the client.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// The whole flight, as soon as the ClientHello is out (it arrived
    /// while the superloop was elsewhere): the longest pass.
    Flight,
    /// One record at a time, each once the client is done with the one
    /// before: what each message costs.
    PerRecord,
}

/// The inner transport: the server's recorded bytes in, up to `gate`; the
/// client's bytes out, compared with the recording's as they go.
struct Fake<'r> {
    server: &'r [u8],
    at: usize,
    gate: usize,
    expected: &'r [u8],
    sent: usize,
    /// Offset of the first byte the client sent that differs from the
    /// recording (or goes past it).
    differs: Option<usize>,
}

/// The fake transport's error: it has none.
#[derive(Debug)]
pub struct Never;

impl Transport for Fake<'_> {
    type Error = Never;

    fn connect(&mut self) -> nb::Result<(), Never> {
        Ok(())
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, Never> {
        if self.differs.is_none() {
            let expected = self.expected.get(self.sent..).unwrap_or(&[]);
            let same = data.iter().zip(expected).take_while(|(a, b)| a == b);
            let same = same.count();
            if same < data.len() {
                self.differs = Some(self.sent + same);
            }
        }
        self.sent += data.len();
        Ok(data.len())
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, Never> {
        let n = buf.len().min(self.gate - self.at);
        if n == 0 {
            return Err(nb::Error::WouldBlock);
        }
        buf[..n].copy_from_slice(&self.server[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }

    fn close(&mut self) {}
}

/// One `connect()` call.
#[derive(Clone, Copy, Default)]
pub struct Pass {
    /// Instructions of the call (the counter's overhead taken off).
    pub instructions: u64,
    /// The server's bytes handed in, by the end of the call.
    pub server_in: usize,
    /// The client's bytes sent, by the end of the call.
    pub client_out: usize,
    /// [`Feed::PerRecord`]: 0 while the ClientHello goes out, then `i + 1`
    /// while the server's record `i` goes in.
    pub step: usize,
}

/// A replayed handshake, pass by pass.
pub struct Run {
    pub passes: [Pass; MAX_PASSES],
    pub count: usize,
}

impl Run {
    pub fn passes(&self) -> &[Pass] {
        &self.passes[..self.count]
    }

    pub fn total(&self) -> u64 {
        self.passes().iter().map(|p| p.instructions).sum()
    }
}

/// Why a replay failed.
pub enum Failed {
    /// The TLS layer refused the recorded server.
    Tls(tls::Error<Never>),
    /// No handshake after [`MAX_PASSES`] passes.
    Stalled { server_in: usize, client_out: usize },
    /// The client did not say what the recorded one said: the replay is
    /// not the recorded handshake (another seed, time, configuration or
    /// code).
    ClientDiffers {
        offset: usize,
        sent: usize,
        recorded: usize,
    },
    /// The handshake ended with recorded server bytes left over.
    ServerLeft { read: usize, recorded: usize },
    /// The recording has no ClientHello.
    NoClientHello,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failed::Tls(e) => write!(f, "the TLS layer refused the recorded server: {e:?}"),
            Failed::Stalled {
                server_in,
                client_out,
            } => write!(
                f,
                "no handshake after {MAX_PASSES} passes ({server_in} bytes in, {client_out} out)"
            ),
            Failed::ClientDiffers {
                offset,
                sent,
                recorded,
            } => write!(
                f,
                "the client's bytes differ from the recording's from byte {offset} \
                 ({sent} sent, {recorded} recorded): not the recorded client (seed, time, \
                 configuration or code changed since the recording)"
            ),
            Failed::ServerLeft { read, recorded } => write!(
                f,
                "the handshake ended after {read} of the server's {recorded} recorded bytes"
            ),
            Failed::NoClientHello => f.write_str("the recording has no ClientHello"),
        }
    }
}

/// Replays the handshake of `config` against the recorded `server` bytes;
/// the client must send the recorded `client` bytes. `overhead`: the
/// counter's, taken off every pass.
pub fn handshake(
    config: Config<'_>,
    server: &[u8],
    client: &[u8],
    feed: Feed,
    overhead: u64,
) -> Result<Run, Failed> {
    let hello_end = records(client).next().ok_or(Failed::NoClientHello)?.end;
    let mut fake = Fake {
        server,
        at: 0,
        gate: 0,
        expected: client,
        sent: 0,
        differs: None,
    };
    let (mut plain, mut cipher) = ([0u8; 2 * PIPE], [0u8; 2 * PIPE]);
    let mail = Mailbox::new(&mut plain, &mut cipher);
    let (mut read_record, mut write_record) = ([0u8; READ_RECORD], [0u8; WRITE_RECORD]);
    let driver = pin!(tls::drive(
        config,
        FixedRng::new(),
        &mut read_record,
        &mut write_record,
        &mail
    ));
    let mut tls = Tls::new(&mail, driver);
    let mut run = Run {
        passes: [Pass::default(); MAX_PASSES],
        count: 0,
    };
    let mut ends = records(server).map(|r| r.end);
    let mut step = 0;
    loop {
        if run.count == MAX_PASSES {
            return Err(Failed::Stalled {
                server_in: fake.at,
                client_out: fake.sent,
            });
        }
        if feed == Feed::Flight && fake.sent >= hello_end {
            fake.gate = server.len();
        }
        let before = counter::now();
        let result = tls.over(&mut fake).connect();
        let after = counter::now();
        run.passes[run.count] = Pass {
            instructions: (after - before).saturating_sub(overhead),
            server_in: fake.at,
            client_out: fake.sent,
            step,
        };
        run.count += 1;
        match result {
            Ok(()) => break,
            Err(nb::Error::WouldBlock) => {}
            Err(nb::Error::Other(e)) => return Err(Failed::Tls(e)),
        }
        // A step is over once its bytes went in (the ClientHello out) and
        // the layer has nothing left to do with them.
        let sent = step > 0 || fake.sent >= hello_end;
        if feed == Feed::PerRecord && sent && fake.at == fake.gate && !tls.busy() {
            if let Some(end) = ends.next() {
                fake.gate = end;
                step += 1;
            }
        }
    }
    // The last flight's bytes still in the pipe go out (not counted).
    for _ in 0..8 {
        let _ = tls.over(&mut fake).connect();
    }
    if let Some(offset) = fake.differs {
        return Err(Failed::ClientDiffers {
            offset,
            sent: fake.sent,
            recorded: client.len(),
        });
    }
    if fake.sent != client.len() {
        return Err(Failed::ClientDiffers {
            offset: fake.sent.min(client.len()),
            sent: fake.sent,
            recorded: client.len(),
        });
    }
    if fake.at != server.len() {
        return Err(Failed::ServerLeft {
            read: fake.at,
            recorded: server.len(),
        });
    }
    Ok(run)
}
