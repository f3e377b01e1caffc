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

use limpet::wire::{
    ConnAck, Connect, ConnectReturnCode, Packet, Publish, QoS, SubAck, Subscribe, SubscribeTopics,
    Unsubscribe, UnsubscribeTopics, Will,
};
use mqttrs::Pid;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Model {
    Connect {
        client_id: String,
        keep_alive: u16,
        clean_session: bool,
        will: Option<(String, Vec<u8>, u8, bool)>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck(bool, u8),
    Publish {
        dup: bool,
        qos: u8,
        retain: bool,
        topic: String,
        pid: u16,
        payload: Vec<u8>,
    },
    /// PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (by index).
    IdOnly(usize, u16),
    Subscribe(u16, Vec<(String, u8)>),
    SubAck(u16, Vec<u8>),
    Unsubscribe(u16, Vec<String>),
    /// PINGREQ, PINGRESP, DISCONNECT (by index).
    Empty(usize),
}

fn ours_qos(q: u8) -> QoS {
    QoS::from_bits(q).unwrap()
}

fn their_qos(q: u8) -> mqttrs::QoS {
    [
        mqttrs::QoS::AtMostOnce,
        mqttrs::QoS::AtLeastOnce,
        mqttrs::QoS::ExactlyOnce,
    ][usize::from(q)]
}

fn their_pid(id: u16) -> Pid {
    Pid::try_from(id).unwrap()
}

fn their_code(c: u8) -> mqttrs::ConnectReturnCode {
    use mqttrs::ConnectReturnCode::*;
    [
        Accepted,
        RefusedProtocolVersion,
        RefusedIdentifierRejected,
        ServerUnavailable,
        BadUsernamePassword,
        NotAuthorized,
    ][usize::from(c)]
}

fn their_suback_code(c: u8) -> mqttrs::SubscribeReturnCodes {
    match c {
        0x80 => mqttrs::SubscribeReturnCodes::Failure,
        q => mqttrs::SubscribeReturnCodes::Success(their_qos(q)),
    }
}

/// Builds our packet for `m` and hands it to `f`.
fn with_ours<R>(m: &Model, f: impl FnOnce(Packet<'_>) -> R) -> R {
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
                qos: ours_qos(*qos),
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
            qos: ours_qos(*qos),
            retain: *retain,
            topic,
            pid: (*qos != 0).then_some(*pid),
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
            let list: Vec<(&str, QoS)> = topics
                .iter()
                .map(|(t, q)| (t.as_str(), ours_qos(*q)))
                .collect();
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

/// The mqttrs packet for `m`. (mqttrs's heapless 0.7 collections are reached
/// through its struct fields, so this crate needs no heapless 0.7 of its own.)
fn theirs(m: &Model) -> mqttrs::Packet<'_> {
    match m {
        Model::Connect {
            client_id,
            keep_alive,
            clean_session,
            will,
            username,
            password,
        } => mqttrs::Packet::Connect(mqttrs::Connect {
            protocol: mqttrs::Protocol::MQTT311,
            keep_alive: *keep_alive,
            client_id,
            clean_session: *clean_session,
            last_will: will
                .as_ref()
                .map(|(topic, message, qos, retain)| mqttrs::LastWill {
                    topic,
                    message,
                    qos: their_qos(*qos),
                    retain: *retain,
                }),
            username: username.as_deref(),
            password: password.as_deref(),
        }),
        Model::ConnAck(session_present, code) => mqttrs::Packet::Connack(mqttrs::Connack {
            session_present: *session_present,
            code: their_code(*code),
        }),
        Model::Publish {
            dup,
            qos,
            retain,
            topic,
            pid,
            payload,
        } => mqttrs::Packet::Publish(mqttrs::Publish {
            dup: *dup,
            qospid: match qos {
                0 => mqttrs::QosPid::AtMostOnce,
                1 => mqttrs::QosPid::AtLeastOnce(their_pid(*pid)),
                _ => mqttrs::QosPid::ExactlyOnce(their_pid(*pid)),
            },
            retain: *retain,
            topic_name: topic,
            payload,
        }),
        Model::IdOnly(kind, id) => [
            mqttrs::Packet::Puback,
            mqttrs::Packet::Pubrec,
            mqttrs::Packet::Pubrel,
            mqttrs::Packet::Pubcomp,
            mqttrs::Packet::Unsuback,
        ][*kind](their_pid(*id)),
        Model::Subscribe(pid, topics) => {
            let mut s = mqttrs::Subscribe {
                pid: their_pid(*pid),
                topics: Default::default(),
            };
            for (t, q) in topics {
                s.topics
                    .push(mqttrs::SubscribeTopic {
                        topic_path: t.as_str().into(),
                        qos: their_qos(*q),
                    })
                    .unwrap();
            }
            mqttrs::Packet::Subscribe(s)
        }
        Model::SubAck(pid, codes) => {
            let mut s = mqttrs::Suback {
                pid: their_pid(*pid),
                return_codes: Default::default(),
            };
            for &c in codes {
                s.return_codes.push(their_suback_code(c)).unwrap();
            }
            mqttrs::Packet::Suback(s)
        }
        Model::Unsubscribe(pid, topics) => {
            let mut u = mqttrs::Unsubscribe {
                pid: their_pid(*pid),
                topics: Default::default(),
            };
            for t in topics {
                u.topics.push(t.as_str().into()).unwrap();
            }
            mqttrs::Packet::Unsubscribe(u)
        }
        Model::Empty(kind) => [
            mqttrs::Packet::Pingreq,
            mqttrs::Packet::Pingresp,
            mqttrs::Packet::Disconnect,
        ][*kind]
            .clone(),
    }
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^\\x00]{{0,{max}}}")).unwrap()
}

/// Non-empty, no NUL, no wildcards; at most 256 bytes (mqttrs's String<256>).
fn topic() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\\x00+#]{1,20}",
        "[a-z/]{1,12}",
        "[a-z]{256}",
        "[^\\x00+#]{60,64}",
    ]
    .prop_filter("mqttrs holds at most 256 bytes", |t| t.len() <= 256)
}

fn filter() -> impl Strategy<Value = String> {
    prop_oneof!["[^\\x00]{1,20}", "[a-z/+#]{1,12}", "[a-z]{256}"]
        .prop_filter("mqttrs holds at most 256 bytes", |t| t.len() <= 256)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn pid() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

fn model() -> impl Strategy<Value = Model> {
    let connect = (
        text(30),
        any::<u16>(),
        any::<bool>(),
        prop::option::of((topic(), bytes(50), 0..=2u8, any::<bool>())),
        prop::option::of(text(30)),
        prop::option::of(bytes(50)),
    )
        .prop_map(
            |(client_id, keep_alive, clean_session, will, username, password)| Model::Connect {
                client_id,
                keep_alive,
                clean_session,
                will,
                password: username.as_ref().and(password),
                username,
            },
        );
    let publish = (
        any::<bool>(),
        0..=2u8,
        any::<bool>(),
        topic(),
        pid(),
        prop_oneof![4 => bytes(300), 1 => prop::collection::vec(any::<u8>(), 16_380..16_400)],
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
        (pid(), prop::collection::vec((filter(), 0..=2u8), 1..=5))
            .prop_map(|(p, t)| Model::Subscribe(p, t)),
        (pid(), prop::collection::vec(suback_code, 1..=5)).prop_map(|(p, c)| Model::SubAck(p, c)),
        (pid(), prop::collection::vec(filter(), 1..=5)).prop_map(|(p, t)| Model::Unsubscribe(p, t)),
        (0..3usize).prop_map(Model::Empty),
    ]
}

fn check(m: &Model) -> Result<(), TestCaseError> {
    let expected_theirs = theirs(m);
    with_ours(m, |ours| {
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
    fn agrees_with_mqttrs(m in model()) {
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
            will: Some(("w/t".into(), b"bye".to_vec(), 1, false)),
            username: Some("u".into()),
            password: Some(vec![1, 2]),
        },
        Model::ConnAck(true, 0),
        Model::Publish {
            dup: false,
            qos: 1,
            retain: false,
            topic: "a/b".into(),
            pid: 10,
            payload: b"hi".to_vec(),
        },
        Model::Subscribe(10, vec![("a/b".into(), 1), ("c/d".into(), 2)]),
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
