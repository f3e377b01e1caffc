//! A bridge co-processor's firmware: MQTT for a host with no network, over
//! the 5-wire link; WiFi, IP and the MQTT client configured by the host.
//!
//! ```text
//! cargo run --release -p limpet-sim --example bridge_coproc [-- --seconds N]
//! ```
//!
//! Everything below `fn main`'s "firmware" line is what a co-processor
//! runs: swap the board's pins, radio, network device and clock for the
//! chip's, and the buffers for statics (boards/esp8266/src/bin/coproc.rs is
//! the same on the ESP8266). On the sim board the host (the host driver
//! publishing a reading every 5 s, subscribed to a LED topic), the access
//! point, the gateway and a real broker are the board's (`CoprocBoard`).

use limpet::bridge::coproc::Coproc;
use limpet::bridge::link::{Link, Side};
use limpet::client::{Client, Options};
use limpet::net::stack::{Addressing, Broker, Buffers, Stack, StackConfig, StackEvent, UdpBuffers};
use limpet::time::Instant;
use limpet::wlan::{self, Network, Wlan, WlanEvent};
use limpet_sim::board::BoardOptions;
use limpet_sim::bridge::CoprocBoard;
use smoltcp::iface::SocketStorage;
use smoltcp::socket::udp::PacketMetadata;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by Ctrl-C (SIGINT), SIGTERM or SIGHUP: the loop ends and `main`
/// returns, so the board's `Drop` stops its broker by PID.
static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    let seconds = parse_args();
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed));
    let mut board = CoprocBoard::start(BoardOptions {
        outages: false,
        led_topic: Some(limpet_sim::bridge::HOST_LED),
        ..BoardOptions::default()
    });
    println!("bridge co-processor: broker {}", board.broker_addr());
    let start = board.now();
    let running = |board: &mut CoprocBoard| {
        !STOP.load(Ordering::Relaxed)
            && seconds.is_none_or(|s| elapsed_ms(start, board.now()) < s * 1_000)
            && !board.in_reset()
    };

    // ---------------------------------------------------------- firmware
    let (ck_in, d_in, ck_out, d_out) = board.link_pins();
    let mut link = Link::new(Side::Coproc, ck_in, d_in, ck_out, d_out).expect("link pins");
    // Storage (a firmware's statics), declared before what borrows it: the
    // role's filter arena, the client's and the stack's buffers, the
    // host's settings.
    let mut filters = [0u8; 512];
    let (mut rx, mut tx, mut store) = ([0u8; 512], [0u8; 512], [0u8; 2048]);
    let mut sockets = [SocketStorage::EMPTY; 4];
    let (mut tcp_rx, mut tcp_tx) = ([0u8; 2048], [0u8; 2048]);
    let mut dns_queries = [None; 1];
    let (mut rx_meta, mut tx_meta) = ([PacketMetadata::EMPTY; 2], [PacketMetadata::EMPTY; 2]);
    let (mut udp_rx, mut udp_tx) = ([0u8; 128], [0u8; 128]);
    // Set later, declared here: whatever borrows them is dropped first.
    #[allow(clippy::needless_late_init)]
    let settings;
    #[allow(clippy::needless_late_init)]
    let brokers;

    // The boot counter lives where a reset does not clear it (RTC memory).
    let boot = 1;
    let mut role: Coproc<'_, 255, 4, 8, 8> = Coproc::new(boot, &mut filters);

    // Phase 1: the host says how to reach the network and the broker.
    settings = loop {
        let now = board.now();
        let _ = link.poll(now);
        if let Some(settings) = role.configure(now, &mut link) {
            break settings;
        }
        board.step(now);
        if !running(&mut board) {
            return;
        }
    };
    let c = settings.config();
    println!(
        "configured by the host: network {:?}, broker {}:{}",
        c.ssid, c.broker, c.port
    );

    // Phase 2: the WLAN controller, the IP stack and the client, from them.
    let mut wlan_config = wlan::Config::new(c.ssid, c.wifi_password);
    wlan_config.use_stored = c.use_stored;
    let Ok(mut wlan) = Wlan::new(wlan_config) else {
        role.config_failed(); // the host hears ConfigRejected
        return;
    };
    brokers = [Broker::new(c.broker, c.port)];
    let buffers = Buffers {
        sockets: &mut sockets,
        tcp_rx: &mut tcp_rx,
        tcp_tx: &mut tcp_tx,
        dns_queries: &mut dns_queries,
        udp: Some(UdpBuffers {
            rx_meta: &mut rx_meta,
            rx: &mut udp_rx,
            tx_meta: &mut tx_meta,
            tx: &mut udp_tx,
        }),
    };
    let interface = board.sim.interface();
    let seed = board.sim.seed();
    let config = StackConfig::new(Addressing::Dhcp, &brokers);
    let Ok(mut stack) = Stack::new(config, interface, buffers, seed) else {
        role.config_failed(); // a broker that can never be reached (port 0, no name)
        return;
    };
    stack.link_down(); // nothing goes out until the WLAN controller trusts the link
    let Ok(mut client) = Client::<'_, 8, 8>::new(
        settings.mqtt(),
        Options::default(),
        &mut rx,
        &mut tx,
        &mut store,
    ) else {
        role.config_failed();
        return;
    };

    while running(&mut board) {
        let now = board.now();
        let _ = link.poll(now); // one bit each way, if the host's clock allows
        if let Some(event) = wlan.poll(now, &mut board.sim.radio) {
            match event {
                WlanEvent::Up(network) => {
                    stack.link_up();
                    role.wifi(Some(network == Network::Stored)); // the host hears it
                }
                WlanEvent::Down(_) => {
                    stack.link_down();
                    role.wifi(None);
                }
                WlanEvent::AttemptFailed(..) => {}
            }
        }
        if let Some(StackEvent::Configured(_)) = stack.poll(now, &mut board.sim.net) {
            client.network_up(now);
        }
        // The bridge: the host's requests, the client's events.
        role.poll(now, &mut link, &mut client, &mut stack);
        // The host asked for the time: SNTP through the stack.
        if role.time_wanted() {
            stack.request_time(now, c.time_server);
        }
        if let Some(answer) = stack.time() {
            role.time_answer(answer, now);
        }

        // The harness: the host and the world behind the radio.
        board.step(now);
        for line in board.host_log.drain(..) {
            println!("{line}");
        }
    }
    let counters = role.counters();
    println!(
        "bridge co-processor: {} messages to the host, {} from it acknowledged by the broker",
        counters.messages_in, counters.messages_out
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
