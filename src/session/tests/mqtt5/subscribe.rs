//! SUBSCRIBE and UNSUBSCRIBE (§3.8–§3.11), subscription options (§3.8.3.1),
//! identifiers (§3.8.2.1.2), shared subscriptions (§4.8.2).

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn subscribe_sends_the_qos_as_options_and_each_reason_code_is_surfaced() {
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 3>::new(v5("c"), &mut store);
    b.session.subscribe("a", QoS::AtLeastOnce).unwrap();
    b.session.subscribe("b/#", QoS::ExactlyOnce).unwrap();
    b.connect(at(0), &[]);
    let mut pids = [0u16; 2];
    for (i, (filter, qos)) in [("a", QoS::AtLeastOnce), ("b/#", QoS::ExactlyOnce)]
        .into_iter()
        .enumerate()
    {
        match b.expect_sent(at(0)) {
            v5::Packet::Subscribe(s) => {
                assert!(s.properties.is_empty());
                // §3.8.3.1: QoS in bits 0–1, the other options 3.1.1's
                // behaviour (not asked for yet).
                assert!(s
                    .topics
                    .iter()
                    .eq([(filter, v5::SubscriptionOptions::qos(qos))]));
                pids[i] = s.pid;
            }
            other => panic!("{other:?}"),
        }
    }
    // §3.9.3: Granted QoS 1; then 0x87 Not authorized.
    let suback = |pid, codes| {
        v5::Packet::SubAck(v5::SubAck {
            pid,
            properties: Properties::NONE,
            codes,
        })
    };
    assert_eq!(
        b.answer(at(1), suback(pids[0], &[0x01])),
        Ok(Some(Event::Subscribed {
            topic: "a",
            qos: QoS::AtLeastOnce
        }))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::GrantedQoS1));
    assert_eq!(
        b.answer(at(2), suback(pids[1], &[0x87])),
        Ok(Some(Event::SubscribeFailed { topic: "b/#" }))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::NotAuthorized));
    // UNSUBSCRIBE; §3.11.3: 0x11 No subscription existed still removes it.
    b.session.unsubscribe("a").unwrap();
    let pid = match b.expect_sent(at(3)) {
        v5::Packet::Unsubscribe(u) => {
            assert!(u.topics.iter().eq(["a"]));
            u.pid
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        b.answer(
            at(4),
            v5::Packet::UnsubAck(v5::UnsubAck {
                pid,
                properties: Properties::NONE,
                codes: &[0x11],
            })
        ),
        Ok(Some(Event::Unsubscribed { topic: "a" }))
    );
    assert_eq!(
        b.session.reason_code(),
        Some(ReasonCode::NoSubscriptionExisted)
    );
    assert_eq!(b.session.subscriptions().count(), 0);
}

fn options(
    qos: QoS,
    no_local: bool,
    retain_as_published: bool,
    retain_handling: v5::RetainHandling,
) -> v5::SubscriptionOptions {
    v5::SubscriptionOptions {
        qos,
        no_local,
        retain_as_published,
        retain_handling,
    }
}

/// The SUBSCRIBE the session sends next: its filter, options and
/// Subscription Identifier.
fn expect_subscribe<const N: usize, const S: usize, const R: usize>(
    b: &mut Broker5<'_, N, S, R>,
    now: Instant,
) -> (heapless::String<32>, v5::SubscriptionOptions, Option<u32>) {
    match b.expect_sent(now) {
        v5::Packet::Subscribe(s) => {
            let (filter, options) = s.topics.iter().next().unwrap();
            let id = s.properties.subscription_identifiers().next();
            (heapless::String::try_from(filter).unwrap(), options, id)
        }
        other => panic!("expected SUBSCRIBE, got {other:?}"),
    }
}

#[test]
fn given_subscribe_with_options_and_an_identifier_when_the_session_is_lost_then_both_are_sent_again(
) {
    // §3.8.3.1: No Local, Retain As Published, Retain Handling in the
    // options byte; §3.8.2.1.2: the identifier as a SUBSCRIBE property;
    // §3.2.2.2: a CONNACK without a session: subscribed again, the same.
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 2>::new(v5("c"), &mut store);
    let opts = options(QoS::AtLeastOnce, true, true, v5::RetainHandling::DoNotSend);
    b.session.subscribe_with("a/+", opts, Some(300)).unwrap();
    b.connect(at(0), &[]);
    let (filter, sent, id) = expect_subscribe(&mut b, at(0));
    assert_eq!((filter.as_str(), sent, id), ("a/+", opts, Some(300)));
    assert_eq!(sent.to_byte(), 0b0010_1101);
    b.session.transport_down();
    b.connect(at(1), &[]);
    let (filter, sent, id) = expect_subscribe(&mut b, at(1));
    assert_eq!((filter.as_str(), sent, id), ("a/+", opts, Some(300)));
    // A plain subscribe replaces the options: 3.1.1's behaviour, no id.
    b.session.subscribe("a/+", QoS::AtMostOnce).unwrap();
    let (_, sent, id) = expect_subscribe(&mut b, at(2));
    assert_eq!(
        (sent, id),
        (v5::SubscriptionOptions::qos(QoS::AtMostOnce), None)
    );
}

#[test]
fn given_a_server_without_subscription_identifiers_when_one_is_asked_then_refused_at_the_call() {
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 2>::new(v5("c"), &mut store);
    let opts = v5::SubscriptionOptions::qos(QoS::AtLeastOnce);
    // §3.8.2.1.2: 1 to 268,435,455; 0 is a Protocol Error.
    assert_eq!(
        b.session.subscribe_with("t", opts, Some(0)),
        Err(RequestError::Invalid)
    );
    assert_eq!(
        b.session.subscribe_with("t", opts, Some(268_435_456)),
        Err(RequestError::Invalid)
    );
    b.session
        .subscribe_with("t", opts, Some(268_435_455))
        .unwrap();
    // §3.2.2.3.12: Subscription Identifiers Available 0.
    b.connect(at(0), &[Property::SubscriptionIdentifiersAvailable(0)]);
    assert!(!b.session.server().subscription_ids_available);
    assert_eq!(
        b.session.subscribe_with("u", opts, Some(1)),
        Err(RequestError::ServerUnsupported)
    );
    b.session.subscribe_with("u", opts, None).unwrap();
}

#[test]
fn given_shared_subscriptions_when_subscribed_then_the_share_name_and_no_local_are_checked() {
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 3>::new(v5("c"), &mut store);
    let qos1 = v5::SubscriptionOptions::qos(QoS::AtLeastOnce);
    // §4.8.2: $share/{ShareName}/{filter}.
    b.session
        .subscribe_with("$share/g/t/#", qos1, None)
        .unwrap();
    b.session.subscribe("$share/g2/t", QoS::AtMostOnce).unwrap();
    // [MQTT-4.8.2-1]: a ShareName of at least one character; a filter after it.
    for bad in [
        "$share//t",
        "$share/g",
        "$share/g/",
        "$share/#",
        "$share/+/t",
    ] {
        assert_eq!(
            b.session.subscribe_with(bad, qos1, None),
            Err(RequestError::Invalid),
            "{bad}"
        );
        assert_eq!(
            b.session.subscribe(bad, QoS::AtMostOnce),
            Err(RequestError::Invalid),
            "{bad}"
        );
    }
    // [MQTT-4.8.2-2]: no wildcard in the ShareName (one not a whole level
    // is not a filter at all, §4.7.1).
    assert!(matches!(
        b.session.subscribe_with("$share/g+/t", qos1, None),
        Err(RequestError::Topic(_))
    ));
    // [MQTT-3.8.3-4]: No Local on a shared subscription.
    let no_local = options(
        QoS::AtLeastOnce,
        true,
        false,
        v5::RetainHandling::SendAtSubscribe,
    );
    assert_eq!(
        b.session.subscribe_with("$share/g/u", no_local, None),
        Err(RequestError::Invalid)
    );
    // "$sharex/..." is no shared subscription.
    b.session
        .subscribe_with("$sharex/t", no_local, None)
        .unwrap();
    // §3.2.2.3.13: Shared Subscription Available 0.
    b.connect(at(0), &[Property::SharedSubscriptionAvailable(0)]);
    assert_eq!(
        b.session.subscribe_with("$share/g/v", qos1, None),
        Err(RequestError::ServerUnsupported)
    );
}

#[test]
fn given_a_subscription_identifier_when_the_subscribe_would_exceed_the_maximum_packet_size_then_too_large(
) {
    // §3.2.2.3.6: the identifier's bytes count ([MQTT-3.2.2-15]). SUBSCRIBE
    // for a 4-byte filter: header 2, pid 2, properties 1, filter 6,
    // options 1 = 12; with identifier 300, three more = 15.
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 2>::new(v5("c"), &mut store);
    b.connect(at(0), &[Property::MaximumPacketSize(14)]);
    let qos0 = v5::SubscriptionOptions::qos(QoS::AtMostOnce);
    assert_eq!(
        b.session.subscribe_with("abcd", qos0, Some(300)),
        Err(RequestError::TooLarge)
    );
    b.session.subscribe_with("abcd", qos0, Some(3)).unwrap();
    let (_, _, id) = expect_subscribe(&mut b, at(0));
    assert_eq!(id, Some(3));
}
