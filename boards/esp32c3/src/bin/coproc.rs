//! The ESP32-C3 as the bridge's co-processor: the 5-wire link to a host
//! with no network, real WiFi, smoltcp with DHCP, SNTP, and the MQTT client
//! the host configures.
//!
//! Pins: GPIO4 the host's clock (in), GPIO5 the host's data (in), GPIO6 our
//! clock (out), GPIO7 our data (out); the host drives the chip's EN (reset)
//! as the fifth wire. Phase 1 answers the host until it sends its settings
//! (network, broker, session, will, time server); phase 2 builds the WLAN
//! controller, the IP stack and the client from them and runs the role.
//! The boot counter is 1 at every start: EN resets everything, RTC memory
//! too; the frame layer's handshake also tells the host of a restart.
#![no_std]
#![no_main]

use core::pin::pin;

use esp_backtrace as _;
use esp_hal::gpio::{Input, InputConfig, Level, Output, OutputConfig};
use esp_println::println;
use limpet::bridge::coproc::{Coproc, Settings};
use limpet::bridge::link::Turn;
use limpet::bridge::link::{Link, Side};
use limpet::device::{Device, DeviceBuffers, DeviceConfig, DeviceEvent};
use limpet::net::stack::{Addressing, Broker, StackConfig, UdpBuffers};
use limpet::wlan::station::{drive, Mailbox, StationRadio};
use limpet::wlan::{self, Network, WlanEvent};
use limpet_esp32c3::{clock, settings};
use smoltcp::iface::SocketStorage;
use smoltcp::socket::udp::PacketMetadata;

esp_bootloader_esp_idf::esp_app_desc!();

/// Frame payloads on the link, frames in flight, the client's in-flight
/// table and subscriptions.
const FRAME: usize = 255;
const WINDOW: usize = 4;
const INFLIGHT: usize = 8;
const SUBSCRIPTIONS: usize = 8;
/// After this long without a bit on the link the loop naps between passes
/// (for at most `NAP_MS`: the host's clock edges and the radio's frames
/// arrive without waking it). While the host clocks, it spins: the link's
/// speed is the slower side's pass rate. The WiFi task preempts it either way.
const QUIET_MS: u32 = 20;
const NAP_MS: u32 = 1;

#[esp_hal::main]
fn main() -> ! {
    let p =
        esp_hal::init(esp_hal::Config::default().with_cpu_clock(esp_hal::clock::CpuClock::max()));
    limpet_esp32c3::start_rtos(p.TIMG0, p.FROM_CPU_INTR0);
    let (station, mut device) = limpet_esp32c3::wifi(p.WIFI).expect("WiFi driver");
    println!("limpet co-processor: link on GPIO4/5 (in) 6/7 (out), reset on EN");

    let input = InputConfig::default();
    let output = OutputConfig::default();
    let Ok(mut link) = Link::new(
        Side::Coproc,
        Input::new(p.GPIO4, input),
        Input::new(p.GPIO5, input),
        Output::new(p.GPIO6, Level::Low, output),
        Output::new(p.GPIO7, Level::Low, output),
    ) else {
        panic!("link pins")
    };
    // Declared before the role: the device it drives shares their lifetime.
    let mut sockets = [SocketStorage::EMPTY; 4];
    let mut dns_queries = [None; 1];
    let mut filters = [0u8; 256];
    let mut role: Coproc<'_, FRAME, WINDOW, INFLIGHT, SUBSCRIPTIONS> = Coproc::new(1, &mut filters);

    // Phase 1: the host's settings.
    let mut kept: Option<Settings<FRAME>> = None;
    let settings = loop {
        let now = clock::now();
        let _ = link.poll(now);
        if let Some(s) = role.configure(now, &mut link) {
            break kept.insert(s);
        }
    };
    let c = settings.config();

    // Phase 2: the machines, from the settings.
    let mut rx = [0u8; 1024];
    let mut tx = [0u8; 1024];
    let mut store = [0u8; INFLIGHT * 300];
    let mut tcp_rx = [0u8; 2048];
    let mut tcp_tx = [0u8; 2048];
    let (mut udp_rx_meta, mut udp_tx_meta) =
        ([PacketMetadata::EMPTY; 2], [PacketMetadata::EMPTY; 2]);
    let (mut udp_rx, mut udp_tx) = ([0u8; 128], [0u8; 128]);
    let brokers = [Broker::new(c.broker, c.port)];

    let mailbox = Mailbox::new();
    let driver = pin!(drive(station, &mailbox)); // the WiFi driver, polled by `radio`
    let mut radio = StationRadio::new(&mailbox, driver);
    let mut wcfg = wlan::Config::new(c.ssid, c.wifi_password);
    wcfg.use_stored = c.use_stored;
    let seed = settings::seed();
    let mut config = DeviceConfig::new(
        wcfg,
        StackConfig::new(Addressing::Dhcp, &brokers),
        settings.mqtt(),
    );
    config.options.backoff = config.options.backoff.with_seed(seed);
    let buffers = DeviceBuffers {
        rx: &mut rx,
        tx: &mut tx,
        store: &mut store,
        tcp_rx: &mut tcp_rx,
        tcp_tx: &mut tcp_tx,
        sockets: &mut sockets,
        dns_queries: &mut dns_queries,
        udp: Some(UdpBuffers {
            rx_meta: &mut udp_rx_meta,
            rx: &mut udp_rx,
            tx_meta: &mut udp_tx_meta,
            tx: &mut udp_tx,
        }),
    };
    let node: Result<Device<'_, INFLIGHT, SUBSCRIPTIONS, 0>, _> =
        Device::with_buffers(config, device.interface(seed), seed, buffers);
    let Ok(mut node) = node else {
        // Settings that can never work: the host is told, and resets us
        // with new ones.
        role.config_failed();
        loop {
            let now = clock::now();
            let _ = link.poll(now);
            let _ = role.configure(now, &mut link);
        }
    };
    println!("configured: {} via {}:{}", c.ssid, c.broker, c.port);

    let mut last_bit = clock::now();
    loop {
        let now = clock::now();
        if let Ok(Turn::Moved) = link.poll(now) {
            last_bit = now;
        }
        // WLAN and stack, wired by the device; the role drives the client.
        while let Some(event) = node.poll_network(now, &mut radio, &mut device) {
            match event {
                DeviceEvent::Wlan(WlanEvent::Up(network)) => {
                    role.wifi(Some(network == Network::Stored))
                }
                DeviceEvent::Wlan(WlanEvent::Down(_)) => role.wifi(None),
                _ => {}
            }
        }
        let (client, stack) = node.parts();
        role.poll(now, &mut link, client, stack);
        // The host asked for the time: SNTP through the stack.
        if role.time_wanted() {
            stack.request_time(now, c.time_server);
        }
        if let Some(answer) = stack.time() {
            role.time_answer(answer, now);
        }
        // (A last bit more than 24.8 days ago looks like the future: quiet too.)
        let quiet = now
            .checked_duration_since(last_bit)
            .is_none_or(|d| d.ticks() >= QUIET_MS);
        if quiet {
            clock::sleep_until(node.next_deadline(now), NAP_MS);
        }
    }
}
