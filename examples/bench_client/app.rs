//! The benchmark application of the limpet client: what to publish next,
//! what came back, its figures; and the loop's sleeps, counted.

use std::time::Instant as StdInstant;

use limpet::client::Client;
use limpet::session::{Event, RequestError, Token};
use limpet::time::Instant;
use limpet::wire::QoS;

use super::net::Net;
use super::{Args, Mode, IDLE_MS};

/// The loop's sleeps, counted.
#[derive(Default)]
pub struct Sleeps {
    pub sleeps: u64,
    /// Sleeps whose deadline was already due: the loop spun.
    pub zero: u64,
    /// Sleeps the socket ended (readable, or writable when waited for).
    pub wakeups: u64,
}

impl Sleeps {
    /// Sleeps until `client.next_deadline(now)`, or until the socket is
    /// readable, or writable if the client has bytes waiting for it.
    pub fn sleep<const N: usize>(
        &mut self,
        net: &impl Net,
        client: &Client<'_, N, 1>,
        now: Instant,
    ) {
        let ms = client
            .next_deadline(now)
            .map_or(IDLE_MS, |at| (at - now).ticks().min(IDLE_MS));
        self.sleeps += 1;
        self.zero += u64::from(ms == 0);
        if net.wait(ms as i32, client.wants_write()) {
            self.wakeups += 1;
        }
    }
}

/// The message in flight in `rtt` mode.
struct Trip {
    seq: u32,
    token: Token,
    sent_at: StdInstant,
    acked: bool,
    back: Option<StdInstant>,
}

/// The benchmark application: what to publish next and what came back.
pub struct App<'t> {
    mode: Mode,
    n: u64,
    topic: &'t str,
    payload: Vec<u8>,
    up: bool,
    subscribed: bool,
    published: u64,
    acked: u64,
    barrier: Option<Token>,
    trip: Option<Trip>,
    samples: Vec<f64>,
    started: Option<StdInstant>,
    finished: Option<StdInstant>,
}

impl<'t> App<'t> {
    pub fn new(args: &Args, topic: &'t str) -> Self {
        App {
            mode: args.mode,
            n: args.n,
            topic,
            payload: vec![b'x'; args.payload],
            up: false,
            subscribed: false,
            published: 0,
            acked: 0,
            barrier: None,
            trip: None,
            samples: Vec::with_capacity(if args.mode == Mode::Rtt {
                args.n as usize
            } else {
                0
            }),
            started: None,
            finished: None,
        }
    }

    pub fn finished(&self) -> bool {
        self.finished.is_some()
    }

    /// Publishes what the mode allows now; true if anything was queued.
    pub fn work<const N: usize>(&mut self, client: &mut Client<'_, N, 1>) -> Result<bool, String> {
        if !self.up || (self.mode == Mode::Rtt && !self.subscribed) {
            return Ok(false);
        }
        self.started.get_or_insert_with(StdInstant::now);
        let fail = |e: RequestError| format!("publish: {e:?}");
        let before = self.published;
        match self.mode {
            Mode::Qos0 => {
                while self.published < self.n {
                    match client.publish(self.topic, &self.payload, QoS::AtMostOnce, false) {
                        Ok(_) => self.published += 1,
                        // The transmit buffer is full: poll sends it.
                        Err(RequestError::WouldBlock) => return Ok(self.published > before),
                        Err(e) => return Err(fail(e)),
                    }
                }
                if self.barrier.is_none() {
                    self.barrier = client
                        .publish(self.topic, &self.payload, QoS::AtLeastOnce, false)
                        .map_err(fail)?;
                    return Ok(true);
                }
            }
            Mode::Qos1 { .. } => {
                while self.published < self.n {
                    match client.publish(self.topic, &self.payload, QoS::AtLeastOnce, false) {
                        Ok(_) => self.published += 1,
                        // The window is full: wait for a PUBACK.
                        Err(RequestError::Full) => break,
                        Err(e) => return Err(fail(e)),
                    }
                }
            }
            Mode::Rtt => {
                if self.trip.is_none() && self.published < self.n {
                    let seq = self.published as u32;
                    self.payload[..4].copy_from_slice(&seq.to_le_bytes());
                    let sent_at = StdInstant::now();
                    let token = client
                        .publish(self.topic, &self.payload, QoS::AtLeastOnce, false)
                        .map_err(fail)?
                        .ok_or("QoS 1 publish without a token")?;
                    self.published += 1;
                    self.trip = Some(Trip {
                        seq,
                        token,
                        sent_at,
                        acked: false,
                        back: None,
                    });
                }
            }
            // Not this application's: see `connects` in bench_client.rs.
            Mode::Connect => {}
        }
        Ok(self.published > before)
    }

    pub fn handle(&mut self, event: Event<'_>) -> Result<(), String> {
        match event {
            Event::Up { .. } => self.up = true,
            Event::Subscribed {
                qos: QoS::AtLeastOnce,
                ..
            } => self.subscribed = true,
            Event::Subscribed { qos, .. } => return Err(format!("subscription granted {qos:?}")),
            Event::SubscribeFailed { .. } => return Err("subscription refused".into()),
            Event::Down(r) => return Err(format!("connection lost: {r:?}")),
            Event::ConnectFailed(r) => return Err(format!("connection failed: {r:?}")),
            Event::Published(token) => match self.mode {
                Mode::Qos0 => {
                    if self.barrier == Some(token) {
                        self.finished = Some(StdInstant::now());
                    }
                }
                Mode::Qos1 { .. } => {
                    self.acked += 1;
                    if self.acked == self.n {
                        self.finished = Some(StdInstant::now());
                    }
                }
                Mode::Rtt => {
                    if let Some(t) = self.trip.as_mut().filter(|t| t.token == token) {
                        t.acked = true;
                    }
                    self.complete_trip();
                }
                Mode::Connect => {}
            },
            Event::Message(m) => {
                let at = StdInstant::now();
                let seq = m.payload.get(..4).and_then(|b| b.try_into().ok());
                if let Some(t) = self.trip.as_mut() {
                    if seq == Some(t.seq.to_le_bytes()) && t.back.is_none() {
                        t.back = Some(at);
                    }
                }
                self.complete_trip();
            }
            Event::Rejected(r) => return Err(format!("rejected by the broker: {r:?}")),
            Event::Unsubscribed { .. } | Event::Chunk(_) => {}
        }
        Ok(())
    }

    fn complete_trip(&mut self) {
        if let Some(Trip {
            acked: true,
            back: Some(back),
            sent_at,
            ..
        }) = self.trip
        {
            self.samples.push((back - sent_at).as_secs_f64());
            self.trip = None;
            if self.samples.len() as u64 == self.n {
                self.finished = Some(StdInstant::now());
            }
        }
    }

    /// The output line; `tls` is appended (" tls=... cipher=... group=..." or "").
    pub fn report(&mut self, sleeps: &Sleeps, tls: &str) {
        let seconds = match (self.started, self.finished) {
            (Some(s), Some(f)) => (f - s).as_secs_f64(),
            _ => 0.0,
        };
        let (mode, window) = match self.mode {
            Mode::Qos0 => ("qos0", 1),
            Mode::Qos1 { window } => ("qos1", window),
            Mode::Rtt => ("rtt", 1),
            Mode::Connect => ("connect", 1),
        };
        let mut line = format!(
            "client=limpet mode={mode} window={window} payload={} messages={} seconds={seconds:.6}",
            self.payload.len(),
            self.n
        );
        line.push_str(&format!(
            " sleeps={} zero_sleeps={} wakeups={}",
            sleeps.sleeps, sleeps.zero, sleeps.wakeups
        ));
        if self.mode == Mode::Rtt {
            self.samples.sort_by(f64::total_cmp);
            line.push_str(&format!(
                " p50_us={:.1} p99_us={:.1}",
                percentile(&self.samples, 50) * 1e6,
                percentile(&self.samples, 99) * 1e6
            ));
        }
        println!("{line}{tls}");
    }
}

/// Nearest rank: the smallest sample with at least p% of them at or below it.
pub fn percentile(sorted: &[f64], p: usize) -> f64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}
