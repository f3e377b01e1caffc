//! The co-processor's role: the bridge's end in the firmware, between the
//! frame layer (to the host) and an MQTT [`Client`] (to the broker).
//!
//! A firmware runs it in two phases, because the host gives the settings
//! the network machines are built from:
//! 1. [`Coproc::configure`] until it returns the host's [`Settings`]
//!    (it answers `Hello` with `Ready` and its boot counter);
//! 2. builds the WLAN controller, the IP stack and the `Client` from them
//!    ([`Settings::config`], [`Settings::mqtt`]) and runs its superloop,
//!    calling [`Coproc::poll`] where it would poll the client.
//!
//! What it keeps:
//! - **end-to-end QoS 1 to the host**: a message from the broker goes to
//!   the host with an id, and the client is not polled again — so its
//!   acknowledgement to the broker does not go out — until the host says
//!   `Delivered`; a co-processor that restarts in between gets it again
//!   from the broker (a fixed client id and a persistent session);
//! - **credits both ways**: it reads from the broker only while the host
//!   has credit (a slow host stops the reading, nothing overflows), and
//!   grants the host one publish per free place in the client's in-flight
//!   table;
//! - **completions**: a host publish is `Done` when the broker acknowledged
//!   it (QoS 1/2) or when it was written (QoS 0); subscriptions when the
//!   SUBACK came;
//! - **filters** from the host are copied into a caller-provided arena,
//!   since the client keeps them for its lifetime; a filter already there
//!   is reused (a host re-subscribing after restarts does not fill it, nor
//!   one that comes back to an old filter). Bytes handed to the client are
//!   borrowed by it for its whole lifetime: not even an unsubscribed
//!   filter's can be written again while it lives (see `Filters`). When
//!   only filters the host no longer holds fill the arena, the role asks
//!   the host for a reset ([`Status::Failed`]): the co-processor boots with
//!   an empty arena and the host replays the filters it holds, and the
//!   request waiting for room with them. When the filters the host holds
//!   do not fit, the request is refused (`Done` with [`Outcome::Invalid`]).
//!
//! A second, different configuration in the same boot is refused
//! (`ConfigRejected`): the host's reset line is how settings change.

use heapless::{Deque, Vec};

use super::frame::{Event as FrameEvent, FrameConfig, Framer};
use super::pipe::Pipe;
use super::proto::{self, CoprocMsg, HostMsg, Outcome, Status, TimeError};
use crate::client::Client;
use crate::net::Transport;
use crate::session::{Event, Rejected, RequestError, Token};
use crate::time::{elapsed, Duration, Instant};

/// A time older than this is asked for again (ms): an hour.
const TIME_FRESH_MS: u32 = 3_600_000;

/// The host's configuration, kept as the message that carried it.
#[derive(Clone)]
pub struct Settings<const P: usize> {
    bytes: [u8; P],
    len: usize,
}

impl<const P: usize> Settings<P> {
    /// The configuration (validated when it arrived).
    pub fn config(&self) -> proto::Config<'_> {
        match HostMsg::decode(&self.bytes[..self.len]) {
            Ok(HostMsg::Config(c)) => c,
            // Stored only after it decoded as a configuration.
            _ => unreachable_config(),
        }
    }

    /// The MQTT settings: a persistent first connection (`clean_init`
    /// off), so what the broker holds for this client survives the
    /// co-processor's restarts.
    pub fn mqtt(&self) -> crate::session::Config<'_> {
        let c = self.config();
        let mut m = crate::session::Config::new(c.client_id);
        m.keepalive = c.keepalive;
        if c.ping_interval != 0 {
            m.ping_interval = Some(Duration::from_ticks(u32::from(c.ping_interval) * 1_000));
        }
        m.response_time = Duration::from_ticks(c.response_time);
        m.max_repubs = c.max_repubs;
        m.clean_init = false;
        m.clean = c.clean;
        m.will = c.will;
        m.username = c.username;
        m.password = c.password;
        m
    }
}

/// The empty configuration [`Settings::config`] falls back to (never in
/// practice: only a decoded configuration is stored).
fn unreachable_config() -> proto::Config<'static> {
    proto::Config::new("", b"", "", "")
}

/// Filters from the host, copied into storage that lives as long as the
/// client that keeps them.
///
/// The client (its session's subscription table) holds each filter as a
/// `&'a str`: bytes once handed to it are shared for all of `'a`, the
/// client's whole life, and the borrow checker rightly refuses to let them
/// be written again, whether or not the session still has the entry (it
/// drops it at the UNSUBACK, §3.11, but its type cannot say so). So
/// neither compaction nor a free list can reuse them in place, and unsafe
/// code is not an option (the crate denies it; it would also be unsound if
/// any copy of the `&str` survived). What can be done here: a filter seen
/// before is handed out again (bytes are reused for the same filter), and
/// the arena knows which filters the host still holds, so that when dead
/// ones fill it, it says a restart reclaims them: the client is dropped
/// with its borrows, and the next boot's arena holds only what the host
/// replays.
struct Filters<'a, const S: usize> {
    free: &'a mut [u8],
    /// The arena's size.
    size: usize,
    kept: Vec<Kept<'a>, S>,
}

#[derive(Clone, Copy)]
struct Kept<'a> {
    filter: &'a str,
    /// The host holds it: subscribed to it, or its unsubscription is not
    /// done. A host replays what it holds after a reset.
    held: bool,
}

/// Why a filter got no place in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoRoom {
    /// Filters the host no longer holds take the room: a restart of the
    /// co-processor reclaims it.
    Reclaimable,
    /// The filters the host holds leave no room: never, in this arena.
    Full,
}

impl<'a, const S: usize> Filters<'a, S> {
    fn new(arena: &'a mut [u8]) -> Self {
        Filters {
            size: arena.len(),
            free: arena,
            kept: Vec::new(),
        }
    }

    /// The stored copy of `filter` (the same one again if already there),
    /// held by the host from now on.
    fn keep(&mut self, filter: &str) -> Result<&'a str, NoRoom> {
        if let Some(k) = self.kept.iter_mut().find(|k| k.filter == filter) {
            k.held = true;
            return Ok(k.filter);
        }
        let room = filter.len() <= self.free.len();
        if room && self.kept.is_full() {
            // Forget a filter the host let go of (its bytes stay used: the
            // same filter again gets a new copy).
            if let Some(i) = self.kept.iter().position(|k| !k.held) {
                self.kept.swap_remove(i);
            }
        }
        if !room || self.kept.is_full() {
            return Err(self.no_room(filter.len()));
        }
        let (head, tail) = core::mem::take(&mut self.free).split_at_mut(filter.len());
        self.free = tail;
        head.copy_from_slice(filter.as_bytes());
        let head: &'a [u8] = head;
        // The bytes of a str, copied: still UTF-8.
        let filter = core::str::from_utf8(head).map_err(|_| NoRoom::Full)?;
        let _ = self.kept.push(Kept { filter, held: true });
        Ok(filter)
    }

    /// Whether an empty arena of the same size would take the filters held
    /// and one of `len` bytes.
    fn no_room(&self, len: usize) -> NoRoom {
        let held = self.kept.iter().filter(|k| k.held);
        let (count, bytes) = held.fold((0, 0), |(n, b), k| (n + 1, b + k.filter.len()));
        if count < S && bytes + len <= self.size {
            NoRoom::Reclaimable
        } else {
            NoRoom::Full
        }
    }

    /// The host let go of `filter` (its unsubscription is done).
    fn let_go(&mut self, filter: &str) {
        if let Some(k) = self.kept.iter_mut().find(|k| k.filter == filter) {
            k.held = false;
        }
    }
}

/// What the co-processor role has counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoprocCounters {
    /// Messages from the broker handed to the host.
    pub messages_in: u32,
    /// Host publishes the broker acknowledged (QoS 1 and 2).
    pub messages_out: u32,
    /// Messages from the broker too large for a frame to the host:
    /// acknowledged and dropped.
    pub too_large: u32,
    /// Messages from the host that did not decode, and answers dropped
    /// because the queue for the host was full.
    pub protocol_errors: u32,
    /// Broker connections lost.
    pub reconnects: u32,
    /// WiFi links lost (as [`Coproc::wifi`] was told).
    pub wifi_drops: u32,
    /// Resets asked of the host because only filters it let go of filled
    /// the filter arena.
    pub arena_resets: u32,
}

/// The co-processor's bridge end. `P`, `W`: frames; `N`: the client's
/// in-flight table (credits for host publishes); `F`: filters kept.
///
/// A firmware's two phases (here with the host and the broker in memory):
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
/// use limpet::bridge::coproc::Coproc;
/// use limpet::time::{Duration, Instant};
/// use limpet::{Client, Options};
/// # use limpet::bridge::host::{Host, HostConfig, HostEvent};
/// # use limpet::bridge::proto::{self, Outcome, Status};
/// # use limpet::QoS;
/// # static HOST_SAYS: proto::Config<'static> =
/// #     proto::Config::new("home", b"correct horse", "broker.local", "sensor-1");
/// # let mut host: Host<'_, _, 128, 4, 4, 8> = Host::new(HostConfig::new(HOST_SAYS, 1), ResetPin);
/// # let mut host_pipe = Port::default();
/// # let mut online = None;
/// # // The host's superloop pass: publishes once the broker is up; true when done.
/// # let mut host_pass = |now, pipe: &mut Port| match host.poll(now, &mut *pipe) {
/// #     Some(HostEvent::Status(Status::BrokerUp)) => {
/// #         online = host.publish("sensor-1/status", b"online", QoS::AtMostOnce, false).ok();
/// #         false
/// #     }
/// #     Some(HostEvent::Done { id, outcome }) => Some(id) == online && outcome == Outcome::Ok,
/// #     _ => false,
/// # };
/// # let mut transport = Broker::default();
///
/// // Storage first: the role and the client borrow it for as long as they live.
/// // The host's topic filters are copied here (the client keeps them).
/// let mut filters = [0u8; 256];
/// let (mut rx, mut tx, mut store) = ([0u8; 256], [0u8; 256], [0u8; 1024]);
/// let settings;
///
/// // `boot` counts this chip's starts, kept where a reboot does not clear it.
/// let boot = 1;
/// // Frames of up to 128 bytes, 4 in flight; 4 QoS 1/2 publishes; 8 filters.
/// let mut coproc: Coproc<'_, 128, 4, 4, 8> = Coproc::new(boot, &mut filters);
/// // `pipe`: the board's `Link` or `Uart` to the host (an in-memory line here).
/// let mut pipe = Port::default();
/// let mut now = Instant::from_ticks(0);
///
/// // Phase 1: answer the host's `Hello` until it sends the configuration.
/// settings = loop {
///     now += Duration::from_ticks(1);
///     if let Some(settings) = coproc.configure(now, &mut pipe) {
///         break settings;
///     }
/// #   host_pass(now, &mut host_pipe);
/// #   carry(&mut host_pipe, &mut pipe);
/// };
///
/// // Phase 2: the machines, built from the host's settings.
/// let config = settings.config();
/// assert_eq!((config.ssid, config.broker), ("home", "broker.local"));
/// // let wlan = Wlan::new(wlan::Config::new(config.ssid, config.wifi_password));
/// // The IP stack, with `config.broker` and `config.port`, is `transport`.
/// let mut client: Client<'_, 4, 8> =
///     Client::new(settings.mqtt(), Options::default(), &mut rx, &mut tx, &mut store).unwrap();
/// loop {
///     now += Duration::from_ticks(1);
///     // wlan.poll(now, &mut radio): on `Up(network)`, coproc.wifi(Some(..)).
///     // stack.poll(now, &mut device); if coproc.time_wanted(), ask it the time.
///     coproc.poll(now, &mut pipe, &mut client, &mut transport);
/// #   let done = host_pass(now, &mut host_pipe);
/// #   carry(&mut host_pipe, &mut pipe);
/// #   if done { break; }
/// }
/// # assert!(client.is_connected());
/// ```
pub struct Coproc<'a, const P: usize, const W: usize, const N: usize, const F: usize> {
    framer: Framer<P, W>,
    boot: u32,
    started: Option<Instant>,
    /// The configuration of this boot, once given.
    settings: Option<Settings<P>>,
    filters: Filters<'a, F>,
    /// Small answers waiting for room in the frame window.
    out: Deque<CoprocMsg<'static>, 16>,
    /// Host publishes in flight at the broker: token → host id.
    publishes: Vec<(Token, u16), N>,
    subscribing: Vec<(&'a str, u16), F>,
    unsubscribing: Vec<(&'a str, u16), F>,
    /// Credit granted to the host and not used yet.
    granted: u16,
    /// Messages the host takes before confirming.
    host_credit: u16,
    /// The message sent to the host and not confirmed yet, and a copy of
    /// it: a host that restarts before confirming gets it again (the client
    /// has handed it over; its acknowledgement waits for the host).
    awaiting: Option<u16>,
    copy: [u8; P],
    copy_len: usize,
    resend: bool,
    next_in: u16,
    /// The time, from the board's time source: Unix seconds at an instant.
    time: Option<(u64, Instant)>,
    /// A host's time request waiting for the time source, and whether the
    /// firmware has been asked ([`Coproc::time_wanted`]).
    time_asked: Option<u16>,
    time_requested: bool,
    counters: CoprocCounters,
}

impl<'a, const P: usize, const W: usize, const N: usize, const F: usize> Coproc<'a, P, W, N, F> {
    /// `boot` counts this co-processor's starts (kept where a reboot does
    /// not clear it); `filters` stores the host's topic filters.
    pub fn new(boot: u32, filters: &'a mut [u8]) -> Self {
        Coproc {
            framer: Framer::new(FrameConfig::new(boot)),
            boot,
            started: None,
            settings: None,
            filters: Filters::new(filters),
            out: Deque::new(),
            publishes: Vec::new(),
            subscribing: Vec::new(),
            unsubscribing: Vec::new(),
            granted: 0,
            host_credit: 0,
            awaiting: None,
            copy: [0; P],
            copy_len: 0,
            resend: false,
            next_in: 1,
            time: None,
            time_asked: None,
            time_requested: false,
            counters: CoprocCounters::default(),
        }
    }

    /// What the role has counted since [`Coproc::new`].
    pub fn counters(&self) -> CoprocCounters {
        self.counters
    }

    /// Frame-layer counters (line errors, retransmissions).
    pub fn frames(&self) -> super::frame::FrameCounters {
        self.framer.counters()
    }

    /// The time is known: `unix` seconds at `now` (from SNTP or any clock).
    pub fn set_time(&mut self, unix: u64, now: Instant) {
        self.time = Some((unix, now));
    }

    /// Whether the firmware should ask its time source now (once per host
    /// request that the time already known cannot answer): with the
    /// stack, `stack.request_time(now, settings.config().time_server)`.
    pub fn time_wanted(&mut self) -> bool {
        let wanted = self.time_asked.is_some() && !self.time_requested;
        self.time_requested |= wanted;
        wanted
    }

    /// The time source's answer (`stack.time()`): Unix seconds at `now`,
    /// or why not; the host's request is answered with it.
    pub fn time_answer(&mut self, answer: Result<u64, TimeError>, now: Instant) {
        if let Ok(unix) = answer {
            self.set_time(unix, now);
        }
        self.time_requested = false;
        if let Some(id) = self.time_asked.take() {
            self.say(CoprocMsg::Time { id, unix: answer });
        }
    }

    /// WLAN news for the host.
    pub fn wifi(&mut self, up: Option<bool /* stored network */>) {
        let status = match up {
            Some(true) => Status::WifiUpStored,
            Some(false) => Status::WifiUpSpecified,
            None => {
                self.counters.wifi_drops = self.counters.wifi_drops.wrapping_add(1);
                Status::WifiDown
            }
        };
        self.say(CoprocMsg::Status(status));
    }

    /// The firmware could not build its machines from the settings
    /// [`Coproc::configure`] returned (they can never work): the host is
    /// told, and a new configuration may come.
    pub fn config_failed(&mut self) {
        self.settings = None;
        self.say(CoprocMsg::Status(Status::ConfigRejected));
    }

    /// Phase 1: talks to the host until it sends the configuration.
    pub fn configure(&mut self, now: Instant, pipe: &mut impl Pipe) -> Option<Settings<P>> {
        self.started.get_or_insert(now);
        self.flush();
        let event = self.framer.poll(now, pipe);
        if event == Some(FrameEvent::Received) {
            self.host_said::<1, 0>(now, None);
        }
        self.flush();
        self.settings.clone()
    }

    /// Phase 2, one pass: what the host sent, then the client (when the
    /// host can take what it may say).
    pub fn poll<const S: usize, const R: usize, T: Transport>(
        &mut self,
        now: Instant,
        pipe: &mut impl Pipe,
        client: &mut Client<'a, N, S, R>,
        transport: &mut T,
    ) {
        self.flush();
        match self.framer.poll(now, pipe) {
            Some(FrameEvent::Received) => self.host_said(now, Some(client)),
            Some(FrameEvent::PeerRestarted { .. }) => {
                // The host restarted: it says Hello again and replays.
                self.host_restarted();
            }
            _ => {}
        }
        self.grant(client);
        self.flush();
        if self.resend && self.host_credit > 0 && self.framer.can_send() {
            self.resend = false;
            self.host_credit -= 1;
            let _ = self.framer.send(&self.copy[..self.copy_len]);
        }
        // The client talks only when everything it may say has room: a
        // message for the host needs credit and a frame, and the last one
        // confirmed (its acknowledgement goes out on this poll).
        for _ in 0..8 {
            if self.awaiting.is_some()
                || self.host_credit == 0
                || !self.framer.can_send()
                || self.out.len() + 4 > self.out.capacity()
            {
                return;
            }
            let Some(event) = client.poll(now, transport) else {
                return;
            };
            self.client_said(event);
            self.flush();
        }
    }

    /// Grants the host one publish per free place in the client's table.
    fn grant<const S: usize, const R: usize>(&mut self, client: &Client<'a, N, S, R>) {
        if self.settings.is_none() || !self.framer.is_up() {
            return;
        }
        let free = N.saturating_sub(client.session().inflight() + usize::from(self.granted));
        let free = free.min(N.saturating_sub(self.publishes.len() + usize::from(self.granted)));
        if free > 0 && !self.out.is_full() {
            // Fits: N places at most.
            let n = free as u16;
            self.granted += n;
            self.say(CoprocMsg::Credit { n });
        }
    }

    fn say(&mut self, m: CoprocMsg<'static>) {
        if self.out.push_back(m).is_err() {
            self.counters.protocol_errors = self.counters.protocol_errors.wrapping_add(1);
        }
    }

    fn flush(&mut self) {
        // Called several times a pass: most find nothing to send.
        if self.out.is_empty() || !self.framer.can_send() {
            return;
        }
        let mut buf = [0u8; P];
        while self.framer.can_send() {
            let Some(m) = self.out.pop_front() else {
                return;
            };
            if let Ok(n) = m.encode(&mut buf) {
                let _ = self.framer.send(&buf[..n]);
            }
        }
    }

    /// A message from the host (the frame is released here).
    fn host_said<const S: usize, const R: usize>(
        &mut self,
        now: Instant,
        client: Option<&mut Client<'a, N, S, R>>,
    ) {
        let Some(bytes) = self.framer.received() else {
            return;
        };
        let mut copy = [0u8; P];
        let n = bytes.len();
        copy[..n].copy_from_slice(bytes);
        self.framer.release();
        let Ok(msg) = HostMsg::decode(&copy[..n]) else {
            self.counters.protocol_errors = self.counters.protocol_errors.wrapping_add(1);
            return;
        };
        match msg {
            HostMsg::Hello { .. } => {
                self.host_restarted();
                self.say(CoprocMsg::Ready {
                    version: proto::VERSION,
                    boot: self.boot,
                    max_message: P as u16,
                });
                if self.settings.is_some() {
                    self.say(CoprocMsg::Status(Status::Running));
                }
            }
            HostMsg::Config(_) => match &self.settings {
                None => {
                    let mut bytes = [0u8; P];
                    bytes[..n].copy_from_slice(&copy[..n]);
                    self.settings = Some(Settings { bytes, len: n });
                    self.say(CoprocMsg::Status(Status::WillAccepted));
                    self.say(CoprocMsg::Status(Status::Running));
                }
                Some(s) if s.bytes[..s.len] == copy[..n] => {
                    self.say(CoprocMsg::Status(Status::Running));
                }
                Some(_) => self.say(CoprocMsg::Status(Status::ConfigRejected)),
            },
            HostMsg::Publish(p) => {
                self.granted = self.granted.saturating_sub(1);
                let outcome = match client {
                    None => Some(Outcome::Refused),
                    Some(c) => match c.publish(p.topic, p.payload, p.qos, p.retain) {
                        Ok(Some(token)) => {
                            if self.publishes.push((token, p.id)).is_err() {
                                Some(Outcome::Refused)
                            } else {
                                None
                            }
                        }
                        Ok(None) => Some(Outcome::Ok),
                        Err(
                            RequestError::NotConnected
                            | RequestError::WouldBlock
                            | RequestError::Full,
                        ) => Some(Outcome::Refused),
                        Err(_) => Some(Outcome::Invalid),
                    },
                };
                if let Some(outcome) = outcome {
                    self.say(CoprocMsg::Done { id: p.id, outcome });
                }
            }
            HostMsg::Subscribe { id, filter, qos } => {
                // Nothing stored before there is a client to take it.
                let outcome = match client.map(|c| (self.filters.keep(filter), c)) {
                    Some((Ok(f), c)) => match c.subscribe(f, qos) {
                        Ok(()) if self.subscribing.push((f, id)).is_ok() => None,
                        _ => Some(Outcome::Invalid),
                    },
                    Some((Err(NoRoom::Reclaimable), _)) => self.reclaim(),
                    Some((Err(NoRoom::Full), _)) | None => Some(Outcome::Invalid),
                };
                if let Some(outcome) = outcome {
                    self.say(CoprocMsg::Done { id, outcome });
                }
            }
            HostMsg::Unsubscribe { id, filter } => {
                let outcome = match client.map(|c| (self.filters.keep(filter), c)) {
                    Some((Ok(f), c)) => match c.unsubscribe(f) {
                        Ok(()) if self.unsubscribing.push((f, id)).is_ok() => None,
                        _ => Some(Outcome::Invalid),
                    },
                    Some((Err(NoRoom::Reclaimable), _)) => self.reclaim(),
                    Some((Err(NoRoom::Full), _)) | None => Some(Outcome::Invalid),
                };
                if let Some(outcome) = outcome {
                    self.say(CoprocMsg::Done { id, outcome });
                }
            }
            HostMsg::Delivered { id } => {
                if self.awaiting == Some(id) {
                    self.awaiting = None;
                }
            }
            HostMsg::Credit { n } => self.host_credit = self.host_credit.saturating_add(n),
            HostMsg::GetTime { id } => {
                let server = self
                    .settings
                    .as_ref()
                    .is_some_and(|s| !s.config().time_server.is_empty());
                match self.time {
                    // Known and fresh (the chip's clock drifts): at once.
                    Some((unix, at)) if elapsed(at, now) < TIME_FRESH_MS => {
                        let unix = Ok(unix + u64::from(elapsed(at, now) / 1_000));
                        self.say(CoprocMsg::Time { id, unix });
                    }
                    _ if server => self.time_asked = Some(id),
                    _ => self.say(CoprocMsg::Time {
                        id,
                        unix: Err(TimeError::NoServer),
                    }),
                }
            }
            HostMsg::GetStats => {
                let c = self.counters;
                let uptime = self.started.map_or(0, |t| elapsed(t, now) / 1_000);
                self.say(CoprocMsg::Stats(proto::Stats {
                    boot: self.boot,
                    uptime_s: uptime,
                    wifi_drops: c.wifi_drops,
                    reconnects: c.reconnects,
                    messages_out: c.messages_out,
                    messages_in: c.messages_in,
                    frame_errors: self.framer.counters().bad,
                    stack_high_water: 0,
                }));
            }
            HostMsg::Ping => self.say(CoprocMsg::Pong),
        }
    }

    /// What the client said.
    fn client_said(&mut self, event: Event<'_>) {
        match event {
            Event::Up { .. } => self.say(CoprocMsg::Status(Status::BrokerUp)),
            Event::Down(_) => {
                self.counters.reconnects = self.counters.reconnects.wrapping_add(1);
                self.say(CoprocMsg::Status(Status::BrokerDown));
            }
            Event::ConnectFailed(_) => {}
            Event::Message(m) => {
                let id = self.next_in;
                self.next_in = self.next_in.checked_add(1).unwrap_or(1);
                let msg = CoprocMsg::Message(proto::Publish {
                    id,
                    topic: m.topic,
                    payload: m.payload,
                    qos: m.qos,
                    retain: m.retain,
                });
                let mut buf = [0u8; P];
                match msg.encode(&mut buf) {
                    Ok(n) if self.framer.send(&buf[..n]).is_ok() => {
                        self.awaiting = Some(id);
                        self.copy[..n].copy_from_slice(&buf[..n]);
                        self.copy_len = n;
                        self.host_credit -= 1;
                        self.counters.messages_in = self.counters.messages_in.wrapping_add(1);
                    }
                    // Never deliverable to the host: acknowledged and counted.
                    _ => self.counters.too_large = self.counters.too_large.wrapping_add(1),
                }
            }
            Event::Chunk(_) => {}
            Event::Published(token) => {
                if let Some(i) = self.publishes.iter().position(|(t, _)| *t == token) {
                    let (_, id) = self.publishes.swap_remove(i);
                    self.counters.messages_out = self.counters.messages_out.wrapping_add(1);
                    self.say(CoprocMsg::Done {
                        id,
                        outcome: Outcome::Ok,
                    });
                }
            }
            Event::Subscribed { topic, qos } => {
                self.answered_subscribe(topic, Outcome::Granted(qos))
            }
            Event::SubscribeFailed { topic } => self.answered_subscribe(topic, Outcome::Refused),
            Event::Unsubscribed { topic } => self.unsubscribed(topic, Outcome::Ok),
            Event::Rejected(r) => match r {
                Rejected::Publish(token) => {
                    if let Some(i) = self.publishes.iter().position(|(t, _)| *t == token) {
                        let (_, id) = self.publishes.swap_remove(i);
                        self.say(CoprocMsg::Done {
                            id,
                            outcome: Outcome::Rejected,
                        });
                    }
                }
                Rejected::Subscribe(topic) => self.answered_subscribe(topic, Outcome::Rejected),
                // Given up: the host hears it (else its next unsubscribe
                // would wait for this one for ever).
                Rejected::Unsubscribe(topic) => self.unsubscribed(topic, Outcome::Rejected),
            },
        }
    }

    /// A new host (or a new conversation): credits start over, and a
    /// message it did not confirm goes to it again once it grants credit.
    fn host_restarted(&mut self) {
        self.host_credit = 0;
        self.granted = 0;
        self.resend = self.awaiting.is_some();
    }

    /// An unsubscription ended: the session let go of the filter (UNSUBACK,
    /// §3.11, or given up), and so does the host once told.
    fn unsubscribed(&mut self, topic: &str, outcome: Outcome) {
        if let Some(i) = self.unsubscribing.iter().position(|(f, _)| *f == topic) {
            let (_, id) = self.unsubscribing.swap_remove(i);
            self.filters.let_go(topic);
            self.say(CoprocMsg::Done { id, outcome });
        }
    }

    /// Only filters the host let go of fill the arena: the host is asked to
    /// reset the co-processor, which reclaims their room (see [`Filters`]).
    /// The request is not answered: the host sends it again after the
    /// reset, with the filters it holds, and they fit.
    fn reclaim(&mut self) -> Option<Outcome> {
        self.counters.arena_resets = self.counters.arena_resets.wrapping_add(1);
        self.say(CoprocMsg::Status(Status::Failed));
        None
    }

    fn answered_subscribe(&mut self, topic: &str, outcome: Outcome) {
        if let Some(i) = self.subscribing.iter().position(|(f, _)| *f == topic) {
            let (_, id) = self.subscribing.swap_remove(i);
            self.say(CoprocMsg::Done { id, outcome });
        }
    }
}

#[cfg(test)]
mod tests;
