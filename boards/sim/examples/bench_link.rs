//! The bridge link's efficiency: superloop iterations per payload bit, the
//! framing overhead on 100-byte messages, and the throughput they imply at
//! 100 kHz and 1 MHz loop rates, next to the original bridge's 118 chars/s.
//!
//!     cargo run --release -p limpet-sim --example bench_link
//!
//! Host and co-processor each run `framer.poll` + `link.poll` once per
//! iteration over simulated wires, sending 100-byte payloads (random bytes,
//! text, or all 0xFF — the worst case of bit stuffing) one way or both
//! ways, for 3,000 payloads after a warm-up of 50. Two timings:
//! - `in turn`: the co-processor polls after the host in the same pass and
//!   sees its writes (two free-running MCUs, one answering within the
//!   other's pass);
//! - `latched`: both sample the wires as they were at the start of the pass
//!   (the slowest the handshake can be: it needs the other's answer from
//!   the previous pass).
//!
//! The loop's clock advances 1 ms per 100 iterations (a 100 kHz loop), so
//! the frame layer's timers see realistic times.

use limpet::bridge::frame::{FrameConfig, Framer};
use limpet::bridge::link::{Link, Side};
use limpet::time::Instant;
use limpet_sim::wires::{Pins, Wires};

const PAYLOAD: usize = 100;
const WARMUP: u64 = 50;
const MEASURED: u64 = 3_000;

type SimLink = Link<
    limpet_sim::wires::WireIn,
    limpet_sim::wires::WireIn,
    limpet_sim::wires::WireOut,
    limpet_sim::wires::WireOut,
>;

fn link(side: Side, (ck_in, d_in, ck_out, d_out): Pins) -> SimLink {
    Link::new(side, ck_in, d_in, ck_out, d_out).unwrap()
}

#[derive(Clone, Copy)]
enum Content {
    Random,
    Text,
    Ones,
}

fn fill(content: Content, seed: &mut u64, out: &mut [u8; PAYLOAD]) {
    const TEXT: &[u8] = b"sensors/kitchen/temperature 21.5 C, humidity 48 %, ok; ";
    for (i, b) in out.iter_mut().enumerate() {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *b = match content {
            Content::Random => (*seed >> 33) as u8,
            Content::Text => TEXT[i % TEXT.len()],
            Content::Ones => 0xFF,
        };
    }
}

struct Run {
    iterations: u64,
    /// Link bits the host sent while the measured payloads went.
    host_bits: u64,
    payloads_to_co: u64,
    payloads_to_host: u64,
}

fn run(latched: bool, both_ways: bool, content: Content) -> Run {
    let wires = Wires::new();
    wires.set_latched(latched);
    let mut host_link = link(Side::Host, wires.host_pins());
    let mut co_link = link(Side::Coproc, wires.coproc_pins());
    let mut host = Framer::<255, 4>::new(FrameConfig::new(1));
    let mut co = Framer::<255, 4>::new(FrameConfig::new(2));
    let (mut seed, mut buf) = (7u64, [0u8; PAYLOAD]);
    let (mut to_co, mut to_host) = (0u64, 0u64);
    let mut start = None;
    let mut i: u64 = 0;
    loop {
        let now = Instant::from_ticks((i / 100) as u32);
        if host.can_send() {
            fill(content, &mut seed, &mut buf);
            host.send(&buf).unwrap();
        }
        if both_ways && co.can_send() {
            fill(content, &mut seed, &mut buf);
            co.send(&buf).unwrap();
        }
        host.poll(now, &mut host_link);
        host_link.poll(now).unwrap();
        co.poll(now, &mut co_link);
        co_link.poll(now).unwrap();
        if latched {
            wires.latch();
        }
        if co.received().is_some() {
            co.release();
            to_co += 1;
        }
        if host.received().is_some() {
            host.release();
            to_host += 1;
        }
        if to_co == WARMUP && start.is_none() {
            start = Some((i, host_link.counters().bits, to_co, to_host));
        }
        if to_co == WARMUP + MEASURED {
            let (i0, bits0, co0, host0) = start.unwrap();
            return Run {
                iterations: i - i0,
                host_bits: u64::from(host_link.counters().bits - bits0),
                payloads_to_co: to_co - co0,
                payloads_to_host: to_host - host0,
            };
        }
        i += 1;
    }
}

fn main() {
    println!("bridge link, {PAYLOAD}-byte payloads, Framer<255, 4>, {MEASURED} payloads measured");
    println!();
    println!(
        "| timing | traffic | payload | iterations per payload bit | framing overhead | at 100 kHz | at 1 MHz |"
    );
    println!("|---|---|---|---|---|---|---|");
    for latched in [false, true] {
        for both_ways in [false, true] {
            for (content, name) in [
                (Content::Random, "random"),
                (Content::Text, "text"),
                (Content::Ones, "0xFF"),
            ] {
                let r = run(latched, both_ways, content);
                let payload_bits = (r.payloads_to_co * PAYLOAD as u64 * 8) as f64;
                let per_bit = r.iterations as f64 / payload_bits;
                let overhead = r.host_bits as f64 / payload_bits - 1.0;
                let rate = |hz: f64| hz / per_bit / 8.0;
                if both_ways {
                    assert!(
                        r.payloads_to_host + 8 >= r.payloads_to_co,
                        "one way starved"
                    );
                }
                println!(
                    "| {} | {} | {} | {:.3} | {:.1} % | {:.0} B/s | {:.0} B/s |",
                    if latched { "latched" } else { "in turn" },
                    if both_ways { "both ways" } else { "one way" },
                    name,
                    per_bit,
                    overhead * 100.0,
                    rate(100e3),
                    rate(1e6),
                );
            }
        }
    }
    println!();
    println!("(the original bridge: about 118 chars/s; each direction above carries that rate)");
}
