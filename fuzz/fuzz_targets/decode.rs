//! Feeds arbitrary bytes to the wire decoder the way a receiver would: split
//! into frames with `Frame::parse`, decode each frame with both `decode` and
//! `decode_from_server`. Checks that nothing panics, that the two decoders
//! agree, and that whatever decodes re-encodes to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limpet::wire::{DecodeError, EncodeError, Frame, Packet, PacketType};

/// A receiver would skip (not buffer) frames larger than this; stop there.
const MAX_FRAME: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(frame)) = Frame::parse(rest) {
        let _ = frame.publish_packet_id(rest);
        if frame.len() > MAX_FRAME {
            break;
        }
        let Some((bytes, tail)) = rest.split_at_checked(frame.len()) else {
            break;
        };
        check(bytes, frame.packet_type);
        rest = tail;
    }
    // The whole input as one frame, too (usually FrameLength).
    let _ = Packet::decode(data);
    let _ = Packet::decode_from_server(data);
});

fn check(bytes: &[u8], packet_type: PacketType) {
    let decoded = Packet::decode(bytes);
    let from_server = Packet::decode_from_server(bytes);
    match packet_type {
        PacketType::Connect
        | PacketType::Subscribe
        | PacketType::Unsubscribe
        | PacketType::PingReq
        | PacketType::Disconnect => {
            assert_eq!(from_server, Err(DecodeError::UnexpectedFromServer))
        }
        _ => assert_eq!(from_server, decoded),
    }
    if let Ok(packet) = decoded {
        // Canonical form: decode OK ⇒ encode gives the same bytes back.
        assert_eq!(packet.packet_type(), packet_type);
        assert_eq!(packet.encoded_len(), Ok(bytes.len()));
        let mut out = vec![0u8; bytes.len()];
        assert_eq!(packet.encode(&mut out), Ok(bytes.len()));
        assert_eq!(out, bytes);
        assert_eq!(
            packet.encode(&mut out[..bytes.len() - 1]),
            Err(EncodeError::BufferTooSmall)
        );
    }
}
