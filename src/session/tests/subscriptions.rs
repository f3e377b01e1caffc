//! Subscriptions: restored when the broker lost the session, refused, overdue, removed.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn subscriptions_are_restored_only_when_the_broker_lost_the_session() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 2>::new(persistent(), &mut store);
    b.session.subscribe("a/#", QoS::AtLeastOnce).unwrap();
    b.connect(at(0), false);
    let pid = match b.expect_sent(at(0)) {
        Packet::Subscribe(s) => {
            assert_eq!(s.topics.iter().next(), Some(("a/#", QoS::AtLeastOnce)));
            s.pid
        }
        other => panic!("{other:?}"),
    };
    let ack = Packet::SubAck(SubAck { pid, codes: &[1] });
    assert_eq!(
        b.answer(at(1), ack),
        Ok(Some(Event::Subscribed {
            topic: "a/#",
            qos: QoS::AtLeastOnce
        }))
    );
    b.session.transport_down();
    // Session kept by the broker: nothing to resubscribe.
    assert!(b.connect(at(10), true));
    b.expect_quiet(at(10));
    b.session.transport_down();
    // Session lost: subscribe again without the application asking.
    assert!(!b.connect(at(20), false));
    assert!(matches!(b.expect_sent(at(20)), Packet::Subscribe(_)));
}

#[test]
fn a_refused_subscription_is_reported_and_forgotten() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("forbidden", QoS::AtLeastOnce).unwrap();
    b.connect(at(0), false);
    let pid = b.subscribe_pid(at(0));
    let ack = Packet::SubAck(SubAck {
        pid,
        codes: &[0x80],
    });
    assert_eq!(
        b.answer(at(1), ack),
        Ok(Some(Event::SubscribeFailed { topic: "forbidden" }))
    );
    b.session.transport_down();
    b.connect(at(5), false);
    b.expect_quiet(at(5));
}

#[test]
fn a_missing_suback_kills_the_link_and_is_retried_next_time() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.session.subscribe("x", QoS::AtMostOnce).unwrap();
    b.connect(at(0), true);
    assert!(matches!(b.expect_sent(at(0)), Packet::Subscribe(_)));
    assert_eq!(b.sent(at(10_000)).map(|_| ()), Err(Reason::SubAckTimeout));
    b.session.transport_down();
    b.connect(at(20_000), true);
    assert!(matches!(b.expect_sent(at(20_000)), Packet::Subscribe(_)));
}

#[test]
fn unsubscribe_waits_for_unsuback() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("x", QoS::AtMostOnce).unwrap();
    b.connect(at(0), false);
    let pid = b.subscribe_pid(at(0));
    b.answer(at(1), Packet::SubAck(SubAck { pid, codes: &[0] }))
        .unwrap();
    b.session.unsubscribe("x").unwrap();
    let pid = match b.expect_sent(at(2)) {
        Packet::Unsubscribe(u) => {
            assert_eq!(u.topics.iter().next(), Some("x"));
            u.pid
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        b.answer(at(3), Packet::UnsubAck(pid)),
        Ok(Some(Event::Unsubscribed { topic: "x" }))
    );
    assert_eq!(b.session.subscriptions().count(), 0);
    // Not resubscribed after a session loss.
    b.session.transport_down();
    b.connect(at(10), false);
    b.expect_quiet(at(10));
}
