// Unit tests of the MQTT 5.0 codec, beside it as the 3.1.1 codec's are.
//
// Here: each packet decoded and re-encoded (the spec's examples where it
// gives them), and the short forms. What the property validator refuses is
// in `properties.rs`, one test per rule; the other refusals, decoding and
// encoding, in `refused.rs`; the spec's tables (variable byte integers,
// reason codes, property types) in `tables.rs`.

mod properties;
mod refused;
mod tables;

use super::*;
use crate::wire::{DecodeError as WireError, EncodeError, QoS, UnsubscribeTopics};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

fn is_client_only(p: &Packet<'_>) -> bool {
    matches!(
        p,
        Packet::Connect(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) | Packet::PingReq
    )
}

/// `bytes` decodes to `packet`, which encodes back to `bytes`; every
/// shorter buffer is too small.
fn check(bytes: &[u8], packet: Packet<'_>) {
    assert_eq!(Packet::decode(bytes), Ok(packet), "decode {bytes:02x?}");
    let from_server = Packet::decode_from_server(bytes);
    if is_client_only(&packet) {
        assert_eq!(
            from_server,
            Err(DecodeError::Packet(WireError::UnexpectedFromServer))
        );
    } else {
        assert_eq!(from_server, Ok(packet));
    }
    assert_eq!(frame_len(bytes), Ok(Some(bytes.len())));
    assert_eq!(bytes[0] >> 4, packet.type_number());
    assert_eq!(packet.encoded_len(), Ok(bytes.len()));
    let mut storage = [0u8; 256];
    let buf = &mut storage[..bytes.len() + 3];
    assert_eq!(packet.encode(buf), Ok(bytes.len()));
    assert_eq!(&buf[..bytes.len()], bytes);
    for short in 0..bytes.len() {
        assert_eq!(
            packet.encode(&mut buf[..short]),
            Err(EncodeError::BufferTooSmall),
            "encode into {short}"
        );
    }
}

/// `bytes` (a longer form than needed) decodes to `packet`, which encodes
/// to `canonical`.
fn check_long_form(bytes: &[u8], canonical: &[u8], packet: Packet<'_>) {
    assert_eq!(Packet::decode(bytes), Ok(packet), "decode {bytes:02x?}");
    check(canonical, packet);
}

/// `parts` behind a fixed header of `first` (remaining length < 128).
fn frame<'b>(first: u8, parts: &[&[u8]], buf: &'b mut [u8; 256]) -> &'b [u8] {
    let mut n = 2;
    for part in parts {
        buf[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    assert!(n - 2 < 128);
    buf[0] = first;
    buf[1] = (n - 2) as u8;
    &buf[..n]
}

fn decode_err(bytes: &[u8]) -> DecodeError {
    Packet::decode(bytes).unwrap_err()
}

#[test]
fn connect_from_the_spec_example_of_3_1_2_11() {
    // §3.1.2.11, figure 3-6: protocol "MQTT" version 5, flags 0xCE (user
    // name, password, will QoS 1, will, clean start), keep alive 10,
    // properties: length 5, Session Expiry Interval (17) of 10.
    let header = [
        0, 4, b'M', b'Q', b'T', b'T', 5, 0xCE, 0, 10, 5, 17, 0, 0, 0, 10,
    ];
    let payload = [
        0, 2, b'i', b'd', // client id
        5, 0x18, 0, 0, 0, 30, // will properties: Will Delay Interval 30
        0, 3, b'w', b'/', b't', 0, 3, b'b', b'y', b'e', // will topic, payload
        0, 1, b'u', 0, 2, 1, 2, // user name, password
    ];
    let mut buf = [0u8; 256];
    let bytes = frame(0x10, &[&header, &payload], &mut buf);
    let props = [Property::SessionExpiryInterval(10)];
    let will_props = [Property::WillDelayInterval(30)];
    let p = Packet::Connect(Connect {
        client_id: "id",
        keep_alive: 10,
        clean_start: true,
        properties: Properties::new(&props),
        will: Some(Will {
            properties: Properties::new(&will_props),
            topic: "w/t",
            payload: b"bye",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        username: Some("u"),
        password: Some(&[1, 2]),
    });
    check(bytes, p);
    let Packet::Connect(c) = p else { panic!() };
    assert_eq!(c.encoded_len(), Ok(bytes.len()));
    let mut out = [0u8; 64];
    assert_eq!(c.encode(&mut out), Ok(bytes.len()));
}

#[test]
fn connect_with_every_connect_and_will_property() {
    let props = [
        Property::SessionExpiryInterval(0xFFFF_FFFF),
        Property::ReceiveMaximum(20),
        Property::MaximumPacketSize(1024),
        Property::TopicAliasMaximum(8),
        Property::RequestResponseInformation(1),
        Property::RequestProblemInformation(0),
        Property::UserProperty("k", "v"),
        Property::UserProperty("k", "w"),
        Property::AuthenticationMethod("SCRAM-SHA-1"),
        Property::AuthenticationData(&[1, 2, 3]),
    ];
    let will_props = [
        Property::WillDelayInterval(5),
        Property::PayloadFormatIndicator(1),
        Property::MessageExpiryInterval(60),
        Property::ContentType("text/plain"),
        Property::ResponseTopic("r/t"),
        Property::CorrelationData(b"42"),
        Property::UserProperty("a", ""),
    ];
    let p = Packet::Connect(Connect {
        client_id: "",
        keep_alive: 0,
        clean_start: false,
        properties: Properties::new(&props),
        will: Some(Will {
            properties: Properties::new(&will_props),
            topic: "t",
            payload: b"",
            qos: QoS::ExactlyOnce,
            retain: true,
        }),
        // MQTT 5.0 allows a password without a user name (§3.1.2.9).
        username: None,
        password: Some(b"secret"),
    });
    let mut buf = [0u8; 256];
    let n = p.encode(&mut buf).unwrap();
    // Flags: password, will retain, will QoS 2, will; no clean start.
    assert_eq!(buf[9], 0x40 | 0x20 | 0x10 | 0x04);
    check(&buf[..n], p);
}

#[test]
fn connack_with_server_properties() {
    let props = [
        Property::SessionExpiryInterval(300),
        Property::ReceiveMaximum(10),
        Property::MaximumQoS(1),
        Property::RetainAvailable(0),
        Property::MaximumPacketSize(65_536),
        Property::AssignedClientIdentifier("auto-1"),
        Property::TopicAliasMaximum(16),
        Property::ReasonString("ok"),
        Property::WildcardSubscriptionAvailable(1),
        Property::SubscriptionIdentifiersAvailable(1),
        Property::SharedSubscriptionAvailable(0),
        Property::ServerKeepAlive(30),
        Property::ResponseInformation("resp/"),
        Property::ServerReference("other:1883"),
        Property::UserProperty("x", "y"),
    ];
    let p = Packet::ConnAck(ConnAck {
        session_present: true,
        reason: ReasonCode::Success,
        properties: Properties::new(&props),
    });
    let mut buf = [0u8; 256];
    let n = p.encode(&mut buf).unwrap();
    check(&buf[..n], p);
    let Ok(Packet::ConnAck(a)) = Packet::decode(&buf[..n]) else {
        panic!()
    };
    assert_eq!(
        a.properties.get(PropertyId::AssignedClientIdentifier),
        Some(Property::AssignedClientIdentifier("auto-1"))
    );
    assert_eq!(a.properties.iter().count(), props.len());
    // The smallest: flags, reason, property length 0 (§3.2.2.3.1).
    check(
        &[0x20, 3, 0, 0x86, 0],
        Packet::ConnAck(ConnAck {
            session_present: false,
            reason: ReasonCode::BadUserNameOrPassword,
            properties: Properties::NONE,
        }),
    );
}

#[test]
fn publish_from_the_spec_example_of_3_3_2() {
    // §3.3.2.3, figure 3-9: topic "a/b", packet identifier 10, no properties.
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "a/b",
        pid: Some(10),
        properties: Properties::NONE,
        payload: b"hi",
    });
    check(&[0x32, 10, 0, 3, b'a', b'/', b'b', 0, 10, 0, b'h', b'i'], p);
}

#[test]
fn publish_from_the_server_with_topic_alias_and_subscription_identifiers() {
    let props = [
        Property::PayloadFormatIndicator(1),
        Property::MessageExpiryInterval(10),
        Property::TopicAlias(3),
        Property::ResponseTopic("reply/1"),
        Property::CorrelationData(&[0xFF, 0]),
        Property::UserProperty("k", "v"),
        // §3.3.2.3.8: one per matching subscription; up to four bytes.
        Property::SubscriptionIdentifier(1),
        Property::SubscriptionIdentifier(MAX_SUBSCRIPTION_IDENTIFIER),
        Property::ContentType("application/json"),
    ];
    let p = Packet::Publish(Publish {
        dup: true,
        qos: QoS::ExactlyOnce,
        retain: true,
        topic: "sensors/1",
        pid: Some(0xFFFF),
        properties: Properties::new(&props),
        payload: b"{}",
    });
    let mut buf = [0u8; 256];
    let n = p.encode(&mut buf).unwrap();
    check(&buf[..n], p);
    let Ok(Packet::Publish(r)) = Packet::decode_from_server(&buf[..n]) else {
        panic!()
    };
    let mut ids = r.properties.subscription_identifiers();
    assert_eq!(ids.next(), Some(1));
    assert_eq!(ids.next(), Some(268_435_455));
    assert_eq!(ids.next(), None);
    assert_eq!(r.properties.user_properties().next(), Some(("k", "v")));
}

#[test]
fn a_publish_with_an_empty_topic_and_a_topic_alias_is_accepted() {
    // §3.3.2.1: the Topic Name may be empty when a Topic Alias stands for it.
    let props = [Property::TopicAlias(1)];
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "",
        pid: None,
        properties: Properties::new(&props),
        payload: b"x",
    });
    check(&[0x30, 7, 0, 0, 3, 0x23, 0, 1, b'x'], p);
    let Packet::Publish(publish) = p else {
        panic!()
    };
    assert_eq!(publish.encoded_len(), Ok(9));
}

#[test]
fn acknowledgements_use_the_short_forms_of_3_4_2() {
    let ack = |reason, properties| Ack {
        pid: 7,
        reason,
        properties,
    };
    // Success, no properties: the identifier alone (§3.4.2.1).
    check(&[0x40, 2, 0, 7], Packet::PubAck(Ack::success(7)));
    check(&[0x50, 2, 0, 7], Packet::PubRec(Ack::success(7)));
    check(&[0x62, 2, 0, 7], Packet::PubRel(Ack::success(7)));
    check(&[0x70, 2, 0, 7], Packet::PubComp(Ack::success(7)));
    // Another reason, no properties: no Property Length (§3.4.2.2.1).
    let no_subscribers = ack(ReasonCode::NoMatchingSubscribers, Properties::NONE);
    check(&[0x40, 3, 0, 7, 0x10], Packet::PubAck(no_subscribers));
    let not_found = ack(ReasonCode::PacketIdentifierNotFound, Properties::NONE);
    check(&[0x62, 3, 0, 7, 0x92], Packet::PubRel(not_found));
    check(&[0x70, 3, 0, 7, 0x92], Packet::PubComp(not_found));
    // With properties: all of it.
    let props = [Property::ReasonString("quota")];
    let quota = ack(ReasonCode::QuotaExceeded, Properties::new(&props));
    check(
        &[
            0x50, 12, 0, 7, 0x97, 8, 0x1F, 0, 5, b'q', b'u', b'o', b't', b'a',
        ],
        Packet::PubRec(quota),
    );
    // Longer forms than needed decode to the same acknowledgement.
    check_long_form(
        &[0x40, 3, 0, 7, 0],
        &[0x40, 2, 0, 7],
        Packet::PubAck(Ack::success(7)),
    );
    check_long_form(
        &[0x40, 4, 0, 7, 0, 0],
        &[0x40, 2, 0, 7],
        Packet::PubAck(Ack::success(7)),
    );
    check_long_form(
        &[0x40, 4, 0, 7, 0x10, 0],
        &[0x40, 3, 0, 7, 0x10],
        Packet::PubAck(no_subscribers),
    );
    // The per-type encoder.
    let mut buf = [0u8; 8];
    assert_eq!(
        no_subscribers.encode(crate::wire::PacketType::PubRec, &mut buf),
        Ok(5)
    );
    assert_eq!(buf[..5], [0x50, 3, 0, 7, 0x10]);
    assert_eq!(
        no_subscribers.encode(crate::wire::PacketType::SubAck, &mut buf),
        Err(EncodeError::Invalid)
    );
}

#[test]
fn subscribe_with_options_from_the_spec_example_of_3_8_3() {
    // §3.8.3, figure 3-23: "a/b" with options 1 (QoS 1), "c/d" with
    // options 2 (QoS 2); packet identifier 10, no properties.
    let bytes = [
        0x82, 15, 0, 10, 0, 0, 3, b'a', b'/', b'b', 1, 0, 3, b'c', b'/', b'd', 2,
    ];
    let list = [
        ("a/b", SubscriptionOptions::qos(QoS::AtLeastOnce)),
        ("c/d", SubscriptionOptions::qos(QoS::ExactlyOnce)),
    ];
    let p = Packet::Subscribe(Subscribe {
        pid: 10,
        properties: Properties::NONE,
        topics: Subscriptions::new(&list),
    });
    check(&bytes, p);
    let Ok(Packet::Subscribe(s)) = Packet::decode(&bytes) else {
        panic!()
    };
    assert_eq!(s.topics.len(), 2);
    assert!(!s.topics.is_empty());
    assert_eq!(s.topics.iter().collect::<heapless::Vec<_, 4>>(), list);
    assert_eq!(s.topics, Subscriptions::new(&list));
    assert_ne!(s.topics, Subscriptions::new(&list[..1]));
}

#[test]
fn subscription_options_pack_into_one_byte_as_3_8_3_1_draws_them() {
    let all = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    };
    assert_eq!(all.to_byte(), 0b0010_1101);
    assert_eq!(SubscriptionOptions::from_byte(0b0010_1101), Ok(all));
    let if_new = SubscriptionOptions {
        retain_handling: RetainHandling::SendIfNew,
        ..SubscriptionOptions::qos(QoS::AtMostOnce)
    };
    assert_eq!(if_new.to_byte(), 0b0001_0000);
    // Every byte either decodes to options that encode back to it, or is refused.
    for b in 0..=255u8 {
        match SubscriptionOptions::from_byte(b) {
            Ok(o) => assert_eq!(o.to_byte(), b),
            Err(_) => assert!(b & 0xC0 != 0 || b & 3 == 3 || (b >> 4) & 3 == 3, "{b:#x}"),
        }
    }
    let props = [
        Property::SubscriptionIdentifier(300),
        Property::UserProperty("a", "b"),
    ];
    let list = [("sport/#", all), ("+/x", if_new)];
    let p = Packet::Subscribe(Subscribe {
        pid: 1,
        properties: Properties::new(&props),
        topics: Subscriptions::new(&list),
    });
    let mut buf = [0u8; 64];
    let n = p.encode(&mut buf).unwrap();
    // Subscription Identifier 300 is a two-byte Variable Byte Integer.
    assert_eq!(buf[4..9], [10, 0x0B, 0xAC, 0x02, 0x26]);
    check(&buf[..n], p);
    let Packet::Subscribe(s) = p else { panic!() };
    assert_eq!(s.encode(&mut buf), Ok(n));
}

#[test]
fn suback_and_unsuback_from_the_spec_examples() {
    // §3.9.3, figure 3-26: Granted QoS 0, Granted QoS 2, Unspecified error.
    let p = Packet::SubAck(SubAck {
        pid: 10,
        properties: Properties::NONE,
        codes: &[0, 2, 0x80],
    });
    check(&[0x90, 6, 0, 10, 0, 0, 2, 0x80], p);
    let Packet::SubAck(s) = p else { panic!() };
    let reasons: heapless::Vec<_, 4> = s.reasons().collect();
    assert_eq!(
        reasons,
        [
            ReasonCode::GRANTED_QOS_0,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError
        ]
    );
    // §3.11.3: Success, No subscription existed.
    let props = [Property::ReasonString("r")];
    check(
        &[0xB0, 9, 0, 10, 4, 0x1F, 0, 1, b'r', 0x00, 0x11],
        Packet::UnsubAck(UnsubAck {
            pid: 10,
            properties: Properties::new(&props),
            codes: &[0x00, 0x11],
        }),
    );
}

#[test]
fn unsubscribe_from_the_spec_example_of_3_10_3() {
    // §3.10.3, figure 3-30: "a/b", "c/d"; packet identifier 10.
    let bytes = [
        0xA2, 13, 0, 10, 0, 0, 3, b'a', b'/', b'b', 0, 3, b'c', b'/', b'd',
    ];
    let list = ["a/b", "c/d"];
    let p = Packet::Unsubscribe(Unsubscribe {
        pid: 10,
        properties: Properties::NONE,
        topics: UnsubscribeTopics::List(&list),
    });
    check(&bytes, p);
    let Packet::Unsubscribe(u) = p else { panic!() };
    let mut buf = [0u8; 32];
    assert_eq!(u.encode(&mut buf), Ok(bytes.len()));
}

#[test]
fn pings_are_two_bytes() {
    check(&[0xC0, 0], Packet::PingReq);
    check(&[0xD0, 0], Packet::PingResp);
}

#[test]
fn disconnect_with_and_without_a_reason() {
    let normal = Disconnect {
        reason: ReasonCode::NORMAL_DISCONNECTION,
        properties: Properties::NONE,
    };
    // §3.14.2.1: remaining length 0 is a normal disconnection.
    check(&[0xE0, 0], Packet::Disconnect(normal));
    check_long_form(&[0xE0, 1, 0], &[0xE0, 0], Packet::Disconnect(normal));
    check_long_form(&[0xE0, 2, 0, 0], &[0xE0, 0], Packet::Disconnect(normal));
    let taken = Disconnect {
        reason: ReasonCode::SessionTakenOver,
        properties: Properties::NONE,
    };
    // A lone reason code decodes; encoding keeps the Property Length.
    check_long_form(
        &[0xE0, 1, 0x8E],
        &[0xE0, 2, 0x8E, 0],
        Packet::Disconnect(taken),
    );
    let props = [
        Property::SessionExpiryInterval(0),
        Property::ServerReference("b:1883"),
        Property::ReasonString("moved"),
    ];
    let moved = Disconnect {
        reason: ReasonCode::ServerMoved,
        properties: Properties::new(&props),
    };
    let mut buf = [0u8; 64];
    let n = moved.encode(&mut buf).unwrap();
    check(&buf[..n], Packet::Disconnect(moved));
    // A client's "disconnect with will".
    let will = Disconnect {
        reason: ReasonCode::DisconnectWithWillMessage,
        properties: Properties::NONE,
    };
    assert_eq!(will.encode(&mut buf), Ok(4));
    assert_eq!(buf[..4], [0xE0, 2, 0x04, 0]);
}

#[test]
fn auth_is_decoded_and_encoded() {
    // §3.15.2.1: Success with no properties is an empty AUTH.
    let success = Auth {
        reason: ReasonCode::Success,
        properties: Properties::NONE,
    };
    check(&[0xF0, 0], Packet::Auth(success));
    let props = [
        Property::AuthenticationMethod("M"),
        Property::AuthenticationData(&[9]),
    ];
    let more = Auth {
        reason: ReasonCode::ContinueAuthentication,
        properties: Properties::new(&props),
    };
    check(
        &[0xF0, 10, 0x18, 8, 0x15, 0, 1, b'M', 0x16, 0, 1, 9],
        Packet::Auth(more),
    );
    // A reason with no properties keeps its Property Length.
    let again = Auth {
        reason: ReasonCode::ReAuthenticate,
        properties: Properties::NONE,
    };
    check(&[0xF0, 2, 0x19, 0], Packet::Auth(again));
    check_long_form(&[0xF0, 1, 0x19], &[0xF0, 2, 0x19, 0], Packet::Auth(again));
    assert_eq!(frame_len(&[0xF0]), Ok(None));
    assert_eq!(frame_len(&[0xF0, 0x80]), Ok(None));
    assert_eq!(frame_len(&[0xF0, 0x80, 0x01]), Ok(Some(131)));
}
