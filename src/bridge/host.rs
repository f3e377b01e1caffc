//! The host's driver: MQTT through a co-processor, for a microcontroller
//! with no network (micropython-mqtt's `MQTTlink`, polled, no allocation).
//!
//! The application publishes, subscribes and asks for the time; the driver
//! keeps every request until the co-processor completes it, and:
//! - **starts** the conversation when the frame layer is up: `Hello`, then
//!   the configuration, the subscriptions, the queued publishes;
//! - **replays** all of that when the co-processor restarted (a new frame
//!   handshake or a new boot counter in `Ready`): its subscriptions are
//!   restored and its unacknowledged publishes re-sent, so nothing the
//!   application was not told is done gets lost (QoS 1 is at least once);
//! - **watches** the co-processor: a ping when it has been quiet, and a
//!   reset pulse on the fifth wire when nothing at all came for
//!   `watchdog_ms` (default 10 s) of the host listening, again and again
//!   while it stays silent. The silence is the co-processor's only while
//!   the host polls: what waited in the pipe is read before the watchdog
//!   judges, and a long gap between polls (the host's superloop stopped)
//!   counts only in part. A co-processor that says it cannot recover by
//!   itself (`Status::Failed`) is reset at once;
//! - **confirms** each incoming message only after the application had it
//!   (the poll after the event), and grants credits one by one, so the
//!   co-processor acknowledges the broker only for what the host holds and
//!   stops reading from the broker when the host is slow.
//!
//! The superloop polls the pipe (the [`super::link::Link`] or the
//! [`super::uart::Uart`]) and then this driver, with the same `now`.

use embedded_hal::digital::OutputPin;

use super::frame::{Event as FrameEvent, FrameConfig, Framer};
use super::pipe::Pipe;
use heapless::Deque;

use super::proto::{self, CoprocMsg, HostMsg, Outcome, Status, TimeError};
use crate::time::{elapsed, reached, Duration, Instant};
use crate::wire::topic::{check_filter, check_name, matches};
use crate::wire::QoS;

/// The driver's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostConfig<'a> {
    /// What the co-processor is told (WiFi, broker, MQTT, will, time server).
    pub coproc: proto::Config<'a>,
    /// Reset the co-processor when nothing came from it for this long.
    pub watchdog_ms: u32,
    /// Ping it when it has been quiet this long.
    pub ping_ms: u32,
    /// How long a reset pulse holds the line.
    pub reset_ms: u32,
    /// Incoming messages the co-processor may send before the host
    /// confirms them.
    pub credits: u16,
    /// The frame layer's nonce: new at each start of the host (a boot
    /// counter or a random number).
    pub nonce: u32,
}

impl<'a> HostConfig<'a> {
    /// The defaults: a 10 s watchdog, pings after 2.5 s of quiet, a 100 ms
    /// reset pulse, 4 messages in flight to the host.
    pub const fn new(coproc: proto::Config<'a>, nonce: u32) -> Self {
        HostConfig {
            coproc,
            watchdog_ms: 10_000,
            ping_ms: 2_500,
            reset_ms: 100,
            credits: 4,
            nonce,
        }
    }
}

/// Why a request was refused at the call (it could never succeed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Not a valid topic name or filter (MQTT §4.7).
    BadTopic,
    /// The message does not fit in a frame.
    TooLarge,
    /// No free slot: wait for a completion.
    Full,
}

/// What the driver has to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostEvent<'m> {
    /// The co-processor answered and was configured; `restarted` when its
    /// boot counter changed since the last `Ready`.
    Ready {
        /// The co-processor's start count.
        boot: u32,
        /// It started again since the last `Ready` (everything was replayed).
        restarted: bool,
    },
    /// News from the co-processor: its WiFi, its broker connection.
    Status(Status),
    /// A publish, subscription or unsubscription with this id ended.
    Done {
        /// The id [`Host::publish`] or [`Host::unsubscribe`] returned (or a
        /// subscription's request).
        id: u16,
        /// How it ended.
        outcome: Outcome,
    },
    /// A message from the broker; `subscription` is the index (as returned
    /// by [`Host::subscribe`]) of the first subscription it matches.
    /// Confirmed to the co-processor on the next poll.
    Message {
        /// The first matching subscription's index, if any still matches.
        subscription: Option<usize>,
        /// The topic name it was published to.
        topic: &'m str,
        /// The application message.
        payload: &'m [u8],
        /// The QoS it was delivered with (MQTT §3.8.4: at most the granted).
        qos: QoS,
        /// A retained message, sent because of a new subscription (MQTT
        /// §3.3.1.3).
        retain: bool,
    },
    /// The answer to [`Host::get_time`].
    Time {
        /// The id [`Host::get_time`] returned.
        id: u16,
        /// Seconds since 1970-01-01 UTC, or why the time is unknown.
        unix: Result<u64, TimeError>,
    },
    /// The co-processor's counters, as [`Host::get_stats`] asked.
    Stats(proto::Stats),
    /// Reset was pulsed (the `n`th time): by the watchdog, or because the
    /// co-processor said it failed.
    Reset {
        /// Resets so far, this one included.
        n: u32,
    },
}

/// Where the conversation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Holding reset until then.
    Resetting { until: Instant },
    /// Waiting for the frame layer, then for `Ready`.
    Hello { sent: bool },
    /// Configured.
    Running,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SubState {
    /// To be sent (again, after a restart).
    Pending,
    /// Sent with this request id.
    Sent(u16),
    Active(QoS),
    Refused,
}

#[derive(Clone, Copy, Debug)]
struct Sub<'a> {
    filter: &'a str,
    qos: QoS,
    state: SubState,
}

/// A publish kept until its `Done`, encoded as the message that carries it.
struct Slot<const P: usize> {
    id: u16,
    sent: bool,
    len: usize,
    bytes: [u8; P],
}

/// The host's driver. `P`: the largest frame payload; `W`: frames in
/// flight; `OUT`: publishes kept until done; `SUBS`: subscriptions.
///
/// The superloop of a host (the co-processor and the broker in memory here):
///
/// ```
/// # use heapless::Deque;
/// # use limpet::bridge::pipe::{Full, Pipe, Unit};
/// # /// One end of an in-memory line (in firmware: the `Link` or a `Uart`).
/// # #[derive(Default)]
/// # struct Port {
/// #     out: Deque<Unit, 64>,
/// #     inn: Deque<Unit, 64>,
/// # }
/// # impl Pipe for Port {
/// #     fn send(&mut self, unit: Unit) -> Result<(), Full> {
/// #         self.out.push_back(unit).map_err(|_| Full)
/// #     }
/// #     fn recv(&mut self) -> Option<Unit> {
/// #         self.inn.pop_front()
/// #     }
/// # }
/// # /// The line between two ends: what each sent, as far as the other has room.
/// # fn carry(a: &mut Port, b: &mut Port) {
/// #     for (from, to) in [(&mut a.out, &mut b.inn), (&mut b.out, &mut a.inn)] {
/// #         while !to.is_full() {
/// #             let Some(unit) = from.pop_front() else { break };
/// #             let _ = to.push_back(unit);
/// #         }
/// #     }
/// # }
/// # /// The co-processor's reset line (in firmware: a HAL's output pin).
/// # struct ResetPin;
/// # impl embedded_hal::digital::ErrorType for ResetPin {
/// #     type Error = core::convert::Infallible;
/// # }
/// # impl embedded_hal::digital::OutputPin for ResetPin {
/// #     fn set_low(&mut self) -> Result<(), Self::Error> {
/// #         Ok(())
/// #     }
/// #     fn set_high(&mut self) -> Result<(), Self::Error> {
/// #         Ok(())
/// #     }
/// # }
/// # /// A broker that accepts the connection and takes everything sent.
/// # #[derive(Default)]
/// # struct Broker {
/// #     unread: &'static [u8],
/// # }
/// # impl limpet::net::Transport for Broker {
/// #     type Error = ();
/// #     fn connect(&mut self) -> nb::Result<(), ()> {
/// #         Ok(())
/// #     }
/// #     fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
/// #         // CONNECT (MQTT §3.1) is answered with CONNACK, accepted (§3.2).
/// #         if data.first() == Some(&0x10) {
/// #             self.unread = &[0x20, 2, 0, 0];
/// #         }
/// #         Ok(data.len())
/// #     }
/// #     fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
/// #         let n = buf.len().min(self.unread.len());
/// #         if n == 0 {
/// #             return Err(nb::Error::WouldBlock);
/// #         }
/// #         buf[..n].copy_from_slice(&self.unread[..n]);
/// #         self.unread = &self.unread[n..];
/// #         Ok(n)
/// #     }
/// #     fn close(&mut self) {}
/// # }
/// use limpet::bridge::host::{Host, HostConfig, HostEvent};
/// use limpet::bridge::proto::{self, Status};
/// # use limpet::bridge::proto::Outcome;
/// use limpet::time::{Duration, Instant};
/// use limpet::QoS;
/// # use limpet::bridge::coproc::Coproc;
/// # use limpet::{Client, Options};
/// # // The co-processor's firmware (see `Coproc`), on the other end of the line.
/// # let mut filters = [0u8; 256];
/// # let (mut rx, mut tx, mut store) = ([0u8; 256], [0u8; 256], [0u8; 1024]);
/// # let settings = core::cell::OnceCell::new();
/// # let mut buffers = Some((&mut rx[..], &mut tx[..], &mut store[..]));
/// # let mut coproc: Coproc<'_, 128, 4, 4, 8> = Coproc::new(1, &mut filters);
/// # let mut client: Option<Client<'_, 4, 8>> = None;
/// # let (mut coproc_pipe, mut broker) = (Port::default(), Broker::default());
/// # let reset_pin = ResetPin;
///
/// // What the co-processor is told: WiFi, broker, client id (and the rest of
/// // mqtt_as's settings, defaults here).
/// static COPROC: proto::Config<'static> =
///     proto::Config::new("home", b"correct horse", "broker.local", "sensor-1");
///
/// // Frames of up to 128 bytes, 4 in flight; 4 publishes kept; 8 subscriptions.
/// // The nonce is new at each start of the host (a boot counter, a random number).
/// let mut host: Host<'_, _, 128, 4, 4, 8> = Host::new(HostConfig::new(COPROC, 1), reset_pin);
/// // Kept, and restored after every co-processor restart.
/// host.subscribe("sensor-1/cmd", QoS::AtLeastOnce).unwrap();
/// // `pipe`: the `Link` (polled first, each pass) or a `Uart`; in memory here.
/// let mut pipe = Port::default();
/// let mut now = Instant::from_ticks(0);
/// let mut online = None;
/// loop {
///     now += Duration::from_ticks(1);
///     match host.poll(now, &mut pipe) {
///         // Configured (after a co-processor restart: everything replayed).
///         Some(HostEvent::Ready { .. }) => {}
///         Some(HostEvent::Status(Status::BrokerUp)) => {
///             online = host.publish("sensor-1/status", b"online", QoS::AtMostOnce, false).ok();
///         }
///         Some(HostEvent::Done { id, outcome }) => {
///             // The publish or (un)subscription `id` ended: `Ok`, `Granted`, or why not.
/// #           if Some(id) == online {
/// #               assert_eq!(outcome, Outcome::Ok);
/// #               break;
/// #           }
///         }
///         Some(HostEvent::Message { topic, payload, .. }) => {
///             // Act on it: it is confirmed to the co-processor, and so to the
///             // broker, on the next poll.
///             let _ = (topic, payload);
///         }
///         // The watchdog pulsed the co-processor's reset line.
///         Some(HostEvent::Reset { .. }) => {}
///         Some(_) | None => {}
///     }
///     // Sleep until `host.next_deadline(now)` or a unit arrives on the pipe.
/// #   carry(&mut pipe, &mut coproc_pipe);
/// #   if let Some(client) = client.as_mut() {
/// #       coproc.poll(now, &mut coproc_pipe, client, &mut broker);
/// #   } else if let Some(s) = coproc.configure(now, &mut coproc_pipe) {
/// #       let s = settings.get_or_init(|| s);
/// #       let (rx, tx, store) = buffers.take().unwrap();
/// #       client = Some(Client::new(s.mqtt(), Options::default(), rx, tx, store).unwrap());
/// #   }
/// }
/// assert!(host.is_ready());
/// ```
pub struct Host<'a, R, const P: usize, const W: usize, const OUT: usize, const SUBS: usize> {
    config: HostConfig<'a>,
    reset: R,
    framer: Framer<P, W>,
    phase: Phase,
    boot: Option<u32>,
    resets: u32,
    protocol_errors: u32,
    /// When the co-processor was last heard from, in listening time: moved
    /// on by the part of a long gap between polls that does not count.
    heard: Option<Instant>,
    last_poll: Option<Instant>,
    ping: Ask,
    /// Publishes the co-processor will take now.
    credit: u16,
    outbox: [Option<Slot<P>>; OUT],
    /// A publish found too large for the frames agreed: its `Done`.
    too_large: Option<u16>,
    subs: [Option<Sub<'a>>; SUBS],
    /// An unsubscription on its way (the filter is out of the table).
    unsubscribe: Option<(u16, &'a str, Ask)>,
    time: Option<(u16, Ask)>,
    stats: Ask,
    config_owed: bool,
    /// The incoming message handed out last pass, to confirm.
    confirm: Option<u16>,
    delivered: Deque<u16, 4>,
    credit_owed: u16,
    next_id: u16,
}

/// A request to the co-processor: not wanted, wanted, sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ask {
    No,
    Owed,
    Sent,
}

impl<'a, R, const P: usize, const W: usize, const OUT: usize, const SUBS: usize>
    Host<'a, R, P, W, OUT, SUBS>
where
    R: OutputPin,
{
    /// A driver that says `Hello` once the frame layer is up. `reset` is
    /// the co-processor's reset line: set high for a pulse's `reset_ms`,
    /// low after: "high" means "in reset", so a board with an active-low
    /// EN/RST inverts it in its pin (the RP2040 board's `ResetOut`).
    pub fn new(config: HostConfig<'a>, reset: R) -> Self {
        Host {
            config,
            reset,
            framer: Framer::new(FrameConfig::new(config.nonce)),
            phase: Phase::Hello { sent: false },
            boot: None,
            resets: 0,
            protocol_errors: 0,
            heard: None,
            last_poll: None,
            ping: Ask::No,
            credit: 0,
            outbox: core::array::from_fn(|_| None),
            too_large: None,
            subs: [None; SUBS],
            unsubscribe: None,
            time: None,
            stats: Ask::No,
            config_owed: false,
            confirm: None,
            delivered: Deque::new(),
            credit_owed: 0,
            next_id: 1,
        }
    }

    /// Whether the co-processor is configured and answering.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Running
    }

    /// Watchdog resets so far.
    pub fn resets(&self) -> u32 {
        self.resets
    }

    /// Messages from the co-processor that did not decode.
    pub fn protocol_errors(&self) -> u32 {
        self.protocol_errors
    }

    /// Publishes not yet completed.
    pub fn pending(&self) -> usize {
        self.outbox.iter().flatten().count()
    }

    /// The frame layer's counters.
    pub fn frames(&self) -> super::frame::FrameCounters {
        self.framer.counters()
    }

    /// Queues a publish (sent when the co-processor is ready, re-sent
    /// after it restarts); its id comes back in [`HostEvent::Done`].
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<u16, RequestError> {
        check_name(topic).map_err(|_| RequestError::BadTopic)?;
        let id = self.next_id;
        let msg = HostMsg::Publish(proto::Publish {
            id,
            topic,
            payload,
            qos,
            retain,
        });
        if msg.encoded_len() > P {
            return Err(RequestError::TooLarge);
        }
        let free = self
            .outbox
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(RequestError::Full)?;
        let mut bytes = [0u8; P];
        let len = msg.encode(&mut bytes).map_err(|_| RequestError::TooLarge)?;
        *free = Some(Slot {
            id,
            sent: false,
            len,
            bytes,
        });
        self.bump_id();
        Ok(id)
    }

    /// Adds a subscription (restored after every co-processor restart); its
    /// index identifies the messages that match it.
    pub fn subscribe(&mut self, filter: &'a str, qos: QoS) -> Result<usize, RequestError> {
        check_filter(filter).map_err(|_| RequestError::BadTopic)?;
        if (HostMsg::Subscribe { id: 0, filter, qos }).encoded_len() > P {
            return Err(RequestError::TooLarge);
        }
        let same = |s: &Option<Sub<'_>>| matches!(s, Some(s) if s.filter == filter);
        if let Some(i) = self.subs.iter().position(same) {
            return Ok(i);
        }
        let i = self
            .subs
            .iter()
            .position(|s| s.is_none())
            .ok_or(RequestError::Full)?;
        self.subs[i] = Some(Sub {
            filter,
            qos,
            state: SubState::Pending,
        });
        Ok(i)
    }

    /// Removes a subscription; the co-processor unsubscribes (one at a
    /// time: `Full` until the last one is done).
    pub fn unsubscribe(&mut self, filter: &'a str) -> Result<u16, RequestError> {
        check_filter(filter).map_err(|_| RequestError::BadTopic)?;
        if self.unsubscribe.is_some() {
            return Err(RequestError::Full);
        }
        for s in self.subs.iter_mut() {
            if matches!(s, Some(x) if x.filter == filter) {
                *s = None;
            }
        }
        let id = self.take_id();
        self.unsubscribe = Some((id, filter, Ask::Owed));
        Ok(id)
    }

    /// Asks the co-processor for the time (answered by [`HostEvent::Time`]
    /// with this id; a later ask replaces an unanswered one).
    pub fn get_time(&mut self) -> u16 {
        let id = self.take_id();
        self.time = Some((id, Ask::Owed));
        id
    }

    /// Asks for the co-processor's counters ([`HostEvent::Stats`]).
    pub fn get_stats(&mut self) {
        self.stats = Ask::Owed;
    }

    fn take_id(&mut self) -> u16 {
        let id = self.next_id;
        self.bump_id();
        id
    }

    fn bump_id(&mut self) {
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
    }

    /// When to poll again at the latest (the pipe has its own pace: a
    /// superloop polls it every pass).
    pub fn next_deadline(&self, now: Instant) -> Instant {
        let heard = self.heard.unwrap_or(now);
        let watchdog = match self.phase {
            Phase::Resetting { until } => until,
            _ => heard + Duration::from_ticks(self.config.watchdog_ms),
        };
        let ping = heard + Duration::from_ticks(self.config.ping_ms);
        let mut d = crate::time::sooner(watchdog, ping);
        if let Some(f) = self.framer.next_deadline() {
            d = crate::time::sooner(d, f);
        }
        crate::time::later(d, now)
    }

    /// One pass: what arrived, then the watchdog, then what to send.
    pub fn poll(&mut self, now: Instant, pipe: &mut impl Pipe) -> Option<HostEvent<'_>> {
        self.away(now);
        if let Some(id) = self.too_large.take() {
            return Some(HostEvent::Done {
                id,
                outcome: Outcome::Invalid,
            });
        }
        // The message handed out last pass has been handled.
        if let Some(id) = self.confirm.take() {
            self.framer.release();
            // Room: one at a time is handed out, and this queue drains
            // before anything else is sent.
            let _ = self.delivered.push_back(id);
            self.credit_owed = self.credit_owed.saturating_add(1);
        }
        self.send_what_is_owed();
        // What waited (during a pause of the host, say) is read before the
        // watchdog judges. Any whole frame is a sign of life, an
        // acknowledgement as much as data.
        let frames = self.framer.counters().heard;
        let event = self.framer.poll(now, pipe);
        if event.is_some() || self.framer.counters().heard != frames {
            self.heard = Some(now);
        }
        // Heard this pass: no reset, so no event is lost to one.
        if let Some(e) = self.watchdog(now) {
            return Some(e);
        }
        self.send_what_is_owed();
        match event? {
            FrameEvent::Up { .. } => None,
            FrameEvent::PeerRestarted { .. } => {
                self.start_over();
                None
            }
            FrameEvent::Received => {
                if self.ping == Ask::Sent {
                    self.ping = Ask::No;
                }
                self.received(now)
            }
        }
    }

    /// A long gap since the last poll is the host away (its superloop
    /// stopped: a long flash erase, a blocking driver, a debugger), not the
    /// co-processor silent: it could not be heard, and on the 5-wire link
    /// could not even send. Of a gap, a quarter of `watchdog_ms` counts as
    /// listening (a host polled as [`Host::next_deadline`] asks comes back
    /// sooner: the ping is due after `ping_ms`, 2.5 s by default); the rest
    /// moves `heard` on, so after any pause a healthy co-processor has at
    /// least three quarters of the watchdog's time to answer the ping,
    /// while a silent one is still reset once the host has listened.
    fn away(&mut self, now: Instant) {
        let last = self.last_poll.replace(now);
        let (Some(last), Some(heard)) = (last, &mut self.heard) else {
            return;
        };
        // `heard` is a poll's time, so at most `last`: moved on, it stays
        // at most `now`.
        let away = elapsed(last, now).saturating_sub(self.config.watchdog_ms / 4);
        *heard += Duration::from_ticks(away);
    }

    fn watchdog(&mut self, now: Instant) -> Option<HostEvent<'static>> {
        if let Phase::Resetting { until } = self.phase {
            if reached(now, until) {
                let _ = self.reset.set_low();
                self.phase = Phase::Hello { sent: false };
                self.heard = Some(now);
            }
            return None;
        }
        let quiet = elapsed(*self.heard.get_or_insert(now), now);
        if quiet >= self.config.watchdog_ms {
            return Some(self.pulse_reset(now));
        }
        if quiet >= self.config.ping_ms && self.framer.is_up() && self.ping == Ask::No {
            self.ping = Ask::Owed;
        }
        None
    }

    /// Holds the co-processor in reset for `reset_ms`; everything is sent
    /// again to the one that boots.
    fn pulse_reset(&mut self, now: Instant) -> HostEvent<'static> {
        self.start_over();
        let _ = self.reset.set_high();
        self.phase = Phase::Resetting {
            until: now + Duration::from_ticks(self.config.reset_ms),
        };
        self.resets = self.resets.wrapping_add(1);
        HostEvent::Reset { n: self.resets }
    }

    /// The co-processor is new (restarted, or reset by us): everything not
    /// done is to be sent again, to it.
    fn start_over(&mut self) {
        if !matches!(self.phase, Phase::Resetting { .. }) {
            self.phase = Phase::Hello { sent: false };
        }
        self.credit = 0;
        self.credit_owed = 0;
        self.config_owed = false;
        self.ping = Ask::No;
        // Its message ids are not the new one's: confirm nothing.
        if self.confirm.take().is_some() {
            self.framer.release();
        }
        self.delivered.clear();
        for slot in self.outbox.iter_mut().flatten() {
            slot.sent = false;
        }
        for sub in self.subs.iter_mut().flatten() {
            sub.state = SubState::Pending;
        }
        if let Some((_, _, ask)) = &mut self.unsubscribe {
            *ask = Ask::Owed;
        }
        if let Some((_, ask)) = &mut self.time {
            *ask = Ask::Owed;
        }
        if self.stats == Ask::Sent {
            self.stats = Ask::Owed;
        }
    }

    /// Sends, by priority, what the conversation owes the co-processor, as
    /// far as the frame window allows.
    fn send_what_is_owed(&mut self) {
        let mut buf = [0u8; P];
        while self.framer.can_send() {
            let Some(n) = self.next_message(&mut buf) else {
                return;
            };
            // Fits: every message was sized against P, and the agreed
            // size was checked for publishes.
            let _ = self.framer.send(&buf[..n]);
        }
    }

    /// Encodes the next message owed into `buf`; its length.
    fn next_message(&mut self, buf: &mut [u8; P]) -> Option<usize> {
        let encode = |m: HostMsg<'_>, buf: &mut [u8; P]| m.encode(buf).ok();
        if let Some(&id) = self.delivered.front() {
            self.delivered.pop_front();
            return encode(HostMsg::Delivered { id }, buf);
        }
        if self.credit_owed > 0 && self.phase == Phase::Running {
            let n = core::mem::take(&mut self.credit_owed);
            return encode(HostMsg::Credit { n }, buf);
        }
        if self.phase == (Phase::Hello { sent: false }) {
            self.phase = Phase::Hello { sent: true };
            return encode(
                HostMsg::Hello {
                    version: proto::VERSION,
                    max_message: P as u16,
                },
                buf,
            );
        }
        if self.phase != Phase::Running {
            return None;
        }
        if core::mem::take(&mut self.config_owed) {
            return encode(HostMsg::Config(self.config.coproc), buf);
        }
        if self.ping == Ask::Owed {
            self.ping = Ask::Sent;
            return encode(HostMsg::Ping, buf);
        }
        if let Some((id, ask @ Ask::Owed)) = &mut self.time {
            *ask = Ask::Sent;
            return encode(HostMsg::GetTime { id: *id }, buf);
        }
        if self.stats == Ask::Owed {
            self.stats = Ask::Sent;
            return encode(HostMsg::GetStats, buf);
        }
        if let Some((id, filter, ask @ Ask::Owed)) = &mut self.unsubscribe {
            *ask = Ask::Sent;
            return encode(HostMsg::Unsubscribe { id: *id, filter }, buf);
        }
        for i in 0..SUBS {
            if let Some(sub) = &mut self.subs[i] {
                if sub.state == SubState::Pending {
                    let id = self.next_id;
                    self.next_id = self.next_id.checked_add(1).unwrap_or(1);
                    sub.state = SubState::Sent(id);
                    let (filter, qos) = (sub.filter, sub.qos);
                    return encode(HostMsg::Subscribe { id, filter, qos }, buf);
                }
            }
        }
        if self.credit == 0 {
            return None;
        }
        let max = self.framer.max_payload();
        for slot in self.outbox.iter_mut() {
            let Some(s) = slot else { continue };
            if s.sent {
                continue;
            }
            if s.len > max {
                // The co-processor agreed to smaller frames: never.
                self.too_large = Some(s.id);
                *slot = None;
                return None;
            }
            s.sent = true;
            self.credit -= 1;
            buf[..s.len].copy_from_slice(&s.bytes[..s.len]);
            return Some(s.len);
        }
        None
    }

    /// A message from the co-processor.
    fn received(&mut self, now: Instant) -> Option<HostEvent<'_>> {
        // Everything but an incoming message is copied out and its frame
        // released at once; a message is handed out from the frame
        // (decoded again: the borrow is returned) and confirmed next pass.
        let owned = {
            let bytes = self.framer.received()?;
            match CoprocMsg::decode(bytes) {
                Ok(CoprocMsg::Message(_)) => None,
                Ok(m) => Some(detach(m)),
                Err(_) => Some(None),
            }
        };
        if let Some(msg) = owned {
            self.framer.release();
            let Some(msg) = msg else {
                self.protocol_errors = self.protocol_errors.wrapping_add(1);
                return None;
            };
            return self.handle(msg, now);
        }
        let bytes = self.framer.received()?;
        let Ok(CoprocMsg::Message(p)) = CoprocMsg::decode(bytes) else {
            return None;
        };
        self.confirm = Some(p.id);
        let subscription = self
            .subs
            .iter()
            .position(|s| matches!(s, Some(s) if matches(s.filter, p.topic)));
        Some(HostEvent::Message {
            subscription,
            topic: p.topic,
            payload: p.payload,
            qos: p.qos,
            retain: p.retain,
        })
    }

    fn handle(&mut self, msg: CoprocMsg<'static>, now: Instant) -> Option<HostEvent<'static>> {
        match msg {
            CoprocMsg::Ready { boot, .. } => {
                let restarted = self.boot.is_some_and(|b| b != boot);
                if restarted && self.phase == Phase::Running {
                    // A restart the frame layer did not see.
                    self.start_over();
                }
                self.boot = Some(boot);
                self.phase = Phase::Running;
                self.config_owed = true;
                self.credit_owed = self.config.credits;
                Some(HostEvent::Ready { boot, restarted })
            }
            // It cannot recover by itself (its filter arena holds only
            // filters we let go of, say): reset it now. Not again while the
            // one reset boots (what the old one sent may still arrive).
            CoprocMsg::Status(Status::Failed) if self.phase == Phase::Running => {
                Some(self.pulse_reset(now))
            }
            CoprocMsg::Status(s) => Some(HostEvent::Status(s)),
            CoprocMsg::Done { id, outcome } => {
                self.done(id, outcome);
                Some(HostEvent::Done { id, outcome })
            }
            CoprocMsg::Time { id, unix } => {
                if matches!(self.time, Some((t, _)) if t == id) {
                    self.time = None;
                }
                Some(HostEvent::Time { id, unix })
            }
            CoprocMsg::Stats(s) => {
                self.stats = Ask::No;
                Some(HostEvent::Stats(s))
            }
            CoprocMsg::Credit { n } => {
                self.credit = self.credit.saturating_add(n);
                None
            }
            CoprocMsg::Pong | CoprocMsg::Message(_) => None,
        }
    }

    fn done(&mut self, id: u16, outcome: Outcome) {
        for slot in self.outbox.iter_mut() {
            if matches!(slot, Some(s) if s.id == id) {
                *slot = None;
                return;
            }
        }
        for sub in self.subs.iter_mut().flatten() {
            if sub.state == SubState::Sent(id) {
                sub.state = match outcome {
                    Outcome::Granted(q) => SubState::Active(q),
                    _ => SubState::Refused,
                };
                return;
            }
        }
        if matches!(self.unsubscribe, Some((u, _, _)) if u == id) {
            self.unsubscribe = None;
        }
    }
}

/// A message without borrows, as one with a `'static` lifetime (`None`
/// for the one kind that borrows, an incoming message).
fn detach(m: CoprocMsg<'_>) -> Option<CoprocMsg<'static>> {
    Some(match m {
        CoprocMsg::Ready {
            version,
            boot,
            max_message,
        } => CoprocMsg::Ready {
            version,
            boot,
            max_message,
        },
        CoprocMsg::Status(s) => CoprocMsg::Status(s),
        CoprocMsg::Done { id, outcome } => CoprocMsg::Done { id, outcome },
        CoprocMsg::Time { id, unix } => CoprocMsg::Time { id, unix },
        CoprocMsg::Stats(s) => CoprocMsg::Stats(s),
        CoprocMsg::Credit { n } => CoprocMsg::Credit { n },
        CoprocMsg::Pong => CoprocMsg::Pong,
        CoprocMsg::Message(_) => return None,
    })
}

#[cfg(test)]
mod tests;
