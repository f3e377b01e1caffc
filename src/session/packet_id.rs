//! Packet identifiers (§2.3.1): never 0, never one still in use.

/// Hands out identifiers 1, 2, …, 65535, 1, … skipping those in use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PacketIds {
    last: u16,
}

impl PacketIds {
    pub(crate) const fn new() -> Self {
        PacketIds { last: 0 }
    }

    /// The next identifier for which `in_use` is false. Callers keep far fewer
    /// than 65,535 in use, so the search ends within a few steps.
    pub(crate) fn next(&mut self, in_use: impl Fn(u16) -> bool) -> u16 {
        loop {
            self.last = self.last.checked_add(1).unwrap_or(1);
            if !in_use(self.last) {
                return self.last;
            }
        }
    }
}

#[cfg(test)]
impl PacketIds {
    /// Test hook: the next identifier handed out follows `last`.
    pub(crate) const fn at(last: u16) -> Self {
        PacketIds { last }
    }
}
