//! PUBLISH properties on the way out (§3.3.2.3), request/response (§4.10).

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// The properties a request carries in these tests.
const REQUEST_PROPERTIES: [Property<'static>; 6] = [
    Property::MessageExpiryInterval(60),
    Property::PayloadFormatIndicator(1),
    Property::ContentType("text/plain"),
    Property::ResponseTopic("reply/c"),
    Property::CorrelationData(b"\x00\x01req"),
    Property::UserProperty("site", "attic"),
];

fn expect_publish_properties<const N: usize, const S: usize, const R: usize>(
    b: &mut Broker5<'_, N, S, R>,
    now: Instant,
    dup: bool,
) {
    match b.expect_sent(now) {
        v5::Packet::Publish(p) => {
            assert_eq!((p.topic, p.payload, p.dup), ("req", &b"ping"[..], dup));
            assert!(p.properties.iter().eq(REQUEST_PROPERTIES));
        }
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

#[test]
fn given_publish_with_properties_when_sent_and_resent_after_a_reconnect_then_they_go_each_time() {
    // §3.3.2.3.2–§3.3.2.3.7 and §3.3.2.3.4: the properties are in the
    // stored PUBLISH; §4.4: a message not acknowledged is sent again on the
    // next connection, DUP set, the same packet otherwise.
    let mut store = [0u8; 256];
    let mut b = Broker5::<2, 1>::new(v5_persistent("c"), &mut store);
    b.connect(at(0), &[]);
    b.session
        .publish_with("req", b"ping", QoS::AtLeastOnce, false, &REQUEST_PROPERTIES)
        .unwrap();
    expect_publish_properties(&mut b, at(0), false);
    b.session.transport_down();
    b.sends_connect(at(1));
    b.connack(at(1), true, ReasonCode::Success, &[]).unwrap();
    expect_publish_properties(&mut b, at(1), true);
}

#[test]
fn given_a_saved_session_with_a_publish_with_properties_when_restored_then_they_are_resent() {
    let mut saved = [0u8; 256];
    let len = {
        let mut store = [0u8; 256];
        let mut b = Broker5::<2, 1>::new(v5_persistent("c"), &mut store);
        b.session
            .publish_with("req", b"ping", QoS::ExactlyOnce, false, &REQUEST_PROPERTIES)
            .unwrap();
        b.session.save(&mut saved).unwrap()
    };
    let mut store = [0u8; 256];
    let mut b = Broker5::<2, 1>::new(v5_persistent("c"), &mut store);
    b.session.restore(&saved[..len]).unwrap();
    b.connect(at(0), &[]);
    expect_publish_properties(&mut b, at(0), false);
}

#[test]
fn given_properties_a_client_may_not_send_in_a_publish_when_published_then_refused_at_the_call() {
    let mut store = [0u8; 256];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[Property::MaximumPacketSize(64)]);
    let publish = |b: &mut Broker5<'_, 2, 1>, properties: &[Property<'_>]| {
        b.session
            .publish_with("t", b"m", QoS::AtLeastOnce, false, properties)
    };
    // Table 2-4: not a PUBLISH property.
    assert_eq!(
        publish(&mut b, &[Property::SessionExpiryInterval(1)]),
        Err(RequestError::Invalid)
    );
    // §3.3.2.3.5: Content Type at most once.
    assert_eq!(
        publish(
            &mut b,
            &[Property::ContentType("a"), Property::ContentType("b")]
        ),
        Err(RequestError::Invalid)
    );
    // §3.3.2.3.2: Payload Format Indicator 0 or 1.
    assert_eq!(
        publish(&mut b, &[Property::PayloadFormatIndicator(2)]),
        Err(RequestError::Invalid)
    );
    // [MQTT-3.3.4-6]: never from a client; no Topic Alias is sent yet.
    assert_eq!(
        publish(&mut b, &[Property::SubscriptionIdentifier(1)]),
        Err(RequestError::Invalid)
    );
    assert_eq!(
        publish(&mut b, &[Property::TopicAlias(1)]),
        Err(RequestError::Invalid)
    );
    // [MQTT-3.3.2-14]: the Response Topic is a Topic Name.
    assert_eq!(
        publish(&mut b, &[Property::ResponseTopic("r/#")]),
        Err(RequestError::Topic(
            crate::wire::topic::TopicError::WildcardInName
        ))
    );
    // §3.2.2.3.6: over the server's Maximum Packet Size with them.
    assert_eq!(
        publish(&mut b, &[Property::CorrelationData(&[0; 60])]),
        Err(RequestError::TooLarge)
    );
    // Over the store slot (128 bytes).
    b.session.transport_down();
    b.connect(at(1), &[]);
    assert_eq!(
        publish(&mut b, &[Property::CorrelationData(&[0; 130])]),
        Err(RequestError::TooLarge)
    );
    // QoS 0 is the client's (written at once, never stored).
    assert_eq!(
        b.session
            .publish_with("t", b"m", QoS::AtMostOnce, false, &[]),
        Err(RequestError::Unsupported)
    );
    assert_eq!(b.session.inflight(), 0);
    b.expect_quiet(at(1));
}

#[test]
fn given_a_3_1_1_session_when_publish_with_or_subscribe_with_then_unsupported() {
    let mut store = [0u8; 64];
    let mut s = Session::<1, 1, 0>::new(Config::new("c"), &mut store, 128).unwrap();
    assert_eq!(
        s.publish_with("t", b"m", QoS::AtLeastOnce, false, &[]),
        Err(RequestError::Unsupported)
    );
    assert_eq!(
        s.subscribe_with("t", v5::SubscriptionOptions::qos(QoS::AtLeastOnce), None),
        Err(RequestError::Unsupported)
    );
}
