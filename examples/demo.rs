//! The limpet demo: a device's superloop, run on a host.
//!
//! Connects to an MQTT broker, publishes `counter N` with QoS 1 every 3 s,
//! subscribes to its own topics and prints what arrives, and reports outages
//! and the client's counters. With no `--broker` it starts a private
//! `mosquitto` on a free 127.0.0.1 port (stopped by PID when the demo ends,
//! also on Ctrl-C), and after 10 s kills that broker for 5 s to show the
//! client riding out an outage.
//!
//! ```text
//! scripts/demo [--broker HOST:PORT] [--seconds N] [--client-id ID]
//!              [--outage-demo | --no-outage-demo] [--outage-seconds N]
//! ```
//!
//! It runs until Ctrl-C (or SIGTERM / SIGHUP, caught with the `ctrlc`
//! dev-dependency) unless `--seconds` is given; either way it publishes a
//! retained "offline" status, prints a summary and stops its broker.
//!
//! The loop in [`run_client`] is what a firmware's main loop looks like:
//! read the clock, drain `poll` of events, act, sleep until the client's
//! next deadline (here at most 50 ms, since a host has no "bytes arrived"
//! interrupt to wake it).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration as StdDuration;

use limpet::client::{Backoff, Client, Options};
use limpet::net::std_tcp::StdTcp;
use limpet::session::{Config, Counters, Event, Reason, RequestError};
use limpet::time::{Duration, Instant};
use limpet::wire::{QoS, Will};

/// Publish a counter this often.
const COUNTER_PERIOD_MS: u64 = 3_000;
/// Print the client's counters this often.
const COUNTERS_PERIOD_MS: u64 = 15_000;
/// Longest sleep of the superloop (nothing wakes it when bytes arrive).
const MAX_SLEEP_MS: u32 = 50;
/// Outage demo: kill the private broker this long after the start...
const OUTAGE_AT_MS: u64 = 10_000;
/// ... and start it again this long after killing it (`--outage-seconds`).
const OUTAGE_SECONDS: u64 = 5;
/// On the way out, wait this long at most for the "offline" status PUBACK.
const GOODBYE_MS: u64 = 1_000;

const USAGE: &str = "\
usage: scripts/demo [--broker HOST:PORT] [--seconds N] [--client-id ID]
                    [--outage-demo | --no-outage-demo] [--outage-seconds N]

  --broker HOST:PORT  use this MQTT broker (default: start a private mosquitto
                      on a free 127.0.0.1 port, stopped when the demo ends)
  --seconds N         stop after N seconds (default: run until Ctrl-C)
  --client-id ID      MQTT client id, also used in the topics
                      limpet/demo/ID/... (default: limpet-demo-PID)
  --outage-demo       kill the private broker 10 s in and restart it 5 s later
                      (default when the demo starts its own broker)
  --no-outage-demo    never kill the broker
  --outage-seconds N  how long the outage demo keeps the broker down (default
                      5; from 15 on, the 4-message in-flight table fills up
                      and the demo shows publishes being deferred)";

static STOP: AtomicBool = AtomicBool::new(false);
static START: OnceLock<std::time::Instant> = OnceLock::new();

/// Milliseconds since the demo started.
fn ms() -> u64 {
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// Prints one line prefixed by the time since the start.
macro_rules! say {
    ($($arg:tt)*) => {{
        let t = ms();
        println!("[{:>4}.{:03}s] {}", t / 1000, t % 1000, format_args!($($arg)*));
    }};
}

fn main() -> ExitCode {
    START.get_or_init(std::time::Instant::now);
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: error: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- arguments

struct Args {
    broker: Option<String>,
    seconds: Option<u64>,
    client_id: String,
    outage_demo: Option<bool>,
    outage_ms: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        broker: None,
        seconds: None,
        client_id: format!("limpet-demo-{}", std::process::id()),
        outage_demo: None,
        outage_ms: OUTAGE_SECONDS * 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--broker" => args.broker = Some(value()?),
            "--seconds" => {
                let v = value()?;
                let n: u64 = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("--seconds wants a whole number of seconds > 0, not {v:?}")
                })?;
                args.seconds = Some(n);
            }
            "--client-id" => args.client_id = value()?,
            "--outage-demo" => args.outage_demo = Some(true),
            "--no-outage-demo" => args.outage_demo = Some(false),
            "--outage-seconds" => {
                let v = value()?;
                let n: u64 = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("--outage-seconds wants a whole number of seconds > 0, not {v:?}")
                })?;
                args.outage_ms = n * 1000;
            }
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    let id = &args.client_id;
    if id.is_empty() || id.len() > 64 || id.contains(['/', '+', '#']) || !id.is_ascii() {
        return Err(format!(
            "--client-id {id:?}: use 1 to 64 ASCII characters without '/', '+' or '#' (it is part of the topics)"
        ));
    }
    if args.broker.is_some() && args.outage_demo == Some(true) {
        return Err("--outage-demo needs the private broker (the demo only kills a broker it started itself); \
                    drop --broker"
            .into());
    }
    Ok(args)
}

// ------------------------------------------------------------------- run

fn run() -> Result<(), String> {
    let args = parse_args()?;
    ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst))
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;

    let mut broker = None;
    let addr = match &args.broker {
        Some(spec) => {
            let addr = spec
                .to_socket_addrs()
                .map_err(|e| {
                    format!("--broker {spec}: {e} (expected HOST:PORT, e.g. 127.0.0.1:1883)")
                })?
                .next()
                .ok_or_else(|| format!("--broker {spec}: no address found"))?;
            say!("demo: using the broker at {spec} ({addr})");
            addr
        }
        None => {
            let b = PrivateBroker::start()?;
            say!(
                "demo: started a private mosquitto (pid {}) on {}; it stops when the demo ends",
                b.pid().unwrap_or(0),
                b.addr()
            );
            say!(
                "demo: ({} -c {})",
                b.bin.display(),
                b.dir.join("mosquitto.conf").display()
            );
            let addr = b.addr();
            broker = Some(b);
            addr
        }
    };
    let outage_demo = args.outage_demo.unwrap_or(broker.is_some());
    match args.seconds {
        Some(s) => say!("demo: running for {s} s (Ctrl-C stops it sooner)"),
        None => say!("demo: running until Ctrl-C"),
    }

    let result = run_client(&args, addr, broker.as_mut(), outage_demo);

    if let Some(mut b) = broker {
        let pid = b.pid();
        b.stop();
        match pid {
            Some(pid) => say!("demo: stopped the private mosquitto (pid {pid})"),
            None => say!("demo: the private mosquitto is stopped"),
        }
    }
    result
}

/// What the demo has seen of its counter messages.
#[derive(Default)]
struct Tally {
    published: Vec<u32>,
    acked: BTreeSet<u32>,
    received: Vec<u32>,
}

/// What a QoS 1 token stands for, to name it when its PUBACK arrives.
#[derive(Clone, Copy)]
enum Sent {
    Counter(u32),
    Status(&'static str),
}

fn run_client(
    args: &Args,
    addr: SocketAddr,
    mut broker: Option<&mut PrivateBroker>,
    outage_demo: bool,
) -> Result<(), String> {
    let id = args.client_id.as_str();
    let counter_topic = format!("limpet/demo/{id}/counter");
    let status_topic = format!("limpet/demo/{id}/status");
    let filter = format!("limpet/demo/{id}/#");

    // Everything the client uses is allocated here, once, as on a device.
    let mut rx = [0u8; 1024];
    let mut tx = [0u8; 1024];
    let mut store = [0u8; 2048];

    let mut config = Config::new(id);
    config.keepalive = 10;
    config.will = Some(Will {
        topic: &status_topic,
        payload: b"offline",
        qos: QoS::AtLeastOnce,
        retain: true,
    });
    let options = Options {
        backoff: Backoff::new(
            Duration::from_ticks(250),
            Duration::from_ticks(5_000),
            std::process::id(),
        ),
        ..Options::default()
    };
    let mut client = Client::<4, 8>::new(config, options, &mut rx, &mut tx, &mut store)
        .map_err(|e| format!("client configuration refused: {e:?}"))?;
    let mut tcp = StdTcp::new(addr);

    client
        .subscribe(&filter, QoS::AtLeastOnce)
        .map_err(|e| format!("subscribe {filter}: {e:?}"))?;
    say!("client {id}: subscribing to {filter} (QoS 1); counters go to {counter_topic} every 3 s");
    say!("client {id}: will: {status_topic} = \"offline\" (retained); keepalive 10 s");

    let start = std::time::Instant::now();
    let clock = || Instant::from_ticks(start.elapsed().as_millis() as u32);
    let end_ms = args.seconds.map(|s| s * 1000);

    let mut tally = Tally::default();
    let mut tokens: HashMap<u16, Sent> = HashMap::new();
    let mut next_seq = 1u32;
    // A message the in-flight table had no room for: retried every tick.
    let mut deferred_counter: Option<u32> = None;
    let mut deferral_said = false;
    let mut deferred_status: Option<&'static str> = None;
    let mut next_counter_ms = COUNTER_PERIOD_MS;
    let mut next_counters_ms = COUNTERS_PERIOD_MS;
    let mut down_since: Option<u64> = None;
    let mut outage = if outage_demo && broker.is_some() {
        Outage::Planned { at: OUTAGE_AT_MS }
    } else {
        Outage::Off
    };

    loop {
        if STOP.load(Ordering::SeqCst) {
            println!();
            say!("demo: interrupted (Ctrl-C or a stop signal), stopping");
            break;
        }
        let t = elapsed_ms(start);
        if end_ms.is_some_and(|end| t >= end) {
            say!("demo: {} s are up, stopping", t / 1000);
            break;
        }

        // The outage demo (the broker's side; the client knows nothing of it).
        if let Some(b) = broker.as_deref_mut() {
            match outage {
                Outage::Planned { at } if t >= at => {
                    say!(
                        "demo: killing the broker (pid {}) to show an outage; it comes back in {} s",
                        b.pid().unwrap_or(0),
                        args.outage_ms / 1000
                    );
                    b.kill();
                    outage = Outage::BrokerDown {
                        until: t + args.outage_ms,
                    };
                }
                Outage::BrokerDown { until } if t >= until => {
                    b.restart()?;
                    say!(
                        "demo: restarted the broker (pid {}) on {}: a fresh one, it remembers no session",
                        b.pid().unwrap_or(0),
                        b.addr()
                    );
                    outage = Outage::Done;
                }
                _ => {}
            }
        }

        // The superloop proper: read the clock, poll once (bounded work),
        // handle what it returned.
        let event = client.poll(clock(), &mut tcp);
        let busy = event.is_some();
        if let Some(event) = event {
            match event {
                Event::Up { session_present } => {
                    let t = elapsed_ms(start);
                    let after = down_since
                        .take()
                        .map(|since| {
                            format!(" after an outage of {:.1} s", (t - since) as f64 / 1000.0)
                        })
                        .unwrap_or_default();
                    say!(
                        "up: connected to {addr}{after} (session present: {}); {} message(s) in flight",
                        yes_no(session_present),
                        client.session().inflight()
                    );
                    if !session_present && client.counters().reconnects > 0 {
                        say!("up: the broker lost our session; the client re-subscribes and re-sends by itself");
                    }
                    deferred_status = Some("online");
                }
                Event::Down(reason) => {
                    down_since = Some(elapsed_ms(start));
                    let retry = retry_in(client.next_deadline(clock()), clock());
                    say!(
                        "outage: connection lost ({}); {} message(s) kept in flight, reconnecting in {retry}",
                        describe(reason),
                        client.session().inflight()
                    );
                }
                Event::ConnectFailed(reason) => {
                    let retry = retry_in(client.next_deadline(clock()), clock());
                    say!(
                        "outage: broker unreachable ({}), retrying in {retry}",
                        describe(reason)
                    );
                }
                Event::Subscribed { topic, qos } => say!("subscribed: {topic} (granted {qos:?})"),
                Event::SubscribeFailed { topic } => {
                    say!("subscribe refused by the broker: {topic}")
                }
                Event::Unsubscribed { topic } => say!("unsubscribed: {topic}"),
                Event::Rejected(what) => say!("rejected by the broker, dropped: {what:?}"),
                Event::Chunk(_) => {} // only with poll_chunked
                Event::Published(token) => match tokens.remove(&token.0) {
                    Some(Sent::Counter(n)) => {
                        tally.acked.insert(n);
                        say!("acked: counter {n} (PUBACK for packet id {})", token.0);
                    }
                    Some(Sent::Status(s)) => say!("acked: status \"{s}\" (packet id {})", token.0),
                    None => say!("acked: packet id {} (unknown to the demo!)", token.0),
                },
                Event::Message(m) => {
                    let payload = String::from_utf8_lossy(m.payload);
                    let mut notes = String::new();
                    if m.retain {
                        notes.push_str(", retained");
                    }
                    if m.dup {
                        notes.push_str(", dup");
                    }
                    if m.topic == counter_topic {
                        if let Some(n) = payload
                            .strip_prefix("counter ")
                            .and_then(|s| s.parse().ok())
                        {
                            if tally.received.contains(&n) {
                                notes.push_str(", DUPLICATE");
                            } else if tally.received.last().is_some_and(|last| *last > n) {
                                notes.push_str(", out of order");
                            }
                            tally.received.push(n);
                        }
                    }
                    say!(
                        "received: {} = {payload:?} (QoS {}{notes})",
                        m.topic,
                        m.qos as u8
                    );
                }
            }
        }

        // The application's own work. Whatever it asks of the client goes
        // out on the next poll, right away (`acted`), not after a sleep.
        let t = elapsed_ms(start);
        let mut acted = false;
        if let Some(status) = deferred_status {
            match client.publish(&status_topic, status.as_bytes(), QoS::AtLeastOnce, true) {
                Ok(Some(token)) => {
                    tokens.insert(token.0, Sent::Status(status));
                    say!("publish: {status_topic} = \"{status}\" (retained, QoS 1)");
                    deferred_status = None;
                    acted = true;
                }
                Ok(None) => deferred_status = None,
                Err(RequestError::Full) => {}
                Err(e) => {
                    say!("publish: status \"{status}\" refused: {e:?}; dropped");
                    deferred_status = None;
                }
            }
        }
        if deferred_counter.is_none() && t >= next_counter_ms {
            deferred_counter = Some(next_seq);
            next_seq += 1;
            next_counter_ms += COUNTER_PERIOD_MS;
            while next_counter_ms <= t {
                next_counter_ms += COUNTER_PERIOD_MS;
            }
        }
        if let Some(n) = deferred_counter {
            let mut payload: heapless::String<24> = heapless::String::new();
            let _ = write!(payload, "counter {n}");
            match client.publish(&counter_topic, payload.as_bytes(), QoS::AtLeastOnce, false) {
                Ok(token) => {
                    if let Some(token) = token {
                        tokens.insert(token.0, Sent::Counter(n));
                    }
                    tally.published.push(n);
                    let state = if client.is_connected() {
                        ""
                    } else {
                        ", offline: kept in flight"
                    };
                    let late = if deferral_said {
                        ", after a deferral"
                    } else {
                        ""
                    };
                    say!("publish: counter {n} (QoS 1{state}{late})");
                    deferred_counter = None;
                    deferral_said = false;
                    acted = true;
                }
                Err(RequestError::Full) => {
                    // Not an error on a device: keep it and try again next tick.
                    if !deferral_said {
                        deferral_said = true;
                        say!(
                            "publish: counter {n} deferred: the in-flight table is full ({} unacknowledged); retrying",
                            client.session().inflight()
                        );
                    }
                }
                Err(e) => {
                    say!("publish: counter {n} refused ({e:?}); skipped");
                    deferred_counter = None;
                }
            }
        }
        if t >= next_counters_ms {
            next_counters_ms += COUNTERS_PERIOD_MS;
            say!(
                "counters: {}",
                counters_line(client.counters(), client.session().inflight())
            );
        }

        // Sleep until the client's next deadline, but at most 50 ms.
        if acted || busy {
            continue;
        }
        let now = clock();
        let wait = client
            .next_deadline(now)
            .map_or(MAX_SLEEP_MS, |d| {
                d.checked_duration_since(now).map_or(0, |d| d.ticks())
            })
            .min(MAX_SLEEP_MS);
        if wait == 0 {
            continue;
        }
        thread::sleep(StdDuration::from_millis(u64::from(wait)));
    }

    // Say goodbye properly when connected: a retained "offline" status.
    if client.is_connected() {
        if let Ok(Some(token)) = client.publish(&status_topic, b"offline", QoS::AtLeastOnce, true) {
            say!("publish: {status_topic} = \"offline\" (retained, QoS 1), before leaving");
            let until = elapsed_ms(start) + GOODBYE_MS;
            'bye: while elapsed_ms(start) < until {
                while let Some(event) = client.poll(clock(), &mut tcp) {
                    match event {
                        Event::Published(t) if t == token => {
                            say!("acked: status \"offline\"");
                            break 'bye;
                        }
                        Event::Down(_) | Event::ConnectFailed(_) => {
                            say!("outage: connection lost before the \"offline\" status was acknowledged");
                            break 'bye;
                        }
                        _ => {}
                    }
                }
                thread::sleep(StdDuration::from_millis(5));
            }
        }
    }

    // Leave politely: DISCONNECT tells the broker not to publish the will.
    if client.is_connected() {
        client.disconnect();
        let until = elapsed_ms(start) + GOODBYE_MS;
        'gone: while elapsed_ms(start) < until {
            while let Some(event) = client.poll(clock(), &mut tcp) {
                if let Event::Down(reason) = event {
                    say!("down: {reason:?} (DISCONNECT sent; the broker discards the will)");
                    break 'gone;
                }
            }
            thread::sleep(StdDuration::from_millis(5));
        }
    }

    say!(
        "counters: {}",
        counters_line(client.counters(), client.session().inflight())
    );
    summary(&tally);
    Ok(())
}

#[derive(Clone, Copy)]
enum Outage {
    Off,
    Planned { at: u64 },
    BrokerDown { until: u64 },
    Done,
}

fn elapsed_ms(start: std::time::Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn retry_in(deadline: Option<Instant>, now: Instant) -> String {
    match deadline.and_then(|d| d.checked_duration_since(now)) {
        Some(d) => format!("{} ms", d.ticks()),
        None => "now".into(),
    }
}

fn describe(reason: Reason) -> String {
    #[allow(unreachable_patterns)]
    match reason {
        Reason::Transport => "TCP connection refused, failed or closed".into(),
        Reason::PingTimeout => "no PINGRESP in time: the link is dead".into(),
        Reason::ConnAckTimeout => "no CONNACK in time".into(),
        Reason::PubAckTimeout => "a QoS 1 message stayed unacknowledged".into(),
        Reason::SubAckTimeout => "no SUBACK in time".into(),
        Reason::Refused(code) => format!("the broker refused the connection: {code:?}"),
        Reason::Malformed(e) => format!("the broker sent malformed bytes: {e:?}"),
        Reason::Unexpected => "the broker broke the protocol".into(),
        Reason::Closed => "closed on purpose".into(),
        other => format!("{other:?}"),
    }
}

fn counters_line(c: &Counters, inflight: usize) -> String {
    format!(
        "connects {}, reconnects {}, republishes {}, ping_timeouts {}, protocol_errors {}, oversize {}; in flight {inflight}",
        c.connects, c.reconnects, c.republishes, c.ping_timeouts, c.protocol_errors, c.oversize
    )
}

fn summary(t: &Tally) {
    let list = |v: &mut dyn Iterator<Item = u32>| {
        let s: Vec<String> = v.map(|n| n.to_string()).collect();
        if s.is_empty() {
            "none".to_owned()
        } else {
            s.join(" ")
        }
    };
    let received: BTreeSet<u32> = t.received.iter().copied().collect();
    let mut dups: Vec<u32> = t
        .received
        .iter()
        .copied()
        .filter(|n| t.received.iter().filter(|m| *m == n).count() > 1)
        .collect();
    dups.dedup();
    say!(
        "summary: published {} counter(s): {}",
        t.published.len(),
        list(&mut t.published.iter().copied())
    );
    say!(
        "summary: acknowledged by the broker: {}; not yet: {}",
        list(&mut t.acked.iter().copied()),
        list(&mut t.published.iter().copied().filter(|n| !t.acked.contains(n)))
    );
    say!(
        "summary: received back (in order): {}; duplicates: {}",
        list(&mut t.received.iter().copied()),
        list(&mut dups.into_iter())
    );
    say!(
        "summary: acknowledged but never received back: {}",
        list(&mut t.acked.iter().copied().filter(|n| !received.contains(n)))
    );
}

// ------------------------------------------------------- private broker

/// A mosquitto started by the demo on 127.0.0.1, stopped by PID.
struct PrivateBroker {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

enum SpawnError {
    PortInUse(String),
    Failed(String),
}

impl PrivateBroker {
    fn start() -> Result<PrivateBroker, String> {
        let bin = find_mosquitto().ok_or(
            "mosquitto not found on PATH nor in /usr/sbin, /usr/local/sbin; \
             run scripts/setup (it installs it) or give --broker HOST:PORT",
        )?;
        let dir = std::env::temp_dir().join(format!("limpet-demo-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let mut broker = PrivateBroker {
            bin,
            dir,
            port: 0,
            child: None,
        };
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port().map_err(|e| format!("find a free port on 127.0.0.1: {e}"))?;
            match broker.spawn_on(port) {
                Ok(child) => {
                    broker.port = port;
                    broker.child = Some(child);
                    return Ok(broker);
                }
                Err(SpawnError::PortInUse(log)) => last = log,
                Err(SpawnError::Failed(log)) => {
                    return Err(format!("mosquitto did not start; its log:\n{log}"))
                }
            }
        }
        Err(format!(
            "mosquitto could not get a free port; last log:\n{last}"
        ))
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL by PID, and reap.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (retrying the bind for up to 10 s).
    fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let give_up = ms() + 10_000;
        loop {
            match self.spawn_on(self.port) {
                Ok(child) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(SpawnError::PortInUse(_)) if ms() < give_up => {
                    thread::sleep(StdDuration::from_millis(50));
                }
                Err(SpawnError::PortInUse(log) | SpawnError::Failed(log)) => {
                    return Err(format!(
                        "mosquitto did not restart on {}; its log:\n{log}",
                        self.addr()
                    ))
                }
            }
        }
    }

    fn stop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }

    /// Writes the config, spawns mosquitto, waits until it serves `port`.
    fn spawn_on(&mut self, port: u16) -> Result<Child, SpawnError> {
        let conf = self.dir.join("mosquitto.conf");
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
        );
        let log_path = self.dir.join("mosquitto.log");
        let failed = |e: std::io::Error| SpawnError::Failed(e.to_string());
        fs::write(&conf, text).map_err(failed)?;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(failed)?;
        let log_start = log.metadata().map_or(0, |m| m.len() as usize);
        let _ = writeln!(
            log,
            "=== limpet demo: starting mosquitto on port {port} ==="
        );
        let stderr = log.try_clone().map_err(failed)?;
        // Its own process group: a Ctrl-C in the terminal reaches only the
        // demo, which says goodbye over MQTT and then stops the broker by PID.
        let mut child = Command::new(&self.bin)
            .process_group(0)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|e| SpawnError::Failed(format!("spawn {}: {e}", self.bin.display())))?;
        let this_run = || {
            let bytes = fs::read(&log_path).unwrap_or_default();
            String::from_utf8_lossy(&bytes[log_start.min(bytes.len())..]).into_owned()
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let give_up = ms() + 5_000;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                let text = this_run();
                return Err(if text.contains("Address already in use") {
                    SpawnError::PortInUse(text)
                } else {
                    SpawnError::Failed(text)
                });
            }
            // Ready: it accepts, and it is mosquitto saying so (not another
            // process that raced us to the port).
            if TcpStream::connect_timeout(&addr, StdDuration::from_millis(200)).is_ok()
                && this_run().contains(" running")
                && matches!(child.try_wait(), Ok(None))
            {
                return Ok(child);
            }
            if ms() >= give_up {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SpawnError::Failed(format!(
                    "(not accepting connections after 5 s)\n{}",
                    this_run()
                )));
            }
            thread::sleep(StdDuration::from_millis(5));
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// `mosquitto` on PATH, else in the sbin folders (Debian puts it in /usr/sbin).
fn find_mosquitto() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("mosquitto"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
