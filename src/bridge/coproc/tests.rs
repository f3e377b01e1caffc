//! The co-processor role between the host's driver and an MQTT client, on
//! an in-memory line, with a scripted broker behind the client. The
//! co-processor boots again (from nothing, a fresh filter arena) whenever
//! the host's reset pulse ends, as a chip does.

use core::cell::Cell;
use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, OutputPin};

use super::*;
use crate::bridge::host::{Host, HostConfig, HostEvent};
use crate::bridge::test_pipe::{carry, Faults, Noise, Port};
use crate::client::Options;
use crate::wire::{ConnAck, ConnectReturnCode, Frame, Packet, QoS, SubAck};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// The largest frame payload both ends use.
const P: usize = 128;

/// The reset line's level.
struct ResetPin<'a>(&'a Cell<bool>);

impl ErrorType for ResetPin<'_> {
    type Error = Infallible;
}

impl OutputPin for ResetPin<'_> {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.set(true);
        Ok(())
    }
}

/// The broker: one connection at a time, a persistent session (the
/// filters subscribed outlive a connection), every request granted.
#[derive(Default)]
struct Broker {
    connected: bool,
    from_client: Vec<u8, 1024>,
    to_client: Deque<u8, 1024>,
    /// The filters subscribed, as their bytes.
    subs: Vec<Vec<u8, 32>, 16>,
    /// An UNSUBSCRIBE for this filter makes it close the connection.
    poison: Option<&'static str>,
}

impl Broker {
    fn holds(&self, filter: &str) -> bool {
        self.subs.iter().any(|s| s[..] == *filter.as_bytes())
    }

    fn answer(&mut self) {
        while let Ok(Some(frame)) = Frame::parse(&self.from_client) {
            let n = frame.len();
            if n > self.from_client.len() {
                return;
            }
            let mut packet = [0u8; 256];
            packet[..n].copy_from_slice(&self.from_client[..n]);
            let rest = self.from_client.len() - n;
            self.from_client.copy_within(n.., 0);
            self.from_client.truncate(rest);
            let reply = match Packet::decode(&packet[..n]) {
                Ok(Packet::Connect(_)) => Packet::ConnAck(ConnAck {
                    session_present: true,
                    code: ConnectReturnCode::Accepted,
                }),
                Ok(Packet::Subscribe(s)) => {
                    for (filter, _) in s.topics.iter() {
                        if !self.holds(filter) {
                            let f = Vec::from_slice(filter.as_bytes()).unwrap();
                            self.subs.push(f).unwrap();
                        }
                    }
                    Packet::SubAck(SubAck {
                        pid: s.pid,
                        codes: &[1],
                    })
                }
                Ok(Packet::Unsubscribe(u)) => {
                    if u.topics.iter().any(|f| Some(f) == self.poison) {
                        self.connected = false;
                        return;
                    }
                    for filter in u.topics.iter() {
                        self.subs.retain(|s| s[..] != *filter.as_bytes());
                    }
                    Packet::UnsubAck(u.pid)
                }
                Ok(Packet::PingReq) => Packet::PingResp,
                _ => continue,
            };
            let mut out = [0u8; 64];
            let len = reply.encode(&mut out).unwrap();
            for &b in &out[..len] {
                self.to_client.push_back(b).unwrap();
            }
        }
    }
}

impl Transport for Broker {
    type Error = ();

    fn connect(&mut self) -> nb::Result<(), ()> {
        if !self.connected {
            self.connected = true;
            self.from_client.clear();
            self.to_client.clear();
        }
        Ok(())
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
        if !self.connected {
            return Err(nb::Error::Other(()));
        }
        let n = data
            .len()
            .min(self.from_client.capacity() - self.from_client.len());
        if n == 0 {
            return Err(nb::Error::WouldBlock);
        }
        self.from_client.extend_from_slice(&data[..n]).unwrap();
        self.answer();
        Ok(n)
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
        if !self.connected {
            return Err(nb::Error::Other(()));
        }
        let mut n = 0;
        while n < buf.len() {
            let Some(b) = self.to_client.pop_front() else {
                break;
            };
            buf[n] = b;
            n += 1;
        }
        if n == 0 {
            return Err(nb::Error::WouldBlock);
        }
        Ok(n)
    }

    fn close(&mut self) {
        self.connected = false;
    }
}

static COPROC_CONFIG: proto::Config<'static> =
    proto::Config::new("home", b"secret", "broker.local", "bridge-1");

/// Subscriptions on either side (the host's table, the client's, the
/// role's filters).
const SUBS: usize = 8;

type TestHost<'h> = Host<'h, ResetPin<'h>, P, 4, 4, SUBS>;

/// The host, the line and the broker; the co-processor is [`run`]'s.
struct World<'h> {
    host: TestHost<'h>,
    reset: &'h Cell<bool>,
    hp: Port,
    cp: Port,
    noise: Noise,
    now: Instant,
    broker: Broker,
    /// Requests the host was told ended in anything but success.
    refused: u32,
    /// Reset pulses, and co-processor boots.
    resets: u32,
    boots: u32,
}

impl<'h> World<'h> {
    fn new(reset: &'h Cell<bool>) -> Self {
        World {
            host: Host::new(HostConfig::new(COPROC_CONFIG, 1), ResetPin(reset)),
            reset,
            hp: Port::default(),
            cp: Port::default(),
            noise: Noise(3),
            now: Instant::from_ticks(u32::MAX - 20_000),
            broker: Broker::default(),
            refused: 0,
            resets: 0,
            boots: 0,
        }
    }

    /// The host's part of a pass: the scenario may be over; the host
    /// may hold the co-processor in reset (it reboots once let go).
    fn host_turn(&mut self, over: &mut impl FnMut(&mut Self) -> Option<bool>) -> Turn {
        if let Some(done) = over(self) {
            return Turn::Over(done);
        }
        self.host_pass();
        if !self.reset.get() {
            return Turn::Go;
        }
        while self.reset.get() {
            self.host_pass();
        }
        Turn::Reboot
    }

    /// A millisecond of the host's superloop.
    fn host_pass(&mut self) {
        self.now += Duration::from_ticks(1);
        match self.host.poll(self.now, &mut self.hp) {
            Some(HostEvent::Done { outcome, .. })
                if !matches!(outcome, Outcome::Ok | Outcome::Granted(_)) =>
            {
                self.refused += 1
            }
            Some(HostEvent::Reset { .. }) => self.resets += 1,
            _ => {}
        }
    }

    fn carry(&mut self) {
        let faults = Faults::default();
        carry(&mut self.hp, &mut self.cp, 8, faults, &mut self.noise);
        carry(&mut self.cp, &mut self.hp, 8, faults, &mut self.noise);
    }
}

/// What a pass's host turn leaves the co-processor to do.
enum Turn {
    /// The scenario is over: whether it succeeded.
    Over(bool),
    /// Reset was let go: the co-processor boots again.
    Reboot,
    /// The co-processor's turn.
    Go,
}

/// Runs the host and a co-processor whose filter arena is `ARENA` bytes,
/// a pass each per millisecond, until `app` (called every pass) says its
/// scenario is over: whether it did within `ms`.
fn run<'h, const ARENA: usize>(
    w: &mut World<'h>,
    ms: u32,
    mut app: impl FnMut(&mut World<'h>) -> bool,
) -> bool {
    let start = w.now;
    let mut over = |w: &mut World<'h>| -> Option<bool> {
        if app(w) {
            return Some(true);
        }
        (elapsed(start, w.now) >= ms).then_some(false)
    };
    'boot: loop {
        w.boots += 1;
        w.cp = Port::default();
        let mut arena = [0u8; ARENA];
        let (mut rx, mut tx, mut store) = ([0u8; 256], [0u8; 256], [0u8; 1024]);
        let settings;
        let mut co: Coproc<'_, P, 4, 4, SUBS> = Coproc::new(w.boots, &mut arena);
        loop {
            match w.host_turn(&mut over) {
                Turn::Over(done) => return done,
                Turn::Reboot => continue 'boot,
                Turn::Go => {}
            }
            if let Some(s) = co.configure(w.now, &mut w.cp) {
                settings = s;
                break;
            }
            w.carry();
        }
        let mut client = Client::<'_, 4, SUBS>::new(
            settings.mqtt(),
            Options::default(),
            &mut rx,
            &mut tx,
            &mut store,
        )
        .unwrap();
        w.broker.close();
        loop {
            match w.host_turn(&mut over) {
                Turn::Over(done) => return done,
                Turn::Reboot => continue 'boot,
                Turn::Go => {}
            }
            co.poll(w.now, &mut w.cp, &mut client, &mut w.broker);
            w.carry();
        }
    }
}

/// `n` distinct filters of 12 bytes each: `dev/0000/cmd`, `dev/0001/cmd`…
fn names<const N: usize>() -> [[u8; 12]; N] {
    let mut names = [*b"dev/0000/cmd"; N];
    for (i, name) in names.iter_mut().enumerate() {
        for (k, d) in [1000, 100, 10, 1].iter().enumerate() {
            name[4 + k] = b'0' + (i / d % 10) as u8;
        }
    }
    names
}

fn name(names: &[[u8; 12]], i: usize) -> &str {
    core::str::from_utf8(&names[i]).unwrap()
}

#[test]
fn a_host_that_keeps_changing_its_filters_keeps_being_subscribed_whatever_the_arena_size() {
    // 40 distinct filters, 480 bytes, through a 64-byte arena; two held at
    // a time: each step subscribes a new one and unsubscribes the oldest.
    let names = names::<40>();
    let reset = Cell::new(false);
    let mut w = World::new(&reset);
    let (mut step, mut begun, mut unsubscribed) = (0, None, false);
    let done = run::<64>(&mut w, 40 * 30_000, |w| {
        let new = name(&names, step);
        let old = step.checked_sub(2).map(|o| name(&names, o));
        let since = *begun.get_or_insert_with(|| {
            w.host.subscribe(new, QoS::AtLeastOnce).unwrap();
            w.now
        });
        if !unsubscribed {
            unsubscribed = old.is_none_or(|o| w.host.unsubscribe(o).is_ok());
        }
        assert_eq!(w.refused, 0, "step {step}: refused");
        assert!(
            elapsed(since, w.now) < 30_000,
            "step {step}: {new} never subscribed"
        );
        let there = w.broker.holds(new) && old.is_none_or(|o| !w.broker.holds(o));
        if unsubscribed && there && w.host.is_ready() {
            (step, begun, unsubscribed) = (step + 1, None, false);
        }
        step == names.len()
    });
    assert!(done);
    assert_eq!(w.broker.subs.len(), 2);
    // The room of the filters let go of came back through resets of the
    // co-processor, each once the arena had filled again: with 24 of its
    // 64 bytes held, one every three new filters at most.
    assert!((1..=40 / 3).contains(&w.resets), "{} resets", w.resets);
    assert_eq!(w.boots, w.resets + 1);
}

#[test]
fn a_host_that_holds_more_filters_than_the_arena_takes_is_refused_clearly_and_not_reset() {
    // Eight held filters of 12 bytes, a 64-byte arena: five fit.
    let names = names::<8>();
    let reset = Cell::new(false);
    let mut w = World::new(&reset);
    for i in 0..names.len() {
        w.host.subscribe(name(&names, i), QoS::AtLeastOnce).unwrap();
    }
    // The refusals, then 20 s more: the others keep working, nothing more
    // is refused, nothing is reset.
    let mut refused_at = None;
    let done = run::<64>(&mut w, 60_000, |w| {
        if w.refused == 3 {
            let at = *refused_at.get_or_insert(w.now);
            return elapsed(at, w.now) >= 20_000;
        }
        false
    });
    assert!(done, "refused {}", w.refused);
    assert_eq!((w.refused, w.resets, w.boots), (3, 0, 1));
    for i in 0..5 {
        assert!(w.broker.holds(name(&names, i)), "{i}");
    }
}

#[test]
fn an_unsubscription_the_broker_keeps_closing_on_is_given_up_and_the_host_can_unsubscribe_again() {
    let reset = Cell::new(false);
    let mut w = World::new(&reset);
    let (a, b) = ("dev/a", "dev/b");
    w.host.subscribe(a, QoS::AtLeastOnce).unwrap();
    w.host.subscribe(b, QoS::AtLeastOnce).unwrap();
    assert!(run::<64>(&mut w, 10_000, |w| w.broker.holds(a) && w.broker.holds(b)));
    // The broker drops the connection on every UNSUBSCRIBE of `a`: the
    // client gives it up after three (Config::max_rejections) and the host
    // is told, so its next unsubscription goes.
    w.broker.poison = Some(a);
    w.host.unsubscribe(a).unwrap();
    let mut unsubscribed = false;
    let done = run::<64>(&mut w, 60_000, |w| {
        unsubscribed = unsubscribed || w.host.unsubscribe(b).is_ok();
        unsubscribed && !w.broker.holds(b)
    });
    assert!(done, "the second unsubscription never went");
    assert_eq!(w.refused, 1);
    assert_eq!(w.resets, 0);
}
