// Unit tests live beside their code: a `mod tests` at the bottom of a small
// file, a `tests` file or folder beside a module whose tests are long (here).
//
// Here: each packet decoded and re-encoded, and what decoding refuses; what
// encoding refuses is in `refused.rs`.

mod refused;

use super::*;
use crate::wire::{DecodeError, EncodeError, Frame};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

fn is_client_only(p: &Packet<'_>) -> bool {
    matches!(
        p,
        Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq
            | Packet::Disconnect
    )
}

/// `bytes` decodes to `packet`, which encodes back to `bytes`; every
/// shorter buffer is too small.
fn check(bytes: &[u8], packet: Packet<'_>) {
    assert_eq!(Packet::decode(bytes), Ok(packet), "decode {bytes:02x?}");
    let from_server = Packet::decode_from_server(bytes);
    if is_client_only(&packet) {
        assert_eq!(from_server, Err(DecodeError::UnexpectedFromServer));
    } else {
        assert_eq!(from_server, Ok(packet));
    }
    let f = Frame::parse(bytes).unwrap().unwrap();
    assert_eq!(f.len(), bytes.len());
    assert_eq!(f.packet_type, packet.packet_type());
    assert_eq!(packet.encoded_len(), Ok(bytes.len()));
    let mut storage = [0u8; 64];
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

fn decode_err(bytes: &[u8]) -> DecodeError {
    Packet::decode(bytes).unwrap_err()
}

#[test]
fn connect_full() {
    // Variable header of §3.1.2.10 figure 3.6: flags 0xCE = username,
    // password, will QoS 1, will, clean session; keep alive 10.
    let bytes = [
        0x10, 35, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xCE, 0, 10, // header
        0, 6, b'l', b'i', b'm', b'p', b'e', b't', // client id
        0, 3, b'w', b'/', b't', 0, 3, b'b', b'y', b'e', // will
        0, 1, b'u', 0, 2, 1, 2, // username, password
    ];
    let p = Packet::Connect(Connect {
        client_id: "limpet",
        keep_alive: 10,
        clean_session: true,
        will: Some(Will {
            topic: "w/t",
            payload: b"bye",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        username: Some("u"),
        password: Some(&[1, 2]),
    });
    check(&bytes, p);
}

#[test]
fn connect_minimal_and_will_retain() {
    let p = Packet::Connect(Connect {
        client_id: "",
        keep_alive: 60,
        clean_session: true,
        will: None,
        username: None,
        password: None,
    });
    check(
        &[0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0],
        p,
    );
    let p = Packet::Connect(Connect {
        client_id: "c",
        keep_alive: 0x1234,
        clean_session: false,
        will: Some(Will {
            topic: "t",
            payload: b"",
            qos: QoS::ExactlyOnce,
            retain: true,
        }),
        username: Some(""),
        password: None,
    });
    let bytes = [
        0x10, 20, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xB4, 0x12, 0x34, 0, 1, b'c', 0, 1, b't', 0, 0,
        0, 0,
    ];
    check(&bytes, p);
}

#[test]
fn connect_errors() {
    let good = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0];
    let with = |i: usize, b: u8| {
        let mut v = good;
        v[i] = b;
        decode_err(&v)
    };
    assert_eq!(with(4, b'X'), DecodeError::BadConnect); // protocol name
    assert_eq!(with(8, 3), DecodeError::BadConnect); // level
    assert_eq!(with(9, 0x03), DecodeError::BadConnect); // reserved bit
    assert_eq!(with(9, 0x08), DecodeError::BadConnect); // will QoS without will
    assert_eq!(with(9, 0x20), DecodeError::BadConnect); // will retain without will
    assert_eq!(with(9, 0x40), DecodeError::BadConnect); // password without username
    assert_eq!(with(9, 0x1C), DecodeError::BadQoS); // will QoS 3
    assert_eq!(with(9, 0x80), DecodeError::Truncated); // username missing
    assert_eq!(with(9, 0x04), DecodeError::Truncated); // will missing
    assert_eq!(with(13, 1), DecodeError::Truncated); // client id past end
    let mqisdp = [
        0x10, 14, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 0x02, 0, 60, 0, 0,
    ];
    assert_eq!(decode_err(&mqisdp), DecodeError::BadConnect);
    let trailing = [
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0, 9,
    ];
    assert_eq!(decode_err(&trailing), DecodeError::TrailingBytes);
    let bad_id = [
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, 0xFF,
    ];
    assert_eq!(decode_err(&bad_id), DecodeError::BadUtf8);
    // Will topic with a wildcard.
    let will = [
        0x10, 17, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x06, 0, 60, 0, 0, 0, 1, b'#', 0, 0,
    ];
    assert_eq!(decode_err(&will), DecodeError::BadPayload);
    assert_eq!(decode_err(&[0x10, 0]), DecodeError::Truncated);
}

#[test]
fn connack() {
    let p = |session_present, code| {
        Packet::ConnAck(ConnAck {
            session_present,
            code,
        })
    };
    check(&[0x20, 2, 0, 0], p(false, ConnectReturnCode::Accepted));
    check(&[0x20, 2, 1, 0], p(true, ConnectReturnCode::Accepted));
    check(
        &[0x20, 2, 0, 1],
        p(false, ConnectReturnCode::UnacceptableProtocolVersion),
    );
    check(
        &[0x20, 2, 0, 2],
        p(false, ConnectReturnCode::IdentifierRejected),
    );
    check(
        &[0x20, 2, 0, 3],
        p(false, ConnectReturnCode::ServerUnavailable),
    );
    check(
        &[0x20, 2, 0, 4],
        p(false, ConnectReturnCode::BadUserNameOrPassword),
    );
    check(&[0x20, 2, 0, 5], p(false, ConnectReturnCode::NotAuthorized));
    for code in 0..=255u8 {
        let c = ConnectReturnCode::from_u8(code);
        assert_eq!(
            c.map(|c| c as u8),
            if code <= 5 { Some(code) } else { None }
        );
    }
    assert_eq!(decode_err(&[0x20, 2, 2, 0]), DecodeError::BadConnAck);
    assert_eq!(decode_err(&[0x20, 2, 0x80, 0]), DecodeError::BadConnAck);
    assert_eq!(decode_err(&[0x20, 2, 0, 6]), DecodeError::BadConnAck);
    assert_eq!(decode_err(&[0x20, 1, 0]), DecodeError::Truncated);
    assert_eq!(decode_err(&[0x20, 3, 0, 0, 0]), DecodeError::TrailingBytes);
    assert_eq!(decode_err(&[0x21, 2, 0, 0]), DecodeError::BadFlags);
}

#[test]
fn a_connack_with_any_reserved_acknowledge_flag_bit_set_is_refused() {
    // §3.2.2.1: bits 7–1 of the Connect Acknowledge Flags are reserved
    // and MUST be 0; only bit 0 (Session Present) may be set. §4.8: the
    // receiver closes the connection, so decoding refuses it.
    for flags in 0..=255u8 {
        for code in [0u8, 5] {
            let frame = [0x20, 2, flags, code];
            let want = match flags {
                0 | 1 => Ok(Packet::ConnAck(ConnAck {
                    session_present: flags == 1,
                    code: ConnectReturnCode::from_u8(code).unwrap(),
                })),
                _ => Err(DecodeError::BadConnAck),
            };
            assert_eq!(Packet::decode(&frame), want, "flags {flags:#04x}");
            assert_eq!(
                Packet::decode_from_server(&frame),
                want,
                "flags {flags:#04x}"
            );
        }
    }
}

#[test]
fn publish() {
    // §3.3.2.3 figure 3.11: topic "a/b", packet id 10.
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "a/b",
        pid: Some(10),
        payload: b"hi",
    });
    check(&[0x32, 9, 0, 3, b'a', b'/', b'b', 0, 10, b'h', b'i'], p);
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: true,
        topic: "a/b",
        pid: None,
        payload: b"",
    });
    check(&[0x31, 5, 0, 3, b'a', b'/', b'b'], p);
    let p = Packet::Publish(Publish {
        dup: true,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "a/b",
        pid: Some(0x1234),
        payload: b"",
    });
    check(&[0x3C, 7, 0, 3, b'a', b'/', b'b', 0x12, 0x34], p);
    // DUP on QoS 0 is tolerated (see module docs).
    let p = Packet::Publish(Publish {
        dup: true,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "ü",
        pid: None,
        payload: &[0],
    });
    check(&[0x38, 5, 0, 2, 0xC3, 0xBC, 0], p);
}

#[test]
fn publish_large_payload() {
    let mut bytes = [0u8; 7 + 16_384 - 3];
    bytes[..7].copy_from_slice(&[0x30, 0x80, 0x80, 0x01, 0, 1, b't']);
    for (i, b) in bytes[7..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let payload = &bytes[7..];
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "t",
        pid: None,
        payload,
    });
    assert_eq!(Packet::decode(&bytes), Ok(p));
    assert_eq!(p.encoded_len(), Ok(bytes.len()));
    let mut buf = [0u8; 7 + 16_384 - 3];
    assert_eq!(p.encode(&mut buf), Ok(bytes.len()));
    assert_eq!(buf, bytes);
    assert_eq!(
        p.encode(&mut buf[..bytes.len() - 1]),
        Err(EncodeError::BufferTooSmall)
    );
}

#[test]
fn publish_errors() {
    assert_eq!(
        decode_err(&[0x36, 5, 0, 3, b'a', b'/', b'b']),
        DecodeError::BadQoS
    );
    assert_eq!(decode_err(&[0x30, 3, 0, 5, b'a']), DecodeError::Truncated);
    assert_eq!(decode_err(&[0x30, 1, 0]), DecodeError::Truncated);
    assert_eq!(decode_err(&[0x32, 3, 0, 1, b'a']), DecodeError::Truncated); // no id
    assert_eq!(
        decode_err(&[0x32, 5, 0, 1, b'a', 0, 0]),
        DecodeError::ZeroPacketId
    );
    assert_eq!(decode_err(&[0x30, 3, 0, 1, 0xC3]), DecodeError::BadUtf8);
    assert_eq!(decode_err(&[0x30, 3, 0, 1, 0]), DecodeError::BadUtf8);
    assert_eq!(decode_err(&[0x30, 2, 0, 0]), DecodeError::BadPayload); // empty topic
    assert_eq!(
        decode_err(&[0x30, 4, 0, 2, b'a', b'+']),
        DecodeError::BadPayload
    );
    assert_eq!(decode_err(&[0x30, 3, 0, 1, b'#']), DecodeError::BadPayload);
}

#[test]
fn id_only_packets() {
    check(&[0x40, 2, 0, 10], Packet::PubAck(10));
    check(&[0x50, 2, 0xFF, 0xFF], Packet::PubRec(0xFFFF));
    check(&[0x62, 2, 1, 0], Packet::PubRel(0x100));
    check(&[0x70, 2, 0, 1], Packet::PubComp(1));
    check(&[0xB0, 2, 0, 10], Packet::UnsubAck(10));
    for first in [0x40, 0x50, 0x62, 0x70, 0xB0] {
        assert_eq!(decode_err(&[first, 2, 0, 0]), DecodeError::ZeroPacketId);
        assert_eq!(decode_err(&[first, 1, 1]), DecodeError::Truncated);
        assert_eq!(decode_err(&[first, 0]), DecodeError::Truncated);
        assert_eq!(decode_err(&[first, 3, 0, 1, 0]), DecodeError::TrailingBytes);
    }
    assert_eq!(decode_err(&[0x60, 2, 0, 1]), DecodeError::BadFlags);
}

#[test]
fn subscribe() {
    // §3.8.3 figure 3.23: "a/b" QoS 1, "c/d" QoS 2; packet id 10.
    let bytes = [
        0x82, 14, 0, 10, 0, 3, b'a', b'/', b'b', 1, 0, 3, b'c', b'/', b'd', 2,
    ];
    let list = [("a/b", QoS::AtLeastOnce), ("c/d", QoS::ExactlyOnce)];
    let p = Packet::Subscribe(Subscribe {
        pid: 10,
        topics: SubscribeTopics::List(&list),
    });
    check(&bytes, p);
    let Ok(Packet::Subscribe(s)) = Packet::decode(&bytes) else {
        panic!()
    };
    assert!(matches!(s.topics, SubscribeTopics::Wire(_)));
    assert_eq!(s.topics.len(), 2);
    assert!(!s.topics.is_empty());
    assert_eq!(s.topics.iter().collect::<heapless::Vec<_, 4>>(), list);
    assert_eq!(s.topics, SubscribeTopics::List(&list));
    assert_ne!(s.topics, SubscribeTopics::List(&list[..1]));
    assert!(SubscribeTopics::List(&[]).is_empty());
    assert!(SubscribeTopics::Wire(&[]).is_empty());
    // Wildcards are fine in filters.
    let p = Packet::Subscribe(Subscribe {
        pid: 1,
        topics: SubscribeTopics::List(&[("#", QoS::AtMostOnce)]),
    });
    check(&[0x82, 6, 0, 1, 0, 1, b'#', 0], p);
}

#[test]
fn subscribe_errors() {
    assert_eq!(decode_err(&[0x82, 2, 0, 1]), DecodeError::BadPayload);
    assert_eq!(decode_err(&[0x82, 2, 0, 0]), DecodeError::ZeroPacketId);
    assert_eq!(
        decode_err(&[0x82, 6, 0, 1, 0, 1, b'a', 3]),
        DecodeError::BadQoS
    );
    assert_eq!(
        decode_err(&[0x82, 6, 0, 1, 0, 1, b'a', 4]),
        DecodeError::BadQoS
    );
    assert_eq!(
        decode_err(&[0x82, 6, 0, 1, 0, 1, b'a', 0x81]),
        DecodeError::BadQoS
    );
    assert_eq!(
        decode_err(&[0x82, 5, 0, 1, 0, 1, b'a']),
        DecodeError::Truncated
    );
    assert_eq!(
        decode_err(&[0x82, 5, 0, 1, 0, 0, 0]),
        DecodeError::BadPayload
    );
    assert_eq!(
        decode_err(&[0x82, 6, 0, 1, 0, 1, 0xFE, 0]),
        DecodeError::BadUtf8
    );
    assert_eq!(decode_err(&[0x80, 2, 0, 1]), DecodeError::BadFlags);
}

#[test]
fn suback() {
    // §3.9.3 figure 3.26: granted QoS 0, granted QoS 2, failure.
    let p = Packet::SubAck(SubAck {
        pid: 10,
        codes: &[0, 2, 0x80],
    });
    check(&[0x90, 5, 0, 10, 0, 2, 0x80], p);
    check(
        &[0x90, 3, 0, 1, 1],
        Packet::SubAck(SubAck {
            pid: 1,
            codes: &[1],
        }),
    );
    assert_eq!(decode_err(&[0x90, 2, 0, 1]), DecodeError::BadPayload);
    assert_eq!(decode_err(&[0x90, 3, 0, 1, 3]), DecodeError::BadPayload);
    assert_eq!(
        decode_err(&[0x90, 4, 0, 1, 0, 0x81]),
        DecodeError::BadPayload
    );
    assert_eq!(decode_err(&[0x90, 3, 0, 0, 0]), DecodeError::ZeroPacketId);
}

#[test]
fn unsubscribe() {
    // §3.10.3 figure 3.30: "a/b", "c/d".
    let bytes = [
        0xA2, 12, 0, 10, 0, 3, b'a', b'/', b'b', 0, 3, b'c', b'/', b'd',
    ];
    let list = ["a/b", "c/d"];
    let p = Packet::Unsubscribe(Unsubscribe {
        pid: 10,
        topics: UnsubscribeTopics::List(&list),
    });
    check(&bytes, p);
    let Ok(Packet::Unsubscribe(u)) = Packet::decode(&bytes) else {
        panic!()
    };
    assert_eq!(u.topics.len(), 2);
    assert_eq!(u.topics.iter().collect::<heapless::Vec<_, 4>>(), list);
    assert_eq!(u.topics, UnsubscribeTopics::List(&list));
    assert_ne!(u.topics, UnsubscribeTopics::List(&list[1..]));
    assert!(UnsubscribeTopics::List(&[]).is_empty());
    assert_eq!(decode_err(&[0xA2, 2, 0, 1]), DecodeError::BadPayload);
    assert_eq!(decode_err(&[0xA2, 4, 0, 1, 0, 0]), DecodeError::BadPayload);
    assert_eq!(decode_err(&[0xA2, 4, 0, 1, 0, 1]), DecodeError::Truncated);
    assert_eq!(decode_err(&[0xA2, 5, 0, 1, 0, 1, 0]), DecodeError::BadUtf8);
    assert_eq!(
        decode_err(&[0xA2, 5, 0, 0, 0, 1, b'a']),
        DecodeError::ZeroPacketId
    );
}

#[test]
fn wire_lists_stop_at_garbage_and_encode_verbatim() {
    // Wire lists are only produced by `decode`; one built by hand that
    // does not parse is read up to its first bad entry, and encoding
    // copies the bytes as given (re-encoding a decoded packet).
    let t = SubscribeTopics::Wire(&[0, 1, b'a', 1, 0, 9]);
    assert_eq!(t.len(), 1);
    let p = Packet::Subscribe(Subscribe { pid: 1, topics: t });
    let mut buf = [0u8; 16];
    assert_eq!(p.encode(&mut buf), Ok(10));
    assert_eq!(&buf[..10], &[0x82, 8, 0, 1, 0, 1, b'a', 1, 0, 9]);
    let u = UnsubscribeTopics::Wire(&[0, 5]);
    assert_eq!(u.len(), 0);
    let p = Packet::Unsubscribe(Unsubscribe { pid: 1, topics: u });
    assert_eq!(p.encode(&mut buf), Ok(6));
    let p = Packet::Unsubscribe(Unsubscribe {
        pid: 1,
        topics: UnsubscribeTopics::Wire(&[]),
    });
    assert_eq!(p.encode(&mut buf), Err(EncodeError::Invalid));
}

#[test]
fn empty_packets() {
    check(&[0xC0, 0], Packet::PingReq);
    check(&[0xD0, 0], Packet::PingResp);
    check(&[0xE0, 0], Packet::Disconnect);
    assert_eq!(decode_err(&[0xD0, 1, 0]), DecodeError::TrailingBytes);
    assert_eq!(decode_err(&[0xC0, 1, 0]), DecodeError::TrailingBytes);
    assert_eq!(decode_err(&[0xE0, 1, 0]), DecodeError::TrailingBytes);
    assert_eq!(decode_err(&[0xE2, 0]), DecodeError::BadFlags);
}

#[test]
fn frame_errors() {
    assert_eq!(decode_err(&[]), DecodeError::FrameLength);
    assert_eq!(decode_err(&[0x40]), DecodeError::FrameLength);
    assert_eq!(decode_err(&[0x40, 2, 0]), DecodeError::FrameLength);
    assert_eq!(decode_err(&[0x40, 2, 0, 1, 0xD0]), DecodeError::FrameLength);
    assert_eq!(decode_err(&[0x00, 0]), DecodeError::ReservedPacketType);
    assert_eq!(decode_err(&[0xF0, 0]), DecodeError::ReservedPacketType);
    assert_eq!(
        decode_err(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        DecodeError::BadRemainingLength
    );
    assert_eq!(
        decode_err(&[0xD0, 0x80, 0x00]),
        DecodeError::BadRemainingLength
    );
    for e in [DecodeError::FrameLength, DecodeError::ReservedPacketType] {
        let bytes: &[u8] = if e == DecodeError::FrameLength {
            &[0xD0]
        } else {
            &[0xF0, 0]
        };
        assert_eq!(Packet::decode_from_server(bytes), Err(e));
    }
}

#[test]
fn client_only_types_from_server() {
    for bytes in [
        &[0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0][..],
        &[0x82, 6, 0, 1, 0, 1, b'a', 0],
        &[0xA2, 5, 0, 1, 0, 1, b'a'],
        &[0xC0, 0],
        &[0xE0, 0],
        // Even when malformed: the type alone decides.
        &[0x10, 0],
        &[0xE0, 1, 0],
    ] {
        assert_eq!(
            Packet::decode_from_server(bytes),
            Err(DecodeError::UnexpectedFromServer),
            "{bytes:02x?}"
        );
    }
}
