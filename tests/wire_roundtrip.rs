//! Property tests for the wire codec (`limpet::wire`).
//!
//! - Every valid packet of every type survives encode → `Frame::parse` →
//!   decode unchanged; `encoded_len` is what `encode` writes; every shorter
//!   buffer is `BufferTooSmall`.
//! - Any bytes (random, or valid packets with bytes overwritten) can be fed to
//!   `Frame::parse`, `Packet::decode` and `Packet::decode_from_server` without
//!   a panic, and whatever decodes re-encodes to exactly the same bytes: the
//!   codec accepts only the canonical form (`Frame::parse` rejects
//!   non-minimal remaining lengths for this reason).

use limpet::wire::{
    ConnAck, Connect, ConnectReturnCode, DecodeError, EncodeError, Frame, Packet, PacketType,
    Publish, QoS, SubAck, Subscribe, SubscribeTopics, Unsubscribe, UnsubscribeTopics, Will,
};
use proptest::prelude::*;
use proptest::sample::Index;

/// An owned description of a valid packet, from which a borrowed
/// [`Packet`] is built.
#[derive(Clone, Debug)]
enum Model {
    Connect {
        client_id: String,
        keep_alive: u16,
        clean_session: bool,
        will: Option<(String, Vec<u8>, QoS, bool)>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck(bool, u8),
    Publish {
        dup: bool,
        qos: QoS,
        retain: bool,
        topic: String,
        pid: u16,
        payload: Vec<u8>,
    },
    /// PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (by index) with an id.
    IdOnly(usize, u16),
    Subscribe(u16, Vec<(String, QoS)>),
    SubAck(u16, Vec<u8>),
    Unsubscribe(u16, Vec<String>),
    /// PINGREQ, PINGRESP, DISCONNECT (by index).
    Empty(usize),
}

/// Builds the packet `m` describes and hands it to `f`.
fn with_packet<R>(m: &Model, f: impl FnOnce(Packet<'_>) -> R) -> R {
    match m {
        Model::Connect {
            client_id,
            keep_alive,
            clean_session,
            will,
            username,
            password,
        } => f(Packet::Connect(Connect {
            client_id,
            keep_alive: *keep_alive,
            clean_session: *clean_session,
            will: will.as_ref().map(|(topic, payload, qos, retain)| Will {
                topic,
                payload,
                qos: *qos,
                retain: *retain,
            }),
            username: username.as_deref(),
            password: password.as_deref(),
        })),
        Model::ConnAck(session_present, code) => f(Packet::ConnAck(ConnAck {
            session_present: *session_present,
            code: ConnectReturnCode::from_u8(*code).unwrap(),
        })),
        Model::Publish {
            dup,
            qos,
            retain,
            topic,
            pid,
            payload,
        } => f(Packet::Publish(Publish {
            dup: *dup,
            qos: *qos,
            retain: *retain,
            topic,
            pid: (*qos != QoS::AtMostOnce).then_some(*pid),
            payload,
        })),
        Model::IdOnly(kind, id) => f([
            Packet::PubAck,
            Packet::PubRec,
            Packet::PubRel,
            Packet::PubComp,
            Packet::UnsubAck,
        ][*kind](*id)),
        Model::Subscribe(pid, topics) => {
            let list: Vec<(&str, QoS)> = topics.iter().map(|(t, q)| (t.as_str(), *q)).collect();
            f(Packet::Subscribe(Subscribe {
                pid: *pid,
                topics: SubscribeTopics::List(&list),
            }))
        }
        Model::SubAck(pid, codes) => f(Packet::SubAck(SubAck { pid: *pid, codes })),
        Model::Unsubscribe(pid, topics) => {
            let list: Vec<&str> = topics.iter().map(String::as_str).collect();
            f(Packet::Unsubscribe(Unsubscribe {
                pid: *pid,
                topics: UnsubscribeTopics::List(&list),
            }))
        }
        Model::Empty(kind) => f([Packet::PingReq, Packet::PingResp, Packet::Disconnect][*kind]),
    }
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

/// Any string without U+0000 (§1.5.3).
fn text() -> impl Strategy<Value = String> {
    "[^\\x00]{0,20}"
}

/// Topic Names: non-empty, no NUL, no wildcards.
fn topic() -> impl Strategy<Value = String> {
    prop_oneof!["[^\\x00+#]{1,20}", "[a-z/]{1,12}"]
}

/// Topic Filters: non-empty, no NUL.
fn filter() -> impl Strategy<Value = String> {
    prop_oneof!["[^\\x00]{1,20}", "[a-z/+#]{1,12}"]
}

fn pid() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

/// Payloads mostly small, sometimes large enough for 2- and 3-byte
/// remaining lengths.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..200),
        1 => prop::collection::vec(any::<u8>(), 16_300..16_500),
    ]
}

fn model() -> impl Strategy<Value = Model> {
    let connect = (
        text(),
        any::<u16>(),
        any::<bool>(),
        prop::option::of((
            topic(),
            prop::collection::vec(any::<u8>(), 0..40),
            qos(),
            any::<bool>(),
        )),
        prop::option::of(text()),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
    )
        .prop_map(
            |(client_id, keep_alive, clean_session, will, username, password)| Model::Connect {
                client_id,
                keep_alive,
                clean_session,
                will,
                // A password needs a username (§3.1.2.9).
                password: username.as_ref().and(password),
                username,
            },
        );
    let publish = (
        any::<bool>(),
        qos(),
        any::<bool>(),
        topic(),
        pid(),
        payload(),
    )
        .prop_map(|(dup, qos, retain, topic, pid, payload)| Model::Publish {
            dup,
            qos,
            retain,
            topic,
            pid,
            payload,
        });
    let suback_code = prop_oneof![Just(0u8), Just(1), Just(2), Just(0x80)];
    prop_oneof![
        connect,
        (any::<bool>(), 0..=5u8).prop_map(|(s, c)| Model::ConnAck(s, c)),
        publish,
        (0..5usize, pid()).prop_map(|(k, id)| Model::IdOnly(k, id)),
        (pid(), prop::collection::vec((filter(), qos()), 1..8))
            .prop_map(|(p, t)| Model::Subscribe(p, t)),
        (pid(), prop::collection::vec(suback_code, 1..8)).prop_map(|(p, c)| Model::SubAck(p, c)),
        (pid(), prop::collection::vec(filter(), 1..8)).prop_map(|(p, t)| Model::Unsubscribe(p, t)),
        (0..3usize).prop_map(Model::Empty),
    ]
}

fn is_client_only(t: PacketType) -> bool {
    matches!(
        t,
        PacketType::Connect
            | PacketType::Subscribe
            | PacketType::Unsubscribe
            | PacketType::PingReq
            | PacketType::Disconnect
    )
}

/// `decode_from_server` agrees with `decode`, except for the five types a
/// server never sends.
fn check_from_server(frame: &[u8], t: PacketType) -> Result<(), TestCaseError> {
    let from_server = Packet::decode_from_server(frame);
    if is_client_only(t) {
        prop_assert_eq!(from_server, Err(DecodeError::UnexpectedFromServer));
    } else {
        prop_assert_eq!(from_server, Packet::decode(frame));
    }
    Ok(())
}

fn check_roundtrip(p: Packet<'_>, cuts: &[Index]) -> Result<(), TestCaseError> {
    let len = p.encoded_len().unwrap();
    let mut buf = vec![0xAAu8; len + 5];
    prop_assert_eq!(p.encode(&mut buf), Ok(len));
    let bytes = &buf[..len];

    let f = Frame::parse(&buf).unwrap().unwrap();
    prop_assert_eq!(f.len(), len);
    prop_assert_eq!(f.packet_type, p.packet_type());
    for k in 0..f.header_len {
        prop_assert_eq!(Frame::parse(&bytes[..k]), Ok(None));
    }
    prop_assert_eq!(Packet::decode(bytes), Ok(p));
    check_from_server(bytes, f.packet_type)?;
    if let Packet::Publish(publish) = p {
        prop_assert_eq!(f.publish_packet_id(bytes), publish.pid);
        prop_assert_eq!(f.publish_packet_id(&buf), publish.pid);
    }
    // Whole packet only: one byte less or more is FrameLength.
    prop_assert_eq!(
        Packet::decode(&bytes[..len - 1]),
        Err(DecodeError::FrameLength)
    );
    prop_assert_eq!(
        Packet::decode(&buf[..len + 1]),
        Err(DecodeError::FrameLength)
    );

    let mut small = vec![0u8; len];
    let mut shorter = vec![0, len - 1];
    shorter.extend(cuts.iter().map(|i| i.index(len)));
    for n in shorter {
        prop_assert_eq!(
            p.encode(&mut small[..n]),
            Err(EncodeError::BufferTooSmall),
            "buffer of {}",
            n
        );
    }
    Ok(())
}

/// What a receiver does with `bytes`: split into frames, decode each. Whatever
/// decodes must re-encode to the same bytes.
fn receive(bytes: &[u8]) -> Result<usize, TestCaseError> {
    let mut decoded = 0;
    let mut rest = bytes;
    while let Ok(Some(f)) = Frame::parse(rest) {
        let Some((frame, tail)) = rest.split_at_checked(f.len()) else {
            break;
        };
        let _ = f.publish_packet_id(rest);
        if let Ok(p) = Packet::decode(frame) {
            decoded += 1;
            prop_assert_eq!(p.packet_type(), f.packet_type);
            prop_assert_eq!(p.encoded_len(), Ok(frame.len()));
            let mut out = vec![0u8; frame.len()];
            prop_assert_eq!(p.encode(&mut out), Ok(frame.len()));
            prop_assert_eq!(&out[..], frame);
        }
        check_from_server(frame, f.packet_type)?;
        rest = tail;
    }
    // The whole input as one frame, too.
    let _ = Packet::decode(bytes);
    let _ = Packet::decode_from_server(bytes);
    Ok(decoded)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_valid_packet_roundtrips(m in model(), cuts in prop::collection::vec(any::<Index>(), 3)) {
        with_packet(&m, |p| check_roundtrip(p, &cuts))?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        receive(&bytes)?;
    }

    /// Valid packets, back to back, with a few bytes overwritten and maybe
    /// cut short: reaches the field validation of every type.
    #[test]
    fn mutated_packets_never_panic(
        models in prop::collection::vec(model(), 1..4),
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 0..4),
        cut in any::<Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        for m in &models {
            with_packet(m, |p| {
                let start = bytes.len();
                bytes.resize(start + p.encoded_len().unwrap(), 0);
                p.encode(&mut bytes[start..]).unwrap();
            });
        }
        let intact = edits.is_empty() && !do_cut;
        for (i, b) in &edits {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let decoded = receive(&bytes)?;
        if intact {
            prop_assert_eq!(decoded, models.len());
        }
    }
}

#[test]
fn non_minimal_remaining_length_is_not_accepted() {
    // PINGRESP with remaining length 0 written in two bytes: accepting it
    // would break "decoded ⇒ re-encodes to the same bytes".
    assert_eq!(
        Frame::parse(&[0xD0, 0x80, 0x00]),
        Err(DecodeError::BadRemainingLength)
    );
    assert_eq!(
        Packet::decode(&[0xD0, 0x80, 0x00]),
        Err(DecodeError::BadRemainingLength)
    );
}
