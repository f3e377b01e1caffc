use core::cell::Cell;
use core::convert::Infallible;

use embedded_hal::digital::ErrorType;
use heapless::Vec;

use super::*;
use crate::bridge::pipe::Unit;
use crate::bridge::test_pipe::{carry, Faults, Noise, Port};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// The reset line: its level and how many pulses began.
struct ResetPin<'a>(&'a Cell<(bool, u32)>);

impl ErrorType for ResetPin<'_> {
    type Error = Infallible;
}

impl OutputPin for ResetPin<'_> {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.set((false, self.0.get().1));
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        let (high, n) = self.0.get();
        self.0.set((true, n + u32::from(!high)));
        Ok(())
    }
}

static COPROC_CONFIG: proto::Config<'static> = proto::Config {
    time_server: "pool.ntp.org",
    ..proto::Config::new("home", b"secret", "broker.local", "bridge-1")
};

type TestHost<'a> = Host<'static, ResetPin<'a>, 128, 4, 4, 4>;

/// What the scripted co-processor saw, in order: the message type, and the
/// id or the first payload byte where there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Hello,
    Config,
    Publish(u16, u8),
    Subscribe(u16),
    Unsubscribe(u16),
    Delivered(u16),
    GetTime(u16),
    Ping,
    Credit(u16),
    Other,
}

/// A co-processor that answers like the real one would, one message a pass.
struct Coproc<const P: usize> {
    framer: Framer<P, 4>,
    boot: u32,
    seen: Vec<Seen, 64>,
    /// Messages to the host it may still send (the host's credit).
    credit: u16,
    /// Answers to send, encoded.
    out: Deque<Vec<u8, 128>, 16>,
    /// Polled at all (false: crashed or hung).
    alive: bool,
}

impl<const P: usize> Coproc<P> {
    fn new(boot: u32) -> Self {
        Coproc {
            framer: Framer::new(FrameConfig::new(0xC0 + boot)),
            boot,
            seen: Vec::new(),
            credit: 0,
            out: Deque::new(),
            alive: true,
        }
    }

    fn answer(&mut self, m: CoprocMsg<'_>) {
        let mut buf = [0u8; 128];
        let n = m.encode(&mut buf).unwrap();
        self.out
            .push_back(Vec::from_slice(&buf[..n]).unwrap())
            .unwrap();
    }

    fn pass(&mut self, now: Instant, port: &mut Port) {
        if !self.alive {
            return;
        }
        while self.framer.can_send() {
            let Some(m) = self.out.pop_front() else { break };
            self.framer.send(&m).unwrap();
        }
        if self.framer.poll(now, port) != Some(FrameEvent::Received) {
            return;
        }
        let mut buf = [0u8; 128];
        let bytes = self.framer.received().unwrap();
        let n = bytes.len();
        buf[..n].copy_from_slice(bytes);
        self.framer.release();
        let seen = match HostMsg::decode(&buf[..n]).unwrap() {
            HostMsg::Hello { .. } => {
                self.answer(CoprocMsg::Ready {
                    version: proto::VERSION,
                    boot: self.boot,
                    max_message: P as u16,
                });
                self.answer(CoprocMsg::Credit { n: 2 });
                Seen::Hello
            }
            HostMsg::Config(_) => {
                self.answer(CoprocMsg::Status(Status::Running));
                Seen::Config
            }
            HostMsg::Publish(p) => {
                self.answer(CoprocMsg::Done {
                    id: p.id,
                    outcome: Outcome::Ok,
                });
                self.answer(CoprocMsg::Credit { n: 1 });
                Seen::Publish(p.id, p.payload[0])
            }
            HostMsg::Subscribe { id, qos, .. } => {
                self.answer(CoprocMsg::Done {
                    id,
                    outcome: Outcome::Granted(qos),
                });
                Seen::Subscribe(id)
            }
            HostMsg::Unsubscribe { id, .. } => {
                self.answer(CoprocMsg::Done {
                    id,
                    outcome: Outcome::Ok,
                });
                Seen::Unsubscribe(id)
            }
            HostMsg::Delivered { id } => Seen::Delivered(id),
            HostMsg::GetTime { id } => {
                self.answer(CoprocMsg::Time {
                    id,
                    unix: Ok(1_790_000_000),
                });
                Seen::GetTime(id)
            }
            HostMsg::Ping => {
                self.answer(CoprocMsg::Pong);
                Seen::Ping
            }
            HostMsg::Credit { n } => {
                self.credit += n;
                Seen::Credit(n)
            }
            _ => Seen::Other,
        };
        let _ = self.seen.push(seen);
    }

    /// Sends a message from the broker, if the host gave credit.
    fn deliver(&mut self, id: u16, topic: &str, payload: &[u8]) -> bool {
        if self.credit == 0 {
            return false;
        }
        self.credit -= 1;
        self.answer(CoprocMsg::Message(proto::Publish {
            id,
            topic,
            payload,
            qos: QoS::AtLeastOnce,
            retain: false,
        }));
        true
    }
}

/// A host and a scripted co-processor on an in-memory line, 1 ms a pass.
struct Bench<'a, const P: usize> {
    host: TestHost<'a>,
    co: Coproc<P>,
    hp: Port,
    cp: Port,
    now: Instant,
    noise: Noise,
}

/// What the host said, owned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Said {
    Ready { boot: u32, restarted: bool },
    Done(u16, Outcome),
    Message(Option<usize>, u8),
    Time(u16),
    Reset(u32),
    Status(Status),
    Other,
}

impl<'a, const P: usize> Bench<'a, P> {
    fn new(reset: &'a Cell<(bool, u32)>, start: u32) -> Self {
        Bench {
            host: Host::new(HostConfig::new(COPROC_CONFIG, 1), ResetPin(reset)),
            co: Coproc::new(1),
            hp: Port::default(),
            cp: Port::default(),
            now: Instant::from_ticks(start),
            noise: Noise(9),
        }
    }

    fn pass(&mut self) -> Option<Said> {
        self.now += Duration::from_ticks(1);
        let said = self.host.poll(self.now, &mut self.hp).map(|e| match e {
            HostEvent::Ready { boot, restarted } => Said::Ready { boot, restarted },
            HostEvent::Done { id, outcome } => Said::Done(id, outcome),
            HostEvent::Message {
                subscription,
                payload,
                ..
            } => Said::Message(subscription, payload[0]),
            HostEvent::Time { id, .. } => Said::Time(id),
            HostEvent::Reset { n } => Said::Reset(n),
            HostEvent::Status(s) => Said::Status(s),
            _ => Said::Other,
        });
        self.co.pass(self.now, &mut self.cp);
        self.carry();
        said
    }

    /// The line carries what each side sent, both ways.
    fn carry(&mut self) {
        let faults = Faults::default();
        carry(&mut self.hp, &mut self.cp, 8, faults, &mut self.noise);
        carry(&mut self.cp, &mut self.hp, 8, faults, &mut self.noise);
    }

    /// The host's superloop stops for `ms` (a long flash erase, a blocking
    /// driver, a debugger): the co-processor and the line go on, 1 ms a
    /// pass, and what it sends waits in the host's pipe.
    fn pause(&mut self, ms: u32) {
        for _ in 0..ms {
            self.now += Duration::from_ticks(1);
            self.co.pass(self.now, &mut self.cp);
            self.carry();
        }
    }

    /// Runs `n` passes; what the host said.
    fn run(&mut self, n: u32) -> Vec<Said, 64> {
        let mut said = Vec::new();
        for _ in 0..n {
            if let Some(s) = self.pass() {
                let _ = said.push(s);
            }
        }
        said
    }
}

#[test]
fn given_requests_made_before_the_coprocessor_answers_then_all_go_in_order_after_its_config() {
    let reset = Cell::new((false, 0));
    let mut b = Bench::<128>::new(&reset, 0);
    let p1 = b
        .host
        .publish("t/a", b"1", QoS::AtLeastOnce, false)
        .unwrap();
    let p2 = b.host.publish("t/b", b"2", QoS::AtMostOnce, true).unwrap();
    let p3 = b
        .host
        .publish("t/c", b"3", QoS::AtLeastOnce, false)
        .unwrap();
    let sub = b.host.subscribe("cmd/#", QoS::AtLeastOnce).unwrap();
    let said = b.run(500);
    assert!(said.contains(&Said::Ready {
        boot: 1,
        restarted: false
    }));
    for id in [p1, p2, p3] {
        assert!(said.contains(&Said::Done(id, Outcome::Ok)), "{said:?}");
    }
    assert_eq!(b.host.pending(), 0);
    assert_eq!(sub, 0);
    // Hello, then the configuration, the subscription, the three publishes
    // (two credits at first, the third after a Done).
    let publishes: Vec<Seen, 8> =
        b.co.seen
            .iter()
            .copied()
            .filter(|s| matches!(s, Seen::Publish(..)))
            .collect();
    assert_eq!(
        publishes,
        [
            Seen::Publish(p1, b'1'),
            Seen::Publish(p2, b'2'),
            Seen::Publish(p3, b'3')
        ]
    );
    let at = |s: fn(&Seen) -> bool| b.co.seen.iter().position(s).unwrap();
    assert!(at(|s| *s == Seen::Hello) < at(|s| *s == Seen::Config));
    assert!(at(|s| *s == Seen::Config) < at(|s| matches!(s, Seen::Subscribe(_))));
    assert!(at(|s| matches!(s, Seen::Subscribe(_))) < at(|s| matches!(s, Seen::Publish(..))));
    assert!(b.host.is_ready());
}

#[test]
fn given_an_incoming_message_then_it_is_matched_handed_out_and_confirmed_only_after() {
    let reset = Cell::new((false, 0));
    let mut b = Bench::<128>::new(&reset, 0);
    b.host.subscribe("sensors/+/temp", QoS::AtMostOnce).unwrap();
    b.host.subscribe("cmd/#", QoS::AtLeastOnce).unwrap();
    b.run(300);
    assert!(b.co.deliver(41, "cmd/led", b"on"));
    assert!(b.co.deliver(42, "other", b"x"));
    let mut got = Vec::<Said, 8>::new();
    for _ in 0..300 {
        let said = b.pass();
        if let Some(s @ Said::Message(..)) = said {
            got.push(s).unwrap();
            // Not confirmed while the application holds it.
            assert!(!b
                .co
                .seen
                .contains(&Seen::Delivered(41 + got.len() as u16 - 1)));
        }
    }
    assert_eq!(
        got,
        [Said::Message(Some(1), b'o'), Said::Message(None, b'x')]
    );
    assert!(b.co.seen.contains(&Seen::Delivered(41)));
    assert!(b.co.seen.contains(&Seen::Delivered(42)));
    // Credit: 4 at first, one back per confirmation.
    assert_eq!(b.co.credit, 4);
}

#[test]
fn given_a_silent_coprocessor_then_a_ping_then_a_reset_pulse_and_everything_replayed() {
    for start in [0, u32::MAX - 5_000] {
        let reset = Cell::new((false, 0));
        let mut b = Bench::<128>::new(&reset, start);
        b.host.subscribe("cmd/#", QoS::AtLeastOnce).unwrap();
        b.run(300);
        // It hangs: a publish goes out and is never answered.
        b.co.alive = false;
        let id = b
            .host
            .publish("t/x", b"9", QoS::AtLeastOnce, false)
            .unwrap();
        let silent_at = b.now;
        let mut said = Vec::<Said, 8>::new();
        while said.is_empty() {
            said.extend(b.pass());
            assert!(elapsed(silent_at, b.now) < 11_000, "no reset");
        }
        // Ten seconds after the last thing heard (the pings got no answer).
        let after = elapsed(silent_at, b.now);
        assert!((9_500..=10_100).contains(&after), "reset after {after} ms");
        assert_eq!(said, [Said::Reset(1)]);
        assert_eq!(reset.get(), (true, 1), "held in reset");
        assert!(b.co.seen.contains(&Seen::Config));
        let said = b.run(100);
        assert_eq!(reset.get(), (false, 1));
        assert!(said.is_empty());
        // It boots again: a new frame handshake, a new boot counter.
        b.co = Coproc::new(2);
        let said = b.run(500);
        assert!(said.contains(&Said::Ready {
            boot: 2,
            restarted: true
        }));
        assert!(said.contains(&Said::Done(id, Outcome::Ok)));
        // The new co-processor got the configuration, the subscription and
        // the publish the old one never completed.
        assert!(b.co.seen.contains(&Seen::Config));
        assert!(b.co.seen.iter().any(|s| matches!(s, Seen::Subscribe(_))));
        assert!(b.co.seen.contains(&Seen::Publish(id, b'9')));
        assert_eq!(b.host.resets(), 1);
    }
}

#[test]
fn given_a_quiet_but_alive_coprocessor_then_pings_keep_the_watchdog_off() {
    let reset = Cell::new((false, 0));
    let mut b = Bench::<128>::new(&reset, 1 << 31);
    b.run(60_000);
    assert_eq!(reset.get(), (false, 0));
    let pings = b.co.seen.iter().filter(|s| **s == Seen::Ping).count();
    assert!((20..=30).contains(&pings), "{pings} pings in 60 s");
}

#[test]
fn given_a_coprocessor_that_restarts_by_itself_then_the_host_replays_without_a_reset() {
    let reset = Cell::new((false, 0));
    let mut b = Bench::<128>::new(&reset, 0);
    b.host.subscribe("cmd/#", QoS::AtLeastOnce).unwrap();
    b.run(300);
    b.co = Coproc::new(7);
    let id = b
        .host
        .publish("t/y", b"5", QoS::AtLeastOnce, false)
        .unwrap();
    let said = b.run(1_000);
    assert!(said.contains(&Said::Ready {
        boot: 7,
        restarted: true
    }));
    assert!(said.contains(&Said::Done(id, Outcome::Ok)));
    assert!(b.co.seen.iter().any(|s| matches!(s, Seen::Subscribe(_))));
    assert_eq!(reset.get(), (false, 0));
}

#[test]
fn requests_that_can_never_succeed_are_refused_at_the_call() {
    let reset = Cell::new((false, 0));
    let mut b = Bench::<128>::new(&reset, 0);
    let h = &mut b.host;
    assert_eq!(
        h.publish("a/+", b"x", QoS::AtMostOnce, false),
        Err(RequestError::BadTopic)
    );
    assert_eq!(
        h.publish("", b"x", QoS::AtMostOnce, false),
        Err(RequestError::BadTopic)
    );
    assert_eq!(
        h.publish("t", &[0; 200], QoS::AtMostOnce, false),
        Err(RequestError::TooLarge)
    );
    assert_eq!(
        h.subscribe("a/#/b", QoS::AtMostOnce),
        Err(RequestError::BadTopic)
    );
    assert_eq!(h.unsubscribe("+a"), Err(RequestError::BadTopic));
    for _ in 0..4 {
        h.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    }
    assert_eq!(
        h.publish("t", b"x", QoS::AtLeastOnce, false),
        Err(RequestError::Full)
    );
}

#[test]
fn a_publish_larger_than_the_frames_the_coprocessor_agreed_is_completed_invalid_and_blocks_nothing()
{
    let reset = Cell::new((false, 0));
    let mut b = Bench::<32>::new(&reset, 0);
    let big = b
        .host
        .publish("t/big", &[7; 60], QoS::AtLeastOnce, false)
        .unwrap();
    let small = b
        .host
        .publish("t/small", b"s", QoS::AtLeastOnce, false)
        .unwrap();
    let said = b.run(1_000);
    assert!(
        said.contains(&Said::Done(big, Outcome::Invalid)),
        "{said:?}"
    );
    assert!(said.contains(&Said::Done(small, Outcome::Ok)), "{said:?}");
    assert_eq!(b.host.pending(), 0);
}

#[test]
fn time_and_unsubscribe_are_answered_by_id() {
    let reset = Cell::new((false, 0));
    let mut b = Bench::<128>::new(&reset, 0);
    b.host.subscribe("cmd/#", QoS::AtLeastOnce).unwrap();
    b.run(300);
    let t = b.host.get_time();
    let u = b.host.unsubscribe("cmd/#").unwrap();
    let said = b.run(300);
    assert!(said.contains(&Said::Time(t)));
    assert!(said.contains(&Said::Done(u, Outcome::Ok)));
    assert!(b.co.seen.contains(&Seen::Unsubscribe(u)));
    // The filter is gone from the table: a message on it matches nothing.
    assert!(b.co.deliver(5, "cmd/x", b"z"));
    let said = b.run(100);
    assert!(said.contains(&Said::Message(None, b'z')));
}

#[test]
fn a_healthy_coprocessor_is_not_reset_because_the_host_paused() {
    for start in [0, u32::MAX - 30_000] {
        // Pauses from just under the watchdog's 10 s to a minute, begun at
        // different points of the ping cycle (pings after 2.5 s of quiet).
        for (pause, into_cycle) in [(9_700, 0), (10_000, 1_300), (30_000, 2_490), (60_000, 700)] {
            let reset = Cell::new((false, 0));
            let mut b = Bench::<128>::new(&reset, start);
            b.host.subscribe("cmd/#", QoS::AtLeastOnce).unwrap();
            b.run(300 + into_cycle);
            assert!(b.host.is_ready());
            b.pause(pause);
            let pings_before = b.co.seen.iter().filter(|s| **s == Seen::Ping).count();
            let id = b
                .host
                .publish("t/after", b"7", QoS::AtLeastOnce, false)
                .unwrap();
            let said = b.run(15_000);
            assert!(
                !said.iter().any(|s| matches!(s, Said::Reset(_))),
                "pause {pause} ms at {start}: {said:?}"
            );
            assert_eq!(reset.get(), (false, 0), "pause {pause} ms: reset pulsed");
            // It kept answering: the publish after the pause completed and
            // the pings went on.
            assert!(said.contains(&Said::Done(id, Outcome::Ok)), "{said:?}");
            assert!(b.co.seen.iter().filter(|s| **s == Seen::Ping).count() > pings_before);
            assert!(b.host.is_ready());
        }
    }
}

#[test]
fn a_silent_coprocessor_is_still_reset_after_the_host_paused_but_only_once_the_host_listened() {
    for start in [0, u32::MAX - 30_000] {
        let reset = Cell::new((false, 0));
        let mut b = Bench::<128>::new(&reset, start);
        b.run(300);
        // It hangs, and the host's superloop stops for 30 s.
        b.co.alive = false;
        b.pause(30_000);
        let resumed = b.now;
        let mut said = Vec::<Said, 8>::new();
        while said.is_empty() {
            said.extend(b.pass());
            assert!(elapsed(resumed, b.now) < 11_000, "no reset");
        }
        assert_eq!(said, [Said::Reset(1)]);
        assert_eq!(reset.get(), (true, 1));
        // Judged on the silence the host heard, not on its own absence.
        let after = elapsed(resumed, b.now);
        assert!(
            (1_000..=10_100).contains(&after),
            "reset {after} ms after resuming"
        );
    }
}

#[test]
fn frames_that_waited_while_the_host_paused_are_read_before_the_watchdog_judges() {
    let reset = Cell::new((false, 0));
    let mut b = Bench::<128>::new(&reset, 0);
    b.run(300);
    // The co-processor is busy for 9.5 s while the host listens (its pings
    // go unanswered), then answers while the host's superloop is stopped:
    // a whole frame waits in the host's pipe when it resumes.
    b.co.alive = false;
    let said = b.run(9_500);
    assert!(said.is_empty(), "{said:?}");
    b.co.alive = true;
    b.pause(2_000);
    assert!(b.hp.inn.iter().any(|u| *u == Unit::End), "a frame waits");
    let said = b.run(3_000);
    assert!(
        !said.iter().any(|s| matches!(s, Said::Reset(_))),
        "{said:?}"
    );
    assert_eq!(reset.get(), (false, 0));
    assert!(b.host.is_ready());
}
