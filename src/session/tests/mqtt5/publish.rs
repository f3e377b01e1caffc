//! PUBLISH and its acknowledgements (§3.3–§3.7, §4.3).

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn an_outgoing_publish_is_5_0_with_an_empty_property_block() {
    let mut store = [0u8; 128];
    let mut config = v5("c");
    config.keepalive = 0;
    let mut b = Broker5::<2, 1>::new(config, &mut store);
    b.connect(at(0), &[]);
    let token = b
        .session
        .publish("t/1", b"hello", QoS::AtLeastOnce, false)
        .unwrap();
    let bytes = b.sent_bytes(at(0)).unwrap().unwrap();
    // §3.3.2.3.1: after the packet id, a Property Length of 0.
    let [hi, lo] = token.0.to_be_bytes();
    assert_eq!(
        bytes,
        &[0x32, 13, 0, 3, b't', b'/', b'1', hi, lo, 0, b'h', b'e', b'l', b'l', b'o']
    );
    // Re-sent unchanged but for DUP (§3.3.1.1).
    match b.expect_sent(at(10_000)) {
        v5::Packet::Publish(p) => {
            assert_eq!(
                (p.dup, p.pid, p.payload),
                (true, Some(token.0), &b"hello"[..])
            );
            assert!(p.properties.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_puback_with_a_failure_reason_completes_the_message_refused_and_it_is_not_sent_again() {
    // §4.3.2 with §3.4.2.1: 0x87 Not authorized is the server's answer;
    // the message is done with, reported, and never retried.
    let mut store = [0u8; 128];
    let mut config = v5("c");
    config.keepalive = 0;
    let mut b = Broker5::<2, 1>::new(config, &mut store);
    b.connect(at(0), &[]);
    let token = b
        .session
        .publish("denied", b"x", QoS::AtLeastOnce, false)
        .unwrap();
    b.publish_pid(at(0));
    assert_eq!(
        b.answer(
            at(1),
            v5::Packet::PubAck(ack(token.0, ReasonCode::NotAuthorized))
        ),
        Ok(Some(Event::Rejected(Rejected::Publish(token))))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::NotAuthorized));
    assert_eq!(b.session.inflight(), 0);
    assert_eq!(b.session.counters().rejected, 1);
    b.expect_quiet(at(60_000));
    // A late duplicate is harmless.
    assert_eq!(
        b.answer(
            at(61_000),
            v5::Packet::PubAck(ack(token.0, ReasonCode::NotAuthorized))
        ),
        Ok(None)
    );
}

#[test]
fn no_matching_subscribers_is_a_success() {
    // §3.4.2.1: 0x10 "No matching subscribers" accepts the message.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let token = b
        .session
        .publish("t", b"x", QoS::AtLeastOnce, false)
        .unwrap();
    b.publish_pid(at(0));
    assert_eq!(
        b.answer(
            at(1),
            v5::Packet::PubAck(ack(token.0, ReasonCode::NoMatchingSubscribers))
        ),
        Ok(Some(Event::Published(token)))
    );
    assert_eq!(
        b.session.reason_code(),
        Some(ReasonCode::NoMatchingSubscribers)
    );
}

#[test]
fn a_pubrec_with_a_failure_reason_ends_the_exchange_without_pubrel() {
    // §4.3.3: a PUBREC of 0x80 or above ends the QoS 2 exchange; the
    // sender sends no PUBREL.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let token = b
        .session
        .publish("t", b"x", QoS::ExactlyOnce, false)
        .unwrap();
    b.publish_pid(at(0));
    assert_eq!(
        b.answer(
            at(1),
            v5::Packet::PubRec(ack(token.0, ReasonCode::QuotaExceeded))
        ),
        Ok(Some(Event::Rejected(Rejected::Publish(token))))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::QuotaExceeded));
    b.expect_quiet(at(1));
    assert_eq!(b.session.inflight(), 0);
    // A successful exchange still goes PUBREC → PUBREL → PUBCOMP.
    let token = b
        .session
        .publish("t", b"y", QoS::ExactlyOnce, false)
        .unwrap();
    b.publish_pid(at(2));
    assert_eq!(
        b.answer(
            at(3),
            v5::Packet::PubRec(ack(token.0, ReasonCode::NoMatchingSubscribers))
        ),
        Ok(None)
    );
    assert_eq!(
        b.expect_sent(at(3)),
        v5::Packet::PubRel(Ack::success(token.0))
    );
    assert_eq!(
        b.answer(
            at(4),
            v5::Packet::PubComp(ack(token.0, ReasonCode::Success))
        ),
        Ok(Some(Event::Published(token)))
    );
}

#[test]
fn the_acknowledgements_the_client_owes_are_the_short_form() {
    // §3.4.2.1: reason 0 and no properties: the packet id alone, the same
    // bytes as 3.1.1.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let got = b
        .session
        .handle_v5(at(1), publish_in(QoS::AtLeastOnce, Some(7), "in", &[]));
    assert!(matches!(got, Ok(Handled::Deliver(_))));
    assert_eq!(b.sent_bytes(at(1)).unwrap().unwrap(), &[0x40, 2, 0, 7]);
    let got = b
        .session
        .handle_v5(at(2), publish_in(QoS::ExactlyOnce, Some(8), "in", &[]));
    assert!(matches!(got, Ok(Handled::Deliver(_))));
    assert_eq!(b.sent_bytes(at(2)).unwrap().unwrap(), &[0x50, 2, 0, 8]);
    b.answer(at(3), v5::Packet::PubRel(Ack::success(8)))
        .unwrap();
    assert_eq!(b.sent_bytes(at(3)).unwrap().unwrap(), &[0x70, 2, 0, 8]);
}

#[test]
fn an_incoming_message_carries_its_properties() {
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let list = [
        Property::ContentType("text/plain"),
        Property::UserProperty("site", "attic"),
        Property::SubscriptionIdentifier(5),
    ];
    match b
        .session
        .handle_v5(at(1), publish_in(QoS::AtMostOnce, None, "in", &list))
    {
        Ok(Handled::Deliver(m)) => {
            assert_eq!(m.topic, "in");
            assert_eq!(
                m.properties.get(PropertyId::ContentType),
                Some(Property::ContentType("text/plain"))
            );
            assert!(m.properties.user_properties().eq([("site", "attic")]));
            assert!(m.properties.subscription_identifiers().eq([5]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_publish_with_a_topic_alias_is_a_protocol_error() {
    // The client announces no Topic Alias Maximum (0, §3.1.2.11.5), so any
    // alias breaks [MQTT-3.3.2-9]: the connection ends (§3.3.2.3.4).
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    for (topic, alias) in [("in", 1), ("", 1)] {
        let list = [Property::TopicAlias(alias)];
        assert_eq!(
            b.session
                .handle_v5(at(1), publish_in(QoS::AtMostOnce, None, topic, &list))
                .map(|_| ()),
            Err(Reason::Violation(ReasonCode::TopicAliasInvalid))
        );
    }
}
