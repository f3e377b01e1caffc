//! Reconnecting: a backoff that grows while connections fail and starts over
//! once one proves itself; a CONNACK that breaks the protocol (issue 6,
//! defects 5 and 11).

use super::sim::Sim;
use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn a_broker_that_drops_the_client_after_connack_gets_fewer_and_fewer_attempts() {
    let mut b = Buffers::new();
    let options = Options::default(); // 250 ms to 8 s
    let mut c = client_with(&mut b, Config::new("dev"), options);
    let mut sim = Sim::starting_at(0);
    sim.broker.kick_after_connack = true;
    let mut ups: heapless::Vec<u32, 256> = heapless::Vec::new();
    sim.idle(&mut c, 120_000, |e, now| {
        if let Event::Up { .. } = e {
            ups.push(now.ticks()).unwrap();
        }
    });
    // Resetting the backoff on each CONNACK gave an attempt every 125–250 ms
    // (~600 in two minutes); growing it gives a few dozen.
    assert!(ups.len() < 60, "{} connections", ups.len());
    let late: u32 = ups
        .windows(2)
        .rev()
        .take(5)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap();
    assert!(late >= 250, "{late}");
    let mean_late = ups
        .windows(2)
        .rev()
        .take(10)
        .map(|w| w[1] - w[0])
        .sum::<u32>()
        / 10;
    assert!(
        mean_late >= 2_000,
        "mean of the last ten gaps {mean_late} ms"
    );

    // A connection that proves itself (stays up 10 s) starts over from 250 ms.
    sim.broker.kick_after_connack = false;
    let mut up_at = None;
    sim.idle(&mut c, 20_000, |e, now| {
        if let Event::Up { .. } = e {
            up_at = Some(now);
        }
    });
    let up_at = up_at.expect("connected");
    assert!(c.is_connected());
    sim.t.close(); // the link drops
    let mut down_at = None;
    let mut again = None;
    sim.idle(&mut c, 5_000, |e, now| match e {
        Event::Down(_) => down_at = Some(now),
        Event::Up { .. } => again = Some(now),
        _ => {}
    });
    let gap = (again.expect("reconnected") - down_at.expect("went down")).ticks();
    assert!((up_at - Instant::from_ticks(0)).ticks() > 0);
    assert!(
        gap <= 750,
        "backoff not reset after a stable connection: {gap} ms"
    );
}

#[test]
fn a_connack_with_reserved_flag_bits_set_closes_the_connection_as_a_protocol_error_and_reconnects()
{
    use crate::wire::DecodeError;
    // §3.2.2.1: bits 7–1 of the Connect Acknowledge Flags are reserved, 0.
    for flags in [0x02u8, 0x80, 0xFE, 0xFF] {
        let mut b = Buffers::new();
        let mut c = client(&mut b);
        let mut t = Pipe::new();
        assert_eq!(poll_kind(&mut c, at(0), &mut t), None);
        assert_eq!(t.sent(|p| assert!(matches!(p, Packet::Connect(_)))), 1);
        t.push_bytes(&[0x20, 2, flags, 0]);
        // §4.8: a protocol violation closes the connection.
        assert_eq!(
            poll_kind(&mut c, at(1), &mut t),
            Some(Event::ConnectFailed(Reason::Malformed(
                DecodeError::BadConnAck
            ))),
            "flags {flags:#04x}"
        );
        assert!(!c.is_connected());
        assert!(
            !t.connected,
            "flags {flags:#04x}: the connection stays open"
        );
        assert_eq!(c.counters().protocol_errors, 1);
        // Then a new connection, after the backoff, that a good CONNACK brings up.
        let retry = c.next_deadline(at(1)).unwrap();
        assert!(retry > at(1));
        bring_up_at(&mut c, &mut t, retry, retry);
        assert_eq!(t.connects, 2);
    }
}
