// What the MQTT 5.0 codec refuses besides property blocks: reason codes,
// subscription options, topics, CONNECT's header, frames; and what encoding
// refuses before it writes.

use super::super::*;
use super::decode_err;
use crate::wire::{DecodeError as WireError, EncodeError, QoS, UnsubscribeTopics};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

fn wire(e: WireError) -> DecodeError {
    DecodeError::Packet(e)
}

#[test]
fn a_reason_code_outside_the_table_of_2_4_is_malformed() {
    for code in [0x03, 0x05, 0x12, 0x7F, 0xA3, 0xFF] {
        for first in [0x40, 0x50, 0x62, 0x70] {
            assert_eq!(
                decode_err(&[first, 3, 0, 1, code]),
                DecodeError::UnknownReasonCode(code)
            );
        }
        assert_eq!(
            decode_err(&[0x20, 3, 0, code, 0]),
            DecodeError::UnknownReasonCode(code)
        );
        assert_eq!(
            decode_err(&[0xE0, 1, code]),
            DecodeError::UnknownReasonCode(code)
        );
        assert_eq!(
            decode_err(&[0xF0, 2, code, 0]),
            DecodeError::UnknownReasonCode(code)
        );
        assert_eq!(
            decode_err(&[0x90, 4, 0, 1, 0, code]),
            DecodeError::UnknownReasonCode(code)
        );
        assert_eq!(
            decode_err(&[0xB0, 4, 0, 1, 0, code]),
            DecodeError::UnknownReasonCode(code)
        );
    }
    assert_eq!(
        DecodeError::UnknownReasonCode(3).reason(),
        ReasonCode::MalformedPacket
    );
}

#[test]
fn a_known_reason_code_in_the_wrong_packet_is_refused() {
    // §3.4.2.1: PUBACK has no "Disconnect with Will Message".
    assert_eq!(
        decode_err(&[0x40, 3, 0, 1, 0x04]),
        DecodeError::ReasonCodeNotAllowed(0x04)
    );
    // §3.6.2.1: PUBREL has only Success and Packet Identifier not found.
    assert_eq!(
        decode_err(&[0x62, 3, 0, 1, 0x80]),
        DecodeError::ReasonCodeNotAllowed(0x80)
    );
    // §3.9.3: "No subscription existed" is UNSUBACK's, not SUBACK's.
    assert_eq!(
        decode_err(&[0x90, 4, 0, 1, 0, 0x11]),
        DecodeError::ReasonCodeNotAllowed(0x11)
    );
    // §3.11.3: granted QoS 1 is SUBACK's.
    assert_eq!(
        decode_err(&[0xB0, 4, 0, 1, 0, 0x01]),
        DecodeError::ReasonCodeNotAllowed(0x01)
    );
    // §3.2.2.2: CONNACK has no "Session taken over".
    assert_eq!(
        decode_err(&[0x20, 3, 0, 0x8E, 0]),
        DecodeError::ReasonCodeNotAllowed(0x8E)
    );
    // §3.15.2.1: AUTH has only 0x00, 0x18, 0x19.
    assert_eq!(
        decode_err(&[0xF0, 2, 0x87, 0]),
        DecodeError::ReasonCodeNotAllowed(0x87)
    );
}

#[test]
fn suback_and_unsuback_need_a_reason_code_per_filter() {
    assert_eq!(decode_err(&[0x90, 3, 0, 1, 0]), wire(WireError::BadPayload));
    assert_eq!(decode_err(&[0xB0, 3, 0, 1, 0]), wire(WireError::BadPayload));
    assert_eq!(
        decode_err(&[0x90, 4, 0, 0, 0, 0]),
        wire(WireError::ZeroPacketId)
    );
}

#[test]
fn subscription_options_with_reserved_bits_are_malformed() {
    // [MQTT-3.8.3-5].
    for options in [0x40, 0x80, 0xC1] {
        let bytes = [0x82, 7, 0, 1, 0, 0, 1, b'a', options];
        assert_eq!(
            decode_err(&bytes),
            DecodeError::ReservedSubscriptionOptionBits
        );
    }
}

#[test]
fn a_retain_handling_of_3_is_a_protocol_error() {
    // §3.8.3.1: "It is a Protocol Error to send a Retain Handling value of 3".
    let bytes = [0x82, 7, 0, 1, 0, 0, 1, b'a', 0x30];
    assert_eq!(decode_err(&bytes), DecodeError::BadRetainHandling);
    assert_eq!(
        DecodeError::BadRetainHandling.reason(),
        ReasonCode::ProtocolError
    );
}

#[test]
fn a_subscription_at_qos_3_is_refused() {
    let bytes = [0x82, 7, 0, 1, 0, 0, 1, b'a', 0x03];
    assert_eq!(decode_err(&bytes), wire(WireError::BadQoS));
}

#[test]
fn a_subscribe_or_unsubscribe_needs_a_valid_filter() {
    // [MQTT-3.8.3-2], [MQTT-3.10.3-2]: at least one; §4.7: valid filters.
    assert_eq!(decode_err(&[0x82, 3, 0, 1, 0]), wire(WireError::BadPayload));
    assert_eq!(decode_err(&[0xA2, 3, 0, 1, 0]), wire(WireError::BadPayload));
    assert_eq!(
        decode_err(&[0x82, 8, 0, 1, 0, 0, 2, b'a', b'#', 0]),
        wire(WireError::BadPayload)
    );
    // A wildcard alone in its level is a valid filter.
    assert!(Packet::decode(&[0xA2, 6, 0, 1, 0, 0, 1, b'+']).is_ok());
    assert_eq!(
        decode_err(&[0xA2, 7, 0, 1, 0, 0, 2, b'a', b'#']),
        wire(WireError::BadPayload)
    );
    assert_eq!(
        decode_err(&[0xA2, 5, 0, 1, 0, 0, 1]),
        wire(WireError::Truncated)
    );
}

#[test]
fn a_publish_with_an_empty_topic_and_no_alias_is_a_protocol_error() {
    // §3.3.2.1, §3.3.4: an empty Topic Name needs a Topic Alias.
    assert_eq!(
        decode_err(&[0x30, 3, 0, 0, 0]),
        DecodeError::EmptyTopicWithoutAlias
    );
    assert_eq!(
        DecodeError::EmptyTopicWithoutAlias.reason(),
        ReasonCode::ProtocolError
    );
}

#[test]
fn a_publish_topic_with_a_wildcard_is_refused() {
    assert_eq!(
        decode_err(&[0x30, 4, 0, 1, b'#', 0]),
        wire(WireError::BadPayload)
    );
    assert_eq!(
        decode_err(&[0x32, 4, 0, 1, b't', 0]),
        wire(WireError::Truncated)
    );
    assert_eq!(
        decode_err(&[0x32, 6, 0, 1, b't', 0, 0, 0]),
        wire(WireError::ZeroPacketId)
    );
    assert_eq!(
        decode_err(&[0x36, 4, 0, 1, b't', 0]),
        wire(WireError::BadQoS)
    );
}

#[test]
fn a_connect_for_another_protocol_version_is_refused() {
    // §3.1.2.2: this decoder is for version 5.
    let v4 = [
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0, 0,
    ];
    assert_eq!(decode_err(&v4), wire(WireError::BadConnect));
    let good = [
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60, 0, 0, 0,
    ];
    assert!(Packet::decode(&good).is_ok());
    let with = |i: usize, b: u8| {
        let mut v = good;
        v[i] = b;
        decode_err(&v)
    };
    assert_eq!(with(4, b'X'), wire(WireError::BadConnect));
    assert_eq!(with(9, 0x03), wire(WireError::BadConnect)); // reserved bit
    assert_eq!(with(9, 0x08), wire(WireError::BadConnect)); // will QoS, no will
    assert_eq!(with(9, 0x20), wire(WireError::BadConnect)); // will retain, no will
    assert_eq!(with(9, 0x1E), wire(WireError::BadQoS)); // will QoS 3
    assert_eq!(with(9, 0x80), wire(WireError::Truncated)); // user name missing
    assert_eq!(with(9, 0x40), wire(WireError::Truncated)); // password missing
}

#[test]
fn a_connack_with_a_reserved_flag_bit_is_refused() {
    for flags in 2..=255u8 {
        assert_eq!(
            decode_err(&[0x20, 3, flags, 0, 0]),
            wire(WireError::BadConnAck)
        );
    }
    // The Property Length is not optional in a CONNACK (§3.2.2.3.1).
    assert_eq!(
        decode_err(&[0x20, 2, 0, 0]),
        DecodeError::Property(PropertyError::Truncated)
    );
}

#[test]
fn bytes_after_the_properties_are_refused() {
    assert_eq!(
        decode_err(&[0x40, 5, 0, 1, 0x10, 0, 9]),
        wire(WireError::TrailingBytes)
    );
    assert_eq!(
        decode_err(&[0xE0, 3, 0, 0, 9]),
        wire(WireError::TrailingBytes)
    );
    assert_eq!(
        decode_err(&[0x20, 4, 0, 0, 0, 9]),
        wire(WireError::TrailingBytes)
    );
    assert_eq!(decode_err(&[0xD0, 1, 0]), wire(WireError::TrailingBytes));
}

#[test]
fn frames_that_are_not_one_whole_packet_are_refused() {
    assert_eq!(decode_err(&[]), wire(WireError::FrameLength));
    assert_eq!(decode_err(&[0xF0]), wire(WireError::FrameLength));
    assert_eq!(decode_err(&[0xF0, 2, 0]), wire(WireError::FrameLength));
    assert_eq!(decode_err(&[0xE0, 0, 0]), wire(WireError::FrameLength));
    assert_eq!(decode_err(&[0x00, 0]), wire(WireError::ReservedPacketType));
    // §2.1.3: AUTH's flags are 0.
    assert_eq!(decode_err(&[0xF1, 0]), wire(WireError::BadFlags));
    assert_eq!(frame_len(&[0xF2]), Err(wire(WireError::BadFlags)));
    assert_eq!(
        decode_err(&[0xF0, 0x80, 0x00]),
        wire(WireError::BadRemainingLength)
    );
    assert_eq!(
        decode_err(&[0x62, 1, 0]).reason(),
        ReasonCode::MalformedPacket
    );
    assert_eq!(decode_err(&[0x60, 2, 0, 1]), wire(WireError::BadFlags));
}

#[test]
fn the_packets_only_a_client_sends_are_unexpected_from_the_server() {
    for bytes in [
        &[
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60, 0, 0, 0,
        ][..],
        &[0x82, 7, 0, 1, 0, 0, 1, b'a', 0],
        &[0xA2, 6, 0, 1, 0, 0, 1, b'a'],
        &[0xC0, 0],
        &[0x10, 0],
    ] {
        let e = Packet::decode_from_server(bytes);
        assert_eq!(
            e,
            Err(wire(WireError::UnexpectedFromServer)),
            "{bytes:02x?}"
        );
        assert_eq!(e.unwrap_err().reason(), ReasonCode::ProtocolError);
    }
    // DISCONNECT and AUTH do come from MQTT 5.0 servers.
    assert!(Packet::decode_from_server(&[0xE0, 0]).is_ok());
    assert!(Packet::decode_from_server(&[0xF0, 0]).is_ok());
}

fn publish<'a>(
    topic: &'a str,
    properties: Properties<'a>,
    qos: QoS,
    pid: Option<u16>,
) -> Packet<'a> {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic,
        pid,
        properties,
        payload: b"",
    })
}

#[test]
fn encoding_refuses_what_the_protocol_forbids_before_writing() {
    let alias = [Property::TopicAlias(1)];
    let reason_string = [Property::ReasonString("x")];
    let sub_once = [("a", SubscriptionOptions::qos(QoS::AtMostOnce))];
    let bad_filter = [("a/#/b", SubscriptionOptions::qos(QoS::AtMostOnce))];
    let invalid = [
        publish("", Properties::NONE, QoS::AtMostOnce, None),
        publish("a/+", Properties::new(&alias), QoS::AtMostOnce, None),
        publish("t", Properties::NONE, QoS::AtLeastOnce, None),
        publish("t", Properties::NONE, QoS::AtMostOnce, Some(1)),
        publish("t", Properties::NONE, QoS::ExactlyOnce, Some(0)),
        // A Reason String is not a PUBLISH property.
        publish("t", Properties::new(&reason_string), QoS::AtMostOnce, None),
        Packet::PubAck(Ack {
            pid: 1,
            reason: ReasonCode::DisconnectWithWillMessage,
            properties: Properties::NONE,
        }),
        Packet::PubAck(Ack::success(0)),
        Packet::ConnAck(ConnAck {
            session_present: false,
            reason: ReasonCode::GrantedQoS1,
            properties: Properties::NONE,
        }),
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::ContinueAuthentication,
            properties: Properties::NONE,
        }),
        Packet::Auth(Auth {
            reason: ReasonCode::ServerBusy,
            properties: Properties::NONE,
        }),
        Packet::SubAck(SubAck {
            pid: 1,
            properties: Properties::NONE,
            codes: &[],
        }),
        Packet::SubAck(SubAck {
            pid: 1,
            properties: Properties::NONE,
            codes: &[0x11],
        }),
        Packet::UnsubAck(SubAck {
            pid: 1,
            properties: Properties::NONE,
            codes: &[0x03],
        }),
        Packet::Subscribe(Subscribe {
            pid: 1,
            properties: Properties::NONE,
            topics: Subscriptions::new(&[]),
        }),
        Packet::Subscribe(Subscribe {
            pid: 1,
            properties: Properties::NONE,
            topics: Subscriptions::new(&bad_filter),
        }),
        Packet::Subscribe(Subscribe {
            pid: 0,
            properties: Properties::NONE,
            topics: Subscriptions::new(&sub_once),
        }),
        Packet::Unsubscribe(Unsubscribe {
            pid: 1,
            properties: Properties::NONE,
            topics: UnsubscribeTopics::List(&[]),
        }),
        Packet::Unsubscribe(Unsubscribe {
            pid: 1,
            properties: Properties::new(&alias),
            topics: UnsubscribeTopics::List(&["a"]),
        }),
    ];
    let mut buf = [0xAAu8; 64];
    for p in invalid {
        assert_eq!(p.encoded_len(), Err(EncodeError::Invalid), "{p:?}");
        assert_eq!(p.encode(&mut buf), Err(EncodeError::Invalid), "{p:?}");
        assert_eq!(p.encode(&mut []), Err(EncodeError::Invalid), "{p:?}");
    }
}

#[test]
fn encoding_refuses_strings_longer_than_65535_bytes() {
    let long = [b'a'; 65_536];
    let long = core::str::from_utf8(&long).unwrap();
    let props = [Property::ContentType(long)];
    let p = publish("t", Properties::new(&props), QoS::AtMostOnce, None);
    assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
    let pair = [Property::UserProperty("k", long)];
    let d = Packet::Disconnect(Disconnect {
        reason: ReasonCode::Success,
        properties: Properties::new(&pair),
    });
    assert_eq!(d.encoded_len(), Err(EncodeError::TooLong));
}
