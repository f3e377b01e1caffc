//! The limpet demo: a device's whole firmware — WLAN controller, IP stack,
//! MQTT client in one superloop — on the simulated board, against a real
//! broker. Like mqtt_as's `range.py`: it publishes a counter, its RSSI and
//! how many outages it has seen, drives a LED from a topic, and shows one
//! live status line while the board injects an outage now and then.
//!
//! ```text
//! scripts/demo [--broker HOST:PORT] [--seconds N] [--speed N] [--no-outages]
//! ```
//!
//! Everything below `fn main`'s "firmware" line is what a real firmware
//! runs: swap `SimBoard` for the chip's radio driver, network device and
//! clock, and the buffers for statics. The board (boards/sim/src/board.rs)
//! is the harness: access point, gateway, broker, outages.

use limpet::client::{Client, Options};
use limpet::net::stack::{Addressing, Broker, Buffers, Stack, StackConfig, StackEvent};
use limpet::session::{Config, Event};
use limpet::time::{earliest, Duration, Instant};
use limpet::wire::{QoS, Will};
use limpet::wlan::{self, Wlan, WlanEvent};
use limpet_sim::board::{BoardOptions, SimBoard, Status, PASSWORD, SSID};
use smoltcp::iface::SocketStorage;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

const CLIENT_ID: &str = "limpet-demo";
const TOPIC_STATUS: &str = "limpet/demo/status";
const TOPIC_COUNT: &str = "limpet/demo/count";
const TOPIC_RSSI: &str = "limpet/demo/rssi";
const TOPIC_OUTAGES: &str = "limpet/demo/outages";
const TOPIC_LED: &str = "limpet/demo/led";
const REPORT_MS: u32 = 5_000;
const SHOW_MS: u32 = 250;

static BROKERS: [Broker<'static>; 1] = [Broker {
    host: "broker.sim",
    port: 1883,
}];

static STOP: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let (mut options, seconds) = parse_args();
    options.led_topic = Some(TOPIC_LED);
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed));
    let mut board = SimBoard::start(options);
    println!(
        "limpet demo: broker {}; drive the LED with\n  mosquitto_pub -h {} -p {} -t {TOPIC_LED} -m on   (or off)",
        board.broker_addr(),
        board.broker_addr().ip(),
        board.broker_addr().port()
    );

    // ---------------------------------------------------------- firmware
    let mut rx = [0u8; 1024];
    let mut tx = [0u8; 1024];
    let mut store = [0u8; 1024];
    let mut tcp_rx = [0u8; 2048];
    let mut tcp_tx = [0u8; 2048];
    let mut sockets = [SocketStorage::EMPTY; 3];
    let mut dns_queries = [None; 1];

    let mut wlan = Wlan::new(wlan::Config::new(SSID, PASSWORD)).expect("WLAN config");
    let buffers = Buffers {
        sockets: &mut sockets,
        tcp_rx: &mut tcp_rx,
        tcp_tx: &mut tcp_tx,
        dns_queries: &mut dns_queries,
        udp: None,
    };
    let config = StackConfig::new(Addressing::Dhcp, &BROKERS);
    let mut stack = Stack::new(config, board.interface(), buffers, board.seed()).expect("stack");
    stack.link_down(); // nothing goes out until the WLAN controller trusts the link

    let mut config = Config::new(CLIENT_ID);
    config.clean = false;
    config.will = Some(Will {
        topic: TOPIC_STATUS,
        payload: b"offline",
        qos: QoS::AtLeastOnce,
        retain: true,
    });
    let mut client: Client<'_, 4, 4> =
        Client::new(config, Options::default(), &mut rx, &mut tx, &mut store).expect("client");
    client
        .subscribe(TOPIC_LED, QoS::AtLeastOnce)
        .expect("topic");

    let start = board.now();
    let mut next_report = start;
    let mut next_show = start;
    let (mut count, mut outages, mut messages_in, mut messages_out) = (0u32, 0u32, 0u64, 0u64);
    let mut ups = 0u32;

    while !STOP.load(Ordering::Relaxed) && seconds.is_none_or(|s| elapsed_s(start, board.now()) < s)
    {
        let now = board.now();

        // The three machines, each polled once per pass.
        if let Some(event) = wlan.poll(now, &mut board.radio) {
            match event {
                WlanEvent::Up(_) => stack.link_up(),
                WlanEvent::Down(_) => stack.link_down(),
                WlanEvent::AttemptFailed(..) => {}
            }
        }
        if let Some(StackEvent::Configured(_)) = stack.poll(now, &mut board.net) {
            client.network_up(now); // retry at once, not after the backoff
        }
        let mut announce = false;
        while let Some(event) = client.poll(now, &mut stack) {
            match event {
                Event::Up { .. } => {
                    ups += 1;
                    announce = true;
                }
                Event::Down(_) => outages += 1,
                Event::Message(m) => {
                    messages_in += 1;
                    if m.topic == TOPIC_LED {
                        board.set_led(m.payload == b"on");
                    }
                }
                Event::Published(_) => messages_out += 1,
                _ => {}
            }
        }
        if announce {
            let _ = client.publish(TOPIC_STATUS, b"online", QoS::AtLeastOnce, true);
        }

        // The application: a report every 5 s, queued while offline.
        if reached(now, next_report) {
            next_report = now + Duration::from_ticks(REPORT_MS);
            count += 1;
            for (topic, value) in [
                (TOPIC_COUNT, count.to_string()),
                (
                    TOPIC_RSSI,
                    wlan.rssi().map_or("-".into(), |r| r.to_string()),
                ),
                (TOPIC_OUTAGES, outages.to_string()),
            ] {
                // A full in-flight table is an Err: this report is skipped.
                let _ = client.publish(topic, value.as_bytes(), QoS::AtLeastOnce, false);
            }
        }
        if reached(now, next_show) {
            next_show = now + Duration::from_ticks(SHOW_MS);
            let state = match (wlan.is_up(), client.is_connected()) {
                (true, true) => "up",
                (true, false) => "connecting",
                (false, _) => "no wifi",
            };
            board.show(&Status {
                state,
                rssi: wlan.rssi(),
                reconnects: client.counters().reconnects,
                messages_in,
                messages_out,
                led: board.led(),
            });
        }

        let deadline = earliest(
            earliest(wlan.next_deadline(now), stack.next_deadline(now)),
            earliest(client.next_deadline(now), Some(next_show)),
        );
        board.sleep_until(deadline);
    }
    // ------------------------------------------------------ end firmware

    // A polite goodbye: the DISCONNECT goes out (so no will), then a moment
    // for the stack to deliver it.
    client.disconnect();
    let end = board.now() + Duration::from_ticks(1_000);
    let mut closed_at = None;
    while !reached(board.now(), end) && !closed_at.is_some_and(|t| reached(board.now(), t)) {
        let now = board.now();
        let _ = stack.poll(now, &mut board.net);
        while let Some(event) = client.poll(now, &mut stack) {
            if let Event::Down(_) = event {
                closed_at = Some(now + Duration::from_ticks(200));
            }
        }
        board.sleep_until(Some(now + Duration::from_ticks(10)));
    }
    let (injected, _) = board.outages();
    println!(
        "\nlimpet demo: up {ups} times, {count} reports, {messages_out} messages acknowledged, {messages_in} received, {outages} outages seen ({injected} injected)"
    );
    // For scripts: failure if the device never came up. Returned, not
    // `std::process::exit`: the board's `Drop` stops the private broker by
    // PID and removes its folder (Ctrl-C, SIGTERM and SIGHUP end the loop
    // above and come here too).
    if ups > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `now` is at or past `deadline` (wrapping-aware).
fn reached(now: Instant, deadline: Instant) -> bool {
    now.checked_duration_since(deadline).is_some()
}

fn elapsed_s(start: Instant, now: Instant) -> u64 {
    u64::from(now.checked_duration_since(start).map_or(0, |d| d.ticks()) / 1000)
}

fn parse_args() -> (BoardOptions, Option<u64>) {
    let mut options = BoardOptions::default();
    let mut seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--broker" => {
                let v = value();
                let addr = std::net::ToSocketAddrs::to_socket_addrs(&v)
                    .ok()
                    .and_then(|mut a| a.next())
                    .unwrap_or_else(|| usage(&format!("cannot resolve {v}")));
                if !addr.ip().is_loopback() {
                    usage("the simulated network reaches brokers on 127.0.0.0/8 only");
                }
                options.broker = Some(addr);
            }
            "--seconds" => seconds = Some(value().parse().unwrap_or_else(|_| usage("--seconds N"))),
            "--speed" => options.speed = value().parse().unwrap_or_else(|_| usage("--speed N")),
            "--no-outages" => options.outages = false,
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    (options, seconds)
}

/// Exits at once: only while parsing the arguments, before anything is started.
fn usage(msg: &str) -> ! {
    eprintln!("demo: {msg}\nusage: scripts/demo [--broker HOST:PORT] [--seconds N] [--speed N] [--no-outages]");
    std::process::exit(2)
}
