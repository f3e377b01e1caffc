//! CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no
//! reflection, no final XOR): the check on saved sessions, small enough for
//! any firmware (a bitwise loop, no table).

/// The CRC of `data`, continuing from `crc` (start with [`INIT`]).
pub fn update(mut crc: u16, data: &[u8]) -> u16 {
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The initial value.
pub const INIT: u16 = 0xFFFF;

/// The CRC of `data`.
pub fn crc16(data: &[u8]) -> u16 {
    update(INIT, data)
}

#[cfg(test)]
mod tests {
    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn check_value() {
        // The catalogued check value of CRC-16/CCITT-FALSE.
        assert_eq!(super::crc16(b"123456789"), 0x29B1);
        assert_eq!(
            super::update(super::update(super::INIT, b"1234"), b"56789"),
            0x29B1
        );
        assert_eq!(super::crc16(b""), 0xFFFF);
    }
}
