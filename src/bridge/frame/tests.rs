use super::*;
use crate::bridge::test_pipe::{carry, Faults, Noise, Port};
use crate::time::Duration;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

type F = Framer<32, 4>;

struct Pair {
    a: F,
    b: F,
    pa: Port,
    pb: Port,
    now: Instant,
    noise: Noise,
    faults: Faults,
}

impl Pair {
    fn new(start: u32) -> Pair {
        Pair {
            a: F::new(FrameConfig::new(0xA)),
            b: F::new(FrameConfig::new(0xB)),
            pa: Port::default(),
            pb: Port::default(),
            now: Instant::from_ticks(start),
            noise: Noise(0x1234_5678),
            faults: Faults::default(),
        }
    }

    /// One millisecond: both poll, the line carries 8 units each way.
    fn step(&mut self) -> (Option<Event>, Option<Event>) {
        self.now += Duration::from_ticks(1);
        let ea = self.a.poll(self.now, &mut self.pa);
        let eb = self.b.poll(self.now, &mut self.pb);
        carry(&mut self.pa, &mut self.pb, 8, self.faults, &mut self.noise);
        carry(&mut self.pb, &mut self.pa, 8, self.faults, &mut self.noise);
        (ea, eb)
    }

    fn until_up(&mut self) {
        for _ in 0..1_000 {
            self.step();
            if self.a.is_up() && self.b.is_up() {
                return;
            }
        }
        panic!("no handshake");
    }
}

/// A payload that says its number.
fn payload(n: u32) -> [u8; 12] {
    let mut p = [0x7E; 12];
    p[..4].copy_from_slice(&n.to_be_bytes());
    p
}

/// Sends `count` payloads each way, checking each end receives exactly
/// 0, 1, 2, … in order; the steps it took.
fn soak(pair: &mut Pair, count: u32, max_steps: u32) -> u32 {
    let (mut sent_a, mut sent_b, mut got_a, mut got_b) = (0u32, 0u32, 0u32, 0u32);
    for step in 0..max_steps {
        if sent_a < count && pair.a.send(&payload(sent_a)).is_ok() {
            sent_a += 1;
        }
        if sent_b < count && pair.b.send(&payload(sent_b)).is_ok() {
            sent_b += 1;
        }
        pair.step();
        if let Some(p) = pair.a.received() {
            assert_eq!(p, payload(got_a), "a's payload {got_a}");
            got_a += 1;
            pair.a.release();
        }
        if let Some(p) = pair.b.received() {
            assert_eq!(p, payload(got_b), "b's payload {got_b}");
            got_b += 1;
            pair.b.release();
        }
        if got_a == count && got_b == count {
            return step;
        }
    }
    panic!("{got_a} and {got_b} of {count} arrived");
}

#[test]
fn after_the_handshake_payloads_arrive_once_in_order_both_ways() {
    let mut pair = Pair::new(0);
    assert_eq!(pair.a.send(b"early"), Err(SendError::NotUp));
    let mut ups = 0;
    for _ in 0..100 {
        let (ea, eb) = pair.step();
        for e in [ea, eb] {
            if let Some(Event::Up { max_payload }) = e {
                assert_eq!(max_payload, 32);
                ups += 1;
            }
        }
    }
    assert_eq!(ups, 2);
    soak(&mut pair, 500, 50_000);
    let c = pair.a.counters();
    assert_eq!((c.bad, c.retransmitted, c.duplicates), (0, 0, 0));
    assert_eq!(c.data_sent, 500);
}

#[test]
fn corrupted_and_lost_units_are_repaired_and_nothing_is_lost_or_repeated() {
    for (corrupt, drop) in [(300, 0), (0, 300), (100, 100)] {
        let mut pair = Pair::new(0);
        pair.faults = Faults { corrupt, drop };
        pair.until_up();
        soak(&mut pair, 1_000, 2_000_000);
        let c = pair.a.counters();
        assert!(c.bad + c.out_of_order > 10, "faults were seen: {c:?}");
        assert!(c.retransmitted > 10, "{c:?}");
    }
}

#[test]
fn a_lost_last_frame_is_sent_again_by_the_timer() {
    let mut pair = Pair::new(0);
    pair.until_up();
    pair.a.send(b"only one").unwrap();
    // The whole frame vanishes on the line.
    pair.a.poll(pair.now, &mut pair.pa);
    pair.pa.out.clear();
    let sent = pair.now;
    let mut arrived = None;
    for _ in 0..2_000 {
        pair.step();
        if pair.b.received() == Some(b"only one") {
            arrived = Some(pair.now);
            pair.b.release();
            break;
        }
    }
    let arrived = arrived.expect("never arrived");
    let after = elapsed(sent, arrived);
    assert!((500..600).contains(&after), "{after} ms");
    assert_eq!(pair.a.counters().retransmitted, 1);
}

#[test]
fn a_peer_that_restarts_is_detected_and_numbering_starts_over() {
    let mut pair = Pair::new(0);
    pair.until_up();
    soak(&mut pair, 10, 10_000);
    // Two frames in flight when b restarts (state wiped, a new nonce).
    pair.a.send(b"lost 1").unwrap();
    pair.a.send(b"lost 2").unwrap();
    pair.b = F::new(FrameConfig::new(0xB + 1));
    let mut restarted = None;
    for _ in 0..1_000 {
        if let (Some(Event::PeerRestarted { dropped }), _) = pair.step() {
            restarted = Some(dropped);
        }
        if pair.a.is_up() && pair.b.is_up() {
            break;
        }
    }
    assert_eq!(restarted, Some(2));
    assert_eq!(pair.a.counters().peer_restarts, 1);
    // The frames of the old numbering never reach the new b.
    assert_eq!(pair.b.counters().delivered, 0);
    soak(&mut pair, 50, 50_000);
}

#[test]
fn a_peer_that_restarts_with_the_same_nonce_is_detected_by_the_echo() {
    let mut pair = Pair::new(0);
    pair.until_up();
    soak(&mut pair, 10, 10_000);
    pair.b = F::new(FrameConfig::new(0xB));
    let mut restarted = false;
    for _ in 0..1_000 {
        restarted |= matches!(pair.step().0, Some(Event::PeerRestarted { .. }));
        if restarted && pair.a.is_up() && pair.b.is_up() {
            break;
        }
    }
    assert!(restarted);
    soak(&mut pair, 50, 50_000);
}

#[test]
fn the_largest_payload_is_the_smaller_of_the_two_and_longer_is_refused() {
    let mut a = Framer::<200, 2>::new(FrameConfig::new(1));
    let mut b = Framer::<64, 2>::new(FrameConfig::new(2));
    let (mut pa, mut pb) = (Port::default(), Port::default());
    let mut noise = Noise(1);
    let mut now = Instant::from_ticks(0);
    for _ in 0..200 {
        now += Duration::from_ticks(1);
        a.poll(now, &mut pa);
        b.poll(now, &mut pb);
        carry(&mut pa, &mut pb, 8, Faults::default(), &mut noise);
        carry(&mut pb, &mut pa, 8, Faults::default(), &mut noise);
    }
    assert_eq!((a.max_payload(), b.max_payload()), (64, 64));
    assert_eq!(a.send(&[0; 65]), Err(SendError::TooLong));
    assert_eq!(a.send(&[0; 64]), Ok(()));
    assert_eq!(a.send(&[0; 1]), Ok(()));
    assert_eq!(a.send(&[0; 1]), Err(SendError::WindowFull));
    assert_eq!(a.in_flight(), 2);
}

#[test]
fn a_payload_not_released_stops_the_reading_and_nothing_is_lost() {
    let mut pair = Pair::new(0);
    pair.until_up();
    for n in 0..4 {
        pair.a.send(&payload(n)).unwrap();
    }
    for _ in 0..2_000 {
        pair.step();
    }
    // b holds the first: one delivered, the rest wait on the line.
    assert_eq!(pair.b.received(), Some(&payload(0)[..]));
    assert_eq!(pair.b.counters().delivered, 1);
    let mut got = 1;
    pair.b.release();
    for _ in 0..2_000 {
        pair.step();
        if let Some(p) = pair.b.received() {
            assert_eq!(p, payload(got));
            got += 1;
            pair.b.release();
        }
    }
    assert_eq!(got, 4);
}

#[test]
fn malformed_frames_are_refused_counted_and_never_delivered() {
    let mut pair = Pair::new(0);
    pair.until_up();
    let expected = pair.b.expected;
    let frames: [&[u8]; 5] = [
        // Unknown kind, with a good CRC.
        &[9, 0, 0, 0],
        // A length that does not match.
        &[0, expected, 0, 5, 1, 2],
        // Too short for a header.
        &[0, 1],
        // Longer than P.
        &[0, expected, 0, 200, 1],
        // A bad handshake (wrong length).
        &[3, 0, 0, 2, 1, 1],
    ];
    for f in frames {
        let crc = crc::crc16(f).to_be_bytes();
        for &b in f.iter().chain(&crc) {
            pair.b.unit(Unit::Byte(b));
        }
        assert_eq!(pair.b.unit(Unit::End), None, "{f:?}");
    }
    assert_eq!(pair.b.counters().bad, 5);
    assert_eq!(pair.b.counters().delivered, 0);
    assert!(pair.b.is_up());
    soak(&mut pair, 20, 10_000);
}

#[test]
fn the_timers_work_from_any_clock_start_and_across_the_wrap() {
    for start in [0, 1 << 31, u32::MAX - 300] {
        let mut pair = Pair::new(start);
        pair.faults = Faults {
            corrupt: 0,
            drop: 200,
        };
        pair.until_up();
        soak(&mut pair, 300, 1_000_000);
        // Idle and all acknowledged: nothing to wait for.
        for _ in 0..2_000 {
            pair.step();
        }
        assert_eq!(pair.a.in_flight(), 0);
    }
}

#[test]
fn next_deadline_is_now_while_there_is_work_and_the_timer_otherwise() {
    let mut pair = Pair::new(1_000);
    // Before the handshake: the hello to send now.
    assert_eq!(pair.a.next_deadline(), Some(pair.a.now));
    pair.until_up();
    for _ in 0..100 {
        pair.step();
    }
    assert_eq!(pair.a.next_deadline(), None);
    pair.a.send(b"x").unwrap();
    assert_eq!(pair.a.next_deadline(), Some(pair.a.now));
    pair.a.poll(pair.now, &mut pair.pa);
    // Sent, not yet acknowledged: the retransmission timer.
    assert_eq!(
        pair.a.next_deadline(),
        Some(pair.now + Duration::from_ticks(500))
    );
}
