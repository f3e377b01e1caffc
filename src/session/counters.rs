//! Plain counters the application can read and publish.

/// Totals since power-up. They wrap at `u32::MAX`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// CONNACKs accepted (every successful MQTT connection).
    pub connects: u32,
    /// Successful connections after the first one.
    pub reconnects: u32,
    /// QoS 1 PUBLISH packets sent again with DUP set.
    pub republishes: u32,
    /// Received packets larger than the receive buffer, skipped whole.
    pub oversize: u32,
    /// Links declared dead because a PINGRESP did not come in time.
    pub ping_timeouts: u32,
    /// Connections closed because the broker broke the protocol.
    pub protocol_errors: u32,
    /// QoS 2 messages the broker sent again after we had them: answered with
    /// PUBREC, not delivered a second time (§4.3.3).
    pub duplicates: u32,
    /// QoS 2 messages left unacknowledged on a persistent session because
    /// the exactly-once table was full (`R`), or behind one that was; the
    /// broker sends them again after a reconnection.
    pub deferred: u32,
    /// QoS 2 messages delivered on a clean session while the exactly-once
    /// table was full, without keeping their ids: safe, as nothing resumes a
    /// clean session to send them again (see `Client`'s `R`).
    pub untracked: u32,
    /// Requests dropped after the broker closed the connection on them
    /// `max_rejections` times, or (MQTT 5.0) refused with a reason code
    /// (each also reported as `Event::Rejected`).
    pub rejected: u32,
}

pub(crate) fn bump(counter: &mut u32) {
    *counter = counter.wrapping_add(1);
}
