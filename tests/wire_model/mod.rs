//! Generated valid packets for the wire property tests: an owned [`Model`] of
//! each of the fourteen packet types, proptest strategies for it within a
//! test's [`Limits`], and [`with_packet`], which builds the borrowed
//! [`Packet`] a model describes.
//!
//! Include from an integration test with `mod wire_model;` (proptest is a
//! dev-dependency of the host only).

use std::ops::Range;

use limpet::wire::{
    ConnAck, Connect, ConnectReturnCode, Packet, Publish, QoS, SubAck, Subscribe, SubscribeTopics,
    Unsubscribe, UnsubscribeTopics, Will,
};
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::string::string_regex;

/// An owned description of a valid packet, from which a borrowed
/// [`Packet`] is built.
#[derive(Clone, Debug)]
pub enum Model {
    Connect {
        client_id: String,
        keep_alive: u16,
        clean_session: bool,
        will: Option<(String, Vec<u8>, QoS, bool)>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck(bool, u8),
    /// DUP, QoS, RETAIN, topic, packet id (sent when QoS > 0), payload.
    Publish(bool, QoS, bool, String, u16, Vec<u8>),
    /// PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (by index) with an id.
    IdOnly(usize, u16),
    Subscribe(u16, Vec<(String, QoS)>),
    SubAck(u16, Vec<u8>),
    Unsubscribe(u16, Vec<String>),
    /// PINGREQ, PINGRESP, DISCONNECT (by index).
    Empty(usize),
}

/// Builds the packet `m` describes and hands it to `f`.
pub fn with_packet<R>(m: &Model, f: impl FnOnce(Packet<'_>) -> R) -> R {
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
        Model::Publish(dup, qos, retain, topic, pid, payload) => f(Packet::Publish(Publish {
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

/// How large a test's generated packets get.
pub struct Limits {
    /// Longest client id and username, in characters.
    pub text: usize,
    /// Will payloads and passwords are shorter than this many bytes.
    pub bytes: usize,
    /// PUBLISH payload lengths: (weight, range) of the small and the large
    /// ones (the large ones for 2- and 3-byte remaining lengths).
    pub payload: [(u32, Range<usize>); 2],
    /// Most topics or return codes in a SUBSCRIBE, SUBACK or UNSUBSCRIBE.
    pub list: usize,
    /// Also topics and filters of 256 bytes, and topics of 60 to 64
    /// characters, besides the short ones.
    pub long_topics: bool,
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

/// Any string without U+0000 (§1.5.3).
fn text(l: &Limits) -> impl Strategy<Value = String> {
    string_regex(&format!("[^\\x00]{{0,{}}}", l.text)).unwrap()
}

fn bytes(l: &Limits) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..l.bytes)
}

/// A string matching one of the regexes `short`, or of `long` when
/// `l.long_topics`; never over 256 bytes (mqttrs's `String<256>`).
fn one_of(l: &Limits, short: &[&str], long: &[&str]) -> impl Strategy<Value = String> {
    let long = if l.long_topics { long } else { &[] };
    Union::new(short.iter().chain(long).map(|re| string_regex(re).unwrap()))
        .prop_filter("mqttrs holds at most 256 bytes", |t| t.len() <= 256)
}

/// Topic Names: non-empty, no NUL, no wildcards.
fn topic(l: &Limits) -> impl Strategy<Value = String> {
    let long = ["[a-z]{256}", "[^\\x00+#]{60,64}"];
    one_of(l, &["[^\\x00+#]{1,20}", "[a-z/]{1,12}"], &long)
}

/// Topic Filters as §4.7.1 allows them: levels of text (no NUL) or `+`,
/// optionally ending in `#`; also plain text up to 256 bytes.
fn filter(l: &Limits) -> impl Strategy<Value = String> {
    let level = prop_oneof![
        Just("+".to_string()),
        string_regex("[^\\x00+#/]{0,6}").unwrap()
    ];
    let levels = (prop::collection::vec(level, 1..5), any::<bool>()).prop_map(|(levels, hash)| {
        let mut f = levels.join("/");
        if hash {
            f.push_str("/#");
        }
        f
    });
    prop_oneof![
        levels.prop_filter("non-empty", |f| !f.is_empty()),
        Just("#".to_string()),
        one_of(l, &["[^\\x00+#]{1,20}", "[a-z/]{1,12}"], &["[a-z]{256}"]),
    ]
}

fn pid() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

fn payload(l: &Limits) -> impl Strategy<Value = Vec<u8>> {
    Union::new_weighted(
        l.payload
            .iter()
            .map(|(weight, lens)| (*weight, prop::collection::vec(any::<u8>(), lens.clone())))
            .collect(),
    )
}

/// Valid packets of all fourteen types, within `l`.
pub fn model(l: &Limits) -> impl Strategy<Value = Model> {
    let connect = (
        text(l),
        any::<u16>(),
        any::<bool>(),
        prop::option::of((topic(l), bytes(l), qos(), any::<bool>())),
        prop::option::of(text(l)),
        prop::option::of(bytes(l)),
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
        topic(l),
        pid(),
        payload(l),
    )
        .prop_map(|(d, q, r, t, id, p)| Model::Publish(d, q, r, t, id, p));
    let suback_code = prop_oneof![Just(0u8), Just(1), Just(2), Just(0x80)];
    let list = 1..=l.list;
    prop_oneof![
        connect,
        (any::<bool>(), 0..=5u8).prop_map(|(s, c)| Model::ConnAck(s, c)),
        publish,
        (0..5usize, pid()).prop_map(|(k, id)| Model::IdOnly(k, id)),
        (
            pid(),
            prop::collection::vec((filter(l), qos()), list.clone())
        )
            .prop_map(|(p, t)| Model::Subscribe(p, t)),
        (pid(), prop::collection::vec(suback_code, list.clone()))
            .prop_map(|(p, c)| Model::SubAck(p, c)),
        (pid(), prop::collection::vec(filter(l), list)).prop_map(|(p, t)| Model::Unsubscribe(p, t)),
        (0..3usize).prop_map(Model::Empty),
    ]
}
