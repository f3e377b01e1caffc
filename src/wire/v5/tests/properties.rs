// What the property validator refuses (§2.2.2), one test per rule, each
// through a whole packet as a receiver sees it.

use super::super::*;
use crate::wire::EncodeError;
use PropertyError as E;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

pub(super) const CARRIERS: [Carrier; 14] = [
    Carrier::Connect,
    Carrier::Will,
    Carrier::ConnAck,
    Carrier::Publish,
    Carrier::PubAck,
    Carrier::PubRec,
    Carrier::PubRel,
    Carrier::PubComp,
    Carrier::Subscribe,
    Carrier::SubAck,
    Carrier::Unsubscribe,
    Carrier::UnsubAck,
    Carrier::Disconnect,
    Carrier::Auth,
];

/// One valid value of every property of table 2-4, in its order.
pub(super) const SAMPLES: [Property<'static>; 27] = [
    Property::PayloadFormatIndicator(1),
    Property::MessageExpiryInterval(60),
    Property::ContentType("text/plain"),
    Property::ResponseTopic("r"),
    Property::CorrelationData(&[1]),
    Property::SubscriptionIdentifier(5),
    Property::SessionExpiryInterval(10),
    Property::AssignedClientIdentifier("c"),
    Property::ServerKeepAlive(30),
    Property::AuthenticationMethod("m"),
    Property::AuthenticationData(&[2]),
    Property::RequestProblemInformation(1),
    Property::WillDelayInterval(3),
    Property::RequestResponseInformation(1),
    Property::ResponseInformation("i"),
    Property::ServerReference("s"),
    Property::ReasonString("why"),
    Property::ReceiveMaximum(10),
    Property::TopicAliasMaximum(4),
    Property::TopicAlias(2),
    Property::MaximumQoS(1),
    Property::RetainAvailable(1),
    Property::UserProperty("k", "v"),
    Property::MaximumPacketSize(1000),
    Property::WildcardSubscriptionAvailable(1),
    Property::SubscriptionIdentifiersAvailable(1),
    Property::SharedSubscriptionAvailable(1),
];

/// A packet that is valid except perhaps for `props`, the content of its
/// property block for `carrier` (written with its length in front).
fn packet_with<'b>(carrier: Carrier, props: &[u8], buf: &'b mut [u8; 256]) -> &'b [u8] {
    let mut block = [0u8; 128];
    block[0] = props.len() as u8;
    block[1..=props.len()].copy_from_slice(props);
    let block = &block[..=props.len()];
    let mut out = [0u8; 256];
    let bytes = match carrier {
        Carrier::Connect => super::frame(
            0x10,
            &[
                &[0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 0],
                block,
                &[0, 0],
            ],
            &mut out,
        ),
        Carrier::Will => super::frame(
            0x10,
            &[
                &[0, 4, b'M', b'Q', b'T', b'T', 5, 0x06, 0, 0, 0, 0, 0],
                block,
                &[0, 1, b't', 0, 0],
            ],
            &mut out,
        ),
        Carrier::ConnAck => super::frame(0x20, &[&[0, 0], block], &mut out),
        Carrier::Publish => super::frame(0x30, &[&[0, 1, b't'], block], &mut out),
        Carrier::PubAck => super::frame(0x40, &[&[0, 1, 0], block], &mut out),
        Carrier::PubRec => super::frame(0x50, &[&[0, 1, 0], block], &mut out),
        Carrier::PubRel => super::frame(0x62, &[&[0, 1, 0], block], &mut out),
        Carrier::PubComp => super::frame(0x70, &[&[0, 1, 0], block], &mut out),
        Carrier::Subscribe => super::frame(0x82, &[&[0, 1], block, &[0, 1, b'a', 0]], &mut out),
        Carrier::SubAck => super::frame(0x90, &[&[0, 1], block, &[0]], &mut out),
        Carrier::Unsubscribe => super::frame(0xA2, &[&[0, 1], block, &[0, 1, b'a']], &mut out),
        Carrier::UnsubAck => super::frame(0xB0, &[&[0, 1], block, &[0]], &mut out),
        Carrier::Disconnect => super::frame(0xE0, &[&[0], block], &mut out),
        Carrier::Auth => super::frame(0xF0, &[&[0], block], &mut out),
    };
    let n = bytes.len();
    buf[..n].copy_from_slice(bytes);
    &buf[..n]
}

/// Decodes the packet of `carrier` holding `props` (raw property bytes).
fn decode(carrier: Carrier, props: &[u8]) -> Result<(), DecodeError> {
    let mut buf = [0u8; 256];
    Packet::decode(packet_with(carrier, props, &mut buf)).map(drop)
}

/// The raw bytes of `list`'s properties (without the length).
fn raw<'b>(list: &[Property<'_>], buf: &'b mut [u8; 128]) -> &'b [u8] {
    let mut w = crate::wire::writer::Writer::new(&mut buf[..]);
    for p in list {
        p.write(&mut w).unwrap();
    }
    let n = w.position();
    &buf[..n]
}

fn refused(carrier: Carrier, list: &[Property<'_>]) -> Result<(), DecodeError> {
    let mut buf = [0u8; 128];
    decode(carrier, raw(list, &mut buf))
}

fn property_error(e: PropertyError) -> Result<(), DecodeError> {
    Err(DecodeError::Property(e))
}

#[test]
fn an_unknown_property_identifier_is_a_malformed_packet() {
    for id in 0..=255u8 {
        if PropertyId::from_u8(id).is_none() {
            let e = decode(Carrier::ConnAck, &[id, 0, 0, 0, 0]);
            assert_eq!(e, property_error(E::UnknownIdentifier(id)), "{id:#x}");
        }
    }
    assert_eq!(
        DecodeError::Property(E::UnknownIdentifier(0)).reason(),
        ReasonCode::MalformedPacket
    );
}

#[test]
fn every_property_is_allowed_exactly_where_table_2_4_lists_it() {
    use Carrier::*;
    // §2.2.2.2, table 2-4, as the spec writes it ("Will" for the Will Properties).
    let table: [&[Carrier]; 27] = [
        &[Publish, Will],
        &[Publish, Will],
        &[Publish, Will],
        &[Publish, Will],
        &[Publish, Will],
        &[Publish, Subscribe],
        &[Connect, ConnAck, Disconnect],
        &[ConnAck],
        &[ConnAck],
        &[Connect, ConnAck, Auth],
        &[Connect, ConnAck, Auth],
        &[Connect],
        &[Will],
        &[Connect],
        &[ConnAck],
        &[ConnAck, Disconnect],
        &[
            ConnAck, PubAck, PubRec, PubRel, PubComp, SubAck, UnsubAck, Disconnect, Auth,
        ],
        &[Connect, ConnAck],
        &[Connect, ConnAck],
        &[Publish],
        &[ConnAck],
        &[ConnAck],
        &CARRIERS,
        &[Connect, ConnAck],
        &[ConnAck],
        &[ConnAck],
        &[ConnAck],
    ];
    for (sample, allowed) in SAMPLES.iter().zip(table) {
        // Authentication Data needs its method (tested on its own below).
        let with_method = [Property::AuthenticationMethod("m"), *sample];
        for carrier in CARRIERS {
            let listed = allowed.contains(&carrier);
            let list: &[Property<'_>] = if listed && sample.id() == PropertyId::AuthenticationData {
                &with_method
            } else {
                core::slice::from_ref(sample)
            };
            assert_eq!(
                carrier.allows(sample.id()),
                listed,
                "{sample:?} in {carrier:?}"
            );
            let want = if listed {
                Ok(())
            } else {
                property_error(E::NotAllowed(sample.id()))
            };
            assert_eq!(refused(carrier, list), want, "{sample:?} in {carrier:?}");
        }
    }
}

#[test]
fn a_will_property_in_the_connect_properties_is_not_allowed_and_the_reverse() {
    // §3.1.2.11 vs §3.1.3.2: the two blocks of a CONNECT allow different sets.
    let delay = [Property::WillDelayInterval(1)];
    assert_eq!(
        refused(Carrier::Connect, &delay),
        property_error(E::NotAllowed(PropertyId::WillDelayInterval))
    );
    let expiry = [Property::SessionExpiryInterval(1)];
    assert_eq!(
        refused(Carrier::Will, &expiry),
        property_error(E::NotAllowed(PropertyId::SessionExpiryInterval))
    );
}

#[test]
fn a_duplicate_receive_maximum_in_connack_is_a_protocol_error() {
    // §3.2.2.3.3: "It is a Protocol Error to include the Receive Maximum
    // value more than once".
    let twice = [Property::ReceiveMaximum(10), Property::ReceiveMaximum(10)];
    let e = refused(Carrier::ConnAck, &twice);
    assert_eq!(e, property_error(E::Duplicate(PropertyId::ReceiveMaximum)));
    assert_eq!(e.unwrap_err().reason(), ReasonCode::ProtocolError);
}

#[test]
fn every_property_but_user_property_is_refused_twice_wherever_it_is_allowed() {
    for sample in SAMPLES {
        for carrier in CARRIERS.into_iter().filter(|c| c.allows(sample.id())) {
            let twice = [Property::AuthenticationMethod("m"), sample, sample];
            let list = if sample.id() == PropertyId::AuthenticationData {
                &twice[..]
            } else {
                &twice[1..]
            };
            let repeats = sample.id() == PropertyId::UserProperty
                || (sample.id() == PropertyId::SubscriptionIdentifier
                    && carrier == Carrier::Publish);
            let want = if repeats {
                Ok(())
            } else {
                property_error(E::Duplicate(sample.id()))
            };
            assert_eq!(
                refused(carrier, list),
                want,
                "{sample:?} twice in {carrier:?}"
            );
            // Encoding refuses the same list.
            let props = Properties::new(list);
            assert_eq!(props.check(carrier).is_ok(), repeats);
        }
    }
}

#[test]
fn subscription_identifiers_repeat_in_a_publish_but_not_in_a_subscribe() {
    // §3.3.2.3.8: one per matching subscription; §3.8.2.1.2: "It is a
    // Protocol Error to include the Subscription Identifier more than once".
    let two = [
        Property::SubscriptionIdentifier(1),
        Property::SubscriptionIdentifier(2),
    ];
    assert_eq!(refused(Carrier::Publish, &two), Ok(()));
    assert_eq!(
        refused(Carrier::Subscribe, &two),
        property_error(E::Duplicate(PropertyId::SubscriptionIdentifier))
    );
}

#[test]
fn user_properties_repeat_and_keep_their_order() {
    // §3.1.2.11.8: may appear multiple times, the same name more than once.
    let list = [
        Property::UserProperty("a", "1"),
        Property::UserProperty("b", "2"),
        Property::UserProperty("a", "3"),
    ];
    let mut raw_buf = [0u8; 128];
    let bytes = raw(&list, &mut raw_buf);
    let mut buf = [0u8; 256];
    let frame = packet_with(Carrier::PubAck, bytes, &mut buf);
    let Ok(Packet::PubAck(ack)) = Packet::decode(frame) else {
        panic!()
    };
    let got: heapless::Vec<_, 4> = ack.properties.user_properties().collect();
    assert_eq!(got, [("a", "1"), ("b", "2"), ("a", "3")]);
    assert_eq!(ack.properties, Properties::new(&list));
}

#[test]
fn a_property_length_past_the_end_of_the_packet_is_truncated() {
    // A CONNACK whose Property Length says 5 with 2 bytes left.
    let bytes = [0x20, 5, 0, 0, 5, 0x24, 1];
    assert_eq!(
        Packet::decode(&bytes),
        Err(DecodeError::Property(E::Truncated))
    );
    // A PUBLISH that ends before its Property Length.
    assert_eq!(
        Packet::decode(&[0x30, 3, 0, 1, b't']),
        Err(DecodeError::Property(E::Truncated))
    );
}

#[test]
fn a_value_running_past_the_property_block_is_truncated() {
    // Receive Maximum needs two bytes; the block holds one. The byte after
    // the block (a SUBACK's reason code) is not read as part of it.
    let bytes = [0x90, 6, 0, 1, 2, 0x21, 0, 0];
    assert_eq!(
        Packet::decode(&bytes),
        Err(DecodeError::Property(E::Truncated))
    );
    for cut in [
        &[0x26, 0, 1, b'k'][..],
        &[0x26, 0, 1, b'k', 0],
        &[0x1F, 0, 5, b'a'],
        &[0x02, 0, 0],
    ] {
        assert_eq!(
            decode(Carrier::Disconnect, cut),
            property_error(E::Truncated),
            "{cut:x?}"
        );
    }
}

#[test]
fn a_property_length_not_in_its_shortest_form_is_refused() {
    // [MQTT-1.5.5-1]: 0x80 0x00 is a two-byte zero.
    let bytes = [0x20, 4, 0, 0, 0x80, 0x00];
    assert_eq!(
        Packet::decode(&bytes),
        Err(DecodeError::Property(E::BadVariableByteInteger))
    );
    // Five bytes.
    let bytes = [0x20, 7, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
    assert_eq!(
        Packet::decode(&bytes),
        Err(DecodeError::Property(E::BadVariableByteInteger))
    );
}

#[test]
fn a_subscription_identifier_not_in_its_shortest_form_is_refused() {
    assert_eq!(
        decode(Carrier::Subscribe, &[0x0B, 0x81, 0x00]),
        property_error(E::BadVariableByteInteger)
    );
    assert_eq!(decode(Carrier::Subscribe, &[0x0B, 0x81, 0x01]), Ok(()));
    assert_eq!(
        decode(Carrier::Subscribe, &[0x0B, 0x81]),
        property_error(E::Truncated)
    );
}

#[test]
fn a_string_property_with_ill_formed_utf8_or_u0000_is_refused() {
    // §1.5.4: well-formed UTF-8 [MQTT-1.5.4-1], no U+0000 [MQTT-1.5.4-2].
    for bad in [&[0xC3][..], &[0xED, 0xA0, 0x80], &[b'a', 0, b'b'], &[0xFF]] {
        let mut props = [0u8; 8];
        props[0] = 0x1F; // Reason String
        props[2] = bad.len() as u8;
        props[3..3 + bad.len()].copy_from_slice(bad);
        let props = &props[..3 + bad.len()];
        assert_eq!(
            decode(Carrier::PubAck, props),
            property_error(E::BadUtf8),
            "{bad:x?}"
        );
    }
}

#[test]
fn either_half_of_a_user_property_with_bad_utf8_is_refused() {
    // §1.5.7: both strings of a pair follow §1.5.4.
    let name = [0x26, 0, 1, 0, 0, 1, b'v'];
    let value = [0x26, 0, 1, b'k', 0, 1, 0xC0];
    assert_eq!(
        decode(Carrier::Unsubscribe, &name),
        property_error(E::BadUtf8)
    );
    assert_eq!(
        decode(Carrier::Unsubscribe, &value),
        property_error(E::BadUtf8)
    );
}

#[test]
fn a_receive_maximum_of_zero_is_a_protocol_error() {
    // §3.1.2.11.3, §3.2.2.3.3.
    let zero = [Property::ReceiveMaximum(0)];
    for carrier in [Carrier::Connect, Carrier::ConnAck] {
        assert_eq!(
            refused(carrier, &zero),
            property_error(E::ZeroReceiveMaximum)
        );
    }
}

#[test]
fn a_maximum_packet_size_of_zero_is_a_protocol_error() {
    // §3.1.2.11.4, §3.2.2.3.6.
    let zero = [Property::MaximumPacketSize(0)];
    for carrier in [Carrier::Connect, Carrier::ConnAck] {
        assert_eq!(
            refused(carrier, &zero),
            property_error(E::ZeroMaximumPacketSize)
        );
    }
}

#[test]
fn a_topic_alias_of_zero_is_a_protocol_error() {
    // §3.3.2.3.4 [MQTT-3.3.2-8].
    let zero = [Property::TopicAlias(0)];
    assert_eq!(
        refused(Carrier::Publish, &zero),
        property_error(E::ZeroTopicAlias)
    );
}

#[test]
fn a_subscription_identifier_of_zero_is_a_protocol_error() {
    // §3.3.2.3.8, §3.8.2.1.2.
    let zero = [Property::SubscriptionIdentifier(0)];
    for carrier in [Carrier::Publish, Carrier::Subscribe] {
        assert_eq!(
            refused(carrier, &zero),
            property_error(E::ZeroSubscriptionIdentifier)
        );
    }
}

#[test]
fn a_subscription_identifier_above_268_435_455_cannot_be_encoded() {
    let big = [Property::SubscriptionIdentifier(
        MAX_SUBSCRIPTION_IDENTIFIER + 1,
    )];
    let mut buf = [0u8; 16];
    assert_eq!(
        Properties::new(&big).encode(Carrier::Subscribe, &mut buf),
        Err(EncodeError::Invalid)
    );
}

#[test]
fn a_maximum_qos_above_one_is_a_protocol_error() {
    // §3.2.2.3.4: 0 or 1 (a server supporting QoS 2 leaves it out).
    for q in 2..=255 {
        let p = [Property::MaximumQoS(q)];
        assert_eq!(
            refused(Carrier::ConnAck, &p),
            property_error(E::BadMaximumQoS)
        );
    }
}

#[test]
fn a_payload_format_indicator_above_one_is_refused() {
    // §3.3.2.3.2, §3.1.3.2.3: 0 (bytes) or 1 (UTF-8).
    let p = [Property::PayloadFormatIndicator(2)];
    for carrier in [Carrier::Publish, Carrier::Will] {
        assert_eq!(
            refused(carrier, &p),
            property_error(E::BadPayloadFormatIndicator)
        );
    }
}

#[test]
fn request_problem_and_response_information_above_one_are_protocol_errors() {
    // §3.1.2.11.7, §3.1.2.11.6.
    let p = [Property::RequestProblemInformation(2)];
    assert_eq!(
        refused(Carrier::Connect, &p),
        property_error(E::BadRequestProblemInformation)
    );
    let p = [Property::RequestResponseInformation(7)];
    assert_eq!(
        refused(Carrier::Connect, &p),
        property_error(E::BadRequestResponseInformation)
    );
}

#[test]
fn the_connack_availability_flags_above_one_are_protocol_errors() {
    // §3.2.2.3.5, §3.2.2.3.11, §3.2.2.3.12, §3.2.2.3.13.
    let cases = [
        (Property::RetainAvailable(2), E::BadRetainAvailable),
        (
            Property::WildcardSubscriptionAvailable(2),
            E::BadWildcardSubscriptionAvailable,
        ),
        (
            Property::SubscriptionIdentifiersAvailable(2),
            E::BadSubscriptionIdentifiersAvailable,
        ),
        (
            Property::SharedSubscriptionAvailable(0xFF),
            E::BadSharedSubscriptionAvailable,
        ),
    ];
    for (p, e) in cases {
        assert_eq!(refused(Carrier::ConnAck, &[p]), property_error(e));
    }
}

#[test]
fn authentication_data_without_a_method_is_a_protocol_error() {
    // §3.1.2.11.10: "It is a Protocol Error to include Authentication Data
    // if there is no Authentication Method".
    let data = [Property::AuthenticationData(&[1])];
    for carrier in [Carrier::Connect, Carrier::ConnAck, Carrier::Auth] {
        assert_eq!(
            refused(carrier, &data),
            property_error(E::AuthenticationDataWithoutMethod)
        );
    }
    // After it or before it, the method makes it fine.
    let both = [
        Property::AuthenticationData(&[1]),
        Property::AuthenticationMethod("m"),
    ];
    assert_eq!(refused(Carrier::Auth, &both), Ok(()));
}

#[test]
fn encoding_refuses_every_block_decoding_refuses_before_writing() {
    let bad: [&[Property<'_>]; 5] = [
        &[Property::ReceiveMaximum(0)],
        &[Property::TopicAlias(1)],
        &[
            Property::SessionExpiryInterval(1),
            Property::SessionExpiryInterval(2),
        ],
        &[Property::AuthenticationData(&[])],
        &[Property::MaximumQoS(2)],
    ];
    for list in bad {
        let props = Properties::new(list);
        let want = refused(Carrier::Connect, list).unwrap_err();
        assert_eq!(
            props.check(Carrier::Connect).map_err(DecodeError::Property),
            Err(want)
        );
        let mut buf = [0xAAu8; 32];
        assert_eq!(
            props.encode(Carrier::Connect, &mut buf),
            Err(EncodeError::Invalid)
        );
        assert_eq!(
            props.encoded_len(Carrier::Connect),
            Err(EncodeError::Invalid)
        );
        assert!(buf.iter().all(|&b| b == 0xAA), "nothing written");
        // Inside a packet too.
        let p = Packet::Disconnect(Disconnect {
            reason: ReasonCode::UnspecifiedError,
            properties: props,
        });
        assert_eq!(p.encode(&mut buf), Err(EncodeError::Invalid));
    }
}
