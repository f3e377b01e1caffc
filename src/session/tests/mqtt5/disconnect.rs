//! DISCONNECT both ways (§3.14), AUTH (§3.15).

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

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
