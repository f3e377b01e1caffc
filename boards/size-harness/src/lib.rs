//! The size harness: what a firmware using limpet looks like, minus the board.
//!
//! [`client`] is the measured scenario (QoS 0 and 1, no QoS 2 table:
//! `Client<4, 8, 0>`); [`client_qos2`] the same with QoS 2 both ways
//! (`Client<4, 8, 8>`); `client_v5` (feature `mqtt5`, built in a run of its
//! own so the others link no MQTT 5.0) the [`client`] scenario speaking
//! MQTT 5.0; [`baseline`] is the same program without limpet
//! (same entry, same fake transport, same clock reads), so
//! `flash(client) - flash(baseline)` is what limpet costs. The transport and
//! the clock go through [`core::hint::black_box`], so the optimizer can
//! neither know the bytes that arrive nor drop the bytes that leave: every
//! decode path (`Packet::decode_from_server`) and every packet the client
//! sends stays reachable, as in a real firmware.
//!
//! The binaries in `src/bin/` only add the entry point of each target.
//! `scripts/size-report` builds and measures them.
#![no_std]

use core::hint::black_box;

use limpet::client::{Client, Options};
use limpet::net::Transport;
use limpet::session::{Config, Event, Protocol};
use limpet::time::Instant;
use limpet::wire::{QoS, Will};

/// In-flight QoS 1 messages of the measured client.
pub const INFLIGHT: usize = 4;
/// Subscriptions of the measured client.
pub const SUBSCRIPTIONS: usize = 8;

/// The client whose state is measured: 4 in flight, 8 subscriptions, and
/// the default incoming QoS 2 table.
pub type HarnessClient<'a> = Client<'a, INFLIGHT, SUBSCRIPTIONS>;

/// `size_of` the client state, user buffers excluded (they are borrowed).
pub const CLIENT_STATE_BYTES: usize = core::mem::size_of::<HarnessClient<'static>>();

/// Incoming QoS 2 messages awaiting release in the QoS 2 harness.
pub const RELEASES: usize = 8;

/// Goal: the state of `Client<4, 8>` fits 576 bytes (512 with `R = 8`; the
/// default `R = 32`, sized to the brokers' QoS 2 windows, adds 48). Checked
/// on 32-bit targets (the firmware ones; a 64-bit host has wider pointers),
/// for 3.1.1 builds (MQTT 5.0 adds the server's limits and an assigned
/// client id: `client-v5` reports its state).
#[cfg(all(target_pointer_width = "32", not(feature = "mqtt5")))]
const _: () = assert!(
    CLIENT_STATE_BYTES <= 576,
    "Client<4, 8> state grew past 576 bytes"
);

const RX_LEN: usize = 512;
const TX_LEN: usize = 512;
const STORE_LEN: usize = INFLIGHT * 128;

/// Bytes "on the wire": what the fake network delivers. Opaque to the
/// optimizer because every read goes through `black_box`.
static WIRE_IN: [u8; 64] = [0; 64];

/// A transport whose every answer the optimizer cannot predict: results,
/// lengths and received bytes come through `black_box`, and sent bytes are
/// handed to it.
pub struct FakeTransport;

/// What a fake call answers: 0 ok, 1 would block, anything else an error.
fn outcome() -> u8 {
    black_box(0u8)
}

impl Transport for FakeTransport {
    type Error = ();

    fn connect(&mut self) -> nb::Result<(), ()> {
        match outcome() {
            0 => Ok(()),
            1 => Err(nb::Error::WouldBlock),
            _ => Err(nb::Error::Other(())),
        }
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
        match outcome() {
            0 => {
                black_box(data);
                Ok(black_box(data.len()).clamp(1, data.len().max(1)))
            }
            1 => Err(nb::Error::WouldBlock),
            _ => Err(nb::Error::Other(())),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
        match outcome() {
            0 => {
                let wire: &[u8] = black_box(&WIRE_IN[..]);
                let n = black_box(buf.len()).min(buf.len()).min(wire.len());
                buf[..n].copy_from_slice(&wire[..n]);
                Ok(n)
            }
            1 => Err(nb::Error::WouldBlock),
            _ => Err(nb::Error::Other(())),
        }
    }

    fn close(&mut self) {
        black_box(());
    }
}

/// The board's millisecond clock (a timer register on real hardware).
fn clock_ms() -> u32 {
    black_box(0u32)
}

/// A command from the application, unknown at compile time.
fn command() -> u8 {
    black_box(0u8)
}

/// The empty firmware: same buffers, transport and clock as [`client`], no limpet.
pub fn baseline() -> ! {
    let mut rx = [0u8; RX_LEN];
    let mut tx = [0u8; TX_LEN];
    let mut store = [0u8; STORE_LEN];
    black_box(&mut store);
    let mut t = FakeTransport;
    loop {
        let now = clock_ms();
        black_box(now);
        let _ = black_box(t.connect());
        let _ = black_box(t.send(black_box(&tx[..])));
        let _ = black_box(t.recv(&mut rx));
        // The application reads what arrived and fills what leaves.
        black_box(&mut rx);
        black_box(&mut tx);
        if command() == 1 {
            t.close();
        }
    }
}

/// The measured firmware: connect with a will and credentials, subscribe to
/// two filters, publish QoS 0 and QoS 1, handle every event, unsubscribe.
pub fn client() -> ! {
    run::<0>(QoS::AtLeastOnce)
}

/// The same firmware with QoS 2 both ways: it also subscribes and
/// publishes with QoS 2.
pub fn client_qos2() -> ! {
    run::<RELEASES>(QoS::ExactlyOnce)
}

/// The [`client`] scenario in MQTT 5.0 (`Protocol::V5`).
#[cfg(feature = "mqtt5")]
pub fn client_v5() -> ! {
    run_in::<0, _>(QoS::AtLeastOnce, Protocol::V5, FakeTransport)
}

// Inlined, so the client harnesses' code is the scenario alone.
#[inline(always)]
fn run<const R: usize>(top: QoS) -> ! {
    run_over::<R, _>(top, FakeTransport)
}

/// The scenario of [`client`] over any transport `t` ([`FakeTransport`], or
/// TLS over it in [`tls`]).
#[inline(always)]
fn run_over<const R: usize, T: Transport>(top: QoS, t: T) -> ! {
    run_in::<R, _>(top, Protocol::V311, t)
}

/// The scenario of [`client`] in MQTT version `protocol`.
fn run_in<const R: usize, T: Transport>(top: QoS, protocol: Protocol, mut t: T) -> ! {
    let mut rx = [0u8; RX_LEN];
    let mut tx = [0u8; TX_LEN];
    let mut store = [0u8; STORE_LEN];

    let mut config = Config::new("limpet-size");
    config.protocol = protocol;
    config.will = Some(Will {
        topic: "dev/1/status",
        payload: b"offline",
        qos: QoS::AtLeastOnce,
        retain: true,
    });
    config.username = Some("user");
    config.password = Some(b"secret");
    // A firmware often builds its config at run time (ids from flash, etc.):
    // do not let the encoder constant-fold the CONNECT.
    let config = black_box(config);

    let mut client: Client<'_, INFLIGHT, SUBSCRIPTIONS, R> =
        match Client::new(config, Options::default(), &mut rx, &mut tx, &mut store) {
            Ok(client) => client,
            Err(e) => {
                black_box(e);
                #[allow(clippy::empty_loop)]
                loop {}
            }
        };
    black_box(client.subscribe(black_box("dev/1/cmd/#"), top)).ok();
    black_box(client.subscribe(black_box("fleet/+/config"), QoS::AtMostOnce)).ok();

    // The superloop: read the clock, poll once, act on commands.
    loop {
        let now = Instant::from_ticks(clock_ms());
        if let Some(event) = client.poll(now, &mut t) {
            handle(event);
        }
        match command() {
            1 => {
                let r = client.publish(
                    black_box("dev/1/temp"),
                    black_box(b"21.5"),
                    QoS::AtMostOnce,
                    false,
                );
                black_box(r).ok();
            }
            2 => {
                let r = client.publish(black_box("dev/1/log"), black_box(b"boot"), top, false);
                black_box(r).ok();
            }
            3 => {
                black_box(client.unsubscribe(black_box("fleet/+/config"))).ok();
            }
            _ => {}
        }
        black_box(client.next_deadline(now));
        black_box(client.is_connected());
        black_box(client.counters());
    }
}

#[cfg(feature = "tls")]
pub mod tls;

/// What an application does with each event; every field is used.
fn handle(event: Event<'_>) {
    match event {
        Event::Up { session_present } => {
            black_box(session_present);
        }
        Event::Down(reason) => {
            black_box(reason);
        }
        Event::ConnectFailed(reason) => {
            black_box(reason);
        }
        Event::Message(m) => {
            black_box(m.topic);
            black_box(m.payload);
            black_box(m.qos);
            black_box(m.retain);
            black_box(m.dup);
        }
        Event::Published(token) => {
            black_box(token.0);
        }
        Event::Subscribed { topic, qos } => {
            black_box(topic);
            black_box(qos);
        }
        Event::SubscribeFailed { topic } => {
            black_box(topic);
        }
        Event::Unsubscribed { topic } => {
            black_box(topic);
        }
        Event::Rejected(what) => {
            black_box(what);
        }
        Event::Chunk(c) => {
            black_box(c);
        }
    }
}

/// Bare metal: a panic stops the firmware. `PanicInfo` is not read, so no
/// formatting machinery is linked for it.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    #[allow(clippy::empty_loop)]
    loop {}
}
