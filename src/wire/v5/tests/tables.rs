// The spec's tables, checked whole: the Variable Byte Integer boundaries
// (§1.5.5), the reason codes (§2.4) and every property's type (§2.2.2.2).

use super::super::*;
use super::properties::{CARRIERS, SAMPLES};
use crate::wire::DecodeError as WireError;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn the_variable_byte_integer_boundaries_of_1_5_5() {
    // §1.5.5, table 1-1, through a Subscription Identifier.
    let cases: [(u32, &[u8]); 8] = [
        (1, &[0x01]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for (n, bytes) in cases {
        let list = [Property::SubscriptionIdentifier(n)];
        let props = Properties::new(&list);
        let mut buf = [0u8; 8];
        let len = props.encode(Carrier::Subscribe, &mut buf).unwrap();
        assert_eq!(len, 2 + bytes.len());
        assert_eq!(buf[0] as usize, 1 + bytes.len());
        assert_eq!(buf[1], 0x0B);
        assert_eq!(&buf[2..len], bytes, "{n}");
        let mut r = crate::wire::reader::Reader::new(&buf[..len]);
        let parsed = Properties::parse(&mut r, Carrier::Subscribe).unwrap();
        assert_eq!(parsed, props);
    }
}

#[test]
fn reason_codes_follow_the_table_of_2_4() {
    let mut known = 0;
    for b in 0..=255u8 {
        if let Some(code) = ReasonCode::from_u8(b) {
            known += 1;
            assert_eq!(code as u8, b);
            assert_eq!(code.is_success(), b < 0x80);
        }
    }
    assert_eq!(known, 43);
    use crate::wire::PacketType::*;
    let puback = ReasonIn::Packet(PubAck);
    // §3.4.2.1's list for PUBACK, exactly.
    let listed = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
    for b in 0..=255u8 {
        let allowed = ReasonCode::from_u8(b).is_some_and(|c| c.allowed_in(puback));
        assert_eq!(allowed, listed.contains(&b), "{b:#x} in PUBACK");
    }
    // §3.9.3 SUBACK, §3.11.3 UNSUBACK, §3.15.2.1 AUTH.
    let lists: [(ReasonIn, &[u8]); 3] = [
        (
            ReasonIn::Packet(SubAck),
            &[
                0, 1, 2, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
            ],
        ),
        (
            ReasonIn::Packet(UnsubAck),
            &[0, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
        ),
        (ReasonIn::Auth, &[0, 0x18, 0x19]),
    ];
    for (packet, listed) in lists {
        for b in 0..=255u8 {
            let allowed = ReasonCode::from_u8(b).is_some_and(|c| c.allowed_in(packet));
            assert_eq!(allowed, listed.contains(&b), "{b:#x} in {packet:?}");
        }
    }
    assert!(!ReasonCode::Success.allowed_in(ReasonIn::Packet(Publish)));
}

#[test]
fn decode_errors_name_the_disconnect_reason_of_4_13() {
    assert_eq!(
        DecodeError::Packet(WireError::Truncated).reason(),
        ReasonCode::MalformedPacket
    );
    assert_eq!(
        DecodeError::Property(PropertyError::Duplicate(PropertyId::ReceiveMaximum)).reason(),
        ReasonCode::ProtocolError
    );
    assert_eq!(
        DecodeError::Property(PropertyError::UnknownIdentifier(5)).reason(),
        ReasonCode::MalformedPacket
    );
    assert_eq!(
        DecodeError::Property(PropertyError::ZeroTopicAlias).reason(),
        ReasonCode::ProtocolError
    );
}
#[test]
fn every_sample_property_reads_back_typed() {
    for sample in SAMPLES {
        let list = [Property::AuthenticationMethod("m"), sample];
        let carrier = CARRIERS
            .into_iter()
            .find(|c| c.allows(sample.id()))
            .unwrap();
        let list = if sample.id() == PropertyId::AuthenticationData
            || sample.id() == PropertyId::AuthenticationMethod
        {
            &list[..]
        } else {
            &list[1..]
        };
        let list = if list.len() == 2 && list[0] == list[1] {
            &list[1..]
        } else {
            list
        };
        let props = Properties::new(list);
        let mut buf = [0u8; 64];
        let n = props.encode(carrier, &mut buf).unwrap();
        let mut r = crate::wire::reader::Reader::new(&buf[..n]);
        let parsed = Properties::parse(&mut r, carrier).unwrap();
        assert!(r.is_empty());
        assert_eq!(parsed, props);
        assert_eq!(parsed.get(sample.id()), Some(sample));
        assert!(!parsed.is_empty());
    }
    assert!(Properties::NONE.is_empty());
    assert_eq!(Properties::default(), Properties::NONE);
}

#[cfg(not(target_os = "none"))]
#[test]
fn the_fuzz_seeds_decode() {
    extern crate std;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/decode_v5");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            Packet::decode(&bytes).is_ok(),
            "{bytes:02x?}: {:?}",
            Packet::decode(&bytes)
        );
        n += 1;
    }
    assert!(n >= 10);
}
