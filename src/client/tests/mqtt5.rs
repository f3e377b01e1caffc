//! The client speaking MQTT 5.0 (feature `mqtt5`) over the scripted pipe:
//! bytes decoded as 5.0, malformed input, the server's reason codes
//! steering the reconnection (§4.13), limits at the call, large messages
//! in pieces.

use super::*;
use crate::session::Protocol;
use crate::wire::v5::{
    self, Ack, DecodeError, Properties, Property, PropertyError, PropertyId, ReasonCode,
};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

fn v5_config() -> Config<'static> {
    let mut config = Config::new("dev");
    config.protocol = Protocol::V5;
    config
}

fn client5(b: &mut Buffers) -> Client<'_, 2, 2> {
    client_with(b, v5_config(), quick_options())
}

impl Pipe {
    /// The broker sends a 5.0 packet.
    fn push5(&mut self, packet: v5::Packet<'_>) {
        let mut buf = [0u8; 2048];
        let n = packet.encode(&mut buf).unwrap();
        self.push_bytes(&buf[..n]);
    }

    /// Removes what the client sent and hands each packet, decoded as 5.0, to `each`.
    fn sent5(&mut self, mut each: impl FnMut(v5::Packet<'_>)) -> usize {
        let bytes = core::mem::take(&mut self.from_client);
        let mut rest = &bytes[..];
        let mut count = 0;
        while !rest.is_empty() {
            let len = v5::frame_len(rest).unwrap().unwrap();
            let (one, tail) = rest.split_at(len);
            each(v5::Packet::decode(one).unwrap());
            rest = tail;
            count += 1;
        }
        count
    }
}

fn connack<'p>(properties: &'p [Property<'p>]) -> v5::Packet<'p> {
    connack_with(ReasonCode::Success, properties)
}

fn connack_with<'p>(reason: ReasonCode, properties: &'p [Property<'p>]) -> v5::Packet<'p> {
    v5::Packet::ConnAck(v5::ConnAck {
        session_present: false,
        reason,
        properties: Properties::new(properties),
    })
}

/// A poll at `now` sends a 5.0 CONNECT, whose properties `check` sees; the
/// broker accepts with `properties`; a poll at `now` reports Up.
fn bring_up5(
    c: &mut Client<'_, 2, 2>,
    t: &mut Pipe,
    now: Instant,
    properties: &[Property<'_>],
    check: impl Fn(&Properties<'_>),
) {
    assert_eq!(poll_kind(c, now, t), None);
    let sent = t.sent5(|p| match p {
        v5::Packet::Connect(connect) => check(&connect.properties),
        other => panic!("{other:?}"),
    });
    assert_eq!(sent, 1);
    t.push5(connack(properties));
    assert_eq!(
        poll_kind(c, now, t),
        Some(Event::Up {
            session_present: false
        })
    );
}

fn connected5<'b>(b: &'b mut Buffers, properties: &[Property<'_>]) -> (Client<'b, 2, 2>, Pipe) {
    let mut c = client5(b);
    let mut t = Pipe::new();
    bring_up5(&mut c, &mut t, at(0), properties, |_| {});
    (c, t)
}

#[test]
fn a_5_0_client_publishes_receives_and_reads_the_reason_codes() {
    let mut b = Buffers::new();
    let mut c = client5(&mut b);
    let mut t = Pipe::new();
    // The receive buffer (64 bytes) is the Maximum Packet Size (§3.1.2.11.4).
    bring_up5(&mut c, &mut t, at(0), &[], |p| {
        assert_eq!(
            p.get(PropertyId::MaximumPacketSize),
            Some(Property::MaximumPacketSize(64))
        );
    });
    assert_eq!(c.session().reason_code(), Some(ReasonCode::Success));
    let token = c
        .publish("t", b"hi", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    assert_eq!(poll_kind(&mut c, at(1), &mut t), None);
    t.sent5(|p| match p {
        v5::Packet::Publish(p) => assert_eq!((p.pid, p.payload), (Some(token.0), &b"hi"[..])),
        other => panic!("{other:?}"),
    });
    t.push5(v5::Packet::PubAck(Ack {
        pid: token.0,
        reason: ReasonCode::NoMatchingSubscribers,
        properties: Properties::NONE,
    }));
    assert_eq!(
        poll_kind(&mut c, at(2), &mut t),
        Some(Event::Published(token))
    );
    assert_eq!(
        c.session().reason_code(),
        Some(ReasonCode::NoMatchingSubscribers)
    );
    // A message with a user property, handed over with it.
    let list = [Property::UserProperty("unit", "C")];
    t.push5(v5::Packet::Publish(v5::Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "in",
        pid: Some(9),
        properties: Properties::new(&list),
        payload: b"21.5",
    }));
    match c.poll(at(3), &mut t) {
        Some(Event::Message(m)) => {
            assert_eq!((m.topic, m.payload), ("in", &b"21.5"[..]));
            assert!(m.properties.user_properties().eq([("unit", "C")]));
        }
        other => panic!("{other:?}"),
    }
    // The reason code of the last event is forgotten on the next poll.
    assert_eq!(poll_kind(&mut c, at(4), &mut t), None);
    assert_eq!(c.session().reason_code(), None);
    let mut acked = false;
    t.sent5(|p| acked |= p == v5::Packet::PubAck(Ack::success(9)));
    assert!(acked);
}

#[test]
fn a_malformed_5_0_packet_is_a_counted_protocol_error_and_the_client_reconnects() {
    // §4.13: a PUBACK carrying a Topic Alias (not allowed there, §2.2.2.2)
    // is a Malformed Packet: the connection ends, is counted, and comes back.
    let mut b = Buffers::new();
    let (mut c, mut t) = connected5(&mut b, &[]);
    t.push_bytes(&[0x40, 7, 0, 1, 0, 3, 0x23, 0, 1]);
    assert_eq!(
        poll_kind(&mut c, at(10), &mut t),
        Some(Event::Down(Reason::MalformedV5(DecodeError::Property(
            PropertyError::NotAllowed(PropertyId::TopicAlias)
        ))))
    );
    assert_eq!(c.counters().protocol_errors, 1);
    bring_up5(&mut c, &mut t, at(1_000), &[], |_| {});
    assert_eq!(c.counters().reconnects, 1);
}

#[test]
fn a_topic_alias_from_the_server_is_a_protocol_error() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected5(&mut b, &[]);
    let list = [Property::TopicAlias(1)];
    t.push5(v5::Packet::Publish(v5::Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "in",
        pid: None,
        properties: Properties::new(&list),
        payload: b"x",
    }));
    assert_eq!(
        poll_kind(&mut c, at(10), &mut t),
        Some(Event::Down(Reason::Violation(
            ReasonCode::TopicAliasInvalid
        )))
    );
    assert_eq!(c.counters().protocol_errors, 1);
}

#[test]
fn auth_from_the_server_is_a_protocol_error() {
    // §4.12: no Authentication Method in CONNECT, so no AUTH may come; type
    // 15 is AUTH in 5.0 (reserved in 3.1.1).
    let mut b = Buffers::new();
    let (mut c, mut t) = connected5(&mut b, &[]);
    t.push_bytes(&[0xF0, 0]);
    assert_eq!(
        poll_kind(&mut c, at(10), &mut t),
        Some(Event::Down(Reason::Violation(ReasonCode::ProtocolError)))
    );
    assert_eq!(c.counters().protocol_errors, 1);
}

#[test]
fn a_connect_that_no_longer_fits_with_its_properties_is_refused_up_front() {
    // The Maximum Packet Size property (5 bytes) is part of the CONNECT:
    // a transmit buffer that fits the CONNECT only without it is refused.
    let mut rx = [0u8; 64];
    let mut store = [0u8; 64];
    let mut v311 = Config::new("dev");
    v311.keepalive = 10;
    // CONNECT "dev", 3.1.1: 2 + 10 + 5 = 17 bytes; 5.0 adds 1 + 5.
    let mut tx = [0u8; 20];
    let mut config = v5_config();
    config.keepalive = 10;
    let c = Client::<'_, 1, 1, 0>::new(config, quick_options(), &mut rx, &mut tx, &mut store);
    assert_eq!(c.err(), Some(crate::session::ConfigError::ConnectTooLarge));
    let (mut rx, mut tx, mut store) = ([0u8; 64], [0u8; 20], [0u8; 64]);
    assert!(
        Client::<'_, 1, 1, 0>::new(v311, quick_options(), &mut rx, &mut tx, &mut store).is_ok()
    );
}

#[test]
fn session_taken_over_stops_the_client_until_the_application_connects() {
    // Given a server that says another connection took the session over
    // (0x8E), the client does not fight for its client id: it stays
    // offline until `connect`.
    let mut b = Buffers::new();
    let (mut c, mut t) = connected5(&mut b, &[]);
    t.push5(v5::Packet::Disconnect(v5::Disconnect {
        reason: ReasonCode::SessionTakenOver,
        properties: Properties::NONE,
    }));
    assert_eq!(
        poll_kind(&mut c, at(10), &mut t),
        Some(Event::Down(Reason::Server(ReasonCode::SessionTakenOver)))
    );
    assert_eq!(
        c.session().reason_code(),
        Some(ReasonCode::SessionTakenOver)
    );
    for ms in [100, 10_000, 1_000_000] {
        assert_eq!(poll_kind(&mut c, at(ms), &mut t), None);
    }
    assert_eq!(c.next_deadline(at(1_000_000)), None);
    assert_eq!(t.connects, 1);
    c.connect(at(1_000_001));
    bring_up5(&mut c, &mut t, at(1_000_001), &[], |_| {});
    assert_eq!(t.connects, 2);
}

#[test]
fn a_busy_server_is_tried_again_only_after_the_backoffs_longest_delays() {
    // 0x89 Server busy in CONNACK (§3.2.2.2): the next attempt waits from
    // the upper half of the backoff (200..=400 ms here), where a plain
    // refusal waits from its start (100..=300 ms).
    for (code, low, high) in [
        (ReasonCode::ServerBusy, 200, 400),
        (ReasonCode::QuotaExceeded, 200, 400),
        (ReasonCode::UseAnotherServer, 200, 400),
        (ReasonCode::NotAuthorized, 100, 300),
    ] {
        let mut b = Buffers::new();
        let mut c = client5(&mut b);
        let mut t = Pipe::new();
        assert_eq!(poll_kind(&mut c, at(0), &mut t), None);
        t.push5(connack_with(code, &[]));
        assert_eq!(
            poll_kind(&mut c, at(5), &mut t),
            Some(Event::ConnectFailed(Reason::Server(code)))
        );
        let wait = c.next_deadline(at(5)).unwrap().ticks() - 5;
        assert!((low..=high).contains(&wait), "{code:?}: {wait} ms");
    }
}

#[test]
fn a_qos0_publish_over_the_servers_maximum_packet_size_is_refused_at_the_call() {
    let mut b = Buffers::new();
    let (mut c, _t) = connected5(&mut b, &[Property::MaximumPacketSize(20)]);
    // 1 + 1 + (2 + 1) + 1 + 15 = 21 bytes.
    assert_eq!(
        c.publish("t", &[0; 15], QoS::AtMostOnce, false),
        Err(RequestError::TooLarge)
    );
    assert_eq!(c.publish("t", &[0; 14], QoS::AtMostOnce, false), Ok(None));
    assert_eq!(
        c.publish("t", b"", QoS::AtMostOnce, true),
        Ok(None),
        "retain is available by default"
    );
}

#[test]
fn poll_chunked_announces_no_maximum_packet_size_and_hands_a_5_0_message_over_in_pieces() {
    let mut b = Buffers::new();
    let mut c = client5(&mut b);
    let mut t = Pipe::new();
    assert_eq!(c.poll_chunked(at(0), &mut t).map(|_| ()), None);
    t.sent5(|p| match p {
        v5::Packet::Connect(connect) => {
            assert_eq!(connect.properties.get(PropertyId::MaximumPacketSize), None)
        }
        other => panic!("{other:?}"),
    });
    t.push5(connack(&[]));
    assert!(matches!(
        c.poll_chunked(at(1), &mut t),
        Some(Event::Up { .. })
    ));
    // A QoS 1 message of 200 bytes with properties, through a 64-byte buffer.
    let payload: [u8; 200] = core::array::from_fn(|i| i as u8);
    let list = [
        Property::ContentType("application/octet-stream"),
        Property::MessageExpiryInterval(60),
    ];
    t.push5(v5::Packet::Publish(v5::Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "ota",
        pid: Some(3),
        properties: Properties::new(&list),
        payload: &payload,
    }));
    let mut next = 0;
    for _ in 0..100 {
        match c.poll_chunked(at(2), &mut t) {
            Some(Event::Chunk(ch)) => {
                assert_eq!((ch.topic, ch.total, ch.offset), ("ota", 200, next));
                assert_eq!(ch.bytes, &payload[next..next + ch.bytes.len()]);
                next += ch.bytes.len();
            }
            Some(other) => panic!("{other:?}"),
            None => {}
        }
    }
    assert_eq!(next, 200, "the payload without the properties, whole");
    let mut acked = false;
    t.sent5(|p| acked |= p == v5::Packet::PubAck(Ack::success(3)));
    assert!(acked);
}

#[test]
fn a_restored_5_0_session_needs_a_5_0_client() {
    let mut saved = [0u8; 256];
    let len = {
        let mut b = Buffers::new();
        let (c, _t) = connected5(&mut b, &[]);
        c.save(&mut saved).unwrap()
    };
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    assert_eq!(
        c.restore(&saved[..len]),
        Err(crate::session::RestoreError::Protocol)
    );
    let mut b = Buffers::new();
    let mut c = client5(&mut b);
    assert_eq!(c.restore(&saved[..len]), Ok(()));
}

#[test]
fn a_qos0_publish_with_properties_is_written_at_once_and_a_request_carries_its_response_topic() {
    // §3.3.2.3: a QoS 0 PUBLISH with properties goes out on the next poll;
    // §4.10: a request is a PUBLISH with Response Topic and Correlation
    // Data; the Maximum Packet Size counts the properties ([MQTT-3.2.2-15]).
    let mut b = Buffers::new();
    let (mut c, mut t) = connected5(&mut b, &[Property::MaximumPacketSize(40)]);
    let ct = [Property::ContentType("text/plain")];
    assert_eq!(
        c.publish_with("t", b"21.5", QoS::AtMostOnce, false, &ct),
        Ok(None)
    );
    let token = c
        .request("svc", b"ping", "reply/dev", b"c-1", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    // Header 2, topic 2 + 3, id 2, properties 1 + (3 + 9) + (3 + 3): 28
    // bytes and the payload; 13 bytes of it make 41.
    assert_eq!(
        c.request("svc", &[0; 13], "reply/dev", b"c-1", QoS::AtLeastOnce),
        Err(RequestError::TooLarge)
    );
    assert_eq!(
        c.publish_with(
            "t",
            b"",
            QoS::AtMostOnce,
            false,
            &[Property::ResponseTopic("r/+")]
        ),
        Err(RequestError::Topic(
            crate::wire::topic::TopicError::WildcardInName
        ))
    );
    let _ = poll_kind(&mut c, at(1), &mut t);
    let mut seen = 0;
    t.sent5(|p| match p {
        v5::Packet::Publish(p) if p.topic == "t" => {
            assert!(p.properties.iter().eq(ct));
            seen += 1;
        }
        v5::Packet::Publish(p) => {
            assert_eq!((p.topic, p.pid), ("svc", Some(token.0)));
            assert!(p.properties.iter().eq([
                Property::ResponseTopic("reply/dev"),
                Property::CorrelationData(b"c-1"),
            ]));
            seen += 1;
        }
        other => panic!("{other:?}"),
    });
    assert_eq!(seen, 2);
}

#[test]
fn a_3_1_1_client_refuses_what_only_5_0_can_send() {
    let mut b = Buffers::new();
    let mut c = client_with(&mut b, Config::new("dev"), quick_options());
    assert_eq!(
        c.publish_with("t", b"", QoS::AtMostOnce, false, &[]),
        Err(RequestError::Unsupported)
    );
    assert_eq!(
        c.request("t", b"", "r", b"c", QoS::AtLeastOnce),
        Err(RequestError::Unsupported)
    );
    assert_eq!(
        c.subscribe_with("t", v5::SubscriptionOptions::qos(QoS::AtMostOnce), None),
        Err(RequestError::Unsupported)
    );
}
