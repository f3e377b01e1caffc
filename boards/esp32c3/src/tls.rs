//! What the range image needs for TLS (feature `tls`): the broker's CA,
//! optionally a client certificate and its P-256 key, all given at build
//! time (PEM files named by `LIMPET_TLS_CA`, `LIMPET_TLS_CERT`,
//! `LIMPET_TLS_KEY`; see build.rs), the name to verify (`LIMPET_TLS_NAME`,
//! default the broker's), and the time for the certificates' dates, from
//! SNTP (`LIMPET_NTP`, default `pool.ntp.org`): until the first answer,
//! every server is refused (`TimeUnknown`) and the client retries.

use limpet::net::stack::Stack;
use limpet::time::{reached, Duration, Instant};

use crate::settings;

/// The CAs to trust (a PEM bundle; empty if none was given).
pub const CA_PEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tls-ca.pem"));
/// The client certificate (PEM; empty: none).
pub const CERT_PEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tls-cert.pem"));
/// Its private key (PEM, P-256; empty: none).
pub const KEY_PEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tls-key.pem"));
/// The name the broker's certificate must carry (sent as SNI).
pub const SERVER_NAME: &str = match option_env!("LIMPET_TLS_NAME") {
    Some(n) => n,
    None => settings::BROKER,
};
/// The SNTP server.
pub const TIME_SERVER: &str = match option_env!("LIMPET_NTP") {
    Some(n) => n,
    None => "pool.ntp.org",
};

/// Ask again this long after an answer (the clock drifts; the u32 clock
/// wraps after 49 days), or after no answer.
const RESYNC_MS: u32 = 3_600_000;
const RETRY_MS: u32 = 10_000;

/// Unix time from SNTP, kept current between answers with the
/// superloop's clock.
pub struct UnixClock {
    known: Option<(u64, Instant)>,
    next_ask: Option<Instant>,
}

impl Default for UnixClock {
    fn default() -> Self {
        Self::new()
    }
}

impl UnixClock {
    pub const fn new() -> Self {
        UnixClock {
            known: None,
            next_ask: None,
        }
    }

    /// Takes an answer, asks when due (once the stack has an address), and
    /// says the time now, once known.
    pub fn poll<'a>(&mut self, now: Instant, stack: &mut Stack<'a>) -> Option<u64> {
        if let Some(answer) = stack.time() {
            let wait = match answer {
                Ok(unix) => {
                    self.known = Some((unix, now));
                    RESYNC_MS
                }
                Err(_) => RETRY_MS,
            };
            self.next_ask = Some(now + Duration::from_ticks(wait));
        }
        let due = self.next_ask.is_none_or(|at| reached(now, at));
        if due && stack.address().is_some() {
            stack.request_time(now, TIME_SERVER);
            // No answer at all: ask again after a while.
            self.next_ask = Some(now + Duration::from_ticks(RETRY_MS));
        }
        let (unix, at) = self.known?;
        let ms = now.checked_duration_since(at).map_or(0, |d| d.ticks());
        Some(unix + u64::from(ms / 1000))
    }
}
