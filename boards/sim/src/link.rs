//! The virtual link: two bounded frame queues joining two endpoints, each a
//! [`smoltcp::phy::Device`], with deterministic faults.
//!
//! ```text
//!   device's Interface ── Endpoint(Side::Device) ══ Up ══▶ Endpoint(Side::Gateway) ── gateway
//!                                                ◀══ Down ══
//! ```
//!
//! - Medium and MTU are parameters ([`LinkConfig::ethernet`]: Ethernet,
//!   1514-byte frames; [`LinkConfig::ip`]: bare IP, 1500, for a SLIP-style
//!   modem later).
//! - Faults per direction ([`Faults`]): latency, seeded loss, corruption (one
//!   byte flipped inside the IPv4 packet, so the receiver's IPv4/TCP/UDP
//!   checksums drop it), a half-open stall (frames silently dropped while both
//!   sides believe the link is up), a bandwidth limit (frames are serialised
//!   one after another and wait their turn).
//! - Link-wide gates: an outage ([`Link::set_up`]) and the radio's
//!   association ([`Link::set_attached`]); while either is closed nothing
//!   passes and frames in flight are lost. [`Endpoint::carrier`] reports
//!   them, a stall is invisible to it.
//! - Every direction holds at most [`LinkConfig::queue_frames`] frames
//!   (waiting for the bandwidth limit or for their latency); beyond that a
//!   frame is dropped and counted. Nothing grows without bound.
//! - Counting ([`Counters`]) happens at the boundary, outside the faults:
//!   `sent` is what the sender handed over, `delivered` what the receiver got,
//!   and every frame in between is either still queued or in exactly one
//!   drop cause, so `sent == delivered + dropped + queued` always holds.
//!
//! Determinism: each direction has its own PRNG (SplitMix64) seeded from
//! [`LinkConfig::seed`], drawing the same number of values for every frame,
//! so a direction's fault pattern depends only on the seed and on how many
//! frames crossed it, not on the other direction's traffic. Frames are never
//! reordered or duplicated.
//!
//! Time: the link uses [`smoltcp::time::Instant`], the one the interfaces
//! hand to `Device::receive`/`transmit`. A frame sent at `t` is delivered to a
//! `receive(now)` with `now >= t + latency` (plus its serialisation time under
//! a bandwidth limit). [`to_smoltcp`] and [`to_limpet`] are the one place
//! where limpet's millisecond clock and smoltcp's are converted.
//!
//! Endpoints and the [`Link`] control handle share one `Arc<Mutex<_>>`, so
//! they can be owned by different parts of a simulation (and are `Send`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::{Duration, Instant};

/// limpet's clock (u32 milliseconds) to smoltcp's (i64 microseconds).
///
/// limpet's instants wrap after 49.7 days; a simulation that long would need
/// to carry the wraps itself. This and [`to_limpet`] are the only conversions.
pub fn to_smoltcp(t: limpet::time::Instant) -> Instant {
    Instant::from_millis(i64::from(t.ticks()))
}

/// smoltcp's clock to limpet's (milliseconds, truncated, wrapping at 2^32 ms).
pub fn to_limpet(t: Instant) -> limpet::time::Instant {
    limpet::time::Instant::from_ticks(t.total_millis() as u32)
}

/// The two ends of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The device's end: transmits [`Dir::Up`], receives [`Dir::Down`].
    Device,
    /// The network's end (the gateway): transmits [`Dir::Down`], receives [`Dir::Up`].
    Gateway,
}

impl Side {
    /// The direction this side transmits on.
    pub fn tx(self) -> Dir {
        match self {
            Side::Device => Dir::Up,
            Side::Gateway => Dir::Down,
        }
    }

    /// The direction this side receives from.
    pub fn rx(self) -> Dir {
        match self {
            Side::Device => Dir::Down,
            Side::Gateway => Dir::Up,
        }
    }
}

/// A direction of travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Device → gateway.
    Up,
    /// Gateway → device.
    Down,
}

impl Dir {
    /// Both directions, `Up` first.
    pub const BOTH: [Dir; 2] = [Dir::Up, Dir::Down];

    fn index(self) -> usize {
        match self {
            Dir::Up => 0,
            Dir::Down => 1,
        }
    }
}

/// How a link is built.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// `Medium::Ethernet` (frames start with a 14-byte Ethernet header) or
    /// `Medium::Ip` (frames are bare IP packets).
    pub medium: Medium,
    /// Largest frame either side may send (`max_transmission_unit`: for
    /// Ethernet it includes the 14-byte header, so 1514 is a 1500-byte IP MTU).
    pub mtu: usize,
    /// Seed of both directions' PRNGs.
    pub seed: u64,
    /// Most frames one direction holds at once (waiting for bandwidth or in
    /// flight); a frame sent beyond that is dropped ([`Drops::queue_full`]).
    pub queue_frames: usize,
}

impl LinkConfig {
    /// Ethernet, MTU 1514, 64 frames per direction.
    pub fn ethernet(seed: u64) -> LinkConfig {
        LinkConfig {
            medium: Medium::Ethernet,
            mtu: 1514,
            seed,
            queue_frames: 64,
        }
    }

    /// Bare IP (`Medium::Ip`, e.g. behind SLIP), MTU 1500, 64 frames per direction.
    pub fn ip(seed: u64) -> LinkConfig {
        LinkConfig {
            medium: Medium::Ip,
            mtu: 1500,
            seed,
            queue_frames: 64,
        }
    }
}

/// Faults of one direction. The default passes every frame at once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Time from the end of a frame's transmission to its delivery.
    pub latency: Duration,
    /// Probability (0..=1) that a frame is lost.
    pub loss: f64,
    /// Probability (0..=1) that one byte of a frame is flipped. Only IPv4
    /// bytes are flipped (after the Ethernet header), where the receiver's
    /// checksums catch any single-byte change; a non-IPv4 frame chosen for
    /// corruption (ARP has no checksum) is dropped as a NIC's frame check
    /// sequence would ([`Drops::fcs`]).
    pub corrupt: f64,
    /// Half-open: every frame is silently dropped while the link still looks
    /// up to both sides ([`Endpoint::carrier`] stays true).
    pub stalled: bool,
    /// Bytes per second; frames are serialised one after another, each
    /// waiting for the ones before it. `None`: unlimited.
    pub bandwidth: Option<u64>,
}

/// Frames dropped in one direction, by cause. Each dropped frame is in
/// exactly one field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    /// Lost to [`Faults::loss`].
    pub loss: u64,
    /// Chosen for corruption but carrying no checksum that would catch it.
    pub fcs: u64,
    /// Sent or still queued while the link was down ([`Link::set_up`]).
    pub down: u64,
    /// Sent or still queued while detached ([`Link::set_attached`]).
    pub detached: u64,
    /// Sent or still queued while the direction was stalled.
    pub stalled: u64,
    /// Sent while the direction already held [`LinkConfig::queue_frames`].
    pub queue_full: u64,
    /// Longer than [`LinkConfig::mtu`].
    pub oversize: u64,
}

impl Drops {
    /// All drops together.
    pub fn total(&self) -> u64 {
        self.loss
            + self.fcs
            + self.down
            + self.detached
            + self.stalled
            + self.queue_full
            + self.oversize
    }
}

/// What crossed one direction of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames handed to the link by the sender.
    pub sent_frames: u64,
    /// Their bytes.
    pub sent_bytes: u64,
    /// Frames handed to the receiver (corrupted ones included).
    pub delivered_frames: u64,
    /// Their bytes.
    pub delivered_bytes: u64,
    /// Delivered frames that had a byte flipped (the receiver drops them).
    pub corrupted: u64,
    /// Frames that never arrived, by cause.
    pub dropped: Drops,
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, good enough for faults.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

struct Frame {
    deliver_at: Instant,
    data: Vec<u8>,
}

/// One direction.
struct Lane {
    faults: Faults,
    rng: Rng,
    queue: VecDeque<Frame>,
    /// When the last queued frame finishes serialising (bandwidth limit).
    busy_until: Instant,
    counters: Counters,
}

impl Lane {
    fn new(seed: u64) -> Lane {
        Lane {
            faults: Faults::default(),
            rng: Rng(seed),
            queue: VecDeque::new(),
            busy_until: Instant::ZERO,
            counters: Counters::default(),
        }
    }

    /// Drops everything queued, counting it under `cause`.
    fn flush(&mut self, cause: fn(&mut Drops) -> &mut u64) {
        let n = self.queue.len() as u64;
        *cause(&mut self.counters.dropped) += n;
        self.queue.clear();
        self.busy_until = Instant::ZERO;
    }
}

struct State {
    medium: Medium,
    mtu: usize,
    queue_frames: usize,
    up: bool,
    attached: bool,
    lanes: [Lane; 2],
}

impl State {
    /// Why nothing may pass in `dir` now, if so: the drop counter to charge.
    fn gate(&self, dir: Dir) -> Option<fn(&mut Drops) -> &mut u64> {
        if !self.up {
            Some(|d| &mut d.down)
        } else if !self.attached {
            Some(|d| &mut d.detached)
        } else if self.lanes[dir.index()].faults.stalled {
            Some(|d| &mut d.stalled)
        } else {
            None
        }
    }

    /// Frames in flight in a direction that just closed are lost at once
    /// (not only when the receiver next looks), so a short outage between
    /// two polls still loses them.
    fn close_gates(&mut self) {
        for dir in Dir::BOTH {
            if let Some(cause) = self.gate(dir) {
                self.lanes[dir.index()].flush(cause);
            }
        }
    }

    fn enqueue(&mut self, dir: Dir, now: Instant, mut data: Vec<u8>) {
        let gate = self.gate(dir);
        let (medium, mtu, bound) = (self.medium, self.mtu, self.queue_frames);
        let lane = &mut self.lanes[dir.index()];
        lane.counters.sent_frames += 1;
        lane.counters.sent_bytes += data.len() as u64;
        // The same three draws for every frame, whatever the faults.
        let loss_draw = lane.rng.next_f64();
        let corrupt_draw = lane.rng.next_f64();
        let where_draw = lane.rng.next_u64();
        let drops = &mut lane.counters.dropped;
        if let Some(cause) = gate {
            *cause(drops) += 1;
            return;
        }
        if data.len() > mtu {
            drops.oversize += 1;
            return;
        }
        if loss_draw < lane.faults.loss {
            drops.loss += 1;
            return;
        }
        if lane.queue.len() >= bound {
            drops.queue_full += 1;
            return;
        }
        if corrupt_draw < lane.faults.corrupt {
            match corruptible(medium, &data) {
                Some(range) if !range.is_empty() => {
                    let at = range.start + (where_draw % range.len() as u64) as usize;
                    let mask = ((where_draw >> 32) % 255 + 1) as u8;
                    data[at] ^= mask;
                    lane.counters.corrupted += 1;
                }
                _ => {
                    drops.fcs += 1;
                    return;
                }
            }
        }
        let start = if lane.busy_until > now {
            lane.busy_until
        } else {
            now
        };
        let serialise = match lane.faults.bandwidth {
            Some(bps) if bps > 0 => {
                Duration::from_micros((data.len() as u64 * 1_000_000).div_ceil(bps))
            }
            _ => Duration::ZERO,
        };
        lane.busy_until = start + serialise;
        lane.queue.push_back(Frame {
            deliver_at: lane.busy_until + lane.faults.latency,
            data,
        });
    }

    fn dequeue(&mut self, dir: Dir, now: Instant) -> Option<Vec<u8>> {
        if let Some(cause) = self.gate(dir) {
            self.lanes[dir.index()].flush(cause);
            return None;
        }
        let lane = &mut self.lanes[dir.index()];
        if lane.queue.front()?.deliver_at > now {
            return None;
        }
        let frame = lane.queue.pop_front()?;
        lane.counters.delivered_frames += 1;
        lane.counters.delivered_bytes += frame.data.len() as u64;
        Some(frame.data)
    }
}

/// The bytes of a frame a corruption may flip: those of an IPv4 packet.
fn corruptible(medium: Medium, frame: &[u8]) -> Option<std::ops::Range<usize>> {
    match medium {
        Medium::Ethernet => {
            (frame.len() > 14 && frame[12..14] == [0x08, 0x00]).then_some(14..frame.len())
        }
        Medium::Ip => (frame.first()? >> 4 == 4).then_some(0..frame.len()),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// A link's control handle (cheap to clone): faults, gates, counters.
#[derive(Clone)]
pub struct Link {
    state: Arc<Mutex<State>>,
}

impl Link {
    /// A link that is up and attached, with no faults.
    pub fn new(config: LinkConfig) -> Link {
        let seed = config.seed;
        Link {
            state: Arc::new(Mutex::new(State {
                medium: config.medium,
                mtu: config.mtu,
                queue_frames: config.queue_frames,
                up: true,
                attached: true,
                lanes: [
                    Lane::new(seed ^ 0x5550_0000_0000_0001),
                    Lane::new(seed ^ 0x444F_0000_0000_0002),
                ],
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An endpoint for one side (a `smoltcp::phy::Device`). Several
    /// endpoints for the same side share its queues.
    pub fn endpoint(&self, side: Side) -> Endpoint {
        Endpoint {
            link: self.clone(),
            side,
        }
    }

    /// The medium both endpoints report.
    pub fn medium(&self) -> Medium {
        self.lock().medium
    }

    /// The current faults of `dir`.
    pub fn faults(&self, dir: Dir) -> Faults {
        self.lock().lanes[dir.index()].faults.clone()
    }

    /// Replaces the faults of `dir`. Frames already queued keep their
    /// delivery time.
    pub fn set_faults(&self, dir: Dir, faults: Faults) {
        let mut s = self.lock();
        s.lanes[dir.index()].faults = faults;
        s.close_gates();
    }

    /// Changes the faults of `dir` in place, e.g.
    /// `link.update(Dir::Up, |f| f.loss = 0.2)`.
    pub fn update(&self, dir: Dir, change: impl FnOnce(&mut Faults)) {
        let mut s = self.lock();
        change(&mut s.lanes[dir.index()].faults);
        s.close_gates();
    }

    /// Sets the latency of both directions.
    pub fn set_latency(&self, latency: Duration) {
        for dir in Dir::BOTH {
            self.update(dir, |f| f.latency = latency);
        }
    }

    /// Half-open stall of both directions (see [`Faults::stalled`]).
    pub fn set_stalled(&self, stalled: bool) {
        for dir in Dir::BOTH {
            self.update(dir, |f| f.stalled = stalled);
        }
    }

    /// An outage: `false` takes the link down (nothing passes, frames in
    /// flight are lost, [`Endpoint::carrier`] is false); `true` brings it back.
    pub fn set_up(&self, up: bool) {
        let mut s = self.lock();
        s.up = up;
        s.close_gates();
    }

    /// True unless in an outage.
    pub fn is_up(&self) -> bool {
        self.lock().up
    }

    /// The radio's gate: `false` while the device is not associated (nothing
    /// passes, frames in flight are lost, [`Endpoint::carrier`] is false).
    pub fn set_attached(&self, attached: bool) {
        let mut s = self.lock();
        s.attached = attached;
        s.close_gates();
    }

    /// True while associated (see [`Link::set_attached`]).
    pub fn is_attached(&self) -> bool {
        self.lock().attached
    }

    /// What crossed `dir` so far.
    pub fn counters(&self, dir: Dir) -> Counters {
        self.lock().lanes[dir.index()].counters
    }

    /// Frames queued in `dir` (waiting or in flight).
    pub fn queued(&self, dir: Dir) -> usize {
        self.lock().lanes[dir.index()].queue.len()
    }

    /// When the next frame queued in `dir` becomes deliverable.
    pub fn next_delivery(&self, dir: Dir) -> Option<Instant> {
        self.lock().lanes[dir.index()]
            .queue
            .front()
            .map(|f| f.deliver_at)
    }
}

/// One end of a [`Link`]: a `smoltcp::phy::Device` for an `Interface`.
#[derive(Clone)]
pub struct Endpoint {
    link: Link,
    side: Side,
}

impl Endpoint {
    /// Which end this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The link's control handle.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// What a driver would report as link state: up and attached. A stall
    /// does not show here (that is what makes it half-open).
    pub fn carrier(&self) -> bool {
        let s = self.link.lock();
        s.up && s.attached
    }

    /// When the next frame for this end becomes deliverable (to merge with
    /// the interface's `poll_at`: smoltcp does not know about frames still
    /// in the link).
    pub fn next_rx_at(&self) -> Option<Instant> {
        self.link.next_delivery(self.side.rx())
    }
}

/// A received frame.
pub struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(&self.0)
    }
}

/// Room for one frame to send.
pub struct TxToken {
    link: Link,
    dir: Dir,
    now: Instant,
}

impl phy::TxToken for TxToken {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut data = vec![0; len];
        let r = f(&mut data);
        self.link.lock().enqueue(self.dir, self.now, data);
        r
    }
}

impl Device for Endpoint {
    type RxToken<'a>
        = RxToken
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(RxToken, TxToken)> {
        let frame = self.link.lock().dequeue(self.side.rx(), timestamp)?;
        Some((RxToken(frame), self.transmit(timestamp)?))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<TxToken> {
        Some(TxToken {
            link: self.link.clone(),
            dir: self.side.tx(),
            now: timestamp,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let s = self.link.lock();
        let mut caps = DeviceCapabilities::default();
        caps.medium = s.medium;
        caps.max_transmission_unit = s.mtu;
        caps
    }
}

#[cfg(test)]
mod tests;
