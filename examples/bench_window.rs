//! Cost of one QoS 1 message through the client as the in-flight window
//! grows: publish, send, PUBACK received and handled, `Published` returned.
//!
//! `cargo run --release --features std --example bench_window [messages]`
//!
//! The broker is an in-memory loop that answers each PUBLISH with its PUBACK
//! by reading two header bytes, so nearly all the time measured is the
//! client's. The application keeps the window full: it publishes until
//! `Full`, then polls. Best of five runs per window.

use limpet::client::{Client, Options};
use limpet::net::Transport;
use limpet::session::{Config, Event};
use limpet::time::Instant;
use limpet::wire::QoS;
use std::collections::VecDeque;
use std::time::Instant as Clock;

/// A transport whose far end answers PUBLISH with PUBACK and CONNECT with CONNACK.
struct Loop {
    to_client: VecDeque<u8>,
}

impl Transport for Loop {
    type Error = ();

    fn connect(&mut self) -> nb::Result<(), ()> {
        Ok(())
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
        // The client sends whole packets at the start of each call: CONNECT
        // (0x10), PUBLISH QoS 1 (0x32, or 0x3A with DUP), PINGREQ.
        let mut rest = data;
        while let [first, ..] = *rest {
            let (len, header) = remaining(&rest[1..]);
            let total = 1 + header + len;
            match first & 0xF0 {
                0x10 => self.to_client.extend([0x20, 2, 0, 0]),
                0x30 => {
                    let body = &rest[1 + header..];
                    let topic = usize::from(u16::from_be_bytes([body[0], body[1]]));
                    self.to_client
                        .extend([0x40, 2, body[2 + topic], body[3 + topic]]);
                }
                0xC0 => self.to_client.extend([0xD0, 0]),
                _ => {}
            }
            rest = &rest[total.min(rest.len())..];
        }
        Ok(data.len())
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
        let n = buf.len().min(self.to_client.len());
        if n == 0 {
            return Err(nb::Error::WouldBlock);
        }
        for (b, v) in buf.iter_mut().zip(self.to_client.drain(..n)) {
            *b = v;
        }
        Ok(n)
    }

    fn close(&mut self) {}
}

/// Remaining length (§2.2.3) and how many bytes it took.
fn remaining(b: &[u8]) -> (usize, usize) {
    let mut n = 0;
    for (i, &byte) in b.iter().take(4).enumerate() {
        n |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return (n, i + 1);
        }
    }
    (n, 4)
}

/// Nanoseconds per message with `N` in flight.
fn run<const N: usize>(messages: u64) -> f64 {
    let mut rx = [0u8; 256];
    let mut tx = vec![0u8; 64 * N.max(16)];
    let mut store = vec![0u8; 32 * N];
    let mut config = Config::new("bench");
    config.keepalive = 0;
    let mut client: Client<'_, N, 1, 0> =
        Client::new(config, Options::default(), &mut rx, &mut tx, &mut store).expect("config");
    let mut net = Loop {
        to_client: VecDeque::with_capacity(8 * N + 64),
    };
    let now = Instant::from_ticks(0);
    while !client.is_connected() {
        client.poll(now, &mut net);
    }
    let payload = [0x55u8; 8];
    let (mut published, mut acked) = (0u64, 0u64);
    let start = Clock::now();
    while acked < messages {
        while published < messages
            && client
                .publish("bench/t", &payload, QoS::AtLeastOnce, false)
                .is_ok()
        {
            published += 1;
        }
        while let Some(event) = client.poll(now, &mut net) {
            if let Event::Published(_) = event {
                acked += 1;
            }
        }
    }
    start.elapsed().as_nanos() as f64 / messages as f64
}

fn best_of<const N: usize>(messages: u64) -> f64 {
    (0..5)
        .map(|_| run::<N>(messages))
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let messages: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300_000);
    println!("cost per QoS 1 message (publish → PUBACK handled), best of 5 runs of {messages}");
    let rows = [
        (1, best_of::<1>(messages)),
        (4, best_of::<4>(messages)),
        (16, best_of::<16>(messages)),
        (64, best_of::<64>(messages)),
        (255, best_of::<255>(messages)),
        (1024, best_of::<1024>(messages)),
    ];
    let base = rows[0].1;
    println!("{:>8} {:>10} {:>10}", "window", "ns/msg", "vs 1");
    for (window, ns) in rows {
        println!("{window:>8} {ns:>10.1} {:>9.2}x", ns / base);
    }
    let at64 = rows[3].1 / base;
    println!(
        "window 64 / window 1 = {at64:.2} (goal: within 2x) {}",
        if at64 <= 2.0 { "met" } else { "MISSED" }
    );
}
