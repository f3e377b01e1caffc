//! The gateway's time server: an SNTP server (RFC 4330 §5) that answers
//! every client request with the host's real time, as a stratum-2 server
//! synchronised to it. Written here from the RFC, apart from limpet's
//! client, so the two check each other.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds from 1900-01-01 to 1970-01-01.
const UNIX_OFFSET: u64 = 2_208_988_800;

/// The host's time as an NTP timestamp (seconds and fraction since 1900;
/// era 0 until 2036, wrapping after).
fn ntp_now() -> [u8; 8] {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = (since.as_secs() + UNIX_OFFSET) as u32;
    let frac = ((u64::from(since.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    let mut t = [0u8; 8];
    t[..4].copy_from_slice(&secs.to_be_bytes());
    t[4..].copy_from_slice(&frac.to_be_bytes());
    t
}

/// The reply to `request`, if it is a client request (mode 3, 48 bytes or
/// more, version 1..=4).
pub(crate) fn answer(request: &[u8]) -> Option<[u8; 48]> {
    let req = request.get(..48)?;
    let version = (req[0] >> 3) & 7;
    if req[0] & 7 != 3 || !(1..=4).contains(&version) {
        return None;
    }
    let now = ntp_now();
    let mut r = [0u8; 48];
    r[0] = version << 3 | 4; // LI 0, the client's version, mode 4 (server)
    r[1] = 2; // stratum 2
    r[2] = req[2]; // poll
    r[3] = (-20i8) as u8; // precision ~1 µs
    r[12..16].copy_from_slice(b"SIM\0"); // reference id
    r[16..24].copy_from_slice(&now); // reference timestamp
    r[24..32].copy_from_slice(&req[40..48]); // originate = the client's transmit
    r[32..40].copy_from_slice(&now); // receive
    r[40..48].copy_from_slice(&now); // transmit
    Some(r)
}
