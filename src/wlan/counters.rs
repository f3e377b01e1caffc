//! Plain counters for the application to read and publish.

/// What the controller has seen since it was created. The `u32` counts
/// wrap; `connected_ms` is 64-bit, so it outlasts the 49.7-day wrap of the
/// clock. Updated by `poll` (the time up to the latest poll).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Attempts begun (a link the radio brought up by itself at start counts as one).
    pub attempts: u32,
    /// Times the link was declared up.
    pub ups: u32,
    /// Times a link that was up went down.
    pub drops: u32,
    /// Attempts ended by the connect timeout (`Timeout` and `Unstable`).
    pub timeouts: u32,
    /// Attempts refused for the password.
    pub wrong_password: u32,
    /// Attempts that found no access point.
    pub no_ap: u32,
    /// Attempts that failed otherwise.
    pub failed: u32,
    /// Attempts that were `Connected` at some point but failed the window
    /// (also counted by their reason above).
    pub unstable: u32,
    /// Times the stability window restarted because the link flapped.
    pub flaps: u32,
    /// `Idle`/`Connecting` reports while up that cleared within the debounce
    /// (the spurious statuses that are not drops).
    pub glitches: u32,
    /// Rounds that found nothing to try (`Reason::NothingStored`).
    pub nothing_stored: u32,
    /// Milliseconds spent up: from each `Up` to its `Down`, less the
    /// debounce of a `Lost` link (it was already gone then).
    pub connected_ms: u64,
}

pub(crate) fn bump(c: &mut u32) {
    *c = c.wrapping_add(1);
}
