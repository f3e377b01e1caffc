//! SNTP (RFC 4330) on the wire: the client's request and the checks on a
//! server's reply. No I/O here: the smoltcp stack's `Stack::request_time`
//! (feature `sntp`) sends and receives them over UDP.
//!
//! A request is 48 bytes, version 4, mode 3 (client), with a transmit
//! timestamp the server copies into its reply's originate field: that is
//! how a reply is matched to its request (a stray or forged datagram is
//! refused). A reply is used only from a server (mode 4) that is
//! synchronised (leap indicator not 3, stratum 1..=15; stratum 0 is a
//! kiss-o'-death, RFC 4330 §8) and says a time.

/// The server's UDP port.
pub const PORT: u16 = 123;
/// Bytes of a request and of the reply's fixed part.
pub const LEN: usize = 48;

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
const UNIX_OFFSET: u64 = 2_208_988_800;

/// Why there is no time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// No time server is configured (or the stack has no UDP socket).
    NoServer,
    /// No address yet, or the server's name does not resolve.
    NoNetwork,
    /// No answer in time.
    Timeout,
    /// The server answered but its answer was unusable (unsynchronised,
    /// kiss-o'-death, not a reply to our request, malformed).
    BadReply,
}

/// A client request whose transmit timestamp is `stamp` (any value that
/// differs between requests; never 0).
pub fn request(stamp: u64) -> [u8; LEN] {
    let mut p = [0u8; LEN];
    // LI 0, VN 4, mode 3.
    p[0] = 4 << 3 | 3;
    p[40..48].copy_from_slice(&stamp.max(1).to_be_bytes());
    p
}

/// The server's transmit time as Unix seconds, from its reply to the
/// request made with `stamp`.
pub fn parse_reply(reply: &[u8], stamp: u64) -> Result<u64, TimeError> {
    let Some(p) = reply.get(..LEN) else {
        return Err(TimeError::BadReply);
    };
    let leap = p[0] >> 6;
    let version = (p[0] >> 3) & 7;
    let mode = p[0] & 7;
    let stratum = p[1];
    let word = |i: usize| u64::from(u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]));
    let originate = word(24) << 32 | word(28);
    let transmit_s = word(40);
    let usable = mode == 4
        && (1..=4).contains(&version)
        && leap != 3
        && (1..=15).contains(&stratum)
        && originate == stamp.max(1)
        && transmit_s != 0;
    if !usable {
        return Err(TimeError::BadReply);
    }
    // Before 1970 (a broken server): no Unix time.
    unix_seconds(transmit_s).ok_or(TimeError::BadReply)
}

/// NTP seconds (32 bits, wrapping every 136 years) as Unix seconds: values
/// with the top bit clear are taken as era 1 (from 2036-02-07), so the
/// result is right from 1968 to 2104 (RFC 4330 §3).
fn unix_seconds(ntp: u64) -> Option<u64> {
    if ntp & 0x8000_0000 != 0 {
        ntp.checked_sub(UNIX_OFFSET)
    } else {
        Some(ntp + (1 << 32) - UNIX_OFFSET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    /// A server's reply to `req` at NTP seconds `secs`.
    fn reply(req: &[u8; LEN], secs: u32) -> [u8; LEN] {
        let mut r = [0u8; LEN];
        r[0] = 4 << 3 | 4;
        r[1] = 2;
        r[24..32].copy_from_slice(&req[40..48]);
        r[40..44].copy_from_slice(&secs.to_be_bytes());
        r
    }

    #[test]
    fn a_request_is_a_version_4_client_packet_carrying_its_stamp() {
        let r = request(0x0102_0304_0506_0708);
        assert_eq!(r[0], 0x23);
        assert_eq!(&r[40..], &0x0102_0304_0506_0708u64.to_be_bytes());
        assert_eq!(request(0)[47], 1, "a zero stamp is never sent");
    }

    #[test]
    fn a_reply_gives_unix_time_in_both_eras() {
        let req = request(77);
        // 2026-12-02 00:00:00 UTC = Unix 1,796,169,600.
        let ntp = (1_796_169_600 + UNIX_OFFSET) as u32;
        assert_eq!(parse_reply(&reply(&req, ntp), 77), Ok(1_796_169_600));
        // Just after the era rollover (2036-02-07 06:28:16 UTC).
        assert_eq!(
            parse_reply(&reply(&req, 5), 77),
            Ok((1 << 32) + 5 - UNIX_OFFSET)
        );
        // Longer replies (extension fields, a MAC) are fine.
        let mut long = [0u8; 68];
        long[..LEN].copy_from_slice(&reply(&req, ntp));
        assert_eq!(parse_reply(&long, 77), Ok(1_796_169_600));
    }

    #[test]
    fn unusable_replies_are_refused() {
        let req = request(9);
        let good = reply(&req, 0xE000_0000);
        assert!(parse_reply(&good, 9).is_ok());
        type Spoil = fn(&mut [u8; LEN]);
        let cases: [(&str, Spoil); 8] = [
            ("not a server", |r| r[0] = 4 << 3 | 3),
            ("version 0", |r| r[0] = 4),
            ("unsynchronised", |r| r[0] |= 3 << 6),
            ("kiss-o'-death", |r| r[1] = 0),
            ("stratum 16", |r| r[1] = 16),
            ("not our request", |r| r[31] ^= 1),
            ("no time", |r| r[40..44].copy_from_slice(&[0; 4])),
            ("1969", |r| {
                r[40..44].copy_from_slice(&0x8000_0000u32.to_be_bytes())
            }),
        ];
        for (what, spoil) in cases {
            let mut r = good;
            spoil(&mut r);
            assert_eq!(parse_reply(&r, 9), Err(TimeError::BadReply), "{what}");
        }
        assert_eq!(
            parse_reply(&good[..47], 9),
            Err(TimeError::BadReply),
            "short"
        );
    }
}
