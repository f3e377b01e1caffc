//! What the controller reports from `poll`.

/// Which network an attempt or a link used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// The one the radio keeps itself ([`crate::wlan::Radio::connect_stored`]).
    Stored,
    /// The one in [`crate::wlan::Config::network`].
    Configured,
}

/// Why an attempt failed or a link went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The radio refused the credentials.
    WrongPassword,
    /// No access point with the SSID answered.
    NoApFound,
    /// The radio reported another failure, or lost the link.
    Failed,
    /// No `Connected` within the connect timeout, and no failure reported
    /// either (a driver that never gives a terminal status).
    Timeout,
    /// The link came up but kept leaving `Connected` during the stability
    /// window, until the connect timeout.
    Unstable,
    /// While up, the radio stopped saying `Connected` (`Idle` or
    /// `Connecting`) for longer than the debounce.
    Lost,
    /// `use_stored` with no network configured, and the radio has none stored.
    NothingStored,
}

/// An event from [`crate::wlan::Wlan::poll`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WlanEvent {
    /// The link is up (it passed the stability window, or `quick` skipped
    /// it): time to start or resume networking (`Client::network_up`).
    Up(Network),
    /// The link that was up is gone; a new round starts after the backoff.
    Down(Reason),
    /// One attempt failed; the next network is tried at once, or, when the
    /// round is over, after the backoff.
    AttemptFailed(Network, Reason),
}
