//! Keepalive (MQTT 3.1.1 §3.1.2.10, §3.12, §3.13) the way `mqtt_as` uses it,
//! with one rule added: any byte received is a sign of life.
//!
//! A PINGREQ goes out when nothing was sent for the ping interval (so the
//! broker's keepalive is always fed), or when nothing was received for it
//! and no ping is outstanding (so a client that only publishes QoS 0 still
//! learns within `ping_interval + response_time` that its link is dead).
//! The link is declared dead only when nothing at all arrived for
//! `response_time` after a ping: under an inbound flood the PINGRESP waits
//! behind the broker's backlog, and the bytes of that backlog prove the link.
//!
//! "Sent" and "received" are bytes the transport took or gave, not packets
//! queued or parsed.

use crate::time::{elapsed, later as latest, sooner as earliest_of, Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub(crate) struct KeepAlive {
    last_tx: Instant,
    last_rx: Instant,
    /// The oldest PINGREQ without a PINGRESP (when `pinging`).
    ping_sent: Instant,
    /// Since when a due ping found no room in the transmit buffer (when `blocked`).
    blocked_since: Instant,
    pinging: bool,
    blocked: bool,
    /// A ping was asked for (`Session::ping_now`).
    forced: bool,
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
            ping_sent: now,
            blocked_since: now,
            pinging: false,
            blocked: false,
            forced: false,
        }
    }

    /// The transport took bytes.
    pub(crate) fn sent(&mut self, now: Instant) {
        self.last_tx = now;
        self.blocked = false;
    }

    /// The transport gave bytes.
    pub(crate) fn received(&mut self, now: Instant) {
        self.last_rx = now;
    }

    pub(crate) fn forced(&self) -> bool {
        self.forced
    }

    /// When the last byte arrived.
    pub(crate) fn last_rx(&self) -> Instant {
        self.last_rx
    }

    /// When the oldest PINGREQ still unanswered went out (or the last one did).
    pub(crate) fn ping_sent(&self) -> Instant {
        self.ping_sent
    }

    /// Send a PINGREQ on the next chance, unless one is outstanding.
    pub(crate) fn force(&mut self) {
        self.forced = !self.pinging;
    }

    pub(crate) fn ping_queued(&mut self, now: Instant) {
        self.forced = false;
        if !self.pinging {
            self.ping_sent = now;
            self.pinging = true;
        }
        self.blocked = false;
        // Queued is as good as sent for scheduling: it goes out before
        // anything queued after it.
        self.last_tx = now;
    }

    /// A due ping found no room to be queued. True once that has lasted
    /// `response_ms` with nothing received either (a stalled, silent link).
    pub(crate) fn ping_blocked(&mut self, now: Instant, response_ms: u32) -> bool {
        if !self.blocked {
            self.blocked = true;
            self.blocked_since = now;
        }
        elapsed(self.blocked_since, now) >= response_ms && elapsed(self.last_rx, now) >= response_ms
    }

    pub(crate) fn pong(&mut self) {
        self.pinging = false;
    }

    pub(crate) fn check(&self, now: Instant, interval_ms: u32, response_ms: u32) -> Ping {
        if self.pinging && elapsed(latest(self.ping_sent, self.last_rx), now) >= response_ms {
            return Ping::Dead;
        }
        if self.forced {
            return Ping::Send;
        }
        if interval_ms == 0 {
            return Ping::Idle;
        }
        let quiet_tx = elapsed(self.last_tx, now) >= interval_ms;
        let quiet_rx = !self.pinging && elapsed(self.last_rx, now) >= interval_ms;
        if quiet_tx || quiet_rx {
            Ping::Send
        } else {
            Ping::Idle
        }
    }

    /// When [`KeepAlive::check`] next changes its answer.
    pub(crate) fn deadline(&self, interval_ms: u32, response_ms: u32) -> Option<Instant> {
        let dead = self
            .pinging
            .then(|| latest(self.ping_sent, self.last_rx) + Duration::from_ticks(response_ms));
        if interval_ms == 0 {
            return dead;
        }
        let interval = Duration::from_ticks(interval_ms);
        let mut next = self.last_tx + interval;
        if !self.pinging {
            next = earliest_of(next, self.last_rx + interval);
        }
        Some(match dead {
            Some(d) => earliest_of(next, d),
            None => next,
        })
    }
}
