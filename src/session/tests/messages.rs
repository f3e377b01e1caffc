//! QoS 1 both ways, packet ids, skipped messages, a transmit path that stalls.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn qos1_is_retransmitted_with_dup_and_the_same_id_then_the_link_is_dead() {
    let mut store = [0u8; 128];
    let mut config = Config::new("c");
    config.keepalive = 0; // keep pings out of the way
    let mut b = Scripted::<2, 1>::new(config, &mut store);
    b.connect(at(0), false);
    let token = b
        .session
        .publish("t/1", b"hello", QoS::AtLeastOnce, false)
        .unwrap();
    let first = publish_of(b.expect_sent(at(0)));
    assert_eq!(
        (first.dup, first.pid, first.qos),
        (false, Some(token.0), QoS::AtLeastOnce)
    );
    assert_eq!(first.payload, b"hello");
    b.expect_quiet(at(9_999));
    // response_time (10 s) without PUBACK: the same message with DUP, 4 times.
    for k in 1..=4u32 {
        let again = publish_of(b.expect_sent(at(10_000 * k)));
        assert_eq!(
            (again.dup, again.pid, again.payload),
            (true, Some(token.0), &b"hello"[..])
        );
        assert_eq!(b.session.counters().republishes, k);
    }
    assert_eq!(b.sent(at(50_000)).map(|_| ()), Err(Reason::PubAckTimeout));
    // Still in flight: nothing is dropped because the link died.
    assert_eq!(b.session.inflight(), 1);
}

#[test]
fn puback_completes_the_publish_and_frees_the_slot() {
    let mut store = [0u8; 128];
    let mut b = Scripted::<2, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    let t1 = b
        .session
        .publish("a", b"1", QoS::AtLeastOnce, false)
        .unwrap();
    let t2 = b
        .session
        .publish("a", b"2", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(
        b.session.publish("a", b"3", QoS::AtLeastOnce, false),
        Err(RequestError::Full)
    );
    assert_ne!(t1, t2);
    b.expect_sent(at(0));
    b.expect_sent(at(0));
    assert_eq!(
        b.answer(at(5), Packet::PubAck(t2.0)),
        Ok(Some(Event::Published(t2)))
    );
    // A duplicate PUBACK is harmless.
    assert_eq!(b.answer(at(6), Packet::PubAck(t2.0)), Ok(None));
    assert_eq!(b.session.inflight(), 1);
    assert!(b
        .session
        .publish("a", b"3", QoS::AtLeastOnce, false)
        .is_ok());
}

#[test]
fn too_large_or_invalid_publishes_are_refused_not_truncated() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<2, 1>::new(Config::new("c"), &mut store);
    // 32-byte slots: 2 + 1 + 2 + 2 + 26 = 33 bytes does not fit.
    assert_eq!(
        b.session.publish("a", &[0; 26], QoS::AtLeastOnce, false),
        Err(RequestError::TooLarge)
    );
    assert!(b
        .session
        .publish("a", &[0; 25], QoS::AtLeastOnce, false)
        .is_ok());
    assert_eq!(
        b.session.publish("a/+", b"", QoS::AtLeastOnce, false),
        Err(RequestError::Topic(TopicError::WildcardInName))
    );
    assert_eq!(
        b.session.publish("", b"", QoS::AtLeastOnce, false),
        Err(RequestError::Topic(TopicError::Empty))
    );
}

#[test]
fn messages_published_offline_go_out_after_connack_in_order() {
    let mut store = [0u8; 256];
    let mut b = Scripted::<4, 1>::new(Config::new("c"), &mut store);
    let ids: [Token; 3] = core::array::from_fn(|i| {
        b.session
            .publish("q", &[i as u8], QoS::AtLeastOnce, false)
            .unwrap()
    });
    b.session.transport_up(at(1));
    assert!(matches!(b.expect_sent(at(1)), Packet::Connect(_)));
    // Nothing but CONNECT before CONNACK.
    b.expect_quiet(at(2));
    let ack = ConnAck {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    };
    b.session.handle(at(3), Packet::ConnAck(ack)).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let p = publish_of(b.expect_sent(at(3)));
        assert_eq!(
            (p.pid, p.payload, p.dup),
            (Some(id.0), &[i as u8][..], false)
        );
    }
}

#[test]
fn after_reconnecting_unacked_messages_are_resent_before_new_ones_with_dup() {
    let mut store = [0u8; 256];
    let mut b = Scripted::<4, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("cmd", QoS::AtLeastOnce).unwrap();
    b.connect(at(0), false);
    let old = b
        .session
        .publish("t", b"old", QoS::AtLeastOnce, false)
        .unwrap();
    // SUBSCRIBE and the PUBLISH both go out, then the link drops.
    assert!(matches!(b.expect_sent(at(0)), Packet::Subscribe(_)));
    assert_eq!(publish_of(b.expect_sent(at(0))).pid, Some(old.0));
    b.session.transport_down();
    let new = b
        .session
        .publish("t", b"new", QoS::AtLeastOnce, false)
        .unwrap();
    // Broker lost the session (restart): the subscription is restored, then
    // the unacked message goes again (DUP, same id) before the new one.
    assert!(!b.connect(at(100), false));
    assert!(matches!(b.expect_sent(at(100)), Packet::Subscribe(_)));
    let p = publish_of(b.expect_sent(at(100)));
    assert_eq!((p.pid, p.dup, p.payload), (Some(old.0), true, &b"old"[..]));
    let p = publish_of(b.expect_sent(at(100)));
    assert_eq!((p.pid, p.dup, p.payload), (Some(new.0), false, &b"new"[..]));
    assert_eq!(b.session.counters().reconnects, 1);
    assert_eq!(b.session.counters().republishes, 1);
}

#[test]
fn incoming_qos1_is_acknowledged_after_it_is_handed_over() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    let msg = Packet::Publish(Publish {
        dup: true,
        qos: QoS::AtLeastOnce,
        retain: true,
        topic: "in",
        pid: Some(77),
        payload: b"data",
    });
    match b.session.handle(at(1), msg) {
        Ok(Handled::Deliver(m)) => {
            assert_eq!(
                (m.topic, m.payload, m.qos, m.retain, m.dup),
                ("in", &b"data"[..], QoS::AtLeastOnce, true, true)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.expect_sent(at(2)), Packet::PubAck(77));
}

#[test]
fn incoming_qos2_completes_its_handshake() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    let msg = Packet::Publish(Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "in",
        pid: Some(9),
        payload: b"",
    });
    assert!(matches!(
        b.session.handle(at(1), msg),
        Ok(Handled::Deliver(_))
    ));
    assert_eq!(b.expect_sent(at(1)), Packet::PubRec(9));
    assert_eq!(b.answer(at(2), Packet::PubRel(9)), Ok(None));
    assert_eq!(b.expect_sent(at(2)), Packet::PubComp(9));
    assert!(b.session.is_connected());
}

#[test]
fn packet_ids_are_never_zero_and_never_in_use_twice() {
    // 300 slots: each slot's ids step by 301, so a reused slot wraps the
    // 16-bit id space after ~217 messages.
    let mut store = [0u8; 300 * 8];
    let mut b = Scripted::<300, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("s/1", QoS::AtMostOnce).unwrap();
    b.session.subscribe("s/2", QoS::AtMostOnce).unwrap();
    b.connect(at(0), false);
    let mut sub_ids = [0u16; 2];
    for id in sub_ids.iter_mut() {
        match b.expect_sent(at(0)) {
            Packet::Subscribe(s) => *id = s.pid,
            other => panic!("{other:?}"),
        }
    }
    // A thousand publishes, each acknowledged, wrap the id space several
    // times: no id is 0, none equals an outstanding subscription's, and the
    // message still in flight keeps its id.
    let stuck = b
        .session
        .publish("t", b"", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(publish_of(b.expect_sent(at(0))).pid, Some(stuck.0));
    for _ in 0..1_000u32 {
        let t = b
            .session
            .publish("t", b"", QoS::AtLeastOnce, false)
            .unwrap();
        assert!(t.0 != 0 && t != stuck && !sub_ids.contains(&t.0), "{t:?}");
        assert_eq!(publish_of(b.expect_sent(at(0))).pid, Some(t.0));
        assert_eq!(
            b.answer(at(0), Packet::PubAck(t.0)),
            Ok(Some(Event::Published(t)))
        );
    }
    assert_eq!(b.session.inflight(), 1);
}

#[test]
fn oversize_skips_are_counted_and_acknowledged() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    b.session.skipped(Some(QoS::AtLeastOnce), Some(5)).unwrap();
    b.session.skipped(Some(QoS::AtMostOnce), None).unwrap();
    assert_eq!(b.session.counters().oversize, 2);
    assert_eq!(b.expect_sent(at(1)), Packet::PubAck(5));
    b.expect_quiet(at(1));
}

#[test]
fn a_transmit_path_that_never_drains_is_a_dead_link() {
    let mut store = [0u8; 64];
    let mut config = Config::new("c");
    config.keepalive = 20;
    let mut b = Scripted::<1, 1>::new(config, &mut store);
    b.connect(at(0), false);
    // The caller's transmit buffer stays full: not even PINGREQ's 2 bytes fit.
    let mut full: [u8; 1] = [0];
    assert_eq!(b.session.poll_transmit(at(5_000), &mut full), Ok(None));
    assert_eq!(b.session.poll_transmit(at(14_999), &mut full), Ok(None));
    assert_eq!(
        b.session.poll_transmit(at(15_000), &mut full),
        Err(Reason::PingTimeout)
    );
}
