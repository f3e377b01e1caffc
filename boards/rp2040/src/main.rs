//! A Raspberry Pi Pico as the bridge's host: MQTT through a WiFi
//! co-processor on five wires, no network of its own. It publishes the
//! RP2040's temperature every 5 s (QoS 1) and drives the on-board LED
//! from `limpet/bridge/led` ("on" / "off").
//!
//! The superloop below is the whole application; `board.rs` is the Pico's
//! set-up (clocks, pins, timer, ADC). Pins: GP2 host clock out, GP3 host
//! data out, GP4 co-processor clock in, GP5 co-processor data in, GP6 the
//! co-processor's reset (open drain). WiFi and broker are set at build
//! time: LIMPET_SSID, LIMPET_PASSWORD, LIMPET_BROKER, LIMPET_CLIENT_ID.
#![no_std]
#![no_main]

mod board;

use embedded_hal::digital::OutputPin;
use limpet::bridge::host::{Host, HostConfig, HostEvent};
use limpet::bridge::link::{Link, Side};
use limpet::bridge::proto::Config;
use limpet::time::Duration;
use limpet::wire::QoS;
use panic_halt as _;

/// The second-stage bootloader for the Pico's W25Q16JV flash, in the
/// first 256 bytes of flash (memory.x).
#[link_section = ".boot2"]
#[used]
pub static BOOT2_FIRMWARE: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

const TOPIC_TEMP: &str = "limpet/bridge/temperature";
const TOPIC_LED: &str = "limpet/bridge/led";
const REPORT_MS: u32 = 5_000;

/// What the co-processor is told: the network, the broker, the session
/// (port 1883, keepalive 60 s, no credentials: see `Config`'s fields).
const COPROC: Config<'static> = Config::new(
    env_or(option_env!("LIMPET_SSID"), "limpet-demo"),
    env_or(option_env!("LIMPET_PASSWORD"), "limpet demo wifi").as_bytes(),
    env_or(option_env!("LIMPET_BROKER"), "broker.sim"),
    env_or(option_env!("LIMPET_CLIENT_ID"), "limpet-pico"),
);

#[rp2040_hal::entry]
fn main() -> ! {
    let board::Board {
        link_pins: (ck_in, d_in, ck_out, d_out),
        reset,
        mut led,
        clock,
        mut thermometer,
        nonce,
    } = board::Board::init();

    // The RP2040's pins cannot fail.
    let mut link = Link::new(Side::Host, ck_in, d_in, ck_out, d_out).unwrap();
    // 255-byte frames, 4 in flight, 8 publishes kept until done, 4 subscriptions.
    let mut host: Host<'_, _, 255, 4, 8, 4> = Host::new(HostConfig::new(COPROC, nonce), reset);
    host.subscribe(TOPIC_LED, QoS::AtLeastOnce).unwrap(); // a valid filter

    // The loop never sleeps: the link moves a bit each way per pass (when
    // the co-processor has taken its turn), so the link runs as fast as
    // the loop does.
    let mut next_report = clock.now();
    loop {
        let now = clock.now();
        let _ = link.poll(now); // one bit each way, if the co-processor's clock allows

        match host.poll(now, &mut link) {
            Some(HostEvent::Message { topic, payload, .. }) if topic == TOPIC_LED => {
                let _ = match payload {
                    b"on" => led.set_high(),
                    b"off" => led.set_low(),
                    _ => Ok(()),
                };
            }
            // Ready (the co-processor is configured), Status (WiFi or the
            // broker up or down), Done (a publish acknowledged), Reset (the
            // co-processor was silent for 10 s and got a reset pulse): a
            // firmware with a console would log them.
            _ => {}
        }

        // A reading every 5 s, kept by the driver until acknowledged.
        if now >= next_report {
            next_report = now + Duration::from_ticks(REPORT_MS);
            if let Some(tenths) = thermometer.read_tenths() {
                let mut text = [0; 12];
                let value = decimal(tenths, &mut text);
                // Err(Full): 8 readings wait for a co-processor that is
                // away; this one is dropped.
                let _ = host.publish(TOPIC_TEMP, value, QoS::AtLeastOnce, false);
            }
        }
    }
}

/// A build-time setting, or its default.
const fn env_or(value: Option<&'static str>, default: &'static str) -> &'static str {
    match value {
        Some(v) => v,
        None => default,
    }
}

/// `tenths` as a decimal with one digit after the point ("23.4", "-0.5"),
/// written at the end of `out`.
fn decimal(tenths: i32, out: &mut [u8; 12]) -> &[u8] {
    let mut n = tenths.unsigned_abs();
    let mut i = out.len() - 2;
    out[i + 1] = b'0' + (n % 10) as u8;
    out[i] = b'.';
    n /= 10;
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if tenths < 0 {
        i -= 1;
        out[i] = b'-';
    }
    &out[i..]
}
