//! A simulated superloop against a broker played by the test.
//!
//! The clock moves only as a firmware's would: by the cost of each pass, and
//! when the loop sleeps — until [`Client::next_deadline`], an application
//! timer, or bytes arriving, whichever is first. So a deadline that is not
//! honest shows up as a stall in simulated time.

use super::*;
use crate::wire::PacketType;

/// A broker that answers by itself (or not, when `hung`).
pub(super) struct AutoBroker {
    /// Reads but answers nothing.
    pub hung: bool,
    /// Hangs up right after each CONNACK (a duplicate client id, an ACL).
    pub kick_after_connack: bool,
    /// Hangs up right after the CONNACK of this many first connections (a
    /// load balancer or a restarting node in front of a healthy broker).
    pub kick_first: u32,
    /// The link is cut this long after each connection came up, this many
    /// times (`cuts`): a flapping link, not the broker's doing.
    pub cut_after: Option<u32>,
    pub cuts: u32,
    /// When the current connection's CONNECT arrived.
    connected_at: Option<Instant>,
    /// Hangs up on every PUBLISH to this topic (a broker refusing it).
    pub refuse_topic: Option<&'static str>,
    /// The link breaks as each of this many PUBRELs arrives (after the
    /// PUBREC reached the client, before the PUBCOMP could).
    pub cut_on_pubrel: u32,
    /// Hangs up when a SUBSCRIBE for this filter arrives (an ACL that
    /// disconnects, as some brokers do).
    pub refuse_filter: Option<&'static str>,
    /// Keeps the session of an unclean connection (session present).
    pub keeps_session: bool,
    pub connects: u32,
    pub pings: u32,
    /// When the client last sent anything on this connection.
    last_heard: Option<Instant>,
    /// Longest the client stayed silent on a connection (what the broker's
    /// keepalive check sees, §3.1.2.10).
    pub max_silence: u32,
    /// PUBLISH packets received, re-sends included.
    pub publishes: u32,
    /// Which sequence numbers (first two payload bytes) arrived, and how often.
    seen: [u8; 1024],
    pub duplicates: u32,
    had_session: bool,
    /// The pipe's connection whose bytes `buf` holds.
    stream: u32,
    buf: heapless::Vec<u8, 4096>,
}

impl AutoBroker {
    pub(super) fn new() -> Self {
        AutoBroker {
            hung: false,
            kick_after_connack: false,
            kick_first: 0,
            cut_after: None,
            cuts: 0,
            connected_at: None,
            refuse_topic: None,
            cut_on_pubrel: 0,
            refuse_filter: None,
            keeps_session: false,
            connects: 0,
            pings: 0,
            last_heard: None,
            max_silence: 0,
            publishes: 0,
            seen: [0; 1024],
            duplicates: 0,
            had_session: false,
            stream: 0,
            buf: heapless::Vec::new(),
        }
    }

    /// How many of the sequence numbers `0..n` arrived at least once.
    pub(super) fn distinct(&self, n: usize) -> usize {
        self.seen[..n].iter().filter(|&&c| c > 0).count()
    }

    fn heard(&mut self, now: Instant) {
        if let Some(last) = self.last_heard {
            self.max_silence = self.max_silence.max((now - last).ticks());
        }
        self.last_heard = Some(now);
    }

    /// Reads what the client sent and answers it.
    pub(super) fn serve(&mut self, pipe: &mut Pipe, now: Instant) {
        if !pipe.connected {
            self.buf.clear();
            self.last_heard = None;
            self.connected_at = None;
            return;
        }
        if let (Some(after), Some(since)) = (self.cut_after, self.connected_at) {
            if self.cuts > 0 && (now - since).ticks() >= after {
                self.cuts -= 1;
                pipe.close();
                return;
            }
        }
        if pipe.connects != self.stream {
            // The client connected again since the last look: a new stream.
            self.stream = pipe.connects;
            self.buf.clear();
        }
        if pipe.from_client.is_empty() {
            return;
        }
        self.buf.extend_from_slice(&pipe.from_client).unwrap();
        pipe.from_client.clear();
        let mut at = 0;
        let mut packet_buf = [0u8; 2048];
        while let Ok(Some(frame)) = Frame::parse(&self.buf[at..]) {
            let len = frame.len();
            if at + len > self.buf.len() {
                break;
            }
            packet_buf[..len].copy_from_slice(&self.buf[at..at + len]);
            at += len;
            let packet =
                Packet::decode(&packet_buf[..len]).expect("client sent a malformed packet");
            self.answer(packet, pipe, now);
            if !pipe.connected {
                self.buf.clear();
                return;
            }
        }
        // Keep a partial packet for next time.
        let rest = self.buf.len() - at;
        self.buf.copy_within(at.., 0);
        self.buf.truncate(rest);
    }

    fn answer(&mut self, packet: Packet<'_>, pipe: &mut Pipe, now: Instant) {
        if let Packet::Connect(_) = packet {
            self.last_heard = None;
        }
        self.heard(now);
        match packet {
            Packet::Connect(c) => {
                self.connects += 1;
                self.connected_at = Some(now);
                if self.hung {
                    return;
                }
                let present = self.keeps_session && self.had_session && !c.clean_session;
                self.had_session = !c.clean_session;
                pipe.push(Packet::ConnAck(ConnAck {
                    session_present: present,
                    code: ConnectReturnCode::Accepted,
                }));
                if self.kick_after_connack || self.connects <= self.kick_first {
                    pipe.hangup = true;
                }
            }
            Packet::PingReq => {
                self.pings += 1;
                if !self.hung {
                    pipe.push(Packet::PingResp);
                }
            }
            Packet::Publish(p) if self.refuse_topic == Some(p.topic) => pipe.close(),
            Packet::Publish(p) => {
                self.publishes += 1;
                if let [hi, lo, ..] = *p.payload {
                    let seq = usize::from(u16::from_be_bytes([hi, lo]));
                    if let Some(n) = self.seen.get_mut(seq) {
                        if *n > 0 {
                            self.duplicates += 1;
                        }
                        *n = n.saturating_add(1);
                    }
                }
                if self.hung {
                    return;
                }
                match (p.qos, p.pid) {
                    (QoS::AtLeastOnce, Some(pid)) => pipe.push(Packet::PubAck(pid)),
                    (QoS::ExactlyOnce, Some(pid)) => pipe.push(Packet::PubRec(pid)),
                    _ => {}
                }
            }
            Packet::PubRel(_) if self.cut_on_pubrel > 0 => {
                self.cut_on_pubrel -= 1;
                pipe.close();
            }
            Packet::PubRel(pid) if !self.hung => pipe.push(Packet::PubComp(pid)),
            Packet::Subscribe(s) => {
                let (filter, qos) = s.topics.iter().next().unwrap();
                if self.refuse_filter == Some(filter) {
                    pipe.close();
                    return;
                }
                if !self.hung {
                    pipe.push(Packet::SubAck(SubAck {
                        pid: s.pid,
                        codes: &[qos as u8],
                    }));
                }
            }
            Packet::Unsubscribe(u) if !self.hung => pipe.push(Packet::UnsubAck(u.pid)),
            Packet::Disconnect => pipe.close(),
            other => assert!(
                self.hung
                    || other.packet_type() == PacketType::PubAck
                    || other.packet_type() == PacketType::PubRec
                    || other.packet_type() == PacketType::PubComp,
                "unexpected {other:?}"
            ),
        }
    }
}

/// The simulated board's clock.
pub(super) struct Clock {
    pub now: Instant,
    /// Passes of the superloop per simulated millisecond (the CPU's cost of a pass).
    pub passes_per_ms: u32,
    passes: u32,
    /// Simulated milliseconds since the start.
    pub spent: u32,
}

impl Clock {
    pub(super) fn starting_at(ticks: u32) -> Self {
        Clock {
            now: Instant::from_ticks(ticks),
            passes_per_ms: 100,
            passes: 0,
            spent: 0,
        }
    }

    fn advance(&mut self, ms: u32) {
        self.now += Duration::from_ticks(ms);
        self.spent += ms;
    }

    fn pass(&mut self) {
        self.passes += 1;
        if self.passes.is_multiple_of(self.passes_per_ms) {
            self.advance(1);
        }
    }

    /// Sleeps until `wake` (if later than now).
    fn sleep_until(&mut self, wake: Instant) {
        if let Some(d) = wake.checked_duration_since(self.now) {
            self.advance(d.ticks());
        }
    }
}

/// One simulated world: the pipe, the broker at its far end, the board's clock.
pub(super) struct Sim {
    pub t: Pipe,
    pub broker: AutoBroker,
    pub clock: Clock,
}

impl Sim {
    /// A fresh pipe and broker, the clock at `ticks`.
    pub(super) fn starting_at(ticks: u32) -> Self {
        Sim {
            t: Pipe::new(),
            broker: AutoBroker::new(),
            clock: Clock::starting_at(ticks),
        }
    }

    /// [`run`] in this world.
    pub(super) fn run<'a, const N: usize, const S: usize, const R: usize>(
        &mut self,
        c: &mut Client<'a, N, S, R>,
        ms: u32,
        app: impl FnMut(&mut Client<'a, N, S, R>, &mut Pipe, Instant) -> Option<Instant>,
        on_event: impl FnMut(&Event<'_>, Instant),
    ) {
        run(
            c,
            &mut self.t,
            &mut self.broker,
            &mut self.clock,
            ms,
            app,
            on_event,
        );
    }

    /// [`Sim::run`] with an application that only watches the events.
    pub(super) fn idle<const N: usize, const S: usize, const R: usize>(
        &mut self,
        c: &mut Client<'_, N, S, R>,
        ms: u32,
        on_event: impl FnMut(&Event<'_>, Instant),
    ) {
        self.run(c, ms, |_, _, _| None, on_event);
    }
}

/// Runs the superloop for `ms` simulated milliseconds: each pass the broker
/// answers, the application acts (`app` returns when it next wants to run),
/// the client polls once (its event goes to `on_event`); a pass that got
/// nothing sleeps until the earliest of the client's deadline, the
/// application's, and bytes arriving (immediately if some are waiting).
fn run<'a, const N: usize, const S: usize, const R: usize>(
    c: &mut Client<'a, N, S, R>,
    pipe: &mut Pipe,
    broker: &mut AutoBroker,
    clock: &mut Clock,
    ms: u32,
    mut app: impl FnMut(&mut Client<'a, N, S, R>, &mut Pipe, Instant) -> Option<Instant>,
    mut on_event: impl FnMut(&Event<'_>, Instant),
) {
    let end = clock.spent + ms;
    while clock.spent < end {
        broker.serve(pipe, clock.now);
        pipe.send_room = pipe.send_rate;
        pipe.recv_room = pipe.recv_rate;
        let app_wake = app(c, pipe, clock.now);
        let now = clock.now;
        let got = match c.poll(now, pipe) {
            Some(e) => {
                on_event(&e, now);
                true
            }
            None => false,
        };
        clock.pass();
        if got {
            continue;
        }
        // The client has nothing to do: the board would sleep. Meanwhile
        // the broker reads and answers; bytes for the client (or the broker
        // hanging up) wake it.
        let was_open = pipe.connected;
        broker.serve(pipe, clock.now);
        if !pipe.to_client.is_empty() || (was_open && !pipe.connected) {
            continue;
        }
        let mut wake = c
            .next_deadline(clock.now)
            .unwrap_or(clock.now + Duration::from_ticks(1000));
        // Bytes wait for the transport: it can take more once the peer's
        // ACK is in, a millisecond on this link (a device wakes on that
        // received frame, a host on socket writability).
        if c.wants_write() {
            let writable = clock.now + Duration::from_ticks(1);
            if writable < wake {
                wake = writable;
            }
        }
        if let Some(a) = app_wake {
            if a < wake {
                wake = a;
            }
        }
        let cap = clock.now + Duration::from_ticks(end - clock.spent);
        clock.sleep_until(if wake < cap { wake } else { cap });
    }
}

/// A payload carrying a sequence number, as `AutoBroker` counts them.
pub(super) fn seq_payload(seq: u16) -> [u8; 2] {
    seq.to_be_bytes()
}
