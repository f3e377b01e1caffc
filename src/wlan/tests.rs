//! Scenarios for the WLAN controller over a scripted radio: given a radio
//! that does X, when Y happens, then Z. Each runs from several clock
//! origins (zero, both sides of 2^31, just before the u32 wrap), driven the
//! way a superloop that sleeps until `next_deadline` would drive it, and
//! checks on every pass that the deadline is never in the past, that an idle
//! poll never asks to be polled again at once, and that a poll makes a
//! bounded number of radio calls. Only `core` + heapless, so these also run
//! on the microcontroller instruction sets.

use super::*;
use crate::time::{Duration, Instant};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// Clock origins: the scenarios last long enough to cross 2^31 and the wrap
/// from the middle ones.
const ORIGINS: [u32; 4] = [0, (1 << 31) - 7_001, (1 << 31) + 7_001, u32::MAX - 7_001];

const SSID: &str = "home";
const PASSWORD: &[u8] = b"correct horse";

/// Radio calls one poll may make (has_stored + status + disconnect + connect).
const CALLS_PER_POLL: u32 = 4;

/// What an attempt with one network leads to, `ms` after it began.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// `Connected` from `ms` on.
    Joins(u32),
    /// This failure from `ms` on.
    Refuses(u32, Status),
    /// `Connecting` for ever: no terminal status.
    Silent,
}

/// A network's answers to successive attempts; the last one repeats.
struct Answers {
    list: heapless::Vec<Answer, 8>,
    next: usize,
}

impl Answers {
    fn new(list: &[Answer]) -> Self {
        Answers {
            list: heapless::Vec::from_slice(list).unwrap(),
            next: 0,
        }
    }

    fn take(&mut self) -> Answer {
        let a = self.list[self.next.min(self.list.len() - 1)];
        self.next += 1;
        a
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    ConnectStored,
    Connect,
    Disconnect,
}

#[derive(Clone, Copy)]
struct Attempt {
    index: usize,
    began: u32,
    answer: Answer,
}

/// A radio whose behaviour is a script in scenario time (ms since the origin).
struct TestRadio {
    /// Scenario time, kept current by the harness.
    t: u32,
    /// `None`: nothing stored.
    stored: Option<Answers>,
    configured: Answers,
    attempt: Option<Attempt>,
    /// Statuses forced over `[from, until)` whatever the attempt does: an
    /// access point gone, a spurious report, a flap. With an attempt
    /// number: that association's fate only.
    overrides: heapless::Vec<(u32, u32, Status, Option<usize>), 64>,
    /// Attempts begun so far.
    attempts: usize,
    signal: i8,
    /// Connects and disconnects, with their scenario time.
    log: heapless::Vec<(u32, Call), 256>,
    /// The credentials of the last `connect`.
    given: Option<(&'static str, &'static [u8])>,
    /// Calls during the current poll.
    calls: u32,
}

impl TestRadio {
    fn new(stored: Option<&[Answer]>, configured: &[Answer]) -> Self {
        TestRadio {
            t: 0,
            stored: stored.map(Answers::new),
            configured: Answers::new(configured),
            attempt: None,
            overrides: heapless::Vec::new(),
            attempts: 0,
            signal: -60,
            log: heapless::Vec::new(),
            given: None,
            calls: 0,
        }
    }

    /// Forces `status` over `[from, until)`, for every attempt (the air).
    fn force(&mut self, from: u32, until: u32, status: Status) {
        self.overrides.push((from, until, status, None)).unwrap();
    }

    /// Forces `status` over `[from, until)` on the `n`th association (from
    /// 0) only: the next attempt starts clean.
    fn fail_link(&mut self, n: usize, from: u32, until: u32, status: Status) {
        self.overrides.push((from, until, status, Some(n))).unwrap();
    }

    fn begin(&mut self, answer: Answer) {
        self.attempt = Some(Attempt {
            index: self.attempts,
            began: self.t,
            answer,
        });
        self.attempts += 1;
    }

    /// The radio joined its stored network by itself before the controller
    /// started (the ESP8266 after a reset).
    fn already_joined(&mut self) {
        self.begin(Answer::Joins(0));
    }

    fn now_status(&self) -> Status {
        let current = self.attempt.map(|a| a.index);
        if let Some(&(_, _, s, _)) = self.overrides.iter().find(|(from, until, _, n)| {
            (*from..*until).contains(&self.t) && (n.is_none() || *n == current)
        }) {
            return s;
        }
        let Some(a) = self.attempt else {
            return Status::Idle;
        };
        let age = self.t - a.began;
        match a.answer {
            Answer::Joins(ms) if age >= ms => Status::Connected,
            Answer::Refuses(ms, s) if age >= ms => s,
            _ => Status::Connecting,
        }
    }

    fn calls_of(&self, call: Call) -> heapless::Vec<u32, 256> {
        self.log
            .iter()
            .filter(|(_, c)| *c == call)
            .map(|(t, _)| *t)
            .collect()
    }

    fn note(&mut self, call: Call) {
        self.log.push((self.t, call)).unwrap();
    }
}

impl Radio for TestRadio {
    fn has_stored(&mut self) -> bool {
        self.calls += 1;
        self.stored.is_some()
    }

    fn connect_stored(&mut self) {
        self.calls += 1;
        self.note(Call::ConnectStored);
        let answer = self.stored.as_mut().expect("no stored network").take();
        self.begin(answer);
    }

    fn connect(&mut self, ssid: &str, password: &[u8]) {
        self.calls += 1;
        self.note(Call::Connect);
        assert_eq!((ssid, password), (SSID, PASSWORD));
        self.given = Some((SSID, PASSWORD));
        let answer = self.configured.take();
        self.begin(answer);
    }

    fn disconnect(&mut self) {
        self.calls += 1;
        self.note(Call::Disconnect);
        self.attempt = None;
    }

    fn status(&mut self) -> Status {
        self.calls += 1;
        self.now_status()
    }

    fn rssi(&mut self) -> Option<i8> {
        self.calls += 1;
        (self.now_status() == Status::Connected).then_some(self.signal)
    }
}

/// The superloop: a controller, its radio and the clock.
struct Run {
    wlan: Wlan<'static>,
    radio: TestRadio,
    origin: u32,
    /// Scenario time: ms since `origin`.
    t: u32,
    /// Poll at least this often as well (a loop kept busy by other work).
    step: Option<u32>,
    events: heapless::Vec<(u32, WlanEvent), 256>,
}

impl Run {
    fn new(origin: u32, config: Config<'static>, radio: TestRadio) -> Self {
        Run {
            wlan: Wlan::new(config).unwrap(),
            radio,
            origin,
            t: 0,
            step: None,
            events: heapless::Vec::new(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_ticks(self.origin.wrapping_add(self.t))
    }

    /// One poll at the current time, with the per-poll checks.
    fn poll(&mut self) -> Option<WlanEvent> {
        self.radio.t = self.t;
        self.radio.calls = 0;
        let now = self.now();
        let event = self.wlan.poll(now, &mut self.radio);
        assert!(
            self.radio.calls <= CALLS_PER_POLL,
            "{} radio calls in one poll at {}",
            self.radio.calls,
            self.t
        );
        if let Some(e) = event {
            self.events.push((self.t, e)).unwrap();
        }
        event
    }

    /// Polls as a loop that sleeps until `next_deadline` (or `step`), up to
    /// scenario time `until`.
    fn run_until(&mut self, until: u32) {
        while self.t < until {
            if self.poll().is_some() {
                continue; // an event: the loop polls again at once
            }
            let now = self.now();
            let next = self.wlan.next_deadline(now).expect("always a deadline");
            let wait = next
                .checked_duration_since(now)
                .expect("deadline before now")
                .ticks();
            assert!(wait > 0, "an idle poll asked to be polled again at once");
            let limit = if self.wlan_waiting() {
                30_000
            } else {
                self.wlan.config().check_interval.ticks()
            };
            assert!(wait <= limit, "slept {wait} ms at {}", self.t);
            let wait = self.step.map_or(wait, |s| wait.min(s));
            self.t = (self.t + wait).min(until);
        }
    }

    /// Between rounds: the only state whose deadline may exceed the check interval.
    fn wlan_waiting(&self) -> bool {
        !self.wlan.is_up() && self.radio.attempt.is_none()
    }

    fn events(&self) -> heapless::Vec<WlanEvent, 256> {
        self.events.iter().map(|(_, e)| *e).collect()
    }

    /// The scenario time of the `n`th event equal to `event`.
    fn time_of(&self, event: WlanEvent, n: usize) -> u32 {
        self.events
            .iter()
            .filter(|(_, e)| *e == event)
            .nth(n)
            .map(|(t, _)| *t)
            .unwrap_or_else(|| panic!("no {event:?} #{n} in {:?}", self.events))
    }
}

fn config() -> Config<'static> {
    Config::new(SSID, PASSWORD)
}

fn for_each_origin(scenario: impl Fn(u32)) {
    for origin in ORIGINS {
        scenario(origin);
    }
}

use Answer::{Joins, Refuses, Silent};
use Network::{Configured, Stored};
use WlanEvent::{AttemptFailed, Down, Up};

// ---------------------------------------------------------------- config

#[test]
fn refuses_configurations_that_can_never_work() {
    let refused = |c: Config<'static>| Wlan::new(c).err();
    let nothing = Config {
        use_stored: false,
        ..Config::stored_only()
    };
    assert_eq!(refused(nothing), Some(ConfigError::NoNetwork));
    assert_eq!(
        refused(Config::new("", PASSWORD)),
        Some(ConfigError::SsidEmpty)
    );
    let ssid_33 = "abcdefghijklmnopqrstuvwxyz0123456";
    assert_eq!(
        refused(Config::new(ssid_33, PASSWORD)),
        Some(ConfigError::SsidTooLong)
    );
    assert_eq!(refused(Config::new(&ssid_33[..32], PASSWORD)), None);
    for bad in [&b"1234567"[..], &[b'x'; 64][..], &b"x"[..]] {
        assert_eq!(
            refused(Config::new(SSID, bad)),
            Some(ConfigError::PasswordLength)
        );
    }
    // Empty is an open network; 8 and 63 are the passphrase bounds.
    for good in [&b""[..], &b"12345678"[..], &[b'x'; 63][..]] {
        assert_eq!(refused(Config::new(SSID, good)), None);
    }
    let zero = Duration::from_ticks(0);
    assert_eq!(
        refused(Config {
            connect_timeout: zero,
            ..config()
        }),
        Some(ConfigError::ZeroDuration)
    );
    assert_eq!(
        refused(Config {
            check_interval: zero,
            ..config()
        }),
        Some(ConfigError::ZeroDuration)
    );
    assert_eq!(
        refused(Config {
            stability: Duration::from_ticks(1 << 31),
            ..config()
        }),
        Some(ConfigError::TooLong)
    );
    assert_eq!(
        refused(Config {
            stability: zero,
            debounce: zero,
            connect_timeout: Duration::from_ticks((1 << 31) - 1),
            ..config()
        }),
        None
    );
    // Stored-only is fine when the stored network may be used.
    assert_eq!(refused(Config::stored_only()), None);
}

// ---------------------------------------------------------------- order

#[test]
fn given_a_stored_network_that_works_then_it_is_tried_first_and_up_after_the_window() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(1_500)]), &[Joins(1_500)]);
        let mut run = Run::new(origin, config(), radio);
        run.run_until(20_000);
        assert_eq!(run.events(), [Up(Stored)]);
        // Connected is sampled at 2 s; the window ends 5 s later.
        assert_eq!(run.time_of(Up(Stored), 0), 7_000);
        assert_eq!(run.radio.calls_of(Call::ConnectStored), [0]);
        assert!(run.radio.calls_of(Call::Connect).is_empty());
        assert!(run.wlan.is_up());
        assert_eq!(run.wlan.network(), Some(Stored));
        let c = run.wlan.counters();
        assert_eq!((c.attempts, c.ups, c.drops), (1, 1, 0));
    });
}

#[test]
fn given_no_stored_network_then_the_configured_one_is_joined_with_its_credentials() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(None, &[Joins(800)]);
        let mut run = Run::new(origin, config(), radio);
        run.run_until(20_000);
        assert_eq!(run.events(), [Up(Configured)]);
        assert_eq!(run.time_of(Up(Configured), 0), 6_000);
        assert_eq!(run.radio.given, Some((SSID, PASSWORD)));
        assert!(run.radio.calls_of(Call::ConnectStored).is_empty());
    });
}

#[test]
fn given_use_stored_off_then_the_stored_network_is_never_tried() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(0)]), &[Joins(500)]);
        let config = Config {
            use_stored: false,
            ..config()
        };
        let mut run = Run::new(origin, config, radio);
        run.run_until(20_000);
        assert_eq!(run.events(), [Up(Configured)]);
        assert!(run.radio.calls_of(Call::ConnectStored).is_empty());
    });
}

#[test]
fn given_stored_only_and_nothing_stored_then_each_round_says_so_and_waits() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(None, &[Joins(0)]);
        let mut run = Run::new(origin, Config::stored_only(), radio);
        run.run_until(120_000);
        let rounds = run.events.len();
        assert!(rounds >= 4, "{rounds} rounds");
        assert!(run
            .events()
            .iter()
            .all(|e| *e == AttemptFailed(Stored, Reason::NothingStored)));
        for pair in run.events.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!((1_000..=30_000).contains(&gap), "gap {gap}");
        }
        assert!(run.radio.log.is_empty(), "{:?}", run.radio.log);
        assert_eq!(run.wlan.counters().nothing_stored as usize, rounds);
    });
}

#[test]
fn given_a_radio_that_rejoined_its_stored_network_at_boot_then_the_link_is_kept() {
    for_each_origin(|origin| {
        let mut radio = TestRadio::new(Some(&[Joins(0)]), &[Joins(0)]);
        radio.already_joined();
        let mut run = Run::new(origin, config(), radio);
        run.run_until(20_000);
        // mqtt_as: "1st attempt, already connected": no new association,
        // but the window still applies.
        assert_eq!(run.events(), [Up(Stored)]);
        assert_eq!(run.time_of(Up(Stored), 0), 5_000);
        assert!(run.radio.log.is_empty(), "{:?}", run.radio.log);
        assert_eq!(run.wlan.counters().attempts, 1);
    });
}

#[test]
fn given_a_wrong_configured_password_while_the_stored_network_works_then_up_on_stored() {
    for_each_origin(|origin| {
        // The stored network's AP is away for the first attempt only.
        let stored = [Refuses(1_000, Status::NoApFound), Joins(1_000)];
        let radio = TestRadio::new(Some(&stored), &[Refuses(2_000, Status::WrongPassword)]);
        let mut run = Run::new(origin, config(), radio);
        run.run_until(60_000);
        assert_eq!(
            run.events(),
            [
                AttemptFailed(Stored, Reason::NoApFound),
                AttemptFailed(Configured, Reason::WrongPassword),
                Up(Stored),
            ]
        );
        // Within a round the next network goes at once; between rounds, the backoff.
        assert_eq!(run.radio.calls_of(Call::Connect), [1_000]);
        let second_round = run.radio.calls_of(Call::ConnectStored)[1];
        let gap = second_round - run.time_of(AttemptFailed(Configured, Reason::WrongPassword), 0);
        assert!((1_000..=3_000).contains(&gap), "gap {gap}");
        let c = run.wlan.counters();
        assert_eq!((c.no_ap, c.wrong_password, c.attempts), (1, 1, 3));
        assert_eq!(run.wlan.network(), Some(Stored));
    });
}

#[test]
fn given_a_wrong_stored_password_while_the_configured_network_works_then_up_on_configured() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(
            Some(&[Refuses(1_500, Status::WrongPassword)]),
            &[Joins(1_500)],
        );
        let mut run = Run::new(origin, config(), radio);
        run.run_until(30_000);
        assert_eq!(
            run.events(),
            [AttemptFailed(Stored, Reason::WrongPassword), Up(Configured)]
        );
        let failed = run.time_of(AttemptFailed(Stored, Reason::WrongPassword), 0);
        assert_eq!(failed, 2_000);
        assert_eq!(run.radio.calls_of(Call::Connect), [failed]);
        assert_eq!(run.radio.calls_of(Call::Disconnect), [failed]);
        assert_eq!(run.time_of(Up(Configured), 0), failed + 2_000 + 5_000);
        assert_eq!(run.wlan.counters().wrong_password, 1);
    });
}

#[test]
fn given_both_networks_failing_then_rounds_repeat_stored_first_with_a_growing_bounded_backoff() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(
            Some(&[Refuses(300, Status::NoApFound)]),
            &[Refuses(300, Status::Failed)],
        );
        let mut run = Run::new(origin, config(), radio);
        run.run_until(600_000);
        // Stored, then configured, every round.
        let connects: heapless::Vec<Call, 256> = run
            .radio
            .log
            .iter()
            .map(|(_, c)| *c)
            .filter(|c| *c != Call::Disconnect)
            .collect();
        assert!(connects.len() >= 20, "{} attempts", connects.len());
        for (i, c) in connects.iter().enumerate() {
            let expected = if i % 2 == 0 {
                Call::ConnectStored
            } else {
                Call::Connect
            };
            assert_eq!(*c, expected, "attempt {i}");
        }
        // Between a configured failure and the next round: 1 s to 30 s, and growing.
        let rounds = run.radio.calls_of(Call::ConnectStored);
        let ends = run.radio.calls_of(Call::Connect);
        let mut longest = 0;
        for (end, next) in ends.iter().zip(rounds.iter().skip(1)) {
            // The failure is sampled 1 s after the attempt began.
            let gap = next - (end + 1_000);
            assert!((1_000..=30_000).contains(&gap), "gap {gap}");
            longest = longest.max(gap);
        }
        assert!(longest >= 10_000, "the backoff never grew: {longest}");
        let count = |e| run.events().iter().filter(|x| **x == e).count();
        let c = run.wlan.counters();
        assert_eq!(
            c.no_ap as usize,
            count(AttemptFailed(Stored, Reason::NoApFound))
        );
        assert_eq!(
            c.failed as usize,
            count(AttemptFailed(Configured, Reason::Failed))
        );
        assert!(c.failed as usize + 1 >= ends.len());
        assert_eq!(c.ups, 0);
    });
}

// ---------------------------------------------------------------- timeouts

#[test]
fn given_attempts_that_never_report_then_the_connect_timeout_ends_each() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Silent]), &[Silent]);
        let mut run = Run::new(origin, config(), radio);
        run.run_until(125_000);
        assert_eq!(
            run.events(),
            [
                AttemptFailed(Stored, Reason::Timeout),
                AttemptFailed(Configured, Reason::Timeout)
            ]
        );
        // Exactly at the timeout: it is one of the deadlines.
        assert_eq!(
            run.time_of(AttemptFailed(Stored, Reason::Timeout), 0),
            60_000
        );
        assert_eq!(
            run.time_of(AttemptFailed(Configured, Reason::Timeout), 0),
            120_000
        );
        assert_eq!(run.radio.calls_of(Call::Disconnect), [60_000, 120_000]);
        assert_eq!(run.wlan.counters().timeouts, 2);
    });
}

// ---------------------------------------------------------------- while up

#[test]
fn given_a_spurious_idle_or_connecting_while_up_then_it_is_not_a_drop() {
    for_each_origin(|origin| {
        for (status, step) in [
            (Status::Idle, None),
            (Status::Connecting, None),
            (Status::Idle, Some(100)),
        ] {
            let radio = TestRadio::new(Some(&[Joins(0)]), &[Joins(0)]);
            let mut run = Run::new(origin, config(), radio);
            run.step = step;
            // ESP32 (micropython#10913) and ESP8266 (micropython#5261)
            // have reported CONNECTING for links that carried traffic.
            run.radio.force(20_000, 21_500, status);
            run.run_until(40_000);
            assert_eq!(run.events(), [Up(Stored)], "{status:?} {step:?}");
            assert!(run.wlan.is_up());
            let c = run.wlan.counters();
            assert_eq!((c.glitches, c.drops), (1, 0));
        }
    });
}

#[test]
fn given_an_idle_that_persists_while_up_then_it_is_a_drop_after_the_debounce() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(0)]), &[Silent]);
        let mut run = Run::new(origin, config(), radio);
        run.radio.force(20_000, 200_000, Status::Idle);
        run.run_until(22_500);
        assert_eq!(run.events(), [Up(Stored), Down(Reason::Lost)]);
        let up = run.time_of(Up(Stored), 0);
        // First doubtful sample at 20 s; the debounce (2 s) is a deadline.
        assert_eq!(run.time_of(Down(Reason::Lost), 0), 22_000);
        assert_eq!(run.radio.calls_of(Call::Disconnect), [22_000]);
        // Up time ends where the doubt began.
        assert_eq!(run.wlan.counters().connected_ms, u64::from(20_000 - up));
        assert!(!run.wlan.is_up());
    });
}

#[test]
fn given_a_failure_status_while_up_then_it_is_a_drop_at_the_next_sample() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(0)]), &[Joins(0)]);
        let mut run = Run::new(origin, config(), radio);
        run.radio.force(20_500, 20_600, Status::Failed);
        run.step = Some(50);
        run.run_until(21_000);
        assert_eq!(run.events(), [Up(Stored), Down(Reason::Failed)]);
        assert_eq!(run.time_of(Down(Reason::Failed), 0), 20_500);
        assert_eq!(run.wlan.counters().drops, 1);
    });
}

// ---------------------------------------------------------------- the window

#[test]
fn given_a_link_flapping_in_the_window_then_the_window_restarts() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(0)]), &[Joins(0)]);
        let mut run = Run::new(origin, config(), radio);
        // Connected sampled at 1 s; a Connecting sample at 3 s.
        run.radio.force(3_000, 3_200, Status::Connecting);
        run.run_until(20_000);
        assert_eq!(run.events(), [Up(Stored)]);
        // Back at the 4 s sample, so 4 s + 5 s rather than 1 s + 5 s.
        assert_eq!(run.time_of(Up(Stored), 0), 9_000);
        let c = run.wlan.counters();
        assert_eq!((c.flaps, c.attempts, c.unstable), (1, 1, 0));
    });
}

#[test]
fn given_a_link_that_never_settles_then_the_attempt_fails_as_unstable_at_the_timeout() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(0)]), &[Joins(500)]);
        let mut run = Run::new(origin, config(), radio);
        // Down for one sample every 3 s for the first 70 s.
        for k in 1..=23 {
            run.radio.force(k * 3_000, k * 3_000 + 500, Status::Idle);
        }
        run.run_until(62_000);
        assert_eq!(run.events(), [AttemptFailed(Stored, Reason::Unstable)]);
        assert_eq!(
            run.time_of(AttemptFailed(Stored, Reason::Unstable), 0),
            60_000
        );
        assert_eq!(run.radio.calls_of(Call::Connect), [60_000]);
        let c = run.wlan.counters();
        assert_eq!((c.unstable, c.timeouts, c.ups), (1, 1, 0));
        assert!(c.flaps >= 19, "{} flaps", c.flaps);
    });
}

#[test]
fn given_a_drop_during_the_window_then_the_attempt_fails_and_the_next_network_goes() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(0)]), &[Joins(1_000)]);
        let mut run = Run::new(origin, config(), radio);
        run.radio.fail_link(0, 3_000, 3_500, Status::Failed);
        run.run_until(20_000);
        assert_eq!(
            run.events(),
            [AttemptFailed(Stored, Reason::Failed), Up(Configured)]
        );
        assert_eq!(run.time_of(AttemptFailed(Stored, Reason::Failed), 0), 3_000);
        assert_eq!(run.radio.calls_of(Call::Connect), [3_000]);
        assert_eq!(run.time_of(Up(Configured), 0), 4_000 + 5_000);
        let c = run.wlan.counters();
        assert_eq!((c.unstable, c.failed, c.drops), (1, 1, 0));
    });
}

#[test]
fn given_quick_then_the_first_connection_skips_the_window_and_later_ones_do_not() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(1_500)]), &[Joins(1_500)]);
        let config = Config {
            quick: true,
            ..config()
        };
        let mut run = Run::new(origin, config, radio);
        run.radio.force(20_000, 20_100, Status::NoApFound);
        run.run_until(60_000);
        assert_eq!(
            run.events(),
            [Up(Stored), Down(Reason::NoApFound), Up(Stored)]
        );
        assert_eq!(run.time_of(Up(Stored), 0), 2_000);
        let again = run.radio.calls_of(Call::ConnectStored)[1];
        let second_up = run.time_of(Up(Stored), 1);
        assert!(second_up - again >= 1_500 + 5_000, "{again} {second_up}");
    });
}

// ---------------------------------------------------------------- outages

#[test]
fn given_the_access_point_vanishing_and_returning_then_down_failed_rounds_and_up_again() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(1_500)]), &[Joins(1_500)]);
        let mut run = Run::new(origin, config(), radio);
        run.radio.force(30_000, 150_000, Status::NoApFound);
        run.run_until(220_000);
        let events = run.events();
        assert_eq!(events[..2], [Up(Stored), Down(Reason::NoApFound)]);
        assert_eq!(run.time_of(Down(Reason::NoApFound), 0), 30_000);
        // The first link proved itself: the next round comes within 1 s to 3 s.
        let rejoin = run.radio.calls_of(Call::ConnectStored)[1];
        assert!((31_000..=33_000).contains(&rejoin), "{rejoin}");
        // Rounds fail in order while the AP is away …
        let failures = &events[2..events.len() - 1];
        assert!(failures.len() >= 6, "{events:?}");
        for (i, e) in failures.iter().enumerate() {
            let network = if i % 2 == 0 { Stored } else { Configured };
            assert_eq!(*e, AttemptFailed(network, Reason::NoApFound));
        }
        // … and the link is back once it returns: at most a 30 s wait, the
        // 1.5 s association and its sample, the window (a round under way
        // when the AP returns may end on either network).
        let (back, last) = *run.events.last().unwrap();
        assert!(matches!(last, Up(_)), "{events:?}");
        assert!((155_000..=188_000).contains(&back), "{back}");
        let c = run.wlan.counters();
        assert_eq!((c.ups, c.drops), (2, 1));
        assert_eq!(c.no_ap as usize, failures.len());
        // Up time: 7 s to 30 s, then from `back` to the last poll (at most
        // one check interval before the end).
        let first = run.time_of(Up(Stored), 0);
        let most = u64::from((30_000 - first) + (220_000 - back));
        assert!((most - 1_000..=most).contains(&c.connected_ms), "{c:?}");
    });
}

#[test]
fn a_link_that_proved_itself_starts_the_backoff_over() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(500)]), &[Joins(500)]);
        let mut run = Run::new(origin, Config::stored_only(), radio);
        run.radio.force(0, 300_000, Status::NoApFound);
        run.run_until(400_000);
        let rounds = run.radio.calls_of(Call::ConnectStored);
        let longest = rounds.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(longest > 10_000, "no growth: {longest}");
        assert!(run.wlan.is_up());
        // One sample of failure after a long, proven link.
        run.radio.force(400_000, 401_000, Status::Failed);
        run.run_until(420_000);
        let down = run.time_of(Down(Reason::Failed), 0);
        let next = *run.radio.calls_of(Call::ConnectStored).last().unwrap();
        assert!(next > down && next - down <= 3_000, "{down} → {next}");
    });
}

#[test]
fn given_quick_after_failed_rounds_then_a_first_link_that_lasted_the_window_starts_the_backoff_over(
) {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(500)]), &[Joins(500)]);
        let config = Config {
            quick: true,
            ..Config::stored_only()
        };
        let mut run = Run::new(origin, config, radio);
        run.radio.force(0, 200_000, Status::NoApFound);
        run.run_until(240_000);
        let rounds = run.radio.calls_of(Call::ConnectStored);
        let longest = rounds.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(longest > 10_000, "no growth: {longest}");
        // Up without the window (quick), and then up for far longer than it.
        let up = run.time_of(Up(Stored), 0);
        assert_eq!(
            run.radio.calls_of(Call::ConnectStored).last(),
            Some(&(up - 1_000))
        );
        run.radio.force(250_000, 251_000, Status::Failed);
        run.run_until(260_000);
        let down = run.time_of(Down(Reason::Failed), 0);
        let next = *run.radio.calls_of(Call::ConnectStored).last().unwrap();
        assert!(next > down && next - down <= 3_000, "{down} → {next}");
    });
}

// ---------------------------------------------------------------- readings

#[test]
fn rssi_is_readable_only_when_up() {
    for_each_origin(|origin| {
        let radio = TestRadio::new(Some(&[Joins(1_000)]), &[Joins(0)]);
        let mut run = Run::new(origin, config(), radio);
        run.radio.signal = -61;
        run.run_until(500);
        assert_eq!(run.wlan.rssi(), None, "attempting");
        run.run_until(3_000);
        // The radio has a reading, but the link has not proved itself.
        assert_eq!(run.radio.rssi(), Some(-61));
        assert!(!run.wlan.is_up());
        assert_eq!(run.wlan.rssi(), None, "in the window");
        run.run_until(7_000);
        assert!(run.wlan.is_up());
        assert_eq!(run.wlan.rssi(), Some(-61));
        run.radio.signal = -77;
        run.run_until(8_000);
        assert_eq!(run.wlan.rssi(), Some(-77), "followed at each sample");
        run.radio.force(9_000, 9_500, Status::Failed);
        run.run_until(10_000);
        assert_eq!(run.events(), [Up(Stored), Down(Reason::Failed)]);
        assert_eq!(run.wlan.rssi(), None, "down");
    });
}

#[test]
fn next_deadline_is_the_wait_the_timeout_the_window_or_the_check_and_never_past() {
    for_each_origin(|origin| {
        let at = |ms: u32| Instant::from_ticks(origin.wrapping_add(ms));
        // A check interval longer than the other timers, so each shows.
        let config = Config {
            check_interval: Duration::from_ticks(90_000),
            ..config()
        };
        let mut wlan = Wlan::new(config).unwrap();
        let mut radio = TestRadio::new(Some(&[Joins(1_000)]), &[Joins(0)]);
        assert_eq!(wlan.next_deadline(at(0)), Some(at(0)), "fresh: poll now");
        assert_eq!(wlan.poll(at(0), &mut radio), None);
        assert_eq!(
            wlan.next_deadline(at(0)),
            Some(at(60_000)),
            "connect timeout"
        );
        radio.t = 2_000;
        assert_eq!(wlan.poll(at(2_000), &mut radio), None);
        assert_eq!(wlan.next_deadline(at(2_000)), Some(at(7_000)), "window");
        radio.t = 7_000;
        assert_eq!(wlan.poll(at(7_000), &mut radio), Some(Up(Stored)));
        assert_eq!(wlan.next_deadline(at(7_000)), Some(at(97_000)), "check");
        radio.force(8_000, 9_000, Status::Idle);
        radio.t = 8_000;
        assert_eq!(wlan.poll(at(8_000), &mut radio), None);
        assert_eq!(wlan.next_deadline(at(8_000)), Some(at(10_000)), "debounce");
        radio.t = 10_000;
        assert_eq!(wlan.poll(at(10_000), &mut radio), None, "Connected again");
        radio.force(11_000, 12_000, Status::Failed);
        radio.t = 11_000;
        assert_eq!(
            wlan.poll(at(11_000), &mut radio),
            Some(Down(Reason::Failed))
        );
        let wait = wlan.next_deadline(at(11_000)).unwrap();
        let ms = wait.checked_duration_since(at(11_000)).unwrap().ticks();
        assert!((1_000..=3_000).contains(&ms), "backoff {ms}");
        // Asked late, the answer is "now", never the past.
        assert_eq!(wlan.next_deadline(at(500_000)), Some(at(500_000)));
    });
}

#[test]
fn connected_time_adds_up_across_the_clock_wrap_for_a_link_up_for_months() {
    for_each_origin(|origin| {
        let mut wlan = Wlan::new(config()).unwrap();
        let mut radio = TestRadio::new(Some(&[Joins(0)]), &[Joins(0)]);
        let at = |ms: u64| Instant::from_ticks(origin.wrapping_add(ms as u32));
        assert_eq!(wlan.poll(at(0), &mut radio), None);
        assert_eq!(wlan.poll(at(1_000), &mut radio), None);
        assert_eq!(wlan.poll(at(6_000), &mut radio), Some(Up(Stored)));
        // 60 days, polled hourly: the u32 clock wraps on the way.
        const HOUR: u64 = 3_600_000;
        let end = 6_000 + 60 * 24 * HOUR;
        let mut t = 6_000;
        while t < end {
            t += HOUR;
            assert_eq!(wlan.poll(at(t), &mut radio), None, "at {t}");
        }
        assert!(wlan.is_up());
        let c = wlan.counters();
        assert_eq!(c.connected_ms, end - 6_000);
        assert!(c.connected_ms > u64::from(u32::MAX));
        assert_eq!((c.ups, c.drops), (1, 0));
    });
}
