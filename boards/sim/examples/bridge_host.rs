//! A bridge host: a microcontroller with no network that publishes a
//! sensor value and drives a LED from a topic, through a co-processor on
//! five wires (two clocks, two data lines, reset).
//!
//! ```text
//! cargo run --release -p limpet-sim --example bridge_host [-- --seconds N]
//! ```
//!
//! Everything below `fn main`'s "firmware" line is what the host's firmware
//! runs: swap the board's pins for GPIO pins and its clock for a timer. On
//! the sim board the co-processor (its firmware, the access point, the
//! gateway and a real broker) is run by the board (`HostBoard`), which also
//! plays a remote user flipping the LED topic every 15 s.

use limpet::bridge::host::{Host, HostConfig, HostEvent};
use limpet::bridge::link::{Link, Side};
use limpet::bridge::proto::{Config, Status};
use limpet::time::{Duration, Instant};
use limpet::wire::QoS;
use limpet_sim::board::{BoardOptions, PASSWORD, SSID};
use limpet_sim::bridge::HostBoard;
use std::sync::atomic::{AtomicBool, Ordering};

const TOPIC_TEMP: &str = "limpet/bridge/temperature";
const TOPIC_LED: &str = "limpet/bridge/led";
const REPORT_MS: u32 = 5_000;

/// What the co-processor is told: the network, the broker, the session.
const COPROC: Config<'static> = Config {
    time_server: "time.sim", // the sim gateway answers SNTP
    ..Config::new(SSID, PASSWORD, "broker.sim", "limpet-bridge")
};

/// Set by Ctrl-C (SIGINT), SIGTERM or SIGHUP: the loop ends and `main`
/// returns, so the board's `Drop` stops its broker by PID.
static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    let seconds = parse_args();
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed));
    let mut board = HostBoard::start(BoardOptions {
        outages: false,
        led_topic: Some(TOPIC_LED),
        ..BoardOptions::default()
    });
    println!("bridge host: broker {}", board.broker_addr());

    // ---------------------------------------------------------- firmware
    let (ck_in, d_in, ck_out, d_out) = board.link_pins();
    let mut link = Link::new(Side::Host, ck_in, d_in, ck_out, d_out).expect("link pins");
    // A nonce new at each start of the host (a boot counter, a random number).
    let nonce = 0x1234;
    let mut host: Host<'_, _, 255, 4, 8, 4> =
        Host::new(HostConfig::new(COPROC, nonce), board.reset_pin());
    host.subscribe(TOPIC_LED, QoS::AtLeastOnce)
        .expect("a valid filter");

    let start = board.now();
    let mut next_report = start;
    let (mut reading, mut acknowledged, mut led) = (200u32, 0u32, false);

    while !STOP.load(Ordering::Relaxed)
        && seconds.is_none_or(|s| elapsed_ms(start, board.now()) < s * 1_000)
    {
        let now = board.now();
        let _ = link.poll(now); // one bit each way, if the co-processor's clock allows

        match host.poll(now, &mut link) {
            Some(HostEvent::Ready { boot, restarted }) => {
                println!(
                    "co-processor ready (boot {boot}{})",
                    if restarted { ", restarted" } else { "" }
                );
            }
            Some(HostEvent::Status(Status::BrokerUp)) => println!("broker up"),
            Some(HostEvent::Status(Status::BrokerDown)) => println!("broker down"),
            Some(HostEvent::Message { topic, payload, .. }) if topic == TOPIC_LED => {
                led = payload == b"on";
                println!("LED {}", if led { "on" } else { "off" });
            }
            Some(HostEvent::Done { .. }) => acknowledged += 1,
            Some(HostEvent::Reset { n }) => println!("co-processor silent: reset ({n})"),
            _ => {}
        }

        // The application: a reading every 5 s, kept until acknowledged.
        if now >= next_report {
            next_report = now + Duration::from_ticks(REPORT_MS);
            reading = (reading * 7 + 13) % 300;
            let value = format!("{}.{}", 15 + reading / 10, reading % 10);
            match host.publish(TOPIC_TEMP, value.as_bytes(), QoS::AtLeastOnce, false) {
                Ok(_) => println!("temperature {value} queued ({} pending)", host.pending()),
                Err(e) => println!("temperature {value} not queued: {e:?}"),
            }
        }

        // The harness: the co-processor and the world behind it.
        board.run_coprocessor(now);
        board.step(now);
    }
    println!(
        "bridge host: {acknowledged} requests acknowledged, LED {}, {} resets",
        if led { "on" } else { "off" },
        host.resets()
    );
}

fn elapsed_ms(from: Instant, to: Instant) -> u32 {
    to.checked_duration_since(from).map_or(0, |d| d.ticks())
}

fn parse_args() -> Option<u32> {
    let mut args = std::env::args().skip(1);
    let mut seconds = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()),
            other => panic!("unknown argument {other} (use --seconds N)"),
        }
    }
    seconds
}
