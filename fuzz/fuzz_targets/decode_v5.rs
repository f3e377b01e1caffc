//! Feeds arbitrary bytes to the MQTT 5.0 decoder (`limpet::wire::v5`) the
//! way a receiver would: split into frames with `frame_len` (AUTH
//! included), decode each frame with both `decode` and
//! `decode_from_server`. Checks that nothing panics, that the two decoders
//! agree, that every property of a decoded packet reads back and is one
//! its packet may carry, and that whatever decodes re-encodes to a packet
//! that decodes equal: to the same bytes when it re-encodes to the same
//! length (the only freedom is the short forms of §3.4.2, §3.14.2, §3.15.2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use limpet::wire::v5::{frame_len, Carrier, DecodeError, Packet, Properties};
use limpet::wire::{DecodeError as WireError, EncodeError};

/// A receiver would skip (not buffer) frames larger than this; stop there.
const MAX_FRAME: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(len)) = frame_len(rest) {
        if len > MAX_FRAME {
            break;
        }
        let Some((bytes, tail)) = rest.split_at_checked(len) else {
            break;
        };
        check(bytes);
        rest = tail;
    }
    // The whole input as one frame, too (usually FrameLength).
    let _ = Packet::decode(data);
    let _ = Packet::decode_from_server(data);
});

fn check(bytes: &[u8]) {
    let type_number = bytes[0] >> 4;
    let decoded = Packet::decode(bytes);
    let from_server = Packet::decode_from_server(bytes);
    match type_number {
        // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ: a client's only.
        1 | 8 | 10 | 12 => assert_eq!(
            from_server,
            Err(DecodeError::Packet(WireError::UnexpectedFromServer))
        ),
        _ => assert_eq!(from_server, decoded),
    }
    let Ok(packet) = decoded else { return };
    assert_eq!(packet.type_number(), type_number);
    read_properties(&packet);
    let n = packet.encoded_len().expect("a decoded packet encodes");
    let mut out = vec![0u8; n];
    assert_eq!(packet.encode(&mut out), Ok(n));
    assert_eq!(
        packet.encode(&mut out.clone()[..n - 1]),
        Err(EncodeError::BufferTooSmall)
    );
    let again = Packet::decode(&out).expect("a re-encoded packet decodes");
    assert_eq!(again, packet);
    if n == bytes.len() {
        assert_eq!(out, bytes);
    }
    // Re-encoding is stable.
    let mut twice = vec![0u8; n];
    assert_eq!(again.encode(&mut twice), Ok(n));
    assert_eq!(twice, out);
}

/// Every block of `p`, with the carrier it was validated for.
fn read_properties(p: &Packet<'_>) {
    let mut blocks: Vec<(Properties<'_>, Carrier)> = Vec::new();
    match p {
        Packet::Connect(c) => {
            blocks.push((c.properties, Carrier::Connect));
            if let Some(w) = &c.will {
                blocks.push((w.properties, Carrier::Will));
            }
        }
        Packet::ConnAck(a) => blocks.push((a.properties, Carrier::ConnAck)),
        Packet::Publish(x) => blocks.push((x.properties, Carrier::Publish)),
        Packet::PubAck(a) => blocks.push((a.properties, Carrier::PubAck)),
        Packet::PubRec(a) => blocks.push((a.properties, Carrier::PubRec)),
        Packet::PubRel(a) => blocks.push((a.properties, Carrier::PubRel)),
        Packet::PubComp(a) => blocks.push((a.properties, Carrier::PubComp)),
        Packet::Subscribe(s) => {
            blocks.push((s.properties, Carrier::Subscribe));
            assert_eq!(s.topics.iter().count(), s.topics.len());
            assert!(!s.topics.is_empty());
        }
        Packet::SubAck(s) => {
            blocks.push((s.properties, Carrier::SubAck));
            assert_eq!(s.reasons().count(), s.codes.len());
        }
        Packet::Unsubscribe(u) => {
            blocks.push((u.properties, Carrier::Unsubscribe));
            assert!(!u.topics.is_empty());
        }
        Packet::UnsubAck(s) => {
            blocks.push((s.properties, Carrier::UnsubAck));
            assert_eq!(s.reasons().count(), s.codes.len());
        }
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => blocks.push((d.properties, Carrier::Disconnect)),
        Packet::Auth(a) => blocks.push((a.properties, Carrier::Auth)),
    }
    for (props, carrier) in blocks {
        assert_eq!(props.check(carrier), Ok(()));
        for prop in props.iter() {
            assert!(carrier.allows(prop.id()));
            assert_eq!(props.get(prop.id()).map(|p| p.id()), Some(prop.id()));
        }
        let _ = props.user_properties().count();
        let _ = props.subscription_identifiers().count();
        let n = props.encoded_len(carrier).expect("a decoded block encodes");
        let mut out = vec![0u8; n];
        assert_eq!(props.encode(carrier, &mut out), Ok(n));
    }
}
