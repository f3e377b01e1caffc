//! CONNECT and CONNACK (§3.1, §3.2): properties sent, the server's limits honoured.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

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
