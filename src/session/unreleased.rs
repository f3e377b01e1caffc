//! Incoming QoS 2 (§4.3.3): ids of messages delivered whose PUBREL has not
//! come yet.
//!
//! A QoS 2 PUBLISH whose id is here is a re-send of a message the
//! application already has (the broker did not get our PUBREC, or it is
//! resuming the session after a reconnection or a reboot): it is answered
//! with PUBREC again and not delivered. The table lives as long as the
//! broker's session, so it survives reconnections of a persistent session
//! and is emptied when the broker reports none (CONNACK session present 0).

pub(crate) struct Unreleased<const R: usize> {
    ids: heapless::Vec<u16, R>,
}

impl<const R: usize> Unreleased<R> {
    pub(crate) const fn new() -> Self {
        Unreleased {
            ids: heapless::Vec::new(),
        }
    }

    pub(crate) fn contains(&self, pid: u16) -> bool {
        self.ids.contains(&pid)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.ids.is_full()
    }

    /// Records a delivered message. `Err` when full (the caller checked).
    pub(crate) fn insert(&mut self, pid: u16) -> Result<(), u16> {
        self.ids.push(pid)
    }

    /// PUBREL: forgets `pid` (known or not; PUBCOMP is owed either way).
    pub(crate) fn release(&mut self, pid: u16) {
        if let Some(i) = self.ids.iter().position(|&p| p == pid) {
            super::table::remove(&mut self.ids, i);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.ids.clear();
    }

    pub(crate) fn ids(&self) -> &[u16] {
        &self.ids
    }
}
