//! The limpet side of `bench_vs_libmosquitto`: the same command line and
//! output as `bench/libmosquitto/mqtt_bench.c`, so the driver runs both alike.
//!
//! ```text
//! bench_client -p PORT [-s PAYLOAD_BYTES] qos0 N
//! bench_client -p PORT [-s PAYLOAD_BYTES] qos1 N WINDOW      (WINDOW: 1, 4 or 16)
//! bench_client -p PORT [-s PAYLOAD_BYTES] rtt N
//! ```
//!
//! - `qos0`: N QoS 0 publishes, as fast as the transmit buffer and the socket
//!   take them, then one QoS 1 publish whose PUBACK proves the broker read
//!   all N (TCP and the broker keep order).
//! - `qos1`: N QoS 1 publishes with WINDOW in flight: limpet's in-flight
//!   capacity `N` in `Client<'_, N, S>` (a const generic, so 1, 4 and 16 are
//!   instantiated and picked by the argument); done at the N-th PUBACK.
//! - `rtt`: subscribes (QoS 1) to its own topic, then N times: publish QoS 1,
//!   wait until the message is back and PUBACKed. The round trip is from the
//!   `publish` call to the `Event::Message`.
//!
//! Prints one line: `client=limpet mode=M window=W payload=B messages=N
//! seconds=S sleeps=K zero_sleeps=Z wakeups=W [p50_us=X p99_us=Y]`,
//! `seconds` from the first publish to the last acknowledgement; `sleeps`
//! the loop's waits, `zero_sleeps` those with nothing to wait for (a
//! deadline of now: a spin), `wakeups` those ended by the socket.
//!
//! It is the README's loop, as a device would run limpet: one thread, a
//! superloop that re-reads the clock every pass and calls `client.poll`
//! once; an event is handled, and when there is none (the client is idle)
//! the application does its work (publishes what it may) or, if it had
//! nothing to hand over, sleeps until `client.next_deadline(now)` or until
//! the socket is readable — or writable, when `client.wants_write()` (a
//! device would sleep until its network interrupt). Publishing while the
//! client is idle lets limpet put every message that fits into one write.
//! Its transport is [`PollTcp`] below: a non-blocking `TcpStream` like
//! `limpet::net::std_tcp::StdTcp`, which also gives the loop its file
//! descriptor to wait on.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use limpet::client::{Client, Options};
use limpet::net::Transport;
use limpet::session::{Config, Event, RequestError, Token};
use limpet::time::Instant;
use limpet::wire::QoS;

/// The client's buffers, allocated once as on a device (the demo's sizes).
const RX_BYTES: usize = 1024;
const TX_BYTES: usize = 1024;
/// QoS 1 store: `STORE_BYTES / N` bytes per message in flight (128 at N = 16).
const STORE_BYTES: usize = 2048;
/// Longest wait when the client has no timer running (it has none only
/// while stopped).
const IDLE_MS: u32 = 1_000;

const USAGE: &str = "\
usage: bench_client -p PORT [-s PAYLOAD_BYTES] qos0 N
       bench_client -p PORT [-s PAYLOAD_BYTES] qos1 N WINDOW   (WINDOW: 1, 4 or 16)
       bench_client -p PORT [-s PAYLOAD_BYTES] rtt N";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Qos0,
    Qos1 { window: usize },
    Rtt,
}

struct Args {
    port: u16,
    payload: usize,
    mode: Mode,
    n: u64,
}

fn main() -> ExitCode {
    let outcome = parse_args().and_then(|args| {
        // The window is a const generic: one instantiation per window offered.
        match args.mode {
            Mode::Qos1 { window: 1 } | Mode::Qos0 | Mode::Rtt => run::<1>(&args),
            Mode::Qos1 { window: 4 } => run::<4>(&args),
            Mode::Qos1 { window: 16 } => run::<16>(&args),
            Mode::Qos1 { window } => Err(format!(
                "window {window}: this client is built for windows 1, 4 and 16"
            )),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let number = |s: &str, min: u64, max: u64| -> Result<u64, String> {
        s.parse::<u64>()
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| format!("{s}: want a whole number from {min} to {max}\n{USAGE}"))
    };
    let (mut port, mut payload, mut i) = (0u16, 32usize, 0usize);
    while i + 1 < argv.len() && argv[i].starts_with('-') {
        match argv[i].as_str() {
            "-p" => port = number(&argv[i + 1], 1, 65535)? as u16,
            "-s" => payload = number(&argv[i + 1], 4, 512)? as usize,
            _ => return Err(USAGE.into()),
        }
        i += 2;
    }
    let rest = &argv[i..];
    let mode = match rest {
        [m, _] if m == "qos0" => Mode::Qos0,
        [m, _, w] if m == "qos1" => Mode::Qos1 {
            window: number(w, 1, 65535)? as usize,
        },
        [m, _] if m == "rtt" => Mode::Rtt,
        _ => return Err(USAGE.into()),
    };
    if port == 0 {
        return Err(USAGE.into());
    }
    let n = number(&rest[1], 1, 1_000_000_000)?;
    Ok(Args {
        port,
        payload,
        mode,
        n,
    })
}

// ------------------------------------------------------------------ limpet

/// Everything limpet-specific: build the client, run the superloop, leave.
fn run<const N: usize>(args: &Args) -> Result<(), String> {
    let pid = std::process::id();
    // The same lengths as the C client's, so the packets are the same size.
    let id = format!("bench-lim-{pid:07}");
    let topic = format!("bench/{pid:07}");
    let mut rx = [0u8; RX_BYTES];
    let mut tx = [0u8; TX_BYTES];
    let mut store = [0u8; STORE_BYTES];
    let mut client = Client::<N, 1>::new(
        Config::new(&id),
        Options::default(),
        &mut rx,
        &mut tx,
        &mut store,
    )
    .map_err(|e| format!("client configuration refused: {e:?}"))?;
    if args.mode == Mode::Rtt {
        client
            .subscribe(&topic, QoS::AtLeastOnce)
            .map_err(|e| format!("subscribe: {e:?}"))?;
    }
    let mut tcp = PollTcp::new(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)));
    let mut app = App::new(args, &topic);

    let epoch = StdInstant::now();
    let clock = || Instant::from_ticks(epoch.elapsed().as_millis() as u32);
    let mut sleeps = Sleeps::default();
    while !app.finished() {
        let now = clock();
        match client.poll(now, &mut tcp) {
            Some(event) => app.handle(event)?,
            // The client is idle: the application's turn. Unless that gave
            // the client something to send, sleep until its deadline or
            // until the socket is ready.
            None => {
                if !app.work(&mut client)? {
                    sleeps.sleep(&tcp, &client, now);
                }
            }
        }
    }
    app.report(&sleeps);

    client.disconnect();
    let deadline = StdInstant::now() + StdDuration::from_secs(2);
    while StdInstant::now() < deadline {
        let now = clock();
        match client.poll(now, &mut tcp) {
            Some(Event::Down(_)) => break,
            Some(_) => {}
            None => sleeps.sleep(&tcp, &client, now),
        }
    }
    Ok(())
}

/// The loop's sleeps, counted.
#[derive(Default)]
struct Sleeps {
    sleeps: u64,
    /// Sleeps whose deadline was already due: the loop spun.
    zero: u64,
    /// Sleeps the socket ended (readable, or writable when waited for).
    wakeups: u64,
}

impl Sleeps {
    /// Sleeps until `client.next_deadline(now)`, or until the socket is
    /// readable, or writable if the client has bytes waiting for it.
    fn sleep<const N: usize>(&mut self, tcp: &PollTcp, client: &Client<'_, N, 1>, now: Instant) {
        let ms = client
            .next_deadline(now)
            .map_or(IDLE_MS, |at| (at - now).ticks().min(IDLE_MS));
        self.sleeps += 1;
        self.zero += u64::from(ms == 0);
        if tcp.wait(ms as i32, client.wants_write()) {
            self.wakeups += 1;
        }
    }
}

/// The message in flight in `rtt` mode.
struct Trip {
    seq: u32,
    token: Token,
    sent_at: StdInstant,
    acked: bool,
    back: Option<StdInstant>,
}

/// The benchmark application: what to publish next and what came back.
struct App<'t> {
    mode: Mode,
    n: u64,
    topic: &'t str,
    payload: Vec<u8>,
    up: bool,
    subscribed: bool,
    published: u64,
    acked: u64,
    barrier: Option<Token>,
    trip: Option<Trip>,
    samples: Vec<f64>,
    started: Option<StdInstant>,
    finished: Option<StdInstant>,
}

impl<'t> App<'t> {
    fn new(args: &Args, topic: &'t str) -> Self {
        App {
            mode: args.mode,
            n: args.n,
            topic,
            payload: vec![b'x'; args.payload],
            up: false,
            subscribed: false,
            published: 0,
            acked: 0,
            barrier: None,
            trip: None,
            samples: Vec::with_capacity(if args.mode == Mode::Rtt {
                args.n as usize
            } else {
                0
            }),
            started: None,
            finished: None,
        }
    }

    fn finished(&self) -> bool {
        self.finished.is_some()
    }

    /// Publishes what the mode allows now; true if anything was queued.
    fn work<const N: usize>(&mut self, client: &mut Client<'_, N, 1>) -> Result<bool, String> {
        if !self.up || (self.mode == Mode::Rtt && !self.subscribed) {
            return Ok(false);
        }
        self.started.get_or_insert_with(StdInstant::now);
        let fail = |e: RequestError| format!("publish: {e:?}");
        let before = self.published;
        match self.mode {
            Mode::Qos0 => {
                while self.published < self.n {
                    match client.publish(self.topic, &self.payload, QoS::AtMostOnce, false) {
                        Ok(_) => self.published += 1,
                        // The transmit buffer is full: poll sends it.
                        Err(RequestError::WouldBlock) => return Ok(self.published > before),
                        Err(e) => return Err(fail(e)),
                    }
                }
                if self.barrier.is_none() {
                    self.barrier = client
                        .publish(self.topic, &self.payload, QoS::AtLeastOnce, false)
                        .map_err(fail)?;
                    return Ok(true);
                }
            }
            Mode::Qos1 { .. } => {
                while self.published < self.n {
                    match client.publish(self.topic, &self.payload, QoS::AtLeastOnce, false) {
                        Ok(_) => self.published += 1,
                        // The window is full: wait for a PUBACK.
                        Err(RequestError::Full) => break,
                        Err(e) => return Err(fail(e)),
                    }
                }
            }
            Mode::Rtt => {
                if self.trip.is_none() && self.published < self.n {
                    let seq = self.published as u32;
                    self.payload[..4].copy_from_slice(&seq.to_le_bytes());
                    let sent_at = StdInstant::now();
                    let token = client
                        .publish(self.topic, &self.payload, QoS::AtLeastOnce, false)
                        .map_err(fail)?
                        .ok_or("QoS 1 publish without a token")?;
                    self.published += 1;
                    self.trip = Some(Trip {
                        seq,
                        token,
                        sent_at,
                        acked: false,
                        back: None,
                    });
                }
            }
        }
        Ok(self.published > before)
    }

    fn handle(&mut self, event: Event<'_>) -> Result<(), String> {
        match event {
            Event::Up { .. } => self.up = true,
            Event::Subscribed {
                qos: QoS::AtLeastOnce,
                ..
            } => self.subscribed = true,
            Event::Subscribed { qos, .. } => return Err(format!("subscription granted {qos:?}")),
            Event::SubscribeFailed { .. } => return Err("subscription refused".into()),
            Event::Down(r) => return Err(format!("connection lost: {r:?}")),
            Event::ConnectFailed(r) => return Err(format!("connection failed: {r:?}")),
            Event::Published(token) => match self.mode {
                Mode::Qos0 => {
                    if self.barrier == Some(token) {
                        self.finished = Some(StdInstant::now());
                    }
                }
                Mode::Qos1 { .. } => {
                    self.acked += 1;
                    if self.acked == self.n {
                        self.finished = Some(StdInstant::now());
                    }
                }
                Mode::Rtt => {
                    if let Some(t) = self.trip.as_mut().filter(|t| t.token == token) {
                        t.acked = true;
                    }
                    self.complete_trip();
                }
            },
            Event::Message(m) => {
                let at = StdInstant::now();
                let seq = m.payload.get(..4).and_then(|b| b.try_into().ok());
                if let Some(t) = self.trip.as_mut() {
                    if seq == Some(t.seq.to_le_bytes()) && t.back.is_none() {
                        t.back = Some(at);
                    }
                }
                self.complete_trip();
            }
            Event::Rejected(r) => return Err(format!("rejected by the broker: {r:?}")),
            Event::Unsubscribed { .. } | Event::Chunk(_) => {}
        }
        Ok(())
    }

    fn complete_trip(&mut self) {
        if let Some(Trip {
            acked: true,
            back: Some(back),
            sent_at,
            ..
        }) = self.trip
        {
            self.samples.push((back - sent_at).as_secs_f64());
            self.trip = None;
            if self.samples.len() as u64 == self.n {
                self.finished = Some(StdInstant::now());
            }
        }
    }

    fn report(&mut self, sleeps: &Sleeps) {
        let seconds = match (self.started, self.finished) {
            (Some(s), Some(f)) => (f - s).as_secs_f64(),
            _ => 0.0,
        };
        let (mode, window) = match self.mode {
            Mode::Qos0 => ("qos0", 1),
            Mode::Qos1 { window } => ("qos1", window),
            Mode::Rtt => ("rtt", 1),
        };
        let mut line = format!(
            "client=limpet mode={mode} window={window} payload={} messages={} seconds={seconds:.6}",
            self.payload.len(),
            self.n
        );
        line.push_str(&format!(
            " sleeps={} zero_sleeps={} wakeups={}",
            sleeps.sleeps, sleeps.zero, sleeps.wakeups
        ));
        if self.mode == Mode::Rtt {
            self.samples.sort_by(f64::total_cmp);
            line.push_str(&format!(
                " p50_us={:.1} p99_us={:.1}",
                percentile(&self.samples, 50) * 1e6,
                percentile(&self.samples, 99) * 1e6
            ));
        }
        println!("{line}");
    }
}

/// Nearest rank: the smallest sample with at least p% of them at or below it.
fn percentile(sorted: &[f64], p: usize) -> f64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

// --------------------------------------------------------------- transport

/// A non-blocking `TcpStream` to one address (as `StdTcp`) that can wait for
/// readiness with `poll(2)`.
struct PollTcp {
    addr: SocketAddr,
    stream: Option<TcpStream>,
}

impl PollTcp {
    fn new(addr: SocketAddr) -> Self {
        PollTcp { addr, stream: None }
    }

    /// Returns when the socket is readable (or writable, if `writable`),
    /// or after `timeout_ms`; true if the socket ended the wait.
    fn wait(&self, timeout_ms: i32, writable: bool) -> bool {
        let Some(stream) = self.stream.as_ref() else {
            std::thread::sleep(StdDuration::from_millis(timeout_ms as u64));
            return false;
        };
        let mut fd = libc::pollfd {
            fd: stream.as_raw_fd(),
            events: libc::POLLIN | if writable { libc::POLLOUT } else { 0 },
            revents: 0,
        };
        // SAFETY: one valid pollfd, owned by this frame, for the whole call.
        unsafe { libc::poll(&mut fd, 1, timeout_ms) > 0 }
    }

    fn stream(&mut self) -> nb::Result<&mut TcpStream, io::Error> {
        self.stream
            .as_mut()
            .ok_or(nb::Error::Other(ErrorKind::NotConnected.into()))
    }
}

fn classify(e: io::Error) -> nb::Error<io::Error> {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::Interrupted => nb::Error::WouldBlock,
        _ => nb::Error::Other(e),
    }
}

impl Transport for PollTcp {
    type Error = io::Error;

    fn connect(&mut self) -> nb::Result<(), io::Error> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, StdDuration::from_secs(1))?;
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
            self.stream = Some(stream);
        }
        Ok(())
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, io::Error> {
        match self.stream()?.write(data) {
            Ok(0) => Err(nb::Error::Other(ErrorKind::WriteZero.into())),
            Ok(n) => Ok(n),
            Err(e) => Err(classify(e)),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, io::Error> {
        match self.stream()?.read(buf) {
            Ok(0) => Err(nb::Error::Other(ErrorKind::UnexpectedEof.into())),
            Ok(n) => Ok(n),
            Err(e) => Err(classify(e)),
        }
    }

    fn close(&mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}
