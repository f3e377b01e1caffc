//! Giving a request up only on evidence that the broker closes on it.
//!
//! A broker that refuses a request by disconnecting (an ACL on some
//! brokers, AWS IoT's policy checks, a packet over its size limit) would get
//! that request first on every connection, forever, and nothing queued
//! behind it would ever get through. But a close is also what a flapping
//! link, a load balancer or a restarting node looks like, and a message the
//! application handed over must never be dropped on a guess. So a close
//! counts against a request (a *strike*; `Config::max_rejections` strikes
//! give it up) only when it could have been caused by nothing else:
//!
//! 1. After a close by the broker while requests were outstanding, the
//!    client turns *cautious*: the next connections begin with a PINGREQ
//!    (the probe) and send one request at a time, each only once the one
//!    before it was answered, until as many requests have been answered as
//!    were outstanding at that close.
//! 2. A close on a cautious connection strikes a request only if the probe
//!    was answered (the broker was reading and serving this connection — a
//!    broker or balancer that closes right after CONNACK never answers it),
//!    that request was the only one outstanding and was taken whole by the
//!    transport, and the close came at least one probe round trip after it
//!    was sent (sooner, it cannot be the broker's answer to it).
//!
//! A QoS 2 message the broker has acknowledged with PUBREC is never struck:
//! the broker owns it (the session keeps sending PUBREL, §4.3.3, §4.4).

use super::keepalive::KeepAlive;
use crate::time::{elapsed, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    /// Not cautious on this connection.
    Off,
    /// The probe PINGREQ is queued or on its way.
    Pending,
    /// The broker answered the probe after `rtt` milliseconds.
    Answered { rtt: u32 },
}

pub(crate) struct Caution {
    /// Answers still wanted before pipelining resumes.
    suspects: u16,
    probe: Probe,
}

impl Caution {
    pub(crate) const fn new() -> Self {
        Caution {
            suspects: 0,
            probe: Probe::Off,
        }
    }

    /// A CONNACK was accepted: a cautious connection starts with the probe.
    pub(crate) fn connected(&mut self, keepalive: &mut KeepAlive) {
        self.probe = Probe::Off;
        if self.suspects > 0 {
            keepalive.force();
            self.probe = Probe::Pending;
        }
    }

    /// A PINGRESP arrived, `rtt` ms after the oldest PINGREQ went out.
    pub(crate) fn pong(&mut self, rtt: u32) {
        if self.probe == Probe::Pending {
            self.probe = Probe::Answered { rtt };
        }
    }

    /// May a request not yet sent on this connection go out now?
    /// `outstanding`: a request was sent and is not answered yet.
    pub(crate) fn may_send(&self, outstanding: bool) -> bool {
        self.suspects == 0 || (matches!(self.probe, Probe::Answered { .. }) && !outstanding)
    }

    /// A request was answered (PUBACK, PUBCOMP, SUBACK, UNSUBACK).
    #[inline(never)]
    pub(crate) fn answered(&mut self) {
        self.suspects = self.suspects.saturating_sub(1);
    }

    /// The broker closed the connection at `now` while requests were
    /// outstanding, at most `suspects` of them; `sent_at`: when the one
    /// that may be struck was sent (none when it may not be: a released
    /// QoS 2 message); `all_sent`: the transport had taken every byte.
    /// True: a strike against that request. (Once the probe is answered,
    /// [`Caution::may_send`] keeps at most one request outstanding, so
    /// that one is the only one.)
    pub(crate) fn closed(
        &mut self,
        now: Instant,
        suspects: usize,
        sent_at: Option<Instant>,
        all_sent: bool,
    ) -> bool {
        let strike = match (self.probe, sent_at) {
            (Probe::Answered { rtt }, Some(at)) => all_sent && elapsed(at, now) >= rtt,
            _ => false,
        };
        self.suspects = u16::try_from(suspects).unwrap_or(u16::MAX);
        self.probe = Probe::Off;
        strike
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    fn at(ms: u32) -> Instant {
        Instant::from_ticks(ms)
    }

    #[test]
    fn a_close_strikes_only_a_sole_request_after_an_answered_probe() {
        let mut k = KeepAlive::new(at(0));
        let mut c = Caution::new();
        // Not cautious: pipelining, and a close strikes nothing.
        c.connected(&mut k);
        assert!(c.may_send(true));
        assert!(!c.closed(at(5), 2, Some(at(4)), true));
        // That close left a request outstanding: cautious from now on.
        c.connected(&mut k);
        assert!(k.forced(), "a cautious connection starts with a probe");
        assert!(!c.may_send(false), "nothing before the probe's answer");
        // A close before the probe was answered proves nothing.
        assert!(!c.closed(at(9), 1, Some(at(8)), true));
        c.connected(&mut k);
        c.pong(3);
        assert!(c.may_send(false) && !c.may_send(true), "one at a time");
        // Sooner than a round trip after the send: not the broker's answer.
        assert!(!c.closed(at(11), 1, Some(at(10)), true));
        c.connected(&mut k);
        c.pong(3);
        // Bytes left unsent, or a released QoS 2: no strike.
        assert!(!c.closed(at(20), 1, Some(at(10)), false));
        c.connected(&mut k);
        c.pong(3);
        assert!(!c.closed(at(20), 1, None, true));
        c.connected(&mut k);
        c.pong(3);
        assert!(c.closed(at(20), 1, Some(at(10)), true));
    }

    #[test]
    fn caution_ends_once_as_many_requests_were_answered_as_were_suspects() {
        let mut k = KeepAlive::new(at(0));
        let mut c = Caution::new();
        c.connected(&mut k);
        c.closed(at(1), 2, None, true);
        c.connected(&mut k);
        c.answered();
        assert!(!c.may_send(true));
        c.answered();
        assert!(c.may_send(true), "pipelining again");
    }
}
