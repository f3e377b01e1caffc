// Unit tests live beside their code (see `tests/mod.rs`).
//
// What encoding refuses, whatever the size of the buffer: values the
// protocol forbids (§2.3.1, §3.3.2, §4.7) and lengths it cannot carry
// (§1.5.3, §2.2.3).

// std only for the one test that cannot run on bare metal (below).
#[cfg(not(target_os = "none"))]
extern crate std;
use super::super::*;
use crate::wire::{EncodeError, Packet, MAX_REMAINING_LENGTH};
#[cfg(not(target_os = "none"))]
use std::vec;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

fn publish_with(topic: &str, qos: QoS, pid: Option<u16>) -> Packet<'_> {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic,
        pid,
        payload: b"",
    })
}

#[test]
fn encode_invalid() {
    let mut buf = [0u8; 64];
    let invalid = [
        Packet::PubAck(0),
        Packet::PubRec(0),
        Packet::PubRel(0),
        Packet::PubComp(0),
        Packet::UnsubAck(0),
        publish_with("t", QoS::AtLeastOnce, None),
        publish_with("t", QoS::ExactlyOnce, Some(0)),
        publish_with("t", QoS::AtMostOnce, Some(1)),
        publish_with("", QoS::AtMostOnce, None),
        publish_with("a/+", QoS::AtMostOnce, None),
        publish_with("a/#", QoS::AtMostOnce, None),
        publish_with("a\0", QoS::AtMostOnce, None),
        Packet::Subscribe(Subscribe {
            pid: 1,
            topics: SubscribeTopics::List(&[]),
        }),
        Packet::Subscribe(Subscribe {
            pid: 0,
            topics: SubscribeTopics::List(&[("a", QoS::AtMostOnce)]),
        }),
        Packet::Subscribe(Subscribe {
            pid: 1,
            topics: SubscribeTopics::List(&[("a", QoS::AtMostOnce), ("", QoS::AtMostOnce)]),
        }),
        Packet::Unsubscribe(Unsubscribe {
            pid: 1,
            topics: UnsubscribeTopics::List(&[]),
        }),
        Packet::Unsubscribe(Unsubscribe {
            pid: 0,
            topics: UnsubscribeTopics::List(&["a"]),
        }),
        Packet::Unsubscribe(Unsubscribe {
            pid: 1,
            topics: UnsubscribeTopics::List(&[""]),
        }),
        Packet::SubAck(SubAck { pid: 1, codes: &[] }),
        Packet::SubAck(SubAck {
            pid: 1,
            codes: &[3],
        }),
        Packet::SubAck(SubAck {
            pid: 0,
            codes: &[0],
        }),
        Packet::Connect(Connect {
            client_id: "c",
            keep_alive: 0,
            clean_session: true,
            will: None,
            username: None,
            password: Some(b"p"),
        }),
        Packet::Connect(Connect {
            client_id: "c",
            keep_alive: 0,
            clean_session: true,
            will: Some(Will {
                topic: "+",
                payload: b"",
                qos: QoS::AtMostOnce,
                retain: false,
            }),
            username: None,
            password: None,
        }),
    ];
    for p in invalid {
        assert_eq!(p.encoded_len(), Err(EncodeError::Invalid), "{p:?}");
        assert_eq!(p.encode(&mut buf), Err(EncodeError::Invalid), "{p:?}");
        // Validation comes before the buffer size check.
        assert_eq!(p.encode(&mut []), Err(EncodeError::Invalid), "{p:?}");
    }
}

#[test]
fn encode_too_long() {
    let long = [b'a'; 65_536];
    let long_str = core::str::from_utf8(&long).unwrap();
    let max_str = &long_str[..65_535];
    let mut buf = [0u8; 70_000];
    let connect = |client_id, username, password| {
        Packet::Connect(Connect {
            client_id,
            keep_alive: 0,
            clean_session: true,
            will: None,
            username,
            password,
        })
    };
    let too_long = [
        publish_with(long_str, QoS::AtMostOnce, None),
        connect(long_str, None, None),
        connect("", Some(long_str), None),
        connect("", Some(""), Some(&long[..])),
        Packet::Connect(Connect {
            client_id: "",
            keep_alive: 0,
            clean_session: true,
            will: Some(Will {
                topic: "t",
                payload: &long,
                qos: QoS::AtMostOnce,
                retain: false,
            }),
            username: None,
            password: None,
        }),
    ];
    for p in too_long {
        assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
        assert_eq!(p.encode(&mut buf), Err(EncodeError::TooLong));
    }
    let list = [(long_str, QoS::AtMostOnce)];
    let p = Packet::Subscribe(Subscribe {
        pid: 1,
        topics: SubscribeTopics::List(&list),
    });
    assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
    let list = [long_str];
    let p = Packet::Unsubscribe(Unsubscribe {
        pid: 1,
        topics: UnsubscribeTopics::List(&list),
    });
    assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
    // 65,535 bytes is fine.
    let p = publish_with(max_str, QoS::AtMostOnce, None);
    assert_eq!(p.encoded_len(), Ok(1 + 3 + 2 + 65_535));
    let n = p.encode(&mut buf).unwrap();
    assert_eq!(Packet::decode(&buf[..n]), Ok(p));
}

// A 256 MiB payload: lazily zeroed host memory, not a microcontroller's.
#[cfg(not(target_os = "none"))]
#[test]
fn encode_max_remaining_length() {
    // The payload is never touched by encoded_len, and a zeroed
    // allocation is not backed by memory until written.
    let payload = vec![0u8; MAX_REMAINING_LENGTH - 3];
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "t",
        pid: None,
        payload: &payload,
    });
    assert_eq!(p.encoded_len(), Ok(1 + 4 + MAX_REMAINING_LENGTH));
    assert_eq!(p.encode(&mut [0u8; 64]), Err(EncodeError::BufferTooSmall));
    let payload = vec![0u8; MAX_REMAINING_LENGTH - 2];
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "t",
        pid: None,
        payload: &payload,
    });
    assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
}
