//! Differential test of `limpet::wire` against mqttrs 0.4.1, an independent
//! MQTT 3.1.1 codec.
//!
//! For generated valid packets of all fourteen types, within mqttrs's no_std
//! limits (at most 5 topics or return codes, filters of at most 256 bytes):
//! - our encoding is byte-identical to mqttrs's;
//! - mqttrs decodes our bytes to the expected mqttrs packet;
//! - we decode mqttrs's bytes to the expected packet of ours.
//!
//! mqttrs panics on some malformed input, so it is only ever fed valid packets.

mod wire_model;

use limpet::wire::{ConnectReturnCode, Packet, QoS};
use mqttrs::Pid;
use proptest::prelude::*;
use wire_model::{model, with_packet, Limits, Model};

/// Within mqttrs's no_std limits: at most 5 topics or return codes, topics
/// and filters of at most 256 bytes (the strategies never exceed that).
const LIMITS: Limits = Limits {
    text: 30,
    bytes: 50,
    payload: [(4, 0..300), (1, 16_380..16_400)],
    list: 5,
    long_topics: true,
};

fn their_qos(q: QoS) -> mqttrs::QoS {
    match q {
        QoS::AtMostOnce => mqttrs::QoS::AtMostOnce,
        QoS::AtLeastOnce => mqttrs::QoS::AtLeastOnce,
        QoS::ExactlyOnce => mqttrs::QoS::ExactlyOnce,
    }
}

fn their_pid(id: u16) -> Pid {
    Pid::try_from(id).unwrap()
}

fn their_code(c: ConnectReturnCode) -> mqttrs::ConnectReturnCode {
    use mqttrs::ConnectReturnCode::*;
    [
        Accepted,
        RefusedProtocolVersion,
        RefusedIdentifierRejected,
        ServerUnavailable,
        BadUsernamePassword,
        NotAuthorized,
    ][c as usize]
}

fn their_suback_code(c: u8) -> mqttrs::SubscribeReturnCodes {
    match c {
        0x80 => mqttrs::SubscribeReturnCodes::Failure,
        q => mqttrs::SubscribeReturnCodes::Success(their_qos(QoS::from_bits(q).unwrap())),
    }
}

/// The mqttrs packet with the same fields as `p`, built field by field (no
/// codec involved). (mqttrs's heapless 0.7 collections are reached through
/// its struct fields, so this crate needs no heapless 0.7 of its own.)
fn theirs<'a>(p: &Packet<'a>) -> mqttrs::Packet<'a> {
    match *p {
        Packet::Connect(c) => mqttrs::Packet::Connect(mqttrs::Connect {
            protocol: mqttrs::Protocol::MQTT311,
            keep_alive: c.keep_alive,
            client_id: c.client_id,
            clean_session: c.clean_session,
            last_will: c.will.map(|w| mqttrs::LastWill {
                topic: w.topic,
                message: w.payload,
                qos: their_qos(w.qos),
                retain: w.retain,
            }),
            username: c.username,
            password: c.password,
        }),
        Packet::ConnAck(a) => mqttrs::Packet::Connack(mqttrs::Connack {
            session_present: a.session_present,
            code: their_code(a.code),
        }),
        Packet::Publish(p) => mqttrs::Packet::Publish(mqttrs::Publish {
            dup: p.dup,
            qospid: match (p.qos, p.pid) {
                (QoS::AtMostOnce, None) => mqttrs::QosPid::AtMostOnce,
                (QoS::AtLeastOnce, Some(id)) => mqttrs::QosPid::AtLeastOnce(their_pid(id)),
                (QoS::ExactlyOnce, Some(id)) => mqttrs::QosPid::ExactlyOnce(their_pid(id)),
                _ => unreachable!("the model gives a pid exactly when QoS > 0"),
            },
            retain: p.retain,
            topic_name: p.topic,
            payload: p.payload,
        }),
        Packet::PubAck(id) => mqttrs::Packet::Puback(their_pid(id)),
        Packet::PubRec(id) => mqttrs::Packet::Pubrec(their_pid(id)),
        Packet::PubRel(id) => mqttrs::Packet::Pubrel(their_pid(id)),
        Packet::PubComp(id) => mqttrs::Packet::Pubcomp(their_pid(id)),
        Packet::UnsubAck(id) => mqttrs::Packet::Unsuback(their_pid(id)),
        Packet::Subscribe(s) => {
            let mut t = mqttrs::Subscribe {
                pid: their_pid(s.pid),
                topics: Default::default(),
            };
            for (topic_path, qos) in s.topics.iter() {
                t.topics
                    .push(mqttrs::SubscribeTopic {
                        topic_path: topic_path.into(),
                        qos: their_qos(qos),
                    })
                    .unwrap();
            }
            mqttrs::Packet::Subscribe(t)
        }
        Packet::SubAck(s) => {
            let mut t = mqttrs::Suback {
                pid: their_pid(s.pid),
                return_codes: Default::default(),
            };
            for &c in s.codes {
                t.return_codes.push(their_suback_code(c)).unwrap();
            }
            mqttrs::Packet::Suback(t)
        }
        Packet::Unsubscribe(u) => {
            let mut t = mqttrs::Unsubscribe {
                pid: their_pid(u.pid),
                topics: Default::default(),
            };
            for topic in u.topics.iter() {
                t.topics.push(topic.into()).unwrap();
            }
            mqttrs::Packet::Unsubscribe(t)
        }
        Packet::PingReq => mqttrs::Packet::Pingreq,
        Packet::PingResp => mqttrs::Packet::Pingresp,
        Packet::Disconnect => mqttrs::Packet::Disconnect,
    }
}

fn check(m: &Model) -> Result<(), TestCaseError> {
    with_packet(m, |ours| {
        let expected_theirs = theirs(&ours);
        // Ours → bytes → mqttrs.
        let len = ours.encoded_len().unwrap();
        let mut our_bytes = vec![0u8; len];
        prop_assert_eq!(ours.encode(&mut our_bytes), Ok(len));
        prop_assert_eq!(
            mqttrs::decode_slice(&our_bytes),
            Ok(Some(expected_theirs.clone()))
        );

        // mqttrs → bytes → ours.
        let mut their_bytes = vec![0u8; len + 64];
        let n = mqttrs::encode_slice(&expected_theirs, &mut their_bytes).unwrap();
        prop_assert_eq!(n, len);
        prop_assert_eq!(Packet::decode(&their_bytes[..n]), Ok(ours));

        // And the two encodings are the same bytes.
        prop_assert_eq!(&their_bytes[..n], &our_bytes[..]);
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_mqttrs(m in model(&LIMITS)) {
        check(&m)?;
    }
}

/// The spec's examples, as a fixed sanity check of the oracle itself.
#[test]
fn fixed_examples() {
    let models = [
        Model::Connect {
            client_id: "limpet".into(),
            keep_alive: 10,
            clean_session: true,
            will: Some(("w/t".into(), b"bye".to_vec(), QoS::AtLeastOnce, false)),
            username: Some("u".into()),
            password: Some(vec![1, 2]),
        },
        Model::ConnAck(true, 0),
        Model::Publish(
            false,
            QoS::AtLeastOnce,
            false,
            "a/b".into(),
            10,
            b"hi".to_vec(),
        ),
        Model::Subscribe(
            10,
            vec![
                ("a/b".into(), QoS::AtLeastOnce),
                ("c/d".into(), QoS::ExactlyOnce),
            ],
        ),
        Model::SubAck(10, vec![0, 2, 0x80]),
        Model::Unsubscribe(10, vec!["a/b".into(), "c/d".into()]),
    ];
    for m in &models {
        check(m).unwrap();
    }
    for kind in 0..5 {
        check(&Model::IdOnly(kind, 0x1234)).unwrap();
    }
    for kind in 0..3 {
        check(&Model::Empty(kind)).unwrap();
    }
}
