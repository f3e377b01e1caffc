//! What MQTT 5.0 adds to PUBLISH and SUBSCRIBE on the way out, against
//! mosquitto 2.0 in 5.0: PUBLISH properties seen by an independent
//! `mosquitto_sub -V mqttv5 -F` (§3.3.2.3), a request/response round trip
//! through the broker (§4.10), No Local and Retain Handling 2 (§3.8.3.1),
//! a Subscription Identifier given back (§3.3.2.3.8), a shared
//! subscription (§4.8.2).
//!
//! mosquitto only: ejabberd's mod_mqtt has no shared subscriptions (its
//! CONNACK says so), and these scenarios were not yet run on it.

use crate::device::Dev5;
use crate::observer::{publish5, Sub5};
use crate::support::device::Ev;
use crate::support::{Broker, BrokerKind};
use crate::{config_for, published, WAIT};
use limpet::session::RequestError;
use limpet::wire::v5::{Property, RetainHandling, SubscriptionOptions};
use limpet::wire::QoS;
use std::time::Duration;

/// `mosquitto_sub -F`: topic, payload, then after tabs the content type,
/// message expiry interval, payload format indicator, response topic,
/// correlation data and user properties.
const FORMAT: &str = "%t %p\t%C\t%E\t%F\t%R\t%D\t%P";

fn options(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions::qos(qos)
}

/// Runs `d` until its subscription to `filter` is confirmed.
fn subscribed(d: &mut Dev5, filter: &str) {
    let sub = d
        .run_until(WAIT, |g| {
            matches!(g.ev, Ev::Subscribed(..) | Ev::SubscribeFailed(_))
        })
        .expect("SUBACK");
    assert!(
        matches!(&sub.ev, Ev::Subscribed(f, _) if f == filter),
        "{sub:?}"
    );
}

/// The messages `d` received (topic, payload).
fn messages(d: &Dev5) -> Vec<(String, Vec<u8>)> {
    d.log
        .iter()
        .filter_map(|g| match &g.ev {
            Ev::Message { topic, payload, .. } => Some((topic.clone(), payload.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_publish_with_properties_reaches_an_independent_observer_with_them() {
    // Given mosquitto and an independent 5.0 observer printing each
    // message's properties, when the device publishes at QoS 0 and 1 with
    // Content Type, Message Expiry Interval, Payload Format Indicator,
    // Response Topic, Correlation Data and a User Property, then the
    // observer sees each with them (§3.3.2.3: the server forwards them
    // unaltered, [MQTT-3.3.2-20] and its twins; the expiry it forwards is
    // what is left of it, §3.3.2.3.3).
    let broker = Broker::start_kind(BrokerKind::Mosquitto);
    let observer = Sub5::start_format(&broker, "props/#", 1, Some(FORMAT));
    let mut d = Dev5::new(config_for(&broker, "v5-props"), broker.addr());
    d.up(WAIT).expect("up");
    let properties = [
        Property::ContentType("text/plain"),
        Property::MessageExpiryInterval(600),
        Property::PayloadFormatIndicator(1),
        Property::ResponseTopic("reply/props"),
        Property::CorrelationData(b"req-7"),
        Property::UserProperty("unit", "C"),
    ];
    d.dev
        .client
        .publish_with("props/q0", b"21.5", QoS::AtMostOnce, false, &properties)
        .unwrap();
    let token = d
        .dev
        .client
        .publish_with("props/q1", b"22.0", QoS::AtLeastOnce, false, &properties)
        .unwrap()
        .unwrap();
    let done = d.run_until(WAIT, published(token)).expect("completed");
    assert_eq!(done.ev, Ev::Published(token));
    assert!(
        observer.wait_for(2, WAIT),
        "observer: {:?}",
        observer.lines()
    );
    let mut lines = observer.lines();
    lines.sort();
    for (line, (topic, payload)) in lines
        .iter()
        .zip([("props/q0", "21.5"), ("props/q1", "22.0")])
    {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 7, "{line:?}");
        assert_eq!(fields[0], format!("{topic} {payload}"));
        assert_eq!(fields[1], "text/plain", "{line:?}");
        let expiry: u32 = fields[2].parse().unwrap_or_else(|_| panic!("{line:?}"));
        assert!((590..=600).contains(&expiry), "{line:?}");
        assert_eq!(fields[3], "1", "{line:?}");
        assert_eq!(fields[4], "reply/props", "{line:?}");
        assert_eq!(fields[5], "req-7", "{line:?}");
        assert!(
            fields[6].contains("unit") && fields[6].contains('C'),
            "{line:?}"
        );
    }
    // Refused at the call: a Subscription Identifier in a PUBLISH
    // ([MQTT-3.3.4-6]); nothing went out for it.
    assert_eq!(
        d.dev.client.publish_with(
            "props/bad",
            b"x",
            QoS::AtLeastOnce,
            false,
            &[Property::SubscriptionIdentifier(1)]
        ),
        Err(RequestError::Invalid)
    );
}

#[test]
fn a_request_is_answered_through_the_broker_with_its_correlation_data() {
    // Given a requester subscribed to its response topic and a responder
    // subscribed to the service's topic (two clients), when the requester
    // sends a request (Response Topic, Correlation Data, §4.10), then the
    // responder gets both, answers to the Response Topic with the same
    // Correlation Data, and the requester matches the answer by it.
    let broker = Broker::start_kind(BrokerKind::Mosquitto);
    let mut requester = Dev5::new(config_for(&broker, "v5-requester"), broker.addr());
    let mut responder = Dev5::new(config_for(&broker, "v5-responder"), broker.addr());
    requester
        .dev
        .client
        .subscribe("reply/v5-requester", QoS::AtLeastOnce)
        .unwrap();
    responder
        .dev
        .client
        .subscribe("svc/echo", QoS::AtLeastOnce)
        .unwrap();
    requester.up(WAIT).expect("requester up");
    responder.up(WAIT).expect("responder up");
    subscribed(&mut requester, "reply/v5-requester");
    subscribed(&mut responder, "svc/echo");
    let token = requester
        .dev
        .client
        .request(
            "svc/echo",
            b"ping",
            "reply/v5-requester",
            b"\x00corr-1",
            QoS::AtLeastOnce,
        )
        .unwrap()
        .unwrap();
    requester
        .run_until(WAIT, published(token))
        .expect("request sent");
    let request = responder
        .run_until(WAIT, |g| matches!(g.ev, Ev::Message { .. }))
        .expect("request");
    assert_eq!(
        request.response_topic.as_deref(),
        Some("reply/v5-requester")
    );
    assert_eq!(request.correlation.as_deref(), Some(&b"\x00corr-1"[..]));
    let (reply_to, correlation) = (
        request.response_topic.unwrap(),
        request.correlation.unwrap(),
    );
    let token = responder
        .dev
        .client
        .publish_with(
            &reply_to,
            b"pong",
            QoS::AtLeastOnce,
            false,
            &[Property::CorrelationData(&correlation)],
        )
        .unwrap()
        .unwrap();
    responder
        .run_until(WAIT, published(token))
        .expect("answer sent");
    let answer = requester
        .run_until(WAIT, |g| matches!(g.ev, Ev::Message { .. }))
        .expect("answer");
    match &answer.ev {
        Ev::Message { topic, payload, .. } => {
            assert_eq!(
                (topic.as_str(), &payload[..]),
                ("reply/v5-requester", &b"pong"[..])
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(answer.correlation.as_deref(), Some(&b"\x00corr-1"[..]));
}

#[test]
fn no_local_keeps_the_clients_own_publications_from_it() {
    // Given a subscription with No Local (§3.8.3.1, [MQTT-3.8.3-3]), when
    // the device publishes on a topic it matches and so does another
    // client, then only the other client's message comes back.
    let broker = Broker::start_kind(BrokerKind::Mosquitto);
    let mut d = Dev5::new(config_for(&broker, "v5-nolocal"), broker.addr());
    let no_local = SubscriptionOptions {
        no_local: true,
        ..options(QoS::AtLeastOnce)
    };
    d.dev.client.subscribe_with("nl/#", no_local, None).unwrap();
    d.up(WAIT).expect("up");
    subscribed(&mut d, "nl/#");
    let token = d
        .dev
        .client
        .publish("nl/own", b"mine", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    d.run_until(WAIT, published(token)).expect("completed");
    publish5(broker.port(), broker.login(), "nl/other", b"theirs", 1, &[]).unwrap();
    d.run_until(WAIT, |g| matches!(g.ev, Ev::Message { .. }))
        .expect("the other client's message");
    d.run_for(Duration::from_millis(300));
    assert_eq!(
        messages(&d),
        [("nl/other".to_owned(), b"theirs".to_vec())],
        "{:?}",
        d.log
    );
}

#[test]
fn retain_handling_2_sends_no_retained_message_at_subscribe() {
    // Given a retained message on rh/a, when one client subscribes to rh/#
    // with Retain Handling 2 ([MQTT-3.3.1-11]) and another with the
    // default 0, then only the second gets the retained message; a new
    // message reaches both.
    let broker = Broker::start_kind(BrokerKind::Mosquitto);
    let mut control = Dev5::new(config_for(&broker, "v5-rh0"), broker.addr());
    control.up(WAIT).expect("up");
    let token = control
        .dev
        .client
        .publish("rh/a", b"kept", QoS::AtLeastOnce, true)
        .unwrap()
        .unwrap();
    control.run_until(WAIT, published(token)).expect("retained");
    let mut d = Dev5::new(config_for(&broker, "v5-rh2"), broker.addr());
    let never = SubscriptionOptions {
        retain_handling: RetainHandling::DoNotSend,
        ..options(QoS::AtLeastOnce)
    };
    d.dev.client.subscribe_with("rh/#", never, None).unwrap();
    d.up(WAIT).expect("up");
    subscribed(&mut d, "rh/#");
    control
        .dev
        .client
        .subscribe_with("rh/#", options(QoS::AtLeastOnce), None)
        .unwrap();
    subscribed(&mut control, "rh/#");
    let retained = control
        .run_until(WAIT, |g| matches!(g.ev, Ev::Message { .. }))
        .expect("the retained message, with Retain Handling 0");
    assert!(
        matches!(&retained.ev, Ev::Message { topic, retain: true, .. } if topic == "rh/a"),
        "{retained:?}"
    );
    d.run_for(Duration::from_millis(300));
    assert_eq!(messages(&d), [], "{:?}", d.log);
    publish5(broker.port(), broker.login(), "rh/b", b"new", 1, &[]).unwrap();
    d.run_until(WAIT, |g| matches!(g.ev, Ev::Message { .. }))
        .expect("a new message");
    assert_eq!(messages(&d), [("rh/b".to_owned(), b"new".to_vec())]);
}

#[test]
fn a_subscription_identifier_comes_back_with_the_messages_it_matched() {
    // Given mosquitto (Subscription Identifiers Available by default), when
    // the device subscribes with identifier 42 (§3.8.2.1.2), then a message
    // matching it carries 42 (§3.3.2.3.8, [MQTT-3.3.4-3]).
    let broker = Broker::start_kind(BrokerKind::Mosquitto);
    let mut d = Dev5::new(config_for(&broker, "v5-subid"), broker.addr());
    d.up(WAIT).expect("up");
    assert!(d.dev.client.session().server().subscription_ids_available);
    d.dev
        .client
        .subscribe_with("sid/#", options(QoS::AtLeastOnce), Some(42))
        .unwrap();
    subscribed(&mut d, "sid/#");
    publish5(broker.port(), broker.login(), "sid/x", b"1", 1, &[]).unwrap();
    let got = d
        .run_until(WAIT, |g| matches!(g.ev, Ev::Message { .. }))
        .expect("message");
    assert_eq!(got.subscription_ids, [42]);
}

#[test]
fn a_shared_subscription_receives() {
    // Given mosquitto (Shared Subscription Available), when the device
    // subscribes to $share/g/sh/# (§4.8.2), then a message on sh/x is
    // delivered to it with its own topic; No Local on a shared
    // subscription is refused at the call ([MQTT-3.8.3-4]).
    let broker = Broker::start_kind(BrokerKind::Mosquitto);
    let mut d = Dev5::new(config_for(&broker, "v5-shared"), broker.addr());
    d.up(WAIT).expect("up");
    let no_local = SubscriptionOptions {
        no_local: true,
        ..options(QoS::AtLeastOnce)
    };
    assert_eq!(
        d.dev.client.subscribe_with("$share/g/sh/#", no_local, None),
        Err(RequestError::Invalid)
    );
    d.dev
        .client
        .subscribe_with("$share/g/sh/#", options(QoS::AtLeastOnce), None)
        .unwrap();
    subscribed(&mut d, "$share/g/sh/#");
    publish5(broker.port(), broker.login(), "sh/x", b"shared", 1, &[]).unwrap();
    d.run_until(WAIT, |g| matches!(g.ev, Ev::Message { .. }))
        .expect("message");
    assert_eq!(messages(&d), [("sh/x".to_owned(), b"shared".to_vec())]);
}
