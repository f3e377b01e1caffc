//! The bridge's link and frames over the simulated wires, as a host and a
//! co-processor would run them: given line noise, a stuck clock, a
//! co-processor that crashes, or one side much slower, then every payload
//! arrives once and in order (or, across a crash, the loss is reported to
//! the layer above).

use limpet::bridge::frame::{Event, FrameConfig, Framer};
use limpet::bridge::link::{Link, Side};
use limpet::time::Instant;
use limpet_sim::wires::{Line, Pins, WireIn, WireOut, Wires};

type SimLink = Link<WireIn, WireIn, WireOut, WireOut>;
type SimFramer = Framer<128, 4>;

fn link(side: Side, (ck_in, d_in, ck_out, d_out): Pins) -> SimLink {
    Link::new(side, ck_in, d_in, ck_out, d_out).unwrap()
}

/// One side: its engine, its frames, and what it sent and received.
struct End {
    link: SimLink,
    framer: SimFramer,
    sent: u32,
    received: u32,
    restarts_seen: u32,
}

impl End {
    fn new(side: Side, pins: Pins, nonce: u32) -> End {
        End {
            link: link(side, pins),
            framer: SimFramer::new(FrameConfig::new(nonce)),
            sent: 0,
            received: 0,
            restarts_seen: 0,
        }
    }

    /// One superloop pass: queue the next payload if there is room, poll,
    /// check what arrived is the next in order.
    fn pass(&mut self, now: Instant, count: u32) {
        if self.sent < count && self.framer.can_send() {
            self.framer.send(&payload(self.sent)).unwrap();
            self.sent += 1;
        }
        match self.framer.poll(now, &mut self.link) {
            Some(Event::PeerRestarted { dropped }) => {
                // The other end starts counting again from 0 (the layer
                // above would replay what it must); at most a window lost.
                assert!(dropped <= 4);
                self.sent = 0;
                self.received = 0;
                self.restarts_seen += 1;
            }
            Some(Event::Received) => {
                let p = self.framer.received().unwrap();
                assert_eq!(p, &payload(self.received)[..], "payload {}", self.received);
                self.received += 1;
                self.framer.release();
            }
            _ => {}
        }
        self.link.poll(now).unwrap();
    }
}

/// 40 bytes that say their number.
fn payload(n: u32) -> [u8; 40] {
    let mut p = [0xA5; 40];
    p[..4].copy_from_slice(&n.to_be_bytes());
    p[39] = 0x7E;
    p
}

/// 1 ms per 100 iterations: a 100 kHz loop.
fn at(i: u64) -> Instant {
    Instant::from_ticks((i / 100) as u32)
}

#[test]
fn given_a_bit_error_rate_of_1e_4_then_thousands_of_payloads_cross_both_ways_intact() {
    let wires = Wires::new();
    wires.set_bit_error_rate(1e-4, 42);
    let mut host = End::new(Side::Host, wires.host_pins(), 1);
    let mut co = End::new(Side::Coproc, wires.coproc_pins(), 2);
    let count = 2_000;
    let mut i = 0;
    while host.received < count || co.received < count {
        host.pass(at(i), count);
        co.pass(at(i), count);
        i += 1;
        assert!(
            i < 20_000_000,
            "stuck: {} and {}",
            host.received,
            co.received
        );
    }
    let (flips, reads) = wires.flips();
    assert!(flips > 50, "{flips} flips in {reads} bits");
    let repaired = host.framer.counters().retransmitted + co.framer.counters().retransmitted;
    assert!(repaired > 0);
    println!(
        "{count} payloads each way, {flips} bit flips in {reads} bits, {repaired} frames sent again, {i} iterations"
    );
}

#[test]
fn given_a_stuck_clock_then_the_link_reports_it_still_and_resumes_without_loss() {
    let wires = Wires::new();
    let mut host = End::new(Side::Host, wires.host_pins(), 1);
    let mut co = End::new(Side::Coproc, wires.coproc_pins(), 2);
    let count = 300;
    let mut i = 0;
    while co.received < 100 {
        host.pass(at(i), count);
        co.pass(at(i), count);
        i += 1;
    }
    // The co-processor's clock line sticks for 5 s.
    wires.stick(Line::CoprocClock, Some(true));
    let stuck_at = i;
    while i < stuck_at + 500_000 {
        host.pass(at(i), count);
        co.pass(at(i), count);
        i += 1;
    }
    let still = host.link.still_for(at(i)).max(co.link.still_for(at(i)));
    assert!(still >= 4_900, "{still} ms");
    wires.stick(Line::CoprocClock, None);
    while co.received < count || host.received < count {
        host.pass(at(i), count);
        co.pass(at(i), count);
        i += 1;
        assert!(i < stuck_at + 5_000_000, "no recovery");
    }
    assert_eq!(host.restarts_seen + co.restarts_seen, 0);
}

#[test]
fn given_a_coprocessor_that_crashes_five_times_then_the_host_learns_it_each_time_and_both_count_again(
) {
    let wires = Wires::new();
    let mut host = End::new(Side::Host, wires.host_pins(), 1);
    let mut co = End::new(Side::Coproc, wires.coproc_pins(), 2);
    let count = 400;
    let mut i = 0;
    for crash in 0..5u32 {
        while co.received < 50 {
            host.pass(at(i), count);
            co.pass(at(i), count);
            i += 1;
        }
        // State wiped: a new engine and framer on the same wires, with a
        // new nonce (its boot counter).
        drop(co);
        co = End::new(Side::Coproc, wires.coproc_pins(), 10 + crash);
        while host.restarts_seen == crash || !(host.framer.is_up() && co.framer.is_up()) {
            host.pass(at(i), count);
            co.pass(at(i), count);
            i += 1;
            assert!(i < 100_000_000, "no new handshake");
        }
    }
    assert_eq!(host.restarts_seen, 5);
    while co.received < count {
        host.pass(at(i), count);
        co.pass(at(i), count);
        i += 1;
    }
}

#[test]
fn given_either_side_much_slower_then_the_link_runs_at_the_slower_pace_and_loses_nothing() {
    for (host_every, co_every) in [(1u64, 9u64), (11, 1)] {
        let wires = Wires::new();
        let mut host = End::new(Side::Host, wires.host_pins(), 1);
        let mut co = End::new(Side::Coproc, wires.coproc_pins(), 2);
        let count = 200;
        let mut i = 0;
        while host.received < count || co.received < count {
            if i % host_every == 0 {
                host.pass(at(i), count);
            }
            if i % co_every == 0 {
                co.pass(at(i), count);
            }
            i += 1;
            assert!(i < 50_000_000);
        }
        let slower = host_every.max(co_every);
        let bits = u64::from(host.link.counters().bits);
        // Each bit needs a pass of the slower side.
        assert!(i >= (bits - 2) * slower, "{i} iterations, {bits} bits");
        assert!(i <= (bits + 1) * slower * 2, "{i} iterations, {bits} bits");
    }
}
