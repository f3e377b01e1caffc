//! QoS 2 both ways (§4.3.3), the exactly-once table, bursts beyond it, and a
//! caller that breaks `can_receive`.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn an_outgoing_qos2_message_is_released_after_pubrec_and_completed_by_pubcomp() {
    let mut store = [0u8; 128];
    let mut b = Scripted::<2, 1>::new(persistent(), &mut store);
    b.connect(at(0), false);
    let token = b
        .session
        .publish("t", b"once", QoS::ExactlyOnce, false)
        .unwrap();
    let p = publish_of(b.expect_sent(at(0)));
    assert_eq!(
        (p.qos, p.pid, p.dup),
        (QoS::ExactlyOnce, Some(token.0), false)
    );
    assert_eq!(b.answer(at(1), Packet::PubRec(token.0)), Ok(None));
    assert_eq!(b.expect_sent(at(1)), Packet::PubRel(token.0));
    // A duplicate PUBREC is answered again; nothing completes early.
    assert_eq!(b.answer(at(2), Packet::PubRec(token.0)), Ok(None));
    assert_eq!(b.expect_sent(at(2)), Packet::PubRel(token.0));
    assert_eq!(b.session.inflight(), 1);
    assert_eq!(
        b.answer(at(3), Packet::PubComp(token.0)),
        Ok(Some(Event::Published(token)))
    );
    assert_eq!(b.answer(at(4), Packet::PubComp(token.0)), Ok(None));
    assert_eq!(b.session.inflight(), 0);
}

#[test]
fn after_a_reconnect_a_released_qos2_message_sends_pubrel_not_its_publish_again() {
    let mut store = [0u8; 128];
    let mut b = Scripted::<2, 1>::new(persistent(), &mut store);
    b.connect(at(0), false);
    let released = b
        .session
        .publish("t", b"a", QoS::ExactlyOnce, false)
        .unwrap();
    let pending = b
        .session
        .publish("t", b"b", QoS::ExactlyOnce, false)
        .unwrap();
    b.expect_sent(at(0));
    b.expect_sent(at(0));
    b.answer(at(1), Packet::PubRec(released.0)).unwrap();
    // The link drops before the PUBREL could go out.
    b.session.transport_down();
    assert!(b.connect(at(100), true));
    // §4.4: PUBREL for the one the broker has, the other PUBLISH with DUP,
    // in their original order.
    assert_eq!(b.expect_sent(at(100)), Packet::PubRel(released.0));
    let p = publish_of(b.expect_sent(at(100)));
    assert_eq!(
        (p.pid, p.dup, p.payload),
        (Some(pending.0), true, &b"b"[..])
    );
    b.expect_quiet(at(100));
}

#[test]
fn an_unknown_pubrel_is_answered_with_pubcomp() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(persistent(), &mut store);
    b.connect(at(0), true);
    assert_eq!(b.answer(at(1), Packet::PubRel(4242)), Ok(None));
    assert_eq!(b.expect_sent(at(1)), Packet::PubComp(4242));
}

#[test]
fn incoming_qos2_ids_last_as_long_as_the_broker_session() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(persistent(), &mut store);
    b.connect(at(0), false);
    b.delivers_qos2(at(1), 3, false);
    // Same connection: a re-send is answered, not delivered.
    assert_eq!(
        b.session.handle(at(2), qos2_in(3, true)),
        Ok(Handled::Nothing)
    );
    assert_eq!(b.expect_sent(at(2)), Packet::PubRec(3));
    // Reconnected, session kept: still known.
    b.session.transport_down();
    assert!(b.connect(at(10), true));
    assert_eq!(
        b.session.handle(at(11), qos2_in(3, true)),
        Ok(Handled::Nothing)
    );
    assert_eq!(b.session.counters().duplicates, 2);
    assert_eq!(b.session.awaiting_release(), 1);
    // Reconnected, session lost: the broker will not release it, and a new
    // message may come with the same id.
    b.session.transport_down();
    assert!(!b.connect(at(20), false));
    assert_eq!(b.session.awaiting_release(), 0);
    assert!(matches!(
        b.session.handle(at(21), qos2_in(3, false)),
        Ok(Handled::Deliver(_))
    ));
}

#[test]
fn a_qos2_message_with_no_place_for_its_id_waits_at_the_broker_and_comes_again() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1, 2>::new(persistent(), &mut store);
    b.connect(at(0), false);
    for pid in [1, 2] {
        b.delivers_qos2(at(1), pid, false);
    }
    // A re-send of a known one is still answered...
    assert_eq!(
        b.session.handle(at(2), qos2_in(2, true)),
        Ok(Handled::Nothing)
    );
    assert_eq!(b.expect_sent(at(2)), Packet::PubRec(2));
    // ...a third one has no place: not delivered, not acknowledged (it
    // stays with the broker), and the link stays up while PUBRELs come.
    b.withholds_qos2(at(3), 3);
    assert_eq!(b.session.counters().deferred, 1);
    b.releases(at(4), 1);
    b.answer(at(5), Packet::PubRel(2)).unwrap();
    // The table has drained: reconnect, so the broker sends it again.
    assert_eq!(b.sent(at(5)).map(|_| ()), Ok(()));
    assert_eq!(b.sent(at(5)).map(|_| ()), Err(Reason::ExactlyOnceFull));
    b.session.transport_down();
    assert!(b.connect(at(6), true));
    assert!(matches!(
        b.session.handle(at(7), qos2_in(3, true)),
        Ok(Handled::Deliver(_))
    ));
}

#[test]
fn without_a_qos2_table_qos2_is_refused_both_ways() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1, 0>::new(Config::new("c"), &mut store);
    assert_eq!(
        b.session.publish("t", b"", QoS::ExactlyOnce, false),
        Err(RequestError::Unsupported)
    );
    assert_eq!(
        b.session.subscribe("t", QoS::ExactlyOnce),
        Err(RequestError::Unsupported)
    );
    b.connect(at(0), false);
    // A broker sending QoS 2 anyway breaks the grant: a protocol violation.
    assert_eq!(
        b.session.handle(at(1), qos2_in(1, false)),
        Err(Reason::Unexpected)
    );
}

// -------------------------------------------------------------- defect 8

#[test]
fn a_qos2_burst_beyond_the_table_on_a_clean_session_is_delivered_and_answered() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1, 2>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    // A broker's window (mosquitto 20) is wider than this table (2): the
    // third message finds it full. Nothing resumes a clean session, so
    // no re-send of it can come: deliver it and answer it (§4.3.3).
    for pid in 1..=3 {
        b.delivers_qos2(at(1), pid, false);
    }
    assert_eq!(b.session.counters().untracked, 1);
    assert_eq!(b.session.counters().deferred, 0);
    // Its release is answered like any other, and the link stays up.
    for pid in 1..=3 {
        b.releases(at(2), pid);
    }
    b.expect_quiet(at(3));
    assert!(b.session.is_connected());
}

#[test]
fn once_a_qos2_message_is_left_with_the_broker_none_after_it_is_answered_before_it() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1, 2>::new(persistent(), &mut store);
    b.connect(at(0), false);
    for pid in [1, 2] {
        b.delivers_qos2(at(1), pid, false);
    }
    // The table is full: 3 stays with the broker, unanswered.
    b.withholds_qos2(at(2), 3);
    // A release frees a place, but 4 came after 3: answering it now would
    // send PUBREC 4 before PUBREC 3 (§4.6 [MQTT-4.6.0-2]). It waits too.
    b.releases(at(3), 1);
    b.withholds_qos2(at(4), 4);
    assert_eq!(b.session.counters().deferred, 2);
    // Once the table drains the connection is closed; the broker sends 3
    // and 4 again, in order, and both are answered in order.
    b.releases(at(5), 2);
    assert_eq!(b.sent(at(5)).map(|_| ()), Err(Reason::ExactlyOnceFull));
    b.session.transport_down();
    assert!(b.connect(at(6), true));
    for pid in [3, 4] {
        b.delivers_qos2(at(7), pid, true);
    }
}

#[test]
fn a_caller_that_ignores_can_receive_is_not_blamed_on_the_broker() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    let qos1 = |pid| {
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "in",
            pid: Some(pid),
            payload: b"x",
        })
    };
    let mut pid = 1;
    while b.session.can_receive() {
        assert!(matches!(
            b.session.handle(at(1), qos1(pid)),
            Ok(Handled::Deliver(_))
        ));
        pid += 1;
    }
    // The contract broken: the reason names the caller's mistake, which the
    // client does not count as a broker's protocol error.
    assert_eq!(b.session.handle(at(2), qos1(pid)), Err(Reason::AcksFull));
}
