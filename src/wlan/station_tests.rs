//! The async-station adapter from outside: a scripted station ("the air")
//! whose futures finish when the test says, driven through the `Radio`
//! facade exactly as the WLAN controller drives it, then under the
//! controller itself. Only `core` + heapless (runs on bare metal too).

use core::cell::Cell;
use core::future::{poll_fn, Future};
use core::pin::pin;
use core::task::Poll;

use super::station::{drive, Mailbox, Station, StationRadio};
use super::*;
use crate::time::{Duration, Instant};

#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// What the scripted station has been told and will answer.
#[derive(Default)]
struct Air {
    /// The outcome the pending `connect` gets, once set.
    answer: Cell<Option<Result<(), Status>>>,
    /// The reason the association ends, once set.
    lost: Cell<Option<Status>>,
    /// The network `configure` was last given.
    joined: Cell<heapless::Vec<u8, 40>>,
    refuse_config: Cell<bool>,
    connects: Cell<u32>,
    disconnects: Cell<u32>,
    rssi_asked: Cell<u32>,
}

struct Scripted<'a>(&'a Air);

impl Station for Scripted<'_> {
    fn configure(&mut self, ssid: &str, _password: &str) -> bool {
        self.0
            .joined
            .set(heapless::Vec::from_slice(ssid.as_bytes()).unwrap_or_default());
        !self.0.refuse_config.get()
    }

    fn connect(&mut self) -> impl Future<Output = Result<(), Status>> {
        let air = self.0;
        air.connects.set(air.connects.get() + 1);
        air.answer.set(None);
        air.lost.set(None);
        poll_fn(move |_| match air.answer.get() {
            Some(a) => Poll::Ready(a),
            None => Poll::Pending,
        })
    }

    fn disconnect(&mut self) -> impl Future<Output = ()> {
        let air = self.0;
        air.disconnects.set(air.disconnects.get() + 1);
        core::future::ready(())
    }

    fn disconnected(&self) -> impl Future<Output = Status> {
        let air = self.0;
        poll_fn(move |_| match air.lost.get() {
            Some(s) => Poll::Ready(s),
            None => Poll::Pending,
        })
    }

    fn rssi(&self) -> Option<i8> {
        self.0.rssi_asked.set(self.0.rssi_asked.get() + 1);
        Some(-61)
    }
}

/// The network the station was last configured with.
fn joined(air: &Air) -> heapless::Vec<u8, 40> {
    let v = air.joined.take();
    air.joined.set(v.clone());
    v
}

#[test]
fn an_attempt_reports_connecting_then_connected_then_the_reason_it_ended() {
    let air = Air::default();
    let mail = Mailbox::new();
    let driver = pin!(drive(Scripted(&air), &mail));
    let mut radio = StationRadio::new(&mail, driver);

    assert_eq!(radio.status(), Status::Idle);
    radio.connect("home", b"correct horse");
    assert_eq!(radio.status(), Status::Connecting);
    assert_eq!(&joined(&air)[..], b"home");
    assert_eq!(radio.rssi(), None, "no RSSI before association");
    air.answer.set(Some(Ok(())));
    assert_eq!(radio.status(), Status::Connected);
    assert_eq!(radio.status(), Status::Connected);
    assert_eq!(radio.rssi(), Some(-61));
    air.lost.set(Some(Status::NoApFound));
    assert_eq!(radio.status(), Status::NoApFound);
    assert_eq!(radio.rssi(), None, "no RSSI once the link is gone");
    assert_eq!(
        radio.status(),
        Status::NoApFound,
        "the outcome stays until a new command"
    );
}

#[test]
fn a_refused_attempt_reports_why() {
    for why in [Status::WrongPassword, Status::NoApFound, Status::Failed] {
        let air = Air::default();
        let mail = Mailbox::new();
        let driver = pin!(drive(Scripted(&air), &mail));
        let mut radio = StationRadio::new(&mail, driver);
        radio.connect("home", b"wrong password");
        air.answer.set(Some(Err(why)));
        assert_eq!(radio.status(), why);
    }
}

#[test]
fn a_driver_answer_that_is_not_a_failure_is_reported_as_failed() {
    let air = Air::default();
    let mail = Mailbox::new();
    let driver = pin!(drive(Scripted(&air), &mail));
    let mut radio = StationRadio::new(&mail, driver);
    radio.connect("home", b"correct horse");
    air.answer.set(Some(Err(Status::Idle)));
    assert_eq!(radio.status(), Status::Failed);
}

#[test]
fn a_new_connect_abandons_the_attempt_under_way_and_never_reports_its_outcome() {
    let air = Air::default();
    let mail = Mailbox::new();
    let driver = pin!(drive(Scripted(&air), &mail));
    let mut radio = StationRadio::new(&mail, driver);
    radio.connect("first", b"correct horse");
    assert_eq!(radio.status(), Status::Connecting);
    let before = air.disconnects.get();
    radio.connect("second", b"correct horse");
    assert_eq!(
        air.disconnects.get(),
        before + 1,
        "the old attempt is abandoned"
    );
    assert_eq!(&joined(&air)[..], b"second");
    assert_eq!(air.connects.get(), 2);
    assert_eq!(radio.status(), Status::Connecting);
    assert_eq!(air.rssi_asked.get(), 0, "never treated as associated");
    air.answer.set(Some(Ok(())));
    assert_eq!(radio.status(), Status::Connected);
}

#[test]
fn after_a_failure_a_new_attempt_starts_as_connecting_not_as_the_old_failure() {
    let air = Air::default();
    let mail = Mailbox::new();
    let driver = pin!(drive(Scripted(&air), &mail));
    let mut radio = StationRadio::new(&mail, driver);
    radio.connect("home", b"correct horse");
    air.answer.set(Some(Err(Status::WrongPassword)));
    assert_eq!(radio.status(), Status::WrongPassword);
    radio.connect("home", b"correct horse");
    assert_eq!(radio.status(), Status::Connecting);
}

#[test]
fn disconnect_leaves_the_network_and_reports_idle() {
    let air = Air::default();
    let mail = Mailbox::new();
    let driver = pin!(drive(Scripted(&air), &mail));
    let mut radio = StationRadio::new(&mail, driver);
    radio.disconnect(); // nothing to leave: no hang, still idle
    assert_eq!(radio.status(), Status::Idle);
    radio.connect("home", b"correct horse");
    air.answer.set(Some(Ok(())));
    assert_eq!(radio.status(), Status::Connected);
    let before = air.disconnects.get();
    radio.disconnect();
    assert_eq!(radio.status(), Status::Idle);
    assert_eq!(air.disconnects.get(), before + 1);
    assert_eq!(radio.rssi(), None);
    air.lost.set(Some(Status::Failed)); // the old link's end comes late: not reported
    assert_eq!(radio.status(), Status::Idle);
}

#[test]
fn credentials_the_driver_cannot_take_fail_the_attempt_at_once() {
    let long_ssid = "a-network-name-of-thirty-three-b!";
    assert_eq!(long_ssid.len(), 33);
    let cases: [(&str, &[u8], bool); 3] = [
        (long_ssid, b"correct horse", false),
        (
            "home",
            &[0xff, 0xfe, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20],
            false,
        ),
        ("home", b"correct horse", true), // the driver itself refuses
    ];
    for (ssid, password, driver_refuses) in cases {
        let air = Air::default();
        air.refuse_config.set(driver_refuses);
        let mail = Mailbox::new();
        let driver = pin!(drive(Scripted(&air), &mail));
        let mut radio = StationRadio::new(&mail, driver);
        radio.connect(ssid, password);
        assert_eq!(radio.status(), Status::Failed, "{ssid:?}");
        assert_eq!(air.connects.get(), 0, "no attempt is made");
        assert!(!radio.has_stored());
    }
}

#[test]
fn the_wlan_controller_brings_the_link_up_over_it_and_sees_it_drop() {
    for origin in [0, (1u32 << 31) + 3, u32::MAX - 2_000] {
        let air = Air::default();
        let mail = Mailbox::new();
        let driver = pin!(drive(Scripted(&air), &mail));
        let mut radio = StationRadio::new(&mail, driver);
        let mut wlan = Wlan::new(Config::new("home", b"correct horse")).unwrap();
        let mut now = Instant::from_ticks(origin);
        let mut up_at = None;
        let mut down = false;
        for step in 0..20_000u32 {
            if step == 300 {
                air.answer.set(Some(Ok(()))); // associated 3 s after boot
            }
            if step == 12_000 {
                air.lost.set(Some(Status::Failed)); // beacon timeout
            }
            match wlan.poll(now, &mut radio) {
                Some(WlanEvent::Up(_)) => up_at = Some(step),
                Some(WlanEvent::Down(_)) => {
                    down = true;
                    break;
                }
                _ => {}
            }
            now += Duration::from_ticks(10);
        }
        let up = up_at.expect("the link comes up");
        assert!(up >= 300, "not before the radio associated");
        assert!(wlan.rssi().is_none() || wlan.rssi() == Some(-61));
        assert!(down, "the drop is seen (origin {origin})");
        assert!(air.rssi_asked.get() > 0);
    }
}
