//! The limpet demo: a device's whole firmware — WLAN controller, IP stack,
//! MQTT client in one superloop — on the simulated board, against a real
//! broker. Like mqtt_as's `range.py`: it publishes a counter, its RSSI and
//! how many outages it has seen, drives a LED from a topic, and shows one
//! live status line while the board injects an outage now and then.
//!
//! ```text
//! scripts/demo [--broker HOST:PORT] [--seconds N] [--speed N] [--no-outages] [--tls]
//! ```
//!
//! With `--tls` the board's broker speaks TLS only and the device puts
//! limpet's TLS layer between its stack and its client: the same
//! superloop, the broker verified against its CA and name.
//!
//! Everything below `fn main`'s "firmware" line is what a real firmware
//! runs: swap `SimBoard` for the chip's radio driver, network device and
//! clock, and the buffers for statics. The board (boards/sim/src/board.rs)
//! is the harness: access point, gateway, broker, outages.

use core::pin::pin;
use limpet::net::stack::{Addressing, Broker, Stack, StackConfig};
use limpet::net::tls::{self, Config as TlsConfig, Mailbox, Tls};
use limpet::net::Layer;
use limpet::time::{earliest, reached, Duration, Instant};
use limpet::wire::Will;
use limpet::wlan;
use limpet::{Config, Device, DeviceConfig, DeviceEvent, Event, QoS, Resources};
use limpet_sim::board::{BoardOptions, SimBoard, Status, PASSWORD, SSID};
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
    let tls_note = if board.tls_ca().is_some() {
        " over TLS (add --cafile with the board's CA)"
    } else {
        ""
    };
    println!(
        "limpet demo: broker {}{tls_note}; drive the LED with\n  mosquitto_pub -h {} -p {} -t {TOPIC_LED} -m on   (or off)",
        board.broker_addr(),
        board.broker_addr().ip(),
        board.broker_addr().port()
    );

    // ---------------------------------------------------------- firmware
    let mut mqtt = Config::new(CLIENT_ID);
    mqtt.clean = false;
    mqtt.will = Some(Will {
        topic: TOPIC_STATUS,
        payload: b"offline",
        qos: QoS::AtLeastOnce,
        retain: true,
    });
    let config = DeviceConfig::new(
        wlan::Config::new(SSID, PASSWORD),
        StackConfig::new(Addressing::Dhcp, &BROKERS),
        mqtt,
    );
    let mut resources: Resources = Resources::new(); // a `static` on a chip
    let mut device: Device<'_, 4, 4> =
        Device::new(config, board.interface(), board.seed(), &mut resources).expect("settings");
    device
        .subscribe(TOPIC_LED, QoS::AtLeastOnce)
        .expect("topic");
    let Some(ca) = board.tls_ca().map(<[u8]>::to_vec) else {
        return superloop(&mut board, device, seconds);
    };

    // TLS between the stack and the client: the broker's CA and name
    // (given at build time on a chip), the time for the certificate dates
    // (SNTP on a chip), the pipes and records (statics on a chip).
    let cas = [ca.as_slice()];
    let tls_config = TlsConfig::new("broker.sim", &cas).with_time(unix_now());
    let (mut plain, mut cipher) = ([0u8; 1024], [0u8; 1024]);
    let mail = Mailbox::new(&mut plain, &mut cipher);
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], [0u8; 2048]);
    let rng = rand_core::OsRng; // the chip's TRNG
    let driver = pin!(tls::drive(
        tls_config,
        rng,
        &mut read_record,
        &mut write_record,
        &mail
    ));
    superloop(
        &mut board,
        device.with_layer(Tls::new(&mail, driver)),
        seconds,
    )
}

/// The superloop, the same over TLS or not (`L`: what goes between the
/// device's stack and its client).
fn superloop<'a, L: Layer<Stack<'a>>>(
    board: &mut SimBoard,
    mut device: Device<'a, 4, 4, 32, L>,
    seconds: Option<u64>,
) -> ExitCode {
    let start = board.now();
    let mut next_report = start;
    let mut next_show = start;
    let (mut count, mut outages, mut messages_in, mut messages_out) = (0u32, 0u32, 0u64, 0u64);
    let mut ups = 0u32;

    while !STOP.load(Ordering::Relaxed) && seconds.is_none_or(|s| elapsed_s(start, board.now()) < s)
    {
        let now = board.now();

        // One pass: the device polls WLAN, IP and MQTT and says what happened.
        let idle = match device.poll(now, &mut board.radio, &mut board.net) {
            Some(DeviceEvent::Mqtt(event)) => {
                match event {
                    Event::Up { .. } => {
                        ups += 1;
                        let _ = device.publish(TOPIC_STATUS, b"online", QoS::AtLeastOnce, true);
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
                false
            }
            Some(_) => false, // WLAN up or down, a DHCP lease: the device acted on it
            None => true,
        };

        // The application: a report every 5 s, queued while offline.
        if reached(now, next_report) {
            next_report = now + Duration::from_ticks(REPORT_MS);
            count += 1;
            for (topic, value) in [
                (TOPIC_COUNT, count.to_string()),
                (
                    TOPIC_RSSI,
                    device.wlan().rssi().map_or("-".into(), |r| r.to_string()),
                ),
                (TOPIC_OUTAGES, outages.to_string()),
            ] {
                // A full in-flight table is an Err: this report is skipped.
                let _ = device.publish(topic, value.as_bytes(), QoS::AtLeastOnce, false);
            }
        }
        if reached(now, next_show) {
            next_show = now + Duration::from_ticks(SHOW_MS);
            let state = match (device.wlan().is_up(), device.is_connected()) {
                (true, true) => "up",
                (true, false) => "connecting",
                (false, _) => "no wifi",
            };
            board.show(&Status {
                state,
                rssi: device.wlan().rssi(),
                reconnects: device.client().counters().reconnects,
                messages_in,
                messages_out,
                led: board.led(),
            });
        }

        // Nothing happened: sleep until a deadline or a frame arrives.
        if idle {
            let timers = earliest(Some(next_report), Some(next_show));
            board.sleep_until(earliest(device.next_deadline(now), timers));
        }
    }
    // ------------------------------------------------------ end firmware

    // A polite goodbye: the DISCONNECT goes out (so no will), then a moment
    // for the stack to deliver it.
    device.client().disconnect();
    let end = board.now() + Duration::from_ticks(1_000);
    let mut closed_at = None;
    while !reached(board.now(), end) && !closed_at.is_some_and(|t| reached(board.now(), t)) {
        let now = board.now();
        if let Some(DeviceEvent::Mqtt(Event::Down(_))) =
            device.poll(now, &mut board.radio, &mut board.net)
        {
            closed_at = Some(now + Duration::from_ticks(200));
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

fn unix_now() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_secs())
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
            "--tls" => options.tls = true,
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    if options.tls && options.broker.is_some() {
        usage("--tls starts its own TLS broker (with test certificates): not with --broker");
    }
    (options, seconds)
}

/// Exits at once: only while parsing the arguments, before anything is started.
fn usage(msg: &str) -> ! {
    eprintln!("demo: {msg}\nusage: scripts/demo [--broker HOST:PORT] [--seconds N] [--speed N] [--no-outages] [--tls]");
    std::process::exit(2)
}
