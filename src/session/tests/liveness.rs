//! Connection health: CONNACK's session flag, replies overdue on a busy
//! link, timers from any clock start and across the wrap.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn session_present_after_a_clean_connect_is_not_believed_and_subscriptions_are_sent() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("cmd", QoS::AtLeastOnce).unwrap();
    assert!(b.sends_connect(at(0)));
    // [MQTT-3.2.2-1] says a clean session is never present; this broker says it is.
    let ack = ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    };
    assert_eq!(
        b.session.handle(at(1), Packet::ConnAck(ack)),
        Ok(Handled::Event(Event::Up {
            session_present: false
        }))
    );
    assert!(matches!(b.expect_sent(at(1)), Packet::Subscribe(_)));
}

// ------------------------------------------------------------- liveness

#[test]
fn replies_overdue_on_a_link_that_keeps_delivering_bytes_are_not_a_dead_link() {
    let mut store = [0u8; 128];
    let mut config = Config::new("c");
    config.keepalive = 0;
    let mut b = Scripted::<2, 1>::new(config, &mut store);
    b.connect(at(0), false);
    let token = b
        .session
        .publish("t", b"x", QoS::AtLeastOnce, false)
        .unwrap();
    b.expect_sent(at(0));
    // The PUBACK waits behind a backlog, but bytes keep arriving.
    for t in (1_000..60_000).step_by(1_000) {
        b.session.bytes_received(at(t));
        b.expect_quiet(at(t));
    }
    assert_eq!(b.session.counters().republishes, 0);
    assert_eq!(
        b.answer(at(60_000), Packet::PubAck(token.0)),
        Ok(Some(Event::Published(token)))
    );
    // On a quiet link the same wait is a retransmission, then a dead link.
    let t2 = b
        .session
        .publish("t", b"y", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(publish_of(b.expect_sent(at(60_000))).pid, Some(t2.0));
    assert!(publish_of(b.expect_sent(at(70_000))).dup);
}

#[test]
fn timers_run_the_same_from_any_clock_start_and_across_the_wrap() {
    for start in [
        0u32,
        (1 << 31) - 3_000,
        1 << 31,
        (1 << 31) + 3_000,
        u32::MAX - 3_000,
    ] {
        let t = |ms: u32| Instant::from_ticks(start.wrapping_add(ms));
        let mut store = [0u8; 128];
        let mut config = Config::new("c");
        config.keepalive = 20;
        let mut b = Scripted::<2, 1>::new(config, &mut store);
        b.session.subscribe("s", QoS::AtMostOnce).unwrap();
        b.connect(t(0), false);
        assert!(matches!(b.expect_sent(t(0)), Packet::Subscribe(_)));
        let token = b
            .session
            .publish("p", b"", QoS::AtLeastOnce, false)
            .unwrap();
        assert!(matches!(b.expect_sent(t(0)), Packet::Publish(_)));
        assert_eq!(b.session.next_deadline(), Some(t(5_000)), "start {start}");
        b.expect_quiet(t(4_999));
        assert_eq!(b.expect_sent(t(5_000)), Packet::PingReq, "start {start}");
        b.expect_quiet(t(9_999));
        // No SUBACK, PUBACK or PINGRESP for 10 s: the oldest is overdue.
        assert_eq!(
            b.sent(t(10_000)).map(|_| ()),
            Err(Reason::SubAckTimeout),
            "start {start}"
        );
        b.session.transport_down();
        b.connect(t(20_000), false);
        assert!(matches!(b.expect_sent(t(20_000)), Packet::Subscribe(_)));
        assert!(publish_of(b.expect_sent(t(20_000))).dup);
        assert_eq!(
            b.answer(t(20_001), Packet::PubAck(token.0)),
            Ok(Some(Event::Published(token)))
        );
    }
}
