//! The limpet side of `bench_vs_libmosquitto`: the same command line and
//! output as `bench/libmosquitto/mqtt_bench.c`, so the driver runs both alike.
//!
//! ```text
//! bench_client -p PORT [-s PAYLOAD_BYTES] [-t CA.der] qos0 N
//! bench_client -p PORT [-s PAYLOAD_BYTES] [-t CA.der] qos1 N WINDOW   (WINDOW: 1, 4 or 16)
//! bench_client -p PORT [-s PAYLOAD_BYTES] [-t CA.der] rtt N
//! bench_client -p PORT [-s PAYLOAD_BYTES] [-t CA.der] connect N
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
//! - `connect`: N connections one after the other, each timed from the
//!   `poll` that starts it (TCP connect, TLS handshake, CONNECT) to the
//!   `Event::Up` (CONNACK handled), then left with `disconnect` (DISCONNECT,
//!   TLS close_notify, close) and started again with `connect`: the same
//!   client and TLS layer throughout, as a device reconnecting would.
//! - `-t CA.der` (feature `tls`): MQTT over `limpet::net::tls` (TLS 1.3,
//!   TLS_AES_128_GCM_SHA256, key exchange secp256r1: the only suite and
//!   group it offers) over the same socket, the broker verified against the
//!   CA (DER) and the name `localhost`, dates against the wall clock;
//!   randomness from the OS (`rand_core::OsRng`). Buffers as the `net::tls`
//!   doc example: pipes 2 x 512 B each way, records 16,640 B in, 2,048 out.
//!
//! Prints one line: `client=limpet mode=M window=W payload=B messages=N
//! seconds=S sleeps=K zero_sleeps=Z wakeups=W [p50_us=X p99_us=Y]
//! [connect_p50_us=X connect_p90_us=Y] [tls=TLSv1.3 cipher=C group=G]`:
//! `seconds` from the first publish to the last acknowledgement (`connect`:
//! from the first connect to the last CONNACK); `sleeps` the loop's waits,
//! `zero_sleeps` those with nothing to wait for (a deadline of now: a
//! spin), `wakeups` those ended by the socket; the round trip in `rtt`
//! mode, the connect times in `connect` mode; with `-t`, what the TLS layer
//! offers (so what any session it makes has).
//!
//! It is the README's loop, as a device would run limpet: one thread, a
//! superloop that re-reads the clock every pass and calls `client.poll`
//! once; an event is handled, and when there is none (the client is idle)
//! the application does its work (publishes what it may) or, if it had
//! nothing to hand over, sleeps until `client.next_deadline(now)` or until
//! the socket is readable — or writable, when `client.wants_write()` (a
//! device would sleep until its network interrupt). Publishing while the
//! client is idle lets limpet put every message that fits into one write.
//! Its transport is `net::PollTcp`: a non-blocking `TcpStream` like
//! `limpet::net::std_tcp::StdTcp`, which also gives the loop its file
//! descriptor to wait on; over TLS the loop does not sleep while the layer
//! is `busy()`, and waits for writability also when the socket refused
//! ciphertext.

#[path = "bench_client/app.rs"]
mod app;
#[path = "bench_client/net.rs"]
mod net;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use limpet::client::{Client, Options};
use limpet::session::{Config, Event, Reason};
use limpet::time::Instant;
use limpet::wire::QoS;

use app::{percentile, App, Sleeps};
use net::{Net, PollTcp};

/// The client's buffers, allocated once as on a device (the demo's sizes).
const RX_BYTES: usize = 1024;
const TX_BYTES: usize = 1024;
/// QoS 1 store: `STORE_BYTES / N` bytes per message in flight (128 at N = 16).
const STORE_BYTES: usize = 2048;
/// Longest wait when the client has no timer running (it has none only
/// while stopped).
const IDLE_MS: u32 = 1_000;

const USAGE: &str = "\
usage: bench_client -p PORT [-s PAYLOAD_BYTES] [-t CA.der] qos0 N
       bench_client -p PORT [-s PAYLOAD_BYTES] [-t CA.der] qos1 N WINDOW   (WINDOW: 1, 4 or 16)
       bench_client -p PORT [-s PAYLOAD_BYTES] [-t CA.der] rtt N
       bench_client -p PORT [-s PAYLOAD_BYTES] [-t CA.der] connect N";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Qos0,
    Qos1 { window: usize },
    Rtt,
    Connect,
}

struct Args {
    port: u16,
    payload: usize,
    mode: Mode,
    n: u64,
    /// TLS: the CA certificate (DER) to verify the broker against.
    ca: Option<PathBuf>,
}

fn main() -> ExitCode {
    let outcome = parse_args().and_then(|args| {
        // The window is a const generic: one instantiation per window offered.
        match args.mode {
            Mode::Qos1 { window: 1 } | Mode::Qos0 | Mode::Rtt | Mode::Connect => run::<1>(&args),
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
    let (mut port, mut payload, mut ca, mut i) = (0u16, 32usize, None, 0usize);
    while i + 1 < argv.len() && argv[i].starts_with('-') {
        match argv[i].as_str() {
            "-p" => port = number(&argv[i + 1], 1, 65535)? as u16,
            "-s" => payload = number(&argv[i + 1], 4, 512)? as usize,
            "-t" => ca = Some(PathBuf::from(&argv[i + 1])),
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
        [m, _] if m == "connect" => Mode::Connect,
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
        ca,
    })
}

// ------------------------------------------------------------------ limpet

/// Everything limpet-specific: build the client and its network (plain or
/// TLS), run the superloop, leave.
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
    let tcp = PollTcp::new(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)));
    match &args.ca {
        None => superloop(&mut client, tcp, args, &topic, ""),
        Some(ca) => over_tls(&mut client, tcp, args, &topic, ca),
    }
}

/// What limpet's TLS layer offers, so what any session it makes has.
#[cfg(feature = "tls")]
const TLS_OFFER: &str = " tls=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256 group=secp256r1";

/// The superloop over limpet's TLS layer over `tcp` (buffers as the
/// `net::tls` doc example's), the broker verified against the CA in `ca`.
#[cfg(feature = "tls")]
fn over_tls<const N: usize>(
    client: &mut Client<'_, N, 1>,
    tcp: PollTcp,
    args: &Args,
    topic: &str,
    ca: &std::path::Path,
) -> Result<(), String> {
    use core::pin::pin;
    use limpet::net::tls::{self, Config as TlsConfig, Mailbox, Tls};

    let ca = std::fs::read(ca).map_err(|e| format!("read {}: {e}", ca.display()))?;
    let cas = [ca.as_slice()];
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| format!("clock: {e}"))?
        .as_secs();
    let config = TlsConfig::new("localhost", &cas).with_time(unix_now);
    let (mut plain, mut cipher) = ([0u8; 1024], [0u8; 1024]);
    let mail = Mailbox::new(&mut plain, &mut cipher);
    let (mut read_record, mut write_record) = ([0u8; 16_640], [0u8; 2048]);
    let driver = pin!(tls::drive(
        config,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
        &mail
    ));
    let tls = Tls::new(&mail, driver);
    superloop(client, net::TlsNet { tls, tcp }, args, topic, TLS_OFFER)
}

#[cfg(not(feature = "tls"))]
fn over_tls<const N: usize>(
    _: &mut Client<'_, N, 1>,
    _: PollTcp,
    _: &Args,
    _: &str,
    _: &std::path::Path,
) -> Result<(), String> {
    Err("-t: this bench_client was built without the `tls` feature \
         (cargo build --release --features std,tls --example bench_client)"
        .into())
}

/// The README's loop over `net` until the mode's work is done; its output
/// line (with `tls` appended); then a polite disconnect.
fn superloop<const N: usize>(
    client: &mut Client<'_, N, 1>,
    mut net: impl Net,
    args: &Args,
    topic: &str,
    tls: &str,
) -> Result<(), String> {
    let epoch = StdInstant::now();
    let clock = || Instant::from_ticks(epoch.elapsed().as_millis() as u32);
    let mut sleeps = Sleeps::default();
    if args.mode == Mode::Connect {
        connects(client, &mut net, args, &clock, &mut sleeps, tls)?;
    } else {
        let mut app = App::new(args, topic);
        while !app.finished() {
            let now = clock();
            match net.poll(client, now) {
                Some(event) => app.handle(event)?,
                // The client is idle: the application's turn. Unless that
                // gave the client something to send (or the network has
                // work of its own), sleep until the client's deadline or
                // until the socket is ready.
                None => {
                    if !app.work(client)? && !net.busy() {
                        sleeps.sleep(&net, client, now);
                    }
                }
            }
        }
        app.report(&sleeps, tls);
    }

    client.disconnect();
    let deadline = StdInstant::now() + StdDuration::from_secs(2);
    while StdInstant::now() < deadline {
        let now = clock();
        match net.poll(client, now) {
            Some(Event::Down(_)) => break,
            Some(_) => {}
            None if net.busy() => {}
            None => sleeps.sleep(&net, client, now),
        }
    }
    Ok(())
}

/// `connect` mode: `args.n` connections one after the other, each timed
/// from the pass that starts it to `Event::Up`; prints the output line.
/// The last one is left up (the caller disconnects).
fn connects<const N: usize>(
    client: &mut Client<'_, N, 1>,
    net: &mut impl Net,
    args: &Args,
    clock: &impl Fn() -> Instant,
    sleeps: &mut Sleeps,
    tls: &str,
) -> Result<(), String> {
    let mut samples = Vec::with_capacity(args.n as usize);
    let first = StdInstant::now();
    // A fresh client connects on its first poll.
    let mut started = first;
    let mut last_up = first;
    while (samples.len() as u64) < args.n {
        let now = clock();
        match net.poll(client, now) {
            Some(Event::Up { .. }) => {
                last_up = StdInstant::now();
                samples.push((last_up - started).as_secs_f64());
                if (samples.len() as u64) < args.n {
                    client.disconnect();
                }
            }
            Some(Event::Down(Reason::Closed)) => {
                started = StdInstant::now();
                client.connect(clock());
            }
            Some(Event::Down(r)) => return Err(format!("connection lost: {r:?}")),
            Some(Event::ConnectFailed(r)) => return Err(format!("connection failed: {r:?}")),
            Some(_) => {}
            None if net.busy() => {}
            None => sleeps.sleep(net, client, now),
        }
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "client=limpet mode=connect window=1 payload={} messages={} seconds={:.6} sleeps={} \
         zero_sleeps={} wakeups={} connect_p50_us={:.1} connect_p90_us={:.1}{tls}",
        args.payload,
        args.n,
        (last_up - first).as_secs_f64(),
        sleeps.sleeps,
        sleeps.zero,
        sleeps.wakeups,
        percentile(&samples, 50) * 1e6,
        percentile(&samples, 90) * 1e6,
    );
    Ok(())
}
