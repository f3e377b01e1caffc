//! The WLAN state machine: one round tries the stored network, then the
//! configured one; a link must survive the stability window before it is up;
//! a link that is up is watched until it drops; between rounds, a backoff.
//!
//! ```text
//! Start ──► Associating ──Connected──► Proving ──window passed──► Up
//!   ▲            │  ▲                    │                        │
//!   │   failure, │  └──Idle/Connecting───┘ (the window restarts)  │ failure at once,
//!   │   timeout  │                         failure: attempt fails │ Idle/Connecting
//!   │            ▼                                                │ past the debounce
//!   └──── Waiting (backoff) ◄─────────────────────────────────────┘
//! ```
//!
//! Every poll samples the status once and makes at most one `disconnect`
//! and one `connect`, so a pass of the superloop does bounded work. Time is
//! compared only through wrapping differences of recent instants
//! (`crate::time`), so any starting clock value and the u32 wrap are fine;
//! the connected-time counter adds up poll-to-poll steps, so a link may stay
//! up for years.

use super::counters::bump;
use super::{
    Config, ConfigError, Counters, Credentials, Network, Radio, Reason, Status, WlanEvent,
};
use crate::time::{elapsed, later, reached, sooner, Duration, Instant};

/// Longest wait the machine schedules: half the u32 clock, the limit of
/// wrapping comparisons (a backoff maximum above it is cut to it).
const LONGEST_WAIT_MS: u32 = (1 << 31) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Created, not polled yet: start on the first poll, whatever the clock says.
    Start,
    /// Between rounds.
    Waiting { until: Instant },
    /// An attempt is under way and not `Connected`. `started`: when it
    /// began (the connect timeout counts from there, across flaps);
    /// `seen`: it was `Connected` at some point (it flapped in the window).
    Associating {
        network: Network,
        started: Instant,
        seen: bool,
    },
    /// `Connected` since `since`, proving it stays so for the window.
    Proving {
        network: Network,
        started: Instant,
        since: Instant,
    },
    /// Declared up at `since`. `proven`: it has been up (or passed the
    /// window) for `stability`, so its end starts the backoff over.
    /// `doubt`: since when the radio has stopped saying `Connected` without
    /// reporting a failure.
    Up {
        network: Network,
        since: Instant,
        proven: bool,
        doubt: Option<Instant>,
    },
}

/// Keeps the WiFi link up over a [`Radio`]: poll it from the superloop.
///
/// Each pass: [`Wlan::poll`] with the time and the board's radio, act on
/// the event (the IP stack's link and the client's `network_up` on `Up`),
/// then sleep until the earliest of the machines' deadlines. With the
/// `smoltcp` feature, `limpet::Device` does this wiring for you.
///
/// ```
/// use limpet::time::Instant;
/// use limpet::wlan::{Config, Network, Radio, Status, Wlan, WlanEvent};
///
/// /// The board's WiFi driver (this one joins at once).
/// struct BoardRadio {
///     status: Status,
/// }
///
/// impl Radio for BoardRadio {
///     fn has_stored(&mut self) -> bool {
///         false
///     }
///     fn connect_stored(&mut self) {}
///     fn connect(&mut self, _ssid: &str, _password: &[u8]) {
///         self.status = Status::Connected;
///     }
///     fn disconnect(&mut self) {
///         self.status = Status::Idle;
///     }
///     fn status(&mut self) -> Status {
///         self.status
///     }
///     fn rssi(&mut self) -> Option<i8> {
///         Some(-60)
///     }
/// }
///
/// let mut radio = BoardRadio { status: Status::Idle };
/// let mut wlan = Wlan::new(Config::new("home", b"correct horse")).unwrap();
/// let mut now = Instant::from_ticks(0);
/// loop {
///     match wlan.poll(now, &mut radio) {
///         Some(WlanEvent::Up(network)) => {
///             // stack.link_up(); client.network_up(now);
///             assert_eq!(network, Network::Configured);
///             break;
///         }
///         Some(WlanEvent::Down(_reason)) => {} // stack.link_down();
///         Some(WlanEvent::AttemptFailed(_network, _reason)) => {}
///         None => {}
///     }
///     // … the IP stack's and the client's polls …
///     // Sleep until the next deadline (here the clock jumps to it).
///     now = wlan.next_deadline(now).unwrap();
/// }
/// // `Connected` sampled at the first check (1 s), then up once it stayed
/// // so for the stability window (5 s).
/// assert_eq!(now, Instant::from_ticks(6_000));
/// assert_eq!(wlan.counters().ups, 1);
/// ```
#[derive(Debug)]
pub struct Wlan<'a> {
    config: Config<'a>,
    state: State,
    /// When the last poll sampled the status (the check interval counts
    /// from it, and connected time is added up from it).
    checked: Instant,
    /// A link has been declared up before (`quick` applies to the first only).
    ever_up: bool,
    rssi: Option<i8>,
    counters: Counters,
}

impl<'a> Wlan<'a> {
    /// Refuses what could never work ([`Config::check`]). Nothing happens
    /// until the first [`Wlan::poll`].
    pub fn new(config: Config<'a>) -> Result<Self, ConfigError> {
        config.check()?;
        Ok(Wlan {
            config,
            state: State::Start,
            checked: Instant::from_ticks(0),
            ever_up: false,
            rssi: None,
            counters: Counters::default(),
        })
    }

    /// True between `Up` and `Down`.
    pub fn is_up(&self) -> bool {
        matches!(self.state, State::Up { .. })
    }

    /// The network of the link that is up.
    pub fn network(&self) -> Option<Network> {
        match self.state {
            State::Up { network, .. } => Some(network),
            _ => None,
        }
    }

    /// Signal strength in dBm as of the last poll, only while up (a link
    /// still proving itself has none to report yet).
    pub fn rssi(&self) -> Option<i8> {
        if self.is_up() {
            self.rssi
        } else {
            None
        }
    }

    /// What the controller has counted: attempts, failures, drops, time up.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The settings it was made with.
    pub fn config(&self) -> &Config<'a> {
        &self.config
    }

    /// When `poll` must run again: the end of a wait, a timeout or the
    /// window, and never later than the check interval after the last poll
    /// while an attempt or a link is alive (status changes come unannounced,
    /// so they are sampled). Never before `now`; always `Some` (the
    /// controller never rests).
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let check = self.checked + self.config.check_interval;
        let at = match self.state {
            State::Start => now,
            State::Waiting { until } => until,
            State::Associating { started, .. } => {
                sooner(check, started + self.config.connect_timeout)
            }
            State::Proving { since, .. } => sooner(check, since + self.config.stability),
            State::Up { doubt, .. } => match doubt {
                Some(d) => sooner(check, d + self.config.debounce),
                None => check,
            },
        };
        Some(later(at, now))
    }

    /// Samples the radio, moves the machine on, and returns what happened.
    /// Call it once per superloop pass with a fresh `now` (after the
    /// board's own radio work); when it returns `None`, it needs nothing
    /// before [`Wlan::next_deadline`].
    pub fn poll<R: Radio>(&mut self, now: Instant, radio: &mut R) -> Option<WlanEvent> {
        match self.state {
            State::Start => {
                self.checked = now;
                let stored = self.config.use_stored && radio.has_stored();
                // mqtt_as on ESP8266: a radio that rejoined its stored
                // network by itself after a reset is already connected;
                // connecting again would only break that link.
                if stored && radio.status() == Status::Connected {
                    bump(&mut self.counters.attempts);
                    return self.connected(Network::Stored, now, now, radio);
                }
                self.start_round(stored, now, radio)
            }
            State::Waiting { until } => {
                if !reached(now, until) {
                    return None;
                }
                self.checked = now;
                let stored = self.config.use_stored && radio.has_stored();
                self.start_round(stored, now, radio)
            }
            State::Associating {
                network,
                started,
                seen,
            } => {
                self.checked = now;
                match radio.status() {
                    Status::Connected => self.connected(network, started, now, radio),
                    s if s.is_terminal() => self.failed(network, reason_of(s), seen, now, radio),
                    // Idle counts as "not yet": right after a connect request
                    // some drivers still say Idle for a moment.
                    _ => self.unless_timed_out(network, started, seen, now, radio),
                }
            }
            State::Proving {
                network,
                started,
                since,
            } => {
                self.checked = now;
                match radio.status() {
                    Status::Connected => {
                        if elapsed(since, now) >= self.config.stability.ticks() {
                            self.up(network, now, true, radio)
                        } else {
                            None
                        }
                    }
                    // A drop during the window: mqtt_as's "Connection Unstable".
                    s if s.is_terminal() => self.failed(network, reason_of(s), true, now, radio),
                    // A flap: the window starts again when the link is back,
                    // within what is left of the connect timeout.
                    _ => {
                        bump(&mut self.counters.flaps);
                        self.state = State::Associating {
                            network,
                            started,
                            seen: true,
                        };
                        self.unless_timed_out(network, started, true, now, radio)
                    }
                }
            }
            State::Up {
                network,
                since,
                proven,
                doubt,
            } => {
                self.counters.connected_ms += u64::from(elapsed(self.checked, now));
                self.checked = now;
                let was_proven = proven;
                let proven = was_proven || elapsed(since, now) >= self.config.stability.ticks();
                if proven && !was_proven {
                    // Up long enough to call it a working link (quick skipped the window).
                    self.config.backoff.reset();
                }
                let status = radio.status();
                if status.is_terminal() {
                    return self.down(reason_of(status), now, radio);
                }
                let doubt = if status == Status::Connected {
                    if doubt.is_some() {
                        bump(&mut self.counters.glitches);
                    }
                    None
                } else {
                    // Idle or Connecting: a drop only if it persists.
                    let d = doubt.unwrap_or(now);
                    let lasted = elapsed(d, now);
                    if lasted >= self.config.debounce.ticks() {
                        // The link was gone from the first doubtful sample.
                        self.counters.connected_ms =
                            self.counters.connected_ms.saturating_sub(u64::from(lasted));
                        return self.down(Reason::Lost, now, radio);
                    }
                    Some(d)
                };
                self.rssi = radio.rssi();
                self.state = State::Up {
                    network,
                    since,
                    proven,
                    doubt,
                };
                None
            }
        }
    }

    /// A round begins: the stored network if there is one to use, else the
    /// configured one, else nothing to try (wait and look again).
    fn start_round<R: Radio>(
        &mut self,
        stored: bool,
        now: Instant,
        radio: &mut R,
    ) -> Option<WlanEvent> {
        if stored {
            radio.connect_stored();
            self.begin(Network::Stored, now);
            return None;
        }
        if let Some(c) = self.config.network {
            self.begin_configured(c, now, radio);
            return None;
        }
        bump(&mut self.counters.nothing_stored);
        self.wait(now);
        Some(WlanEvent::AttemptFailed(
            Network::Stored,
            Reason::NothingStored,
        ))
    }

    fn begin_configured<R: Radio>(&mut self, c: Credentials<'a>, now: Instant, radio: &mut R) {
        radio.connect(c.ssid, c.password);
        self.begin(Network::Configured, now);
    }

    fn begin(&mut self, network: Network, now: Instant) {
        bump(&mut self.counters.attempts);
        self.state = State::Associating {
            network,
            started: now,
            seen: false,
        };
    }

    /// `Connected` during an attempt that began at `started`.
    fn connected<R: Radio>(
        &mut self,
        network: Network,
        started: Instant,
        now: Instant,
        radio: &mut R,
    ) -> Option<WlanEvent> {
        if self.config.quick && !self.ever_up {
            return self.up(network, now, false, radio);
        }
        if self.config.stability.ticks() == 0 {
            return self.up(network, now, true, radio);
        }
        self.state = State::Proving {
            network,
            started,
            since: now,
        };
        None
    }

    fn unless_timed_out<R: Radio>(
        &mut self,
        network: Network,
        started: Instant,
        seen: bool,
        now: Instant,
        radio: &mut R,
    ) -> Option<WlanEvent> {
        if elapsed(started, now) < self.config.connect_timeout.ticks() {
            return None;
        }
        let reason = if seen {
            Reason::Unstable
        } else {
            Reason::Timeout
        };
        self.failed(network, reason, seen, now, radio)
    }

    fn up<R: Radio>(
        &mut self,
        network: Network,
        now: Instant,
        proven: bool,
        radio: &mut R,
    ) -> Option<WlanEvent> {
        if proven {
            self.config.backoff.reset();
        }
        self.ever_up = true;
        bump(&mut self.counters.ups);
        self.rssi = radio.rssi();
        self.state = State::Up {
            network,
            since: now,
            proven,
            doubt: None,
        };
        Some(WlanEvent::Up(network))
    }

    /// An attempt failed: the configured network next if the stored one
    /// failed, else the round is over.
    fn failed<R: Radio>(
        &mut self,
        network: Network,
        reason: Reason,
        seen: bool,
        now: Instant,
        radio: &mut R,
    ) -> Option<WlanEvent> {
        // Stop the driver's own retries before anything else (mqtt_as
        // disconnects a timed-out attempt too).
        radio.disconnect();
        let c = &mut self.counters;
        bump(match reason {
            Reason::WrongPassword => &mut c.wrong_password,
            Reason::NoApFound => &mut c.no_ap,
            Reason::Timeout | Reason::Unstable => &mut c.timeouts,
            _ => &mut c.failed,
        });
        if seen {
            bump(&mut c.unstable);
        }
        match (network, self.config.network) {
            (Network::Stored, Some(creds)) => self.begin_configured(creds, now, radio),
            _ => self.wait(now),
        }
        Some(WlanEvent::AttemptFailed(network, reason))
    }

    fn down<R: Radio>(&mut self, reason: Reason, now: Instant, radio: &mut R) -> Option<WlanEvent> {
        radio.disconnect();
        bump(&mut self.counters.drops);
        self.rssi = None;
        self.wait(now);
        Some(WlanEvent::Down(reason))
    }

    fn wait(&mut self, now: Instant) {
        let delay = self
            .config
            .backoff
            .next_delay()
            .ticks()
            .min(LONGEST_WAIT_MS);
        self.state = State::Waiting {
            until: now + Duration::from_ticks(delay),
        };
    }
}

fn reason_of(terminal: Status) -> Reason {
    match terminal {
        Status::WrongPassword => Reason::WrongPassword,
        Status::NoApFound => Reason::NoApFound,
        _ => Reason::Failed,
    }
}
