//! MQTT 5.0 sessions (feature `mqtt5`) against a scripted 5.0 broker:
//! CONNECT and CONNACK with their properties (§3.1, §3.2), the server's
//! limits honoured, reason codes on acknowledgements (§3.4–§3.7, §3.9,
//! §3.11), DISCONNECT both ways (§3.14), saved sessions.

use super::*;
use crate::session::{Protocol, ServerLimits};
use crate::wire::v5::{self, Ack, Disconnect, Properties, Property, PropertyId, ReasonCode};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// A broker speaking MQTT 5.0, played by the test: it decodes what the
/// session sends as 5.0 packets and answers with 5.0 packets.
struct Broker5<'a, const N: usize, const S: usize, const R: usize = 2> {
    session: Session<'a, N, S, R>,
    out: [u8; 256],
}

/// A 5.0 configuration for client id `id`.
fn v5(id: &str) -> Config<'_> {
    let mut config = Config::new(id);
    config.protocol = Protocol::V5;
    config
}

/// A 5.0 configuration whose session persists (`clean` false).
fn v5_persistent(id: &str) -> Config<'_> {
    let mut config = v5(id);
    config.clean_init = false;
    config.clean = false;
    config
}

impl<'a, const N: usize, const S: usize, const R: usize> Broker5<'a, N, S, R> {
    fn new(config: Config<'a>, store: &'a mut [u8]) -> Self {
        Broker5 {
            session: Session::new(config, store, 256).unwrap(),
            out: [0; 256],
        }
    }

    /// The bytes of the next packet the session sends at `now`.
    fn sent_bytes(&mut self, now: Instant) -> Result<Option<&[u8]>, Reason> {
        match self.session.poll_transmit(now, &mut self.out)? {
            Some(n) => {
                self.session.bytes_sent(now);
                Ok(Some(&self.out[..n]))
            }
            None => Ok(None),
        }
    }

    /// The next packet the session sends at `now`, as a 5.0 server decodes it.
    fn expect_sent(&mut self, now: Instant) -> v5::Packet<'_> {
        match self.sent_bytes(now) {
            Ok(Some(bytes)) => v5::Packet::decode(bytes).expect("session sent a malformed packet"),
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    fn expect_quiet(&mut self, now: Instant) {
        let r = self.sent_bytes(now).map(|b| b.map(<[u8]>::to_vec));
        assert!(matches!(r, Ok(None)), "expected nothing, got {r:?}");
    }

    /// Transport up and the CONNECT out; returns a copy of its fields
    /// worth checking: (client id, clean start, properties as a list).
    fn sends_connect(&mut self, now: Instant) -> (heapless::String<64>, bool, Props) {
        self.session.transport_up(now);
        match self.expect_sent(now) {
            v5::Packet::Connect(c) => (
                heapless::String::try_from(c.client_id).unwrap(),
                c.clean_start,
                props(&c.properties),
            ),
            other => panic!("expected CONNECT, got {other:?}"),
        }
    }

    /// The broker answers CONNACK with `properties`; returns what the session made of it.
    fn connack(
        &mut self,
        now: Instant,
        session_present: bool,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<Handled<'a, 'static>, Reason> {
        let ack = v5::Packet::ConnAck(v5::ConnAck {
            session_present,
            reason,
            properties: Properties::new(properties),
        });
        self.session.handle_v5(now, ack).map(|h| match h {
            Handled::Deliver(m) => panic!("unexpected delivery {m:?}"),
            Handled::Nothing => Handled::Nothing,
            Handled::Event(e) => Handled::Event(e),
        })
    }

    /// Transport up, CONNECT out, CONNACK (Success, `properties`) in.
    fn connect(&mut self, now: Instant, properties: &[Property<'_>]) {
        self.sends_connect(now);
        let up = self.connack(now, false, ReasonCode::Success, properties);
        assert!(matches!(up, Ok(Handled::Event(Event::Up { .. }))), "{up:?}");
    }

    fn answer(
        &mut self,
        now: Instant,
        packet: v5::Packet<'_>,
    ) -> Result<Option<Event<'a>>, Reason> {
        match self.session.handle_v5(now, packet)? {
            Handled::Nothing => Ok(None),
            Handled::Event(e) => Ok(Some(e)),
            Handled::Deliver(m) => panic!("unexpected delivery {m:?}"),
        }
    }

    /// The id of the PUBLISH the session sends at `now`.
    fn publish_pid(&mut self, now: Instant) -> u16 {
        match self.expect_sent(now) {
            v5::Packet::Publish(p) => p.pid.unwrap(),
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }
}

/// A property block as an owned list (up to 8 properties, strings dropped).
type Props = heapless::Vec<PropertyId, 8>;

fn props(p: &Properties<'_>) -> Props {
    p.iter().map(|p| p.id()).collect()
}

fn ack<'p>(pid: u16, reason: ReasonCode) -> Ack<'p> {
    Ack {
        pid,
        reason,
        properties: Properties::NONE,
    }
}

fn publish_in<'p>(
    qos: QoS,
    pid: Option<u16>,
    topic: &'p str,
    properties: &'p [Property<'p>],
) -> v5::Packet<'p> {
    v5::Packet::Publish(v5::Publish {
        dup: false,
        qos,
        retain: false,
        topic,
        pid,
        properties: Properties::new(properties),
        payload: b"x",
    })
}

// ---------------------------------------------------------------------------
// CONNECT and CONNACK (§3.1, §3.2)

#[test]
fn connect_is_level_5_with_session_expiry_receive_maximum_and_maximum_packet_size() {
    let mut store = [0u8; 128];
    let mut config = v5_persistent("dev-5");
    config.session_expiry = 3_600;
    let mut b = Broker5::<2, 1, 4>::new(config, &mut store);
    b.session.set_max_incoming(512);
    b.session.transport_up(at(0));
    let bytes = b.sent_bytes(at(0)).unwrap().unwrap();
    // §3.1.2.2: protocol name "MQTT", version 5.
    assert_eq!(&bytes[2..9], &[0, 4, b'M', b'Q', b'T', b'T', 5]);
    match v5::Packet::decode(bytes).unwrap() {
        v5::Packet::Connect(c) => {
            assert_eq!(c.client_id, "dev-5");
            assert!(!c.clean_start);
            let list: heapless::Vec<Property<'_>, 4> = c.properties.iter().collect();
            // §3.1.2.11.2, §3.1.2.11.3 (R = 4 incoming QoS 2 places),
            // §3.1.2.11.4 (the receive buffer); no Topic Alias Maximum
            // (absent is 0, §3.1.2.11.5).
            assert_eq!(
                &list[..],
                &[
                    Property::SessionExpiryInterval(3_600),
                    Property::ReceiveMaximum(4),
                    Property::MaximumPacketSize(512),
                ]
            );
        }
        other => panic!("expected CONNECT, got {other:?}"),
    }
}

#[test]
fn a_clean_session_sends_no_expiry_and_without_qos2_no_receive_maximum() {
    // §3.1.2.11.2: absent is 0, the session ends with the connection;
    // §3.1.2.11.3: 0 would be a Protocol Error, so R = 0 sends none.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1, 0>::new(v5("c"), &mut store);
    let (_, clean, list) = b.sends_connect(at(0));
    assert!(clean);
    assert!(list.is_empty(), "{list:?}");
}

#[test]
fn clean_init_then_persistent_starts_clean_and_lasting_in_one_connect() {
    // Given clean_init = true, clean = false: in 3.1.1 a clean connection
    // is ended and replaced by a persistent one; in 5.0 one CONNECT with
    // Clean Start and a Session Expiry Interval does both (§3.1.2.4,
    // §3.1.2.11.2).
    let mut store = [0u8; 128];
    let mut config = v5("c");
    config.clean_init = true;
    config.clean = false;
    let mut b = Broker5::<2, 1>::new(config, &mut store);
    let (_, clean, list) = b.sends_connect(at(0));
    assert!(clean);
    assert_eq!(list.first(), Some(&PropertyId::SessionExpiryInterval));
    assert!(matches!(
        b.connack(at(1), false, ReasonCode::Success, &[]),
        Ok(Handled::Event(Event::Up {
            session_present: false
        }))
    ));
    assert!(b.session.is_connected() && !b.session.wants_close());
    b.session.transport_down();
    // Reconnections resume it.
    assert!(!b.sends_connect(at(10)).1);
}

#[test]
fn a_connack_refusal_ends_the_attempt_with_its_reason_code() {
    // §3.2.2.2: 0x80 and above refuse the connection.
    for code in [
        ReasonCode::NotAuthorized,
        ReasonCode::BadUserNameOrPassword,
        ReasonCode::ServerBusy,
        ReasonCode::Banned,
    ] {
        let mut store = [0u8; 64];
        let mut b = Broker5::<1, 1>::new(v5("c"), &mut store);
        b.sends_connect(at(0));
        assert_eq!(
            b.connack(at(1), false, code, &[]).map(|_| ()),
            Err(Reason::Server(code))
        );
        assert_eq!(b.session.reason_code(), Some(code));
        assert!(!b.session.is_connected());
    }
}

#[test]
fn the_servers_limits_are_read_from_connack_and_reset_by_the_next() {
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 2>::new(v5("c"), &mut store);
    assert_eq!(*b.session.server(), ServerLimits::DEFAULT);
    b.connect(
        at(0),
        &[
            Property::ReceiveMaximum(3),
            Property::MaximumQoS(1),
            Property::RetainAvailable(0),
            Property::MaximumPacketSize(200),
            Property::ServerKeepAlive(30),
            Property::WildcardSubscriptionAvailable(0),
            Property::SharedSubscriptionAvailable(0),
        ],
    );
    assert_eq!(
        *b.session.server(),
        ServerLimits {
            receive_maximum: 3,
            maximum_qos: QoS::AtLeastOnce,
            retain_available: false,
            maximum_packet_size: 200,
            keep_alive: Some(30),
            wildcard_available: false,
            shared_available: false,
            subscription_ids_available: true,
        }
    );
    b.session.transport_down();
    // A CONNACK without properties: the defaults (§3.2.2.3), nothing of
    // the last server lingers.
    b.connect(at(10), &[]);
    assert_eq!(*b.session.server(), ServerLimits::DEFAULT);
}

#[test]
fn what_the_server_cannot_take_is_refused_at_the_call() {
    // Given a server that allows QoS 1 at most, no retained messages,
    // packets of 40 bytes, no wildcard and no shared subscriptions
    // (§3.2.2.3.4–6, §3.2.2.3.11, §3.2.2.3.13), when the application asks
    // for them, then the call says no and nothing is queued.
    let mut store = [0u8; 256];
    let mut b = Broker5::<2, 4>::new(v5("c"), &mut store);
    b.connect(
        at(0),
        &[
            Property::MaximumQoS(1),
            Property::RetainAvailable(0),
            Property::MaximumPacketSize(40),
            Property::WildcardSubscriptionAvailable(0),
            Property::SharedSubscriptionAvailable(0),
        ],
    );
    let s = &mut b.session;
    assert_eq!(
        s.publish("t", b"", QoS::ExactlyOnce, false),
        Err(RequestError::ServerUnsupported)
    );
    assert_eq!(
        s.publish("t", b"", QoS::AtLeastOnce, true),
        Err(RequestError::ServerUnsupported)
    );
    // 1 + 1 + (2 + 1) + 2 + 1 + 33 = 41 bytes > 40.
    assert_eq!(
        s.publish("t", &[0; 33], QoS::AtLeastOnce, false),
        Err(RequestError::TooLarge)
    );
    assert!(s.publish("t", &[0; 32], QoS::AtLeastOnce, false).is_ok());
    assert_eq!(
        s.subscribe("a/+", QoS::AtMostOnce),
        Err(RequestError::ServerUnsupported)
    );
    assert_eq!(
        s.subscribe("a/#", QoS::AtMostOnce),
        Err(RequestError::ServerUnsupported)
    );
    assert_eq!(
        s.subscribe("$share/g/a", QoS::AtMostOnce),
        Err(RequestError::ServerUnsupported)
    );
    // A subscription above the Maximum QoS is the server's to downgrade
    // (§3.2.2.3.4).
    assert!(s.subscribe("a", QoS::ExactlyOnce).is_ok());
    assert_eq!(s.inflight(), 1);
}

#[test]
fn a_subscribe_or_unsubscribe_over_the_servers_maximum_packet_size_is_refused_at_the_call() {
    // Given a server whose Maximum Packet Size is 16 bytes, when the
    // application subscribes to or unsubscribes from a filter whose packet
    // would be larger, then the call says no: the client must not send it
    // ([MQTT-3.2.2-15]). Found by fuzz/fuzz_targets/client_v5.rs.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 4>::new(v5("c"), &mut store);
    b.connect(at(0), &[Property::MaximumPacketSize(16)]);
    let s = &mut b.session;
    // SUBSCRIBE: 1 + 1 + (2 + 1 + 2 + 10 + 1) = 18 bytes; UNSUBSCRIBE 17.
    assert_eq!(
        s.subscribe("$share/g/t", QoS::AtMostOnce),
        Err(RequestError::TooLarge)
    );
    assert_eq!(s.unsubscribe("$share/g/t"), Err(RequestError::TooLarge));
    // 1 + 1 + (2 + 1 + 2 + 8 + 1) = 16 bytes: fits.
    assert!(s.subscribe("abcdefgh", QoS::AtMostOnce).is_ok());
    match b.expect_sent(at(0)) {
        v5::Packet::Subscribe(_) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_subscription_queued_before_the_limits_were_known_is_given_up_when_too_large() {
    // Given filters subscribed offline, when the server's CONNACK says
    // nothing over 16 bytes, then the one whose SUBSCRIBE is larger is not
    // sent but given up (Rejected::Subscribe, 0x95 Packet too large) and
    // the one behind it goes out.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 4>::new(v5("c"), &mut store);
    b.session
        .subscribe("a/long/filter", QoS::AtMostOnce)
        .unwrap();
    b.session.subscribe("a", QoS::AtMostOnce).unwrap();
    b.connect(at(0), &[Property::MaximumPacketSize(16)]);
    b.expect_quiet(at(0));
    assert!(b.session.wants_transmit(), "the client polls again at once");
    b.session.clear_reason_code();
    assert_eq!(
        b.session.take_rejected(),
        Some(Rejected::Subscribe("a/long/filter"))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::PacketTooLarge));
    let pid = match b.expect_sent(at(0)) {
        v5::Packet::Subscribe(s) => {
            assert!(s.topics.iter().map(|(f, _)| f).eq(["a"]));
            s.pid
        }
        other => panic!("{other:?}"),
    };
    b.expect_quiet(at(0));
    let suback = v5::Packet::SubAck(v5::SubAck {
        pid,
        properties: Properties::NONE,
        codes: &[0x00],
    });
    assert!(matches!(
        b.answer(at(1), suback),
        Ok(Some(Event::Subscribed { topic: "a", .. }))
    ));
    assert!(b.session.subscriptions().map(|(f, _)| f).eq(["a"]));
    assert_eq!(b.session.counters().rejected, 1);
}

#[test]
fn an_assigned_client_identifier_is_kept_for_the_next_connections() {
    // §3.1.3.1: an empty id asks the server for one; §3.2.2.3.7: it comes
    // back in CONNACK, and a session resumes only under it.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5_persistent(""), &mut store);
    assert_eq!(b.sends_connect(at(0)).0, "");
    assert_eq!(b.session.assigned_client_id(), None);
    b.connack(
        at(1),
        false,
        ReasonCode::Success,
        &[Property::AssignedClientIdentifier("auto-7F3A")],
    )
    .unwrap();
    assert_eq!(b.session.assigned_client_id(), Some("auto-7F3A"));
    b.session.transport_down();
    let (id, clean, _) = b.sends_connect(at(10));
    assert_eq!((id.as_str(), clean), ("auto-7F3A", false));
}

#[test]
fn an_assigned_identifier_too_long_to_keep_is_not_used() {
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5_persistent(""), &mut store);
    b.sends_connect(at(0));
    let long = "a".repeat_into::<80>();
    b.connack(
        at(1),
        false,
        ReasonCode::Success,
        &[Property::AssignedClientIdentifier(&long)],
    )
    .unwrap();
    assert_eq!(b.session.assigned_client_id(), None);
    b.session.transport_down();
    // Asks for a new one: a new session, sent everything again.
    assert_eq!(b.sends_connect(at(10)).0, "");
}

/// `n` copies of a string, without an allocator.
trait RepeatInto {
    fn repeat_into<const N: usize>(&self) -> heapless::String<N>;
}

impl RepeatInto for str {
    fn repeat_into<const N: usize>(&self) -> heapless::String<N> {
        let mut s = heapless::String::new();
        while s.push_str(self).is_ok() {}
        s
    }
}

#[test]
fn a_server_keep_alive_replaces_the_clients() {
    // [MQTT-3.2.2-21]: the client uses the server's keep alive: 8 s, so
    // pings every 2 s (a quarter, as for the client's own).
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[Property::ServerKeepAlive(8)]);
    b.expect_quiet(at(1_999));
    assert_eq!(b.session.next_deadline(), Some(at(2_000)));
    assert_eq!(b.expect_sent(at(2_000)), v5::Packet::PingReq);
    // Keep alive 0 from the server: no pings (§3.1.2.10).
    b.session.transport_down();
    b.connect(at(10_000), &[Property::ServerKeepAlive(0)]);
    b.expect_quiet(at(1_000_000));
}

#[test]
fn the_servers_receive_maximum_limits_the_messages_in_flight() {
    // Given a server with Receive Maximum 2 and a client with room for 4,
    // when 4 messages are published, then 2 go out, and each completion
    // lets one more go (§4.9, [MQTT-3.3.4-7]).
    let mut store = [0u8; 4 * 32];
    let mut b = Broker5::<4, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[Property::ReceiveMaximum(2)]);
    let tokens: [Token; 4] = core::array::from_fn(|i| {
        b.session
            .publish("t", &[i as u8], QoS::AtLeastOnce, false)
            .unwrap()
    });
    assert_eq!(b.publish_pid(at(0)), tokens[0].0);
    assert_eq!(b.publish_pid(at(0)), tokens[1].0);
    b.expect_quiet(at(0));
    assert!(!b.session.wants_transmit(), "nothing may go out now");
    assert_eq!(
        b.answer(
            at(1),
            v5::Packet::PubAck(ack(tokens[0].0, ReasonCode::Success))
        ),
        Ok(Some(Event::Published(tokens[0])))
    );
    assert!(b.session.wants_transmit());
    assert_eq!(b.publish_pid(at(1)), tokens[2].0);
    b.expect_quiet(at(1));
    // A refusal frees a place too (§4.9).
    b.answer(
        at(2),
        v5::Packet::PubAck(ack(tokens[1].0, ReasonCode::QuotaExceeded)),
    )
    .unwrap();
    assert_eq!(b.publish_pid(at(2)), tokens[3].0);
}

#[test]
fn after_a_reconnect_the_window_is_sent_again_within_the_receive_maximum() {
    let mut store = [0u8; 3 * 32];
    let mut b = Broker5::<3, 1>::new(v5_persistent("c"), &mut store);
    b.connect(at(0), &[Property::ReceiveMaximum(1)]);
    let t: [Token; 3] = core::array::from_fn(|_| {
        b.session
            .publish("t", b"m", QoS::AtLeastOnce, false)
            .unwrap()
    });
    assert_eq!(b.publish_pid(at(0)), t[0].0);
    b.expect_quiet(at(0));
    b.session.transport_down();
    b.sends_connect(at(10));
    b.connack(
        at(10),
        true,
        ReasonCode::Success,
        &[Property::ReceiveMaximum(1)],
    )
    .unwrap();
    match b.expect_sent(at(10)) {
        v5::Packet::Publish(p) => assert_eq!((p.pid, p.dup), (Some(t[0].0), true)),
        other => panic!("{other:?}"),
    }
    b.expect_quiet(at(10));
}

#[test]
fn a_message_queued_before_the_limits_were_known_is_given_up_with_the_servers_reason() {
    // Given messages queued offline, when the server's CONNACK says it
    // takes no QoS 2, no retained message and nothing over 30 bytes, then
    // each is given up with the reason code the server would refuse it
    // with (not sent: it would close the connection on it, for ever), one
    // report at a time, and the message behind them goes out.
    let mut store = [0u8; 4 * 64];
    let mut b = Broker5::<4, 1>::new(v5("c"), &mut store);
    let q2 = b
        .session
        .publish("t", b"2", QoS::ExactlyOnce, false)
        .unwrap();
    let retained = b
        .session
        .publish("t", b"r", QoS::AtLeastOnce, true)
        .unwrap();
    let big = b
        .session
        .publish("t", &[0; 40], QoS::AtLeastOnce, false)
        .unwrap();
    let fine = b
        .session
        .publish("t", b"ok", QoS::AtLeastOnce, false)
        .unwrap();
    b.connect(
        at(0),
        &[
            Property::MaximumQoS(1),
            Property::RetainAvailable(0),
            Property::MaximumPacketSize(30),
        ],
    );
    for (token, code) in [
        (q2, ReasonCode::QoSNotSupported),
        (retained, ReasonCode::RetainNotSupported),
        (big, ReasonCode::PacketTooLarge),
    ] {
        b.expect_quiet(at(0));
        assert!(b.session.wants_transmit(), "the client polls again at once");
        b.session.clear_reason_code();
        assert_eq!(b.session.take_rejected(), Some(Rejected::Publish(token)));
        assert_eq!(b.session.reason_code(), Some(code));
    }
    assert_eq!(b.publish_pid(at(0)), fine.0);
    assert_eq!(b.session.counters().rejected, 3);
    assert_eq!(b.session.inflight(), 1);
}

#[test]
fn an_acknowledgement_for_a_message_being_given_up_does_not_complete_it() {
    // Given a message queued offline that the server's Maximum Packet Size
    // makes the client give up (not sent; its report waiting for the next
    // poll), when the server acknowledges its packet identifier anyway,
    // then the acknowledgement is for nothing in flight: the message is
    // reported once, as Rejected, never also as Published. Found by
    // fuzz/fuzz_targets/client_v5.rs (a token completed twice).
    type Acknowledgement = fn(Ack<'static>) -> v5::Packet<'static>;
    let cases: [(QoS, Acknowledgement); 3] = [
        (QoS::AtLeastOnce, v5::Packet::PubAck),
        (QoS::ExactlyOnce, v5::Packet::PubRec),
        (QoS::ExactlyOnce, v5::Packet::PubComp),
    ];
    for (qos, acknowledgement) in cases {
        let mut store = [0u8; 4 * 64];
        let mut b = Broker5::<4, 1>::new(v5("c"), &mut store);
        let big = b.session.publish("t", &[0; 40], qos, false).unwrap();
        b.connect(at(0), &[Property::MaximumPacketSize(30)]);
        b.expect_quiet(at(0));
        let packet = acknowledgement(ack(big.0, ReasonCode::Success));
        assert_eq!(b.answer(at(1), packet), Ok(None), "{packet:?}");
        b.expect_quiet(at(1));
        b.session.clear_reason_code();
        assert_eq!(b.session.take_rejected(), Some(Rejected::Publish(big)));
        assert_eq!(b.session.reason_code(), Some(ReasonCode::PacketTooLarge));
        assert_eq!(b.session.inflight(), 0);
        assert_eq!(b.session.counters().rejected, 1);
        b.expect_quiet(at(1));
    }
}

// ---------------------------------------------------------------------------
// PUBLISH and its acknowledgements (§3.3–§3.7, §4.3)

#[test]
fn an_outgoing_publish_is_5_0_with_an_empty_property_block() {
    let mut store = [0u8; 128];
    let mut config = v5("c");
    config.keepalive = 0;
    let mut b = Broker5::<2, 1>::new(config, &mut store);
    b.connect(at(0), &[]);
    let token = b
        .session
        .publish("t/1", b"hello", QoS::AtLeastOnce, false)
        .unwrap();
    let bytes = b.sent_bytes(at(0)).unwrap().unwrap();
    // §3.3.2.3.1: after the packet id, a Property Length of 0.
    let [hi, lo] = token.0.to_be_bytes();
    assert_eq!(
        bytes,
        &[0x32, 13, 0, 3, b't', b'/', b'1', hi, lo, 0, b'h', b'e', b'l', b'l', b'o']
    );
    // Re-sent unchanged but for DUP (§3.3.1.1).
    match b.expect_sent(at(10_000)) {
        v5::Packet::Publish(p) => {
            assert_eq!(
                (p.dup, p.pid, p.payload),
                (true, Some(token.0), &b"hello"[..])
            );
            assert!(p.properties.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_puback_with_a_failure_reason_completes_the_message_refused_and_it_is_not_sent_again() {
    // §4.3.2 with §3.4.2.1: 0x87 Not authorized is the server's answer;
    // the message is done with, reported, and never retried.
    let mut store = [0u8; 128];
    let mut config = v5("c");
    config.keepalive = 0;
    let mut b = Broker5::<2, 1>::new(config, &mut store);
    b.connect(at(0), &[]);
    let token = b
        .session
        .publish("denied", b"x", QoS::AtLeastOnce, false)
        .unwrap();
    b.publish_pid(at(0));
    assert_eq!(
        b.answer(
            at(1),
            v5::Packet::PubAck(ack(token.0, ReasonCode::NotAuthorized))
        ),
        Ok(Some(Event::Rejected(Rejected::Publish(token))))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::NotAuthorized));
    assert_eq!(b.session.inflight(), 0);
    assert_eq!(b.session.counters().rejected, 1);
    b.expect_quiet(at(60_000));
    // A late duplicate is harmless.
    assert_eq!(
        b.answer(
            at(61_000),
            v5::Packet::PubAck(ack(token.0, ReasonCode::NotAuthorized))
        ),
        Ok(None)
    );
}

#[test]
fn no_matching_subscribers_is_a_success() {
    // §3.4.2.1: 0x10 "No matching subscribers" accepts the message.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let token = b
        .session
        .publish("t", b"x", QoS::AtLeastOnce, false)
        .unwrap();
    b.publish_pid(at(0));
    assert_eq!(
        b.answer(
            at(1),
            v5::Packet::PubAck(ack(token.0, ReasonCode::NoMatchingSubscribers))
        ),
        Ok(Some(Event::Published(token)))
    );
    assert_eq!(
        b.session.reason_code(),
        Some(ReasonCode::NoMatchingSubscribers)
    );
}

#[test]
fn a_pubrec_with_a_failure_reason_ends_the_exchange_without_pubrel() {
    // §4.3.3: a PUBREC of 0x80 or above ends the QoS 2 exchange; the
    // sender sends no PUBREL.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let token = b
        .session
        .publish("t", b"x", QoS::ExactlyOnce, false)
        .unwrap();
    b.publish_pid(at(0));
    assert_eq!(
        b.answer(
            at(1),
            v5::Packet::PubRec(ack(token.0, ReasonCode::QuotaExceeded))
        ),
        Ok(Some(Event::Rejected(Rejected::Publish(token))))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::QuotaExceeded));
    b.expect_quiet(at(1));
    assert_eq!(b.session.inflight(), 0);
    // A successful exchange still goes PUBREC → PUBREL → PUBCOMP.
    let token = b
        .session
        .publish("t", b"y", QoS::ExactlyOnce, false)
        .unwrap();
    b.publish_pid(at(2));
    assert_eq!(
        b.answer(
            at(3),
            v5::Packet::PubRec(ack(token.0, ReasonCode::NoMatchingSubscribers))
        ),
        Ok(None)
    );
    assert_eq!(
        b.expect_sent(at(3)),
        v5::Packet::PubRel(Ack::success(token.0))
    );
    assert_eq!(
        b.answer(
            at(4),
            v5::Packet::PubComp(ack(token.0, ReasonCode::Success))
        ),
        Ok(Some(Event::Published(token)))
    );
}

#[test]
fn the_acknowledgements_the_client_owes_are_the_short_form() {
    // §3.4.2.1: reason 0 and no properties: the packet id alone, the same
    // bytes as 3.1.1.
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let got = b
        .session
        .handle_v5(at(1), publish_in(QoS::AtLeastOnce, Some(7), "in", &[]));
    assert!(matches!(got, Ok(Handled::Deliver(_))));
    assert_eq!(b.sent_bytes(at(1)).unwrap().unwrap(), &[0x40, 2, 0, 7]);
    let got = b
        .session
        .handle_v5(at(2), publish_in(QoS::ExactlyOnce, Some(8), "in", &[]));
    assert!(matches!(got, Ok(Handled::Deliver(_))));
    assert_eq!(b.sent_bytes(at(2)).unwrap().unwrap(), &[0x50, 2, 0, 8]);
    b.answer(at(3), v5::Packet::PubRel(Ack::success(8)))
        .unwrap();
    assert_eq!(b.sent_bytes(at(3)).unwrap().unwrap(), &[0x70, 2, 0, 8]);
}

#[test]
fn an_incoming_message_carries_its_properties() {
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let list = [
        Property::ContentType("text/plain"),
        Property::UserProperty("site", "attic"),
        Property::SubscriptionIdentifier(5),
    ];
    match b
        .session
        .handle_v5(at(1), publish_in(QoS::AtMostOnce, None, "in", &list))
    {
        Ok(Handled::Deliver(m)) => {
            assert_eq!(m.topic, "in");
            assert_eq!(
                m.properties.get(PropertyId::ContentType),
                Some(Property::ContentType("text/plain"))
            );
            assert!(m.properties.user_properties().eq([("site", "attic")]));
            assert!(m.properties.subscription_identifiers().eq([5]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_publish_with_a_topic_alias_is_a_protocol_error() {
    // The client announces no Topic Alias Maximum (0, §3.1.2.11.5), so any
    // alias breaks [MQTT-3.3.2-9]: the connection ends (§3.3.2.3.4).
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    for (topic, alias) in [("in", 1), ("", 1)] {
        let list = [Property::TopicAlias(alias)];
        assert_eq!(
            b.session
                .handle_v5(at(1), publish_in(QoS::AtMostOnce, None, topic, &list))
                .map(|_| ()),
            Err(Reason::Violation(ReasonCode::TopicAliasInvalid))
        );
    }
}

// ---------------------------------------------------------------------------
// SUBSCRIBE and UNSUBSCRIBE (§3.8–§3.11)

#[test]
fn subscribe_sends_the_qos_as_options_and_each_reason_code_is_surfaced() {
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 3>::new(v5("c"), &mut store);
    b.session.subscribe("a", QoS::AtLeastOnce).unwrap();
    b.session.subscribe("b/#", QoS::ExactlyOnce).unwrap();
    b.connect(at(0), &[]);
    let mut pids = [0u16; 2];
    for (i, (filter, qos)) in [("a", QoS::AtLeastOnce), ("b/#", QoS::ExactlyOnce)]
        .into_iter()
        .enumerate()
    {
        match b.expect_sent(at(0)) {
            v5::Packet::Subscribe(s) => {
                assert!(s.properties.is_empty());
                // §3.8.3.1: QoS in bits 0–1, the other options 3.1.1's
                // behaviour (not asked for yet).
                assert!(s
                    .topics
                    .iter()
                    .eq([(filter, v5::SubscriptionOptions::qos(qos))]));
                pids[i] = s.pid;
            }
            other => panic!("{other:?}"),
        }
    }
    // §3.9.3: Granted QoS 1; then 0x87 Not authorized.
    let suback = |pid, codes| {
        v5::Packet::SubAck(v5::SubAck {
            pid,
            properties: Properties::NONE,
            codes,
        })
    };
    assert_eq!(
        b.answer(at(1), suback(pids[0], &[0x01])),
        Ok(Some(Event::Subscribed {
            topic: "a",
            qos: QoS::AtLeastOnce
        }))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::GrantedQoS1));
    assert_eq!(
        b.answer(at(2), suback(pids[1], &[0x87])),
        Ok(Some(Event::SubscribeFailed { topic: "b/#" }))
    );
    assert_eq!(b.session.reason_code(), Some(ReasonCode::NotAuthorized));
    // UNSUBSCRIBE; §3.11.3: 0x11 No subscription existed still removes it.
    b.session.unsubscribe("a").unwrap();
    let pid = match b.expect_sent(at(3)) {
        v5::Packet::Unsubscribe(u) => {
            assert!(u.topics.iter().eq(["a"]));
            u.pid
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        b.answer(
            at(4),
            v5::Packet::UnsubAck(v5::UnsubAck {
                pid,
                properties: Properties::NONE,
                codes: &[0x11],
            })
        ),
        Ok(Some(Event::Unsubscribed { topic: "a" }))
    );
    assert_eq!(
        b.session.reason_code(),
        Some(ReasonCode::NoSubscriptionExisted)
    );
    assert_eq!(b.session.subscriptions().count(), 0);
}

// ---------------------------------------------------------------------------
// DISCONNECT both ways (§3.14), AUTH (§3.15)

#[test]
fn a_server_disconnect_ends_the_connection_with_its_reason() {
    for code in [
        ReasonCode::SessionTakenOver,
        ReasonCode::ServerShuttingDown,
        ReasonCode::ServerMoved,
    ] {
        let mut store = [0u8; 64];
        let mut b = Broker5::<1, 1>::new(v5("c"), &mut store);
        b.connect(at(0), &[]);
        let props = [Property::ReasonString("bye")];
        let d = v5::Packet::Disconnect(Disconnect {
            reason: code,
            properties: Properties::new(&props),
        });
        assert_eq!(b.answer(at(1), d), Err(Reason::Server(code)));
        assert_eq!(b.session.reason_code(), Some(code));
    }
}

#[test]
fn the_clients_disconnect_is_a_normal_disconnection() {
    // §3.14.2.1: remaining length 0 is reason 0x00, Normal disconnection:
    // the will is discarded ([MQTT-3.14.4-3]).
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    assert!(b.session.close());
    let bytes = b.sent_bytes(at(1)).unwrap().unwrap();
    assert_eq!(bytes, &[0xE0, 0]);
    assert_eq!(
        v5::Packet::decode(bytes),
        Ok(v5::Packet::Disconnect(Disconnect {
            reason: ReasonCode::Success,
            properties: Properties::NONE
        }))
    );
    assert!(b.session.wants_close());
}

#[test]
fn auth_from_a_server_never_asked_for_it_is_a_protocol_error() {
    // §4.12: without an Authentication Method in CONNECT the server must
    // not send AUTH.
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[]);
    let auth = v5::Packet::Auth(v5::Auth {
        reason: ReasonCode::ContinueAuthentication,
        properties: Properties::NONE,
    });
    assert_eq!(
        b.answer(at(1), auth),
        Err(Reason::Violation(ReasonCode::ProtocolError))
    );
}

// ---------------------------------------------------------------------------
// Configuration and saved sessions

#[test]
fn an_empty_client_id_may_start_a_persistent_session_in_5_0() {
    // 3.1.1 §3.1.3.1 refuses it; 5.0 keeps the assigned id (§3.2.2.3.7).
    assert_eq!(v5_persistent("").check(), Ok(()));
    let mut v311 = v5_persistent("");
    v311.protocol = Protocol::V311;
    assert_eq!(
        v311.check(),
        Err(ConfigError::EmptyClientIdNeedsCleanSession)
    );
}

#[test]
fn a_5_0_session_is_saved_with_its_assigned_id_and_restored() {
    let mut saved = [0u8; 256];
    let (len, token) = {
        let mut store = [0u8; 128];
        let mut b = Broker5::<2, 1>::new(v5_persistent(""), &mut store);
        b.sends_connect(at(0));
        b.connack(
            at(0),
            false,
            ReasonCode::Success,
            &[Property::AssignedClientIdentifier("auto-1")],
        )
        .unwrap();
        let token = b
            .session
            .publish("t", b"m", QoS::AtLeastOnce, false)
            .unwrap();
        b.publish_pid(at(0));
        (b.session.save(&mut saved).unwrap(), token)
    };
    let mut store = [0u8; 128];
    let mut b = Broker5::<2, 1>::new(v5_persistent(""), &mut store);
    b.session.restore(&saved[..len]).unwrap();
    assert_eq!(b.session.assigned_client_id(), Some("auto-1"));
    let (id, clean, _) = b.sends_connect(at(0));
    assert_eq!((id.as_str(), clean), ("auto-1", false));
    b.connack(at(0), true, ReasonCode::Success, &[]).unwrap();
    match b.expect_sent(at(0)) {
        v5::Packet::Publish(p) => assert_eq!((p.pid, p.dup), (Some(token.0), true)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_save_of_one_mqtt_version_is_refused_by_the_other() {
    // The saved PUBLISH bytes are the version's own: a 3.1.1 decoder reads
    // a 5.0 PUBLISH's property length as payload, so the versions never
    // mix.
    fn saved<const V5: bool>(out: &mut [u8]) -> usize {
        let mut store = [0u8; 64];
        let mut config = v5_persistent("c");
        if !V5 {
            config.protocol = Protocol::V311;
        }
        let mut s = Session::<1, 1, 0>::new(config, &mut store, 128).unwrap();
        s.publish("t", b"m", QoS::AtLeastOnce, false).unwrap();
        s.save(out).unwrap()
    }
    let (mut a, mut b) = ([0u8; 128], [0u8; 128]);
    let (from_v5, from_v311) = (saved::<true>(&mut a), saved::<false>(&mut b));
    let mut store = [0u8; 64];
    let mut config = v5_persistent("c");
    config.protocol = Protocol::V311;
    let mut v311 = Session::<1, 1, 0>::new(config, &mut store, 128).unwrap();
    assert_eq!(v311.restore(&a[..from_v5]), Err(RestoreError::Protocol));
    let mut store = [0u8; 64];
    let mut v5s = Session::<1, 1, 0>::new(v5_persistent("c"), &mut store, 128).unwrap();
    assert_eq!(v5s.restore(&b[..from_v311]), Err(RestoreError::Protocol));
    assert_eq!(v5s.restore(&a[..from_v5]), Ok(()));
    assert_eq!(v5s.inflight(), 1);
}

#[test]
fn a_5_0_save_whose_message_has_properties_is_restored_if_a_client_may_send_them() {
    // `publish_with` stores PUBLISH properties: a saved PUBLISH with those
    // a client may send is restored; one with a Topic Alias (another
    // connection's) or a Subscription Identifier (never sent by a client,
    // [MQTT-3.3.4-6]) is not this session's, and is never sent.
    let mut store = [0u8; 64];
    let mut s = Session::<1, 1, 0>::new(v5_persistent("c"), &mut store, 128).unwrap();
    let token = s.publish("t", b"m", QoS::AtLeastOnce, false).unwrap();
    let mut out = [0u8; 128];
    let n = s.save(&mut out).unwrap();
    // The save with its one message replaced by `properties`' PUBLISH.
    let forge = |properties: &[Property<'_>]| {
        let p = v5::Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "t",
            pid: Some(token.0),
            properties: Properties::new(properties),
            payload: b"m",
        };
        let mut publish = [0u8; 32];
        let len = p.encode(&mut publish).unwrap();
        // Magic 4, version, flags, N (2), count (2), id (2), flags: then
        // the message's length (2) and bytes.
        let at_len = 4 + 2 + 2 + 2 + 2 + 1;
        let old = usize::from(u16::from_be_bytes([out[at_len], out[at_len + 1]]));
        let mut forged = heapless::Vec::<u8, 160>::new();
        forged.extend_from_slice(&out[..at_len]).unwrap();
        forged
            .extend_from_slice(&(len as u16).to_be_bytes())
            .unwrap();
        forged.extend_from_slice(&publish[..len]).unwrap();
        forged
            .extend_from_slice(&out[at_len + 2 + old..n - 2])
            .unwrap();
        let crc = crate::crc::crc16(&forged);
        forged.extend_from_slice(&crc.to_be_bytes()).unwrap();
        forged
    };
    let restore = |bytes: &[u8]| {
        let mut store = [0u8; 64];
        let mut fresh = Session::<1, 1, 0>::new(v5_persistent("c"), &mut store, 128).unwrap();
        fresh.restore(bytes)
    };
    assert_eq!(restore(&forge(&[])), Ok(()));
    assert_eq!(
        restore(&forge(&[
            Property::MessageExpiryInterval(9),
            Property::UserProperty("k", "v")
        ])),
        Ok(())
    );
    assert_eq!(
        restore(&forge(&[Property::TopicAlias(1)])),
        Err(RestoreError::BadMessage)
    );
    assert_eq!(
        restore(&forge(&[Property::SubscriptionIdentifier(3)])),
        Err(RestoreError::BadMessage)
    );
    assert_eq!(
        restore(&forge(&[Property::ResponseTopic("r/#")])),
        Err(RestoreError::BadMessage)
    );
}

// ---------------------------------------------------------------------------
// PUBLISH properties on the way out (§3.3.2.3), request/response (§4.10)

/// The properties a request carries in these tests.
const REQUEST_PROPERTIES: [Property<'static>; 6] = [
    Property::MessageExpiryInterval(60),
    Property::PayloadFormatIndicator(1),
    Property::ContentType("text/plain"),
    Property::ResponseTopic("reply/c"),
    Property::CorrelationData(b"\x00\x01req"),
    Property::UserProperty("site", "attic"),
];

fn expect_publish_properties<const N: usize, const S: usize, const R: usize>(
    b: &mut Broker5<'_, N, S, R>,
    now: Instant,
    dup: bool,
) {
    match b.expect_sent(now) {
        v5::Packet::Publish(p) => {
            assert_eq!((p.topic, p.payload, p.dup), ("req", &b"ping"[..], dup));
            assert!(p.properties.iter().eq(REQUEST_PROPERTIES));
        }
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

#[test]
fn given_publish_with_properties_when_sent_and_resent_after_a_reconnect_then_they_go_each_time() {
    // §3.3.2.3.2–§3.3.2.3.7 and §3.3.2.3.4: the properties are in the
    // stored PUBLISH; §4.4: a message not acknowledged is sent again on the
    // next connection, DUP set, the same packet otherwise.
    let mut store = [0u8; 256];
    let mut b = Broker5::<2, 1>::new(v5_persistent("c"), &mut store);
    b.connect(at(0), &[]);
    b.session
        .publish_with("req", b"ping", QoS::AtLeastOnce, false, &REQUEST_PROPERTIES)
        .unwrap();
    expect_publish_properties(&mut b, at(0), false);
    b.session.transport_down();
    b.sends_connect(at(1));
    b.connack(at(1), true, ReasonCode::Success, &[]).unwrap();
    expect_publish_properties(&mut b, at(1), true);
}

#[test]
fn given_a_saved_session_with_a_publish_with_properties_when_restored_then_they_are_resent() {
    let mut saved = [0u8; 256];
    let len = {
        let mut store = [0u8; 256];
        let mut b = Broker5::<2, 1>::new(v5_persistent("c"), &mut store);
        b.session
            .publish_with("req", b"ping", QoS::ExactlyOnce, false, &REQUEST_PROPERTIES)
            .unwrap();
        b.session.save(&mut saved).unwrap()
    };
    let mut store = [0u8; 256];
    let mut b = Broker5::<2, 1>::new(v5_persistent("c"), &mut store);
    b.session.restore(&saved[..len]).unwrap();
    b.connect(at(0), &[]);
    expect_publish_properties(&mut b, at(0), false);
}

#[test]
fn given_properties_a_client_may_not_send_in_a_publish_when_published_then_refused_at_the_call() {
    let mut store = [0u8; 256];
    let mut b = Broker5::<2, 1>::new(v5("c"), &mut store);
    b.connect(at(0), &[Property::MaximumPacketSize(64)]);
    let publish = |b: &mut Broker5<'_, 2, 1>, properties: &[Property<'_>]| {
        b.session
            .publish_with("t", b"m", QoS::AtLeastOnce, false, properties)
    };
    // Table 2-4: not a PUBLISH property.
    assert_eq!(
        publish(&mut b, &[Property::SessionExpiryInterval(1)]),
        Err(RequestError::Invalid)
    );
    // §3.3.2.3.5: Content Type at most once.
    assert_eq!(
        publish(
            &mut b,
            &[Property::ContentType("a"), Property::ContentType("b")]
        ),
        Err(RequestError::Invalid)
    );
    // §3.3.2.3.2: Payload Format Indicator 0 or 1.
    assert_eq!(
        publish(&mut b, &[Property::PayloadFormatIndicator(2)]),
        Err(RequestError::Invalid)
    );
    // [MQTT-3.3.4-6]: never from a client; no Topic Alias is sent yet.
    assert_eq!(
        publish(&mut b, &[Property::SubscriptionIdentifier(1)]),
        Err(RequestError::Invalid)
    );
    assert_eq!(
        publish(&mut b, &[Property::TopicAlias(1)]),
        Err(RequestError::Invalid)
    );
    // [MQTT-3.3.2-14]: the Response Topic is a Topic Name.
    assert_eq!(
        publish(&mut b, &[Property::ResponseTopic("r/#")]),
        Err(RequestError::Topic(
            crate::wire::topic::TopicError::WildcardInName
        ))
    );
    // §3.2.2.3.6: over the server's Maximum Packet Size with them.
    assert_eq!(
        publish(&mut b, &[Property::CorrelationData(&[0; 60])]),
        Err(RequestError::TooLarge)
    );
    // Over the store slot (128 bytes).
    b.session.transport_down();
    b.connect(at(1), &[]);
    assert_eq!(
        publish(&mut b, &[Property::CorrelationData(&[0; 130])]),
        Err(RequestError::TooLarge)
    );
    // QoS 0 is the client's (written at once, never stored).
    assert_eq!(
        b.session
            .publish_with("t", b"m", QoS::AtMostOnce, false, &[]),
        Err(RequestError::Unsupported)
    );
    assert_eq!(b.session.inflight(), 0);
    b.expect_quiet(at(1));
}

#[test]
fn given_a_3_1_1_session_when_publish_with_or_subscribe_with_then_unsupported() {
    let mut store = [0u8; 64];
    let mut s = Session::<1, 1, 0>::new(Config::new("c"), &mut store, 128).unwrap();
    assert_eq!(
        s.publish_with("t", b"m", QoS::AtLeastOnce, false, &[]),
        Err(RequestError::Unsupported)
    );
    assert_eq!(
        s.subscribe_with("t", v5::SubscriptionOptions::qos(QoS::AtLeastOnce), None),
        Err(RequestError::Unsupported)
    );
}

// ---------------------------------------------------------------------------
// SUBSCRIBE options (§3.8.3.1), Subscription Identifier (§3.8.2.1.2),
// shared subscriptions (§4.8.2)

fn options(
    qos: QoS,
    no_local: bool,
    retain_as_published: bool,
    retain_handling: v5::RetainHandling,
) -> v5::SubscriptionOptions {
    v5::SubscriptionOptions {
        qos,
        no_local,
        retain_as_published,
        retain_handling,
    }
}

/// The SUBSCRIBE the session sends next: its filter, options and
/// Subscription Identifier.
fn expect_subscribe<const N: usize, const S: usize, const R: usize>(
    b: &mut Broker5<'_, N, S, R>,
    now: Instant,
) -> (heapless::String<32>, v5::SubscriptionOptions, Option<u32>) {
    match b.expect_sent(now) {
        v5::Packet::Subscribe(s) => {
            let (filter, options) = s.topics.iter().next().unwrap();
            let id = s.properties.subscription_identifiers().next();
            (heapless::String::try_from(filter).unwrap(), options, id)
        }
        other => panic!("expected SUBSCRIBE, got {other:?}"),
    }
}

#[test]
fn given_subscribe_with_options_and_an_identifier_when_the_session_is_lost_then_both_are_sent_again(
) {
    // §3.8.3.1: No Local, Retain As Published, Retain Handling in the
    // options byte; §3.8.2.1.2: the identifier as a SUBSCRIBE property;
    // §3.2.2.2: a CONNACK without a session: subscribed again, the same.
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 2>::new(v5("c"), &mut store);
    let opts = options(QoS::AtLeastOnce, true, true, v5::RetainHandling::DoNotSend);
    b.session.subscribe_with("a/+", opts, Some(300)).unwrap();
    b.connect(at(0), &[]);
    let (filter, sent, id) = expect_subscribe(&mut b, at(0));
    assert_eq!((filter.as_str(), sent, id), ("a/+", opts, Some(300)));
    assert_eq!(sent.to_byte(), 0b0010_1101);
    b.session.transport_down();
    b.connect(at(1), &[]);
    let (filter, sent, id) = expect_subscribe(&mut b, at(1));
    assert_eq!((filter.as_str(), sent, id), ("a/+", opts, Some(300)));
    // A plain subscribe replaces the options: 3.1.1's behaviour, no id.
    b.session.subscribe("a/+", QoS::AtMostOnce).unwrap();
    let (_, sent, id) = expect_subscribe(&mut b, at(2));
    assert_eq!(
        (sent, id),
        (v5::SubscriptionOptions::qos(QoS::AtMostOnce), None)
    );
}

#[test]
fn given_a_server_without_subscription_identifiers_when_one_is_asked_then_refused_at_the_call() {
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 2>::new(v5("c"), &mut store);
    let opts = v5::SubscriptionOptions::qos(QoS::AtLeastOnce);
    // §3.8.2.1.2: 1 to 268,435,455; 0 is a Protocol Error.
    assert_eq!(
        b.session.subscribe_with("t", opts, Some(0)),
        Err(RequestError::Invalid)
    );
    assert_eq!(
        b.session.subscribe_with("t", opts, Some(268_435_456)),
        Err(RequestError::Invalid)
    );
    b.session
        .subscribe_with("t", opts, Some(268_435_455))
        .unwrap();
    // §3.2.2.3.12: Subscription Identifiers Available 0.
    b.connect(at(0), &[Property::SubscriptionIdentifiersAvailable(0)]);
    assert!(!b.session.server().subscription_ids_available);
    assert_eq!(
        b.session.subscribe_with("u", opts, Some(1)),
        Err(RequestError::ServerUnsupported)
    );
    b.session.subscribe_with("u", opts, None).unwrap();
}

#[test]
fn given_shared_subscriptions_when_subscribed_then_the_share_name_and_no_local_are_checked() {
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 3>::new(v5("c"), &mut store);
    let qos1 = v5::SubscriptionOptions::qos(QoS::AtLeastOnce);
    // §4.8.2: $share/{ShareName}/{filter}.
    b.session
        .subscribe_with("$share/g/t/#", qos1, None)
        .unwrap();
    b.session.subscribe("$share/g2/t", QoS::AtMostOnce).unwrap();
    // [MQTT-4.8.2-1]: a ShareName of at least one character; a filter after it.
    for bad in [
        "$share//t",
        "$share/g",
        "$share/g/",
        "$share/#",
        "$share/+/t",
    ] {
        assert_eq!(
            b.session.subscribe_with(bad, qos1, None),
            Err(RequestError::Invalid),
            "{bad}"
        );
        assert_eq!(
            b.session.subscribe(bad, QoS::AtMostOnce),
            Err(RequestError::Invalid),
            "{bad}"
        );
    }
    // [MQTT-4.8.2-2]: no wildcard in the ShareName (one not a whole level
    // is not a filter at all, §4.7.1).
    assert!(matches!(
        b.session.subscribe_with("$share/g+/t", qos1, None),
        Err(RequestError::Topic(_))
    ));
    // [MQTT-3.8.3-4]: No Local on a shared subscription.
    let no_local = options(
        QoS::AtLeastOnce,
        true,
        false,
        v5::RetainHandling::SendAtSubscribe,
    );
    assert_eq!(
        b.session.subscribe_with("$share/g/u", no_local, None),
        Err(RequestError::Invalid)
    );
    // "$sharex/..." is no shared subscription.
    b.session
        .subscribe_with("$sharex/t", no_local, None)
        .unwrap();
    // §3.2.2.3.13: Shared Subscription Available 0.
    b.connect(at(0), &[Property::SharedSubscriptionAvailable(0)]);
    assert_eq!(
        b.session.subscribe_with("$share/g/v", qos1, None),
        Err(RequestError::ServerUnsupported)
    );
}

#[test]
fn given_a_subscription_identifier_when_the_subscribe_would_exceed_the_maximum_packet_size_then_too_large(
) {
    // §3.2.2.3.6: the identifier's bytes count ([MQTT-3.2.2-15]). SUBSCRIBE
    // for a 4-byte filter: header 2, pid 2, properties 1, filter 6,
    // options 1 = 12; with identifier 300, three more = 15.
    let mut store = [0u8; 64];
    let mut b = Broker5::<1, 2>::new(v5("c"), &mut store);
    b.connect(at(0), &[Property::MaximumPacketSize(14)]);
    let qos0 = v5::SubscriptionOptions::qos(QoS::AtMostOnce);
    assert_eq!(
        b.session.subscribe_with("abcd", qos0, Some(300)),
        Err(RequestError::TooLarge)
    );
    b.session.subscribe_with("abcd", qos0, Some(3)).unwrap();
    let (_, _, id) = expect_subscribe(&mut b, at(0));
    assert_eq!(id, Some(3));
}
