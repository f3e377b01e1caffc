use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

// Statics, not functions returning arrays: LLVM's Xtensa backend cannot build
// stack frames that large (scripts/isa-test lx106).
const CONFIG: Config<'static> = Config {
    ssid: "home",
    wifi_password: b"correct horse",
    use_stored: true,
    broker: "broker.local",
    port: 1883,
    client_id: "bridge-1",
    username: Some("user"),
    password: Some(b"secret"),
    keepalive: 60,
    ping_interval: 0,
    max_repubs: 4,
    clean: false,
    response_time: 10_000,
    will: Some(Will {
        topic: "bridge-1/status",
        payload: b"offline",
        qos: QoS::AtLeastOnce,
        retain: true,
    }),
    time_server: "pool.ntp.org",
};

static HOST_MESSAGES: [HostMsg<'static>; 11] = [
    HostMsg::Hello {
        version: VERSION,
        max_message: 256,
    },
    HostMsg::Config(CONFIG),
    HostMsg::Config(Config {
        username: None,
        password: None,
        will: None,
        use_stored: false,
        clean: true,
        time_server: "",
        ..CONFIG
    }),
    HostMsg::Publish(Publish {
        id: 7,
        topic: "a/b",
        payload: &[0, 1, 0xFF, 0],
        qos: QoS::AtLeastOnce,
        retain: true,
    }),
    HostMsg::Subscribe {
        id: 8,
        filter: "cmd/+/#",
        qos: QoS::ExactlyOnce,
    },
    HostMsg::Unsubscribe {
        id: 9,
        filter: "cmd/#",
    },
    HostMsg::Delivered { id: 65_535 },
    HostMsg::GetTime { id: 1 },
    HostMsg::GetStats,
    HostMsg::Credit { n: 4 },
    HostMsg::Ping,
];

static COPROC_MESSAGES: [CoprocMsg<'static>; 14] = [
    CoprocMsg::Ready {
        version: VERSION,
        boot: 0xDEAD_BEEF,
        max_message: 512,
    },
    CoprocMsg::Status(Status::WifiUpSpecified),
    CoprocMsg::Status(Status::ConfigRejected),
    CoprocMsg::Done {
        id: 7,
        outcome: Outcome::Ok,
    },
    CoprocMsg::Done {
        id: 8,
        outcome: Outcome::Granted(QoS::ExactlyOnce),
    },
    CoprocMsg::Done {
        id: 9,
        outcome: Outcome::Refused,
    },
    CoprocMsg::Done {
        id: 10,
        outcome: Outcome::Invalid,
    },
    CoprocMsg::Message(Publish {
        id: 3,
        topic: "cmd/led",
        payload: b"",
        qos: QoS::AtMostOnce,
        retain: false,
    }),
    CoprocMsg::Time {
        id: 1,
        unix: Ok(2_082_758_400),
    },
    CoprocMsg::Time {
        id: 2,
        unix: Err(TimeError::Timeout),
    },
    CoprocMsg::Stats(Stats {
        boot: 3,
        uptime_s: 86_400,
        wifi_drops: 2,
        reconnects: 5,
        messages_out: 1_000,
        messages_in: 10,
        frame_errors: 1,
        stack_high_water: 3_728,
    }),
    CoprocMsg::Credit { n: 8 },
    CoprocMsg::Pong,
    CoprocMsg::Status(Status::Running),
];

#[test]
fn every_message_round_trips_and_its_length_is_known_before_encoding() {
    let mut buf = [0u8; 200];
    for &m in &HOST_MESSAGES {
        let n = m.encode(&mut buf).unwrap();
        assert_eq!(n, m.encoded_len());
        assert_eq!(HostMsg::decode(&buf[..n]), Ok(m));
    }
    for &m in &COPROC_MESSAGES {
        let n = m.encode(&mut buf).unwrap();
        assert_eq!(n, m.encoded_len());
        assert_eq!(CoprocMsg::decode(&buf[..n]), Ok(m));
    }
}

#[test]
fn a_message_sent_the_wrong_way_does_not_decode() {
    let mut buf = [0u8; 200];
    for &m in &HOST_MESSAGES {
        let n = m.encode(&mut buf).unwrap();
        assert!(CoprocMsg::decode(&buf[..n]).is_err(), "{m:?}");
    }
    for &m in &COPROC_MESSAGES {
        let n = m.encode(&mut buf).unwrap();
        assert!(HostMsg::decode(&buf[..n]).is_err(), "{m:?}");
    }
}

#[test]
fn cut_short_is_an_error_and_never_a_panic() {
    let mut buf = [0u8; 200];
    for &m in &HOST_MESSAGES {
        let n = m.encode(&mut buf).unwrap();
        for cut in 0..n {
            // A publish's payload is the rest of the message: cutting into it
            // gives a shorter payload, which is a valid message.
            if let (HostMsg::Publish(p), Ok(HostMsg::Publish(q))) =
                (m, HostMsg::decode(&buf[..cut]))
            {
                assert!(q.payload.len() < p.payload.len());
                continue;
            }
            assert!(HostMsg::decode(&buf[..cut]).is_err(), "{m:?} cut at {cut}");
        }
    }
    for &m in &COPROC_MESSAGES {
        let n = m.encode(&mut buf).unwrap();
        for cut in 0..n {
            if let (CoprocMsg::Message(_), Ok(CoprocMsg::Message(_))) =
                (m, CoprocMsg::decode(&buf[..cut]))
            {
                continue;
            }
            assert!(
                CoprocMsg::decode(&buf[..cut]).is_err(),
                "{m:?} cut at {cut}"
            );
        }
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut buf = [0u8; 200];
    let n = HostMsg::Ping.encode(&mut buf).unwrap();
    assert_eq!(
        HostMsg::decode(&buf[..n + 1]),
        Err(ProtoError::TrailingBytes)
    );
    let n = CoprocMsg::Credit { n: 1 }.encode(&mut buf).unwrap();
    assert_eq!(
        CoprocMsg::decode(&buf[..n + 1]),
        Err(ProtoError::TrailingBytes)
    );
}

#[test]
fn topics_and_filters_are_checked_both_ways() {
    let mut buf = [0u8; 64];
    // Refused when encoding: the sender can never get it through.
    let bad_topic = HostMsg::Publish(Publish {
        id: 1,
        topic: "a/+/b",
        payload: b"x",
        qos: QoS::AtLeastOnce,
        retain: false,
    });
    assert_eq!(bad_topic.encode(&mut buf), Err(EncodeError::BadTopic));
    let bad_filter = HostMsg::Subscribe {
        id: 1,
        filter: "a/#/b",
        qos: QoS::AtLeastOnce,
    };
    assert_eq!(bad_filter.encode(&mut buf), Err(EncodeError::BadTopic));
    // Refused when decoding: a peer that sends one anyway.
    let raw = [kind::SUBSCRIBE, 0, 1, 0, 5, b'a', b'/', b'#', b'/', b'b', 1];
    assert_eq!(HostMsg::decode(&raw), Err(ProtoError::BadTopic));
    let raw = [kind::MESSAGE, 0, 1, 0, 3, b'a', b'/', b'+', 1, b'x'];
    assert_eq!(CoprocMsg::decode(&raw), Err(ProtoError::BadTopic));
}

#[test]
fn reserved_bits_bad_qos_and_unknown_codes_are_errors() {
    // A publish with QoS 3, with reserved flag bits, an unknown status, an
    // unknown outcome, an unknown time error, an unknown type.
    assert_eq!(
        HostMsg::decode(&[kind::PUBLISH, 0, 1, 0, 1, b'a', 3]),
        Err(ProtoError::BadQoS)
    );
    assert_eq!(
        HostMsg::decode(&[kind::PUBLISH, 0, 1, 0, 1, b'a', 0x05]),
        Err(ProtoError::ReservedFlags)
    );
    assert_eq!(
        CoprocMsg::decode(&[kind::STATUS, 10]),
        Err(ProtoError::BadValue)
    );
    // "Granted QoS 3" is no outcome.
    assert_eq!(
        CoprocMsg::decode(&[kind::DONE, 0, 1, 0x13]),
        Err(ProtoError::BadValue)
    );
    assert_eq!(
        CoprocMsg::decode(&[kind::DONE, 0, 1, 9]),
        Err(ProtoError::BadValue)
    );
    assert_eq!(
        CoprocMsg::decode(&[kind::TIME, 0, 1, 5]),
        Err(ProtoError::BadValue)
    );
    assert_eq!(HostMsg::decode(&[0x7F]), Err(ProtoError::UnknownKind(0x7F)));
    assert_eq!(HostMsg::decode(&[]), Err(ProtoError::Truncated));
    // Config with an unknown flag bit.
    let mut buf = [0u8; 200];
    let n = HostMsg::Config(CONFIG).encode(&mut buf).unwrap();
    buf[1] |= 0x80;
    assert_eq!(HostMsg::decode(&buf[..n]), Err(ProtoError::ReservedFlags));
}

#[test]
fn an_unknown_kind_or_one_sent_the_wrong_way_is_named_as_such() {
    // Not a reserved-flags or payload error: the type byte itself.
    assert_eq!(
        HostMsg::decode(&[kind::PONG]),
        Err(ProtoError::UnknownKind(kind::PONG))
    );
    assert_eq!(
        CoprocMsg::decode(&[kind::PING]),
        Err(ProtoError::UnknownKind(kind::PING))
    );
    assert_eq!(
        CoprocMsg::decode(&[0xFF, 1, 2]),
        Err(ProtoError::UnknownKind(0xFF))
    );
}

#[test]
fn text_that_is_not_utf8_or_holds_nul_and_a_bool_past_one_are_errors() {
    let raw = [kind::UNSUBSCRIBE, 0, 1, 0, 2, b'a', 0];
    assert_eq!(HostMsg::decode(&raw), Err(ProtoError::BadText));
    let raw = [kind::UNSUBSCRIBE, 0, 1, 0, 1, 0xFF];
    assert_eq!(HostMsg::decode(&raw), Err(ProtoError::BadText));
    // The will's retain flag is the config's last byte but the time
    // server's (an empty one: two bytes).
    let mut buf = [0u8; 200];
    let n = HostMsg::Config(CONFIG).encode(&mut buf).unwrap();
    let retain = n - 2 - "pool.ntp.org".len() - 1;
    assert_eq!(buf[retain], 1);
    buf[retain] = 2;
    assert_eq!(HostMsg::decode(&buf[..n]), Err(ProtoError::BadValue));
}

#[test]
fn a_buffer_too_small_is_an_error() {
    let mut buf = [0u8; 8];
    assert_eq!(
        HostMsg::Config(CONFIG).encode(&mut buf),
        Err(EncodeError::BufferTooSmall)
    );
}

#[test]
fn every_byte_string_decodes_to_a_message_or_an_error() {
    // A small exhaustive sweep over short inputs of every type byte.
    let mut raw = [0u8; 4];
    for t in 0..=255u8 {
        raw[0] = t;
        for a in [0u8, 1, 2, 3, 0x10, 0x7F, 0x80, 0xFF] {
            raw[1] = a;
            for len in 0..=raw.len() {
                let _ = HostMsg::decode(&raw[..len]);
                let _ = CoprocMsg::decode(&raw[..len]);
            }
        }
    }
}
