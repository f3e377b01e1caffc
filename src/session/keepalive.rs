//! Keepalive (MQTT 3.1.1 §3.1.2.10, §3.12, §3.13) the way `mqtt_as` uses it:
//! pings prove the link is alive, not only that the broker should keep us.
//!
//! A PINGREQ goes out when nothing was sent *or* nothing was received for the
//! ping interval, so a client that only publishes QoS 0 still learns within
//! `ping_interval + response_time` that its link is dead. At most one ping is
//! outstanding; no PINGRESP within `response_time` means the link is dead.

use crate::time::{elapsed, Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub(crate) struct KeepAlive {
    last_tx: Instant,
    last_rx: Instant,
    ping_sent: Option<Instant>,
    /// A ping was due but the transmit buffer had no room for it since then.
    ping_blocked: Option<Instant>,
}

/// What the keepalive timer wants now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ping {
    Idle,
    Send,
    Dead,
}

impl KeepAlive {
    pub(crate) const fn new(now: Instant) -> Self {
        KeepAlive {
            last_tx: now,
            last_rx: now,
            ping_sent: None,
            ping_blocked: None,
        }
    }

    pub(crate) fn sent(&mut self, now: Instant) {
        self.last_tx = now;
    }

    /// Any complete packet from the broker counts as a sign of life.
    pub(crate) fn received(&mut self, now: Instant) {
        self.last_rx = now;
    }

    pub(crate) fn ping_sent(&mut self, now: Instant) {
        self.ping_sent = Some(now);
        self.ping_blocked = None;
        self.last_tx = now;
    }

    /// A due ping found no room to be sent: the transport has not taken our
    /// bytes. True once that has lasted `response_ms` (a stalled link is dead).
    pub(crate) fn ping_blocked(&mut self, now: Instant, response_ms: u32) -> bool {
        let since = *self.ping_blocked.get_or_insert(now);
        elapsed(since, now) >= response_ms
    }

    pub(crate) fn pong(&mut self) {
        self.ping_sent = None;
    }

    pub(crate) fn check(&self, now: Instant, interval_ms: u32, response_ms: u32) -> Ping {
        if let Some(at) = self.ping_sent {
            return if elapsed(at, now) >= response_ms {
                Ping::Dead
            } else {
                Ping::Idle
            };
        }
        let quiet = elapsed(self.last_tx, now).max(elapsed(self.last_rx, now));
        if interval_ms > 0 && quiet >= interval_ms {
            Ping::Send
        } else {
            Ping::Idle
        }
    }

    /// When [`KeepAlive::check`] next changes its answer.
    pub(crate) fn deadline(&self, interval_ms: u32, response_ms: u32) -> Option<Instant> {
        match self.ping_sent {
            Some(at) => Some(at + Duration::from_ticks(response_ms)),
            None if interval_ms > 0 => {
                let oldest = if elapsed(self.last_tx, self.last_rx) > 0 {
                    self.last_tx
                } else {
                    self.last_rx
                };
                Some(oldest + Duration::from_ticks(interval_ms))
            }
            None => None,
        }
    }
}
