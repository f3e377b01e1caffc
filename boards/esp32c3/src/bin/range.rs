//! The range demo on an ESP32-C3: mqtt_as's `range.py` as limpet firmware.
//! WLAN controller, IP stack and MQTT client in one superloop; it publishes
//! a counter, its RSSI and how many outages it has seen every 5 s, drives
//! the LED from a topic, and says online/offline (retained, with a will).
//! Walk away from the access point and back: it recovers by itself.
//!
//! Build-time settings (environment variables, see the board's README):
//! `LIMPET_SSID`, `LIMPET_PASSWORD`, `LIMPET_BROKER` (name or address),
//! `LIMPET_PORT`, `LIMPET_CLIENT_ID`, `LIMPET_COUNTRY`; `LIMPET_USE_STORED=1`
//! tries the radio's stored network first (esp-radio stores none, so the
//! configured one is used).
//!
//! With feature `tls` (the `range-tls` image) limpet's TLS layer goes
//! between the device's stack and its client: the broker is verified
//! against the CA given at build time (`LIMPET_TLS_CA`; optionally a client
//! certificate, `LIMPET_TLS_CERT` and `LIMPET_TLS_KEY`), the time for its
//! dates from SNTP. The superloop is the same.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::pin::pin;

use esp_backtrace as _;
use esp_hal::gpio::{Level, Output, OutputConfig};
use esp_println::println;
use heapless::String;
use limpet::net::stack::{Addressing, Broker, StackConfig};
use limpet::time::{earliest, reached, Duration};
use limpet::wire::Will;
use limpet::wlan::station::{drive, Mailbox, StationRadio};
use limpet::wlan::{self, WlanEvent};
use limpet::{Config, Device, DeviceConfig, DeviceEvent, Event, QoS, Resources};
#[cfg(feature = "tls")]
use limpet_esp32c3::tls;
use limpet_esp32c3::{clock, settings};

esp_bootloader_esp_idf::esp_app_desc!();

const TOPIC_STATUS: &str = "limpet/range/status";
const TOPIC_COUNT: &str = "limpet/range/count";
const TOPIC_RSSI: &str = "limpet/range/rssi";
const TOPIC_OUTAGES: &str = "limpet/range/outages";
const TOPIC_LED: &str = "limpet/range/led";
const REPORT_MS: u32 = 5_000;
/// The longest the loop sleeps: frames arrive without waking it.
const RX_LATENCY_MS: u32 = 2;

#[esp_hal::main]
fn main() -> ! {
    let p =
        esp_hal::init(esp_hal::Config::default().with_cpu_clock(esp_hal::clock::CpuClock::max()));
    limpet_esp32c3::start_rtos(p.TIMG0, p.FROM_CPU_INTR0);
    let (station, mut device) = limpet_esp32c3::wifi(p.WIFI).expect("WiFi driver");
    // The LED: GPIO8 (the blue LED of C3 "super mini" boards, active low).
    let mut led = Output::new(p.GPIO8, Level::High, OutputConfig::default());
    println!(
        "limpet range demo: {} via {}:{}",
        settings::SSID,
        settings::BROKER,
        settings::PORT
    );

    // ---------------------------------------------------------- firmware
    let brokers = [Broker::new(settings::BROKER, settings::PORT)];
    let mailbox = Mailbox::new();
    let driver = pin!(drive(station, &mailbox)); // the WiFi driver, polled by `radio`
    let mut radio = StationRadio::new(&mailbox, driver);

    let mut wcfg = wlan::Config::new(settings::SSID, settings::PASSWORD.as_bytes());
    wcfg.use_stored = settings::USE_STORED;
    let mut mqtt = Config::new(settings::CLIENT_ID);
    mqtt.clean = false;
    mqtt.will = Some(Will {
        topic: TOPIC_STATUS,
        payload: b"offline",
        qos: QoS::AtLeastOnce,
        retain: true,
    });
    let seed = settings::seed();
    let mut config = DeviceConfig::new(wcfg, StackConfig::new(Addressing::Dhcp, &brokers), mqtt);
    config.options.backoff = config.options.backoff.with_seed(seed);
    let mut resources: Resources = Resources::new();
    #[cfg(not(feature = "tls"))]
    let buffers = resources.buffers();
    // TLS: a fourth socket slot and a UDP socket for SNTP (the time for the
    // certificates' dates).
    #[cfg(feature = "tls")]
    let (mut sockets, mut udp_meta, mut udp_bytes) = (
        [smoltcp::iface::SocketStorage::EMPTY; 4],
        [smoltcp::socket::udp::PacketMetadata::EMPTY; 2],
        [0u8; 2 * 96],
    );
    #[cfg(feature = "tls")]
    let buffers = {
        let (rx_meta, tx_meta) = udp_meta.split_at_mut(1);
        let (rx, tx) = udp_bytes.split_at_mut(96);
        let mut buffers = resources.buffers();
        buffers.sockets = &mut sockets;
        buffers.udp = Some(limpet::net::stack::UdpBuffers {
            rx_meta,
            rx,
            tx_meta,
            tx,
        });
        buffers
    };
    let node: Device<'_, 4, 4> =
        Device::with_buffers(config, device.interface(seed), seed, buffers).expect("settings");

    // Between the stack and the client: nothing, or TLS.
    #[cfg(not(feature = "tls"))]
    let layer = limpet::net::Plain;
    #[cfg(feature = "tls")]
    let (mut ca_der, mut cert_der, mut key_der) = ([0u8; 4096], [0u8; 1024], [0u8; 256]);
    #[cfg(feature = "tls")]
    let mut cas: [&[u8]; 4] = [&[]; 4];
    #[cfg(feature = "tls")]
    let tls_config = {
        use limpet::net::tls::{pem, Config as TlsConfig};
        // No CA given (or none readable): nothing is trusted, every server
        // refused with its reason.
        let n = pem::certificates(tls::CA_PEM, &mut ca_der, &mut cas).unwrap_or(0);
        let config = TlsConfig::new(tls::SERVER_NAME, &cas[..n]);
        match (
            pem::decode(tls::CERT_PEM, &mut cert_der),
            pem::decode(tls::KEY_PEM, &mut key_der),
        ) {
            (Ok(cert), Ok(key)) => config.with_client_certificate(cert.der, key.der),
            _ => config,
        }
    };
    #[cfg(feature = "tls")]
    let (mut plain, mut cipher) = ([0u8; 512], [0u8; 1024]);
    #[cfg(feature = "tls")]
    let mail = limpet::net::tls::Mailbox::new(&mut plain, &mut cipher);
    #[cfg(feature = "tls")]
    let (mut read_record, mut write_record) = ([0u8; 16_640], [0u8; 1024]);
    #[cfg(feature = "tls")]
    // The true random source stays on for as long as the firmware runs
    // (it takes ADC1, which this image does not use otherwise).
    let _entropy = esp_hal::rng::TrngSource::new(p.RNG, p.ADC1);
    #[cfg(feature = "tls")]
    let tls_driver = pin!(limpet::net::tls::drive(
        tls_config,
        esp_hal::rng::Trng::try_new().expect("the TRNG source is on"),
        &mut read_record,
        &mut write_record,
        &mail
    ));
    #[cfg(feature = "tls")]
    let layer = limpet::net::tls::Tls::new(&mail, tls_driver);
    #[cfg(feature = "tls")]
    let mut unix = tls::UnixClock::new();

    let mut node = node.with_layer(layer);
    node.subscribe(TOPIC_LED, QoS::AtLeastOnce).expect("topic");

    let mut next_report = clock::now();
    let (mut count, mut outages) = (0u32, 0u32);

    loop {
        let now = clock::now();

        // One pass: the device polls WLAN, IP and MQTT and says what happened.
        let idle = match node.poll(now, &mut radio, &mut device) {
            Some(DeviceEvent::Wlan(WlanEvent::Up(_))) => {
                println!("WiFi up, RSSI {:?}", node.wlan().rssi());
                false
            }
            Some(DeviceEvent::Wlan(event)) => {
                println!("WiFi: {:?}", event);
                false
            }
            Some(DeviceEvent::Network(event)) => {
                println!("network: {:?}", event);
                false
            }
            Some(DeviceEvent::Mqtt(event)) => {
                match event {
                    Event::Up { .. } => {
                        println!("broker up");
                        let _ = node.publish(TOPIC_STATUS, b"online", QoS::AtLeastOnce, true);
                    }
                    Event::Down(reason) => {
                        println!("broker down: {:?}", reason);
                        outages += 1;
                    }
                    Event::Message(m) if m.topic == TOPIC_LED => {
                        let on = m.payload == b"on";
                        led.set_level(if on { Level::Low } else { Level::High });
                    }
                    _ => {}
                }
                false
            }
            None => true,
        };

        // TLS: the time for the next handshake's certificate dates.
        #[cfg(feature = "tls")]
        if let Some(t) = unix.poll(now, node.stack()) {
            mail.set_time(t);
        }

        // The application: a report every 5 s, queued while offline.
        if reached(now, next_report) {
            next_report = now + Duration::from_ticks(REPORT_MS);
            count += 1;
            let mut rssi: String<8> = String::new();
            match node.wlan().rssi() {
                Some(r) => write!(rssi, "{r}").ok(),
                None => rssi.push_str("-").ok(),
            };
            for (topic, value) in [(TOPIC_COUNT, count), (TOPIC_OUTAGES, outages)] {
                let mut text: String<12> = String::new();
                let _ = write!(text, "{value}");
                // A full in-flight table is an Err: this report is skipped.
                let _ = node.publish(topic, text.as_bytes(), QoS::AtLeastOnce, false);
            }
            let _ = node.publish(TOPIC_RSSI, rssi.as_bytes(), QoS::AtLeastOnce, false);
        }

        if idle {
            let deadline = earliest(node.next_deadline(now), Some(next_report));
            clock::sleep_until(deadline, RX_LATENCY_MS);
        }
    }
    // ------------------------------------------------------ end firmware
}
