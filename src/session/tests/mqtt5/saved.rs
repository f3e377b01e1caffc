//! Configuration and saved sessions.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

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
