//! Property tests for the wire codec (`limpet::wire`).
//!
//! - Every valid packet of every type survives encode → `Frame::parse` →
//!   decode unchanged; `encoded_len` is what `encode` writes; every shorter
//!   buffer is `BufferTooSmall`.
//! - Any bytes (random, or valid packets with bytes overwritten) can be fed to
//!   `Frame::parse`, `Packet::decode` and `Packet::decode_from_server` without
//!   a panic, and whatever decodes re-encodes to exactly the same bytes: the
//!   codec accepts only the canonical form (`Frame::parse` rejects
//!   non-minimal remaining lengths for this reason).

mod wire_model;

use limpet::wire::{DecodeError, EncodeError, Frame, Packet, PacketType};
use proptest::prelude::*;
use proptest::sample::Index;
use wire_model::{model, with_packet, Limits};

/// Short strings and lists; some payloads cross the 2- to 3-byte remaining
/// length boundary (16,384).
const LIMITS: Limits = Limits {
    text: 20,
    bytes: 40,
    payload: [(8, 0..200), (1, 16_300..16_500)],
    list: 7,
    long_topics: false,
};

fn is_client_only(t: PacketType) -> bool {
    matches!(
        t,
        PacketType::Connect
            | PacketType::Subscribe
            | PacketType::Unsubscribe
            | PacketType::PingReq
            | PacketType::Disconnect
    )
}

/// `decode_from_server` agrees with `decode`, except for the five types a
/// server never sends.
fn check_from_server(frame: &[u8], t: PacketType) -> Result<(), TestCaseError> {
    let from_server = Packet::decode_from_server(frame);
    if is_client_only(t) {
        prop_assert_eq!(from_server, Err(DecodeError::UnexpectedFromServer));
    } else {
        prop_assert_eq!(from_server, Packet::decode(frame));
    }
    Ok(())
}

fn check_roundtrip(p: Packet<'_>, cuts: &[Index]) -> Result<(), TestCaseError> {
    let len = p.encoded_len().unwrap();
    let mut buf = vec![0xAAu8; len + 5];
    prop_assert_eq!(p.encode(&mut buf), Ok(len));
    let bytes = &buf[..len];

    let f = Frame::parse(&buf).unwrap().unwrap();
    prop_assert_eq!(f.len(), len);
    prop_assert_eq!(f.packet_type, p.packet_type());
    for k in 0..f.header_len {
        prop_assert_eq!(Frame::parse(&bytes[..k]), Ok(None));
    }
    prop_assert_eq!(Packet::decode(bytes), Ok(p));
    check_from_server(bytes, f.packet_type)?;
    if let Packet::Publish(publish) = p {
        prop_assert_eq!(f.publish_packet_id(bytes), publish.pid);
        prop_assert_eq!(f.publish_packet_id(&buf), publish.pid);
    }
    // Whole packet only: one byte less or more is FrameLength.
    prop_assert_eq!(
        Packet::decode(&bytes[..len - 1]),
        Err(DecodeError::FrameLength)
    );
    prop_assert_eq!(
        Packet::decode(&buf[..len + 1]),
        Err(DecodeError::FrameLength)
    );

    let mut small = vec![0u8; len];
    let mut shorter = vec![0, len - 1];
    shorter.extend(cuts.iter().map(|i| i.index(len)));
    for n in shorter {
        prop_assert_eq!(
            p.encode(&mut small[..n]),
            Err(EncodeError::BufferTooSmall),
            "buffer of {}",
            n
        );
    }
    Ok(())
}

/// What a receiver does with `bytes`: split into frames, decode each. Whatever
/// decodes must re-encode to the same bytes.
fn receive(bytes: &[u8]) -> Result<usize, TestCaseError> {
    let mut decoded = 0;
    let mut rest = bytes;
    while let Ok(Some(f)) = Frame::parse(rest) {
        let Some((frame, tail)) = rest.split_at_checked(f.len()) else {
            break;
        };
        let _ = f.publish_packet_id(rest);
        if let Ok(p) = Packet::decode(frame) {
            decoded += 1;
            prop_assert_eq!(p.packet_type(), f.packet_type);
            prop_assert_eq!(p.encoded_len(), Ok(frame.len()));
            let mut out = vec![0u8; frame.len()];
            prop_assert_eq!(p.encode(&mut out), Ok(frame.len()));
            prop_assert_eq!(&out[..], frame);
        }
        check_from_server(frame, f.packet_type)?;
        rest = tail;
    }
    // The whole input as one frame, too.
    let _ = Packet::decode(bytes);
    let _ = Packet::decode_from_server(bytes);
    Ok(decoded)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_valid_packet_roundtrips(m in model(&LIMITS), cuts in prop::collection::vec(any::<Index>(), 3)) {
        with_packet(&m, |p| check_roundtrip(p, &cuts))?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        receive(&bytes)?;
    }

    /// Valid packets, back to back, with a few bytes overwritten and maybe
    /// cut short: reaches the field validation of every type.
    #[test]
    fn mutated_packets_never_panic(
        models in prop::collection::vec(model(&LIMITS), 1..4),
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 0..4),
        cut in any::<Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        for m in &models {
            with_packet(m, |p| {
                let start = bytes.len();
                bytes.resize(start + p.encoded_len().unwrap(), 0);
                p.encode(&mut bytes[start..]).unwrap();
            });
        }
        let intact = edits.is_empty() && !do_cut;
        for (i, b) in &edits {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let decoded = receive(&bytes)?;
        if intact {
            prop_assert_eq!(decoded, models.len());
        }
    }
}

#[test]
fn non_minimal_remaining_length_is_not_accepted() {
    // PINGRESP with remaining length 0 written in two bytes: accepting it
    // would break "decoded ⇒ re-encodes to the same bytes".
    assert_eq!(
        Frame::parse(&[0xD0, 0x80, 0x00]),
        Err(DecodeError::BadRemainingLength)
    );
    assert_eq!(
        Packet::decode(&[0xD0, 0x80, 0x00]),
        Err(DecodeError::BadRemainingLength)
    );
}
