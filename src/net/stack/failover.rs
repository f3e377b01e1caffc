//! What a failed attempt changes: the cached address and the broker in use.
//!
//! mqtt_as retries one broker forever. Here failures in a row are counted:
//! after `resolve_after` the broker's name is resolved again, after
//! `failover_after` the next broker of the list is tried. A connection over
//! which the broker has sent a byte starts the count over (see `tcp`).

use super::{Conn, Stack, StackError};

impl Stack<'_> {
    /// Counts a failure with the current broker: forget its address after
    /// `resolve_after`, move to the next one after `failover_after`.
    pub(super) fn failed(&mut self, why: StackError) {
        self.conn = Conn::Failed(why);
        if why == StackError::Dns {
            self.counters.dns_failures = self.counters.dns_failures.wrapping_add(1);
        }
        self.counters.connect_failures = self.counters.connect_failures.wrapping_add(1);
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.config.resolve_after {
            self.resolved = None;
        }
        if self.failures >= self.config.failover_after && self.config.brokers.len() > 1 {
            self.broker = (self.broker + 1) % self.config.brokers.len();
            self.resolved = None;
            self.failures = 0;
            self.counters.failovers = self.counters.failovers.wrapping_add(1);
        }
    }
}
