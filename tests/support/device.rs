//! A limpet client on a real TCP socket, driven by the test's own superloop
//! with the wall clock, and its events copied out so tests can keep them.

use limpet::client::{Backoff, Client, Options};
use limpet::net::std_tcp::StdTcp;
use limpet::net::Transport;
use limpet::session::{Config, Event, Protocol, Reason, Rejected, Token};
use limpet::time::{Duration as Ms, Instant as Ms32};
use limpet::wire::QoS;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// An [`Event`] that owns its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Up {
        session_present: bool,
    },
    Down(Reason),
    ConnectFailed(Reason),
    Message {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
        dup: bool,
    },
    /// A piece of a large message (`Device::chunked`).
    Chunk {
        topic: String,
        offset: usize,
        total: usize,
        bytes: Vec<u8>,
        qos: QoS,
        dup: bool,
    },
    Published(Token),
    Subscribed(String, QoS),
    SubscribeFailed(String),
    Unsubscribed(String),
    RejectedPublish(Token),
    RejectedFilter(String),
}

impl Ev {
    pub fn own(e: &Event<'_>) -> Ev {
        match *e {
            Event::Up { session_present } => Ev::Up { session_present },
            Event::Down(r) => Ev::Down(r),
            Event::ConnectFailed(r) => Ev::ConnectFailed(r),
            Event::Message(m) => Ev::Message {
                topic: m.topic.to_string(),
                payload: m.payload.to_vec(),
                qos: m.qos,
                retain: m.retain,
                dup: m.dup,
            },
            Event::Chunk(c) => Ev::Chunk {
                topic: c.topic.to_string(),
                offset: c.offset,
                total: c.total,
                bytes: c.bytes.to_vec(),
                qos: c.qos,
                dup: c.dup,
            },
            Event::Published(t) => Ev::Published(t),
            Event::Subscribed { topic, qos } => Ev::Subscribed(topic.to_string(), qos),
            Event::SubscribeFailed { topic } => Ev::SubscribeFailed(topic.to_string()),
            Event::Unsubscribed { topic } => Ev::Unsubscribed(topic.to_string()),
            Event::Rejected(Rejected::Publish(t)) => Ev::RejectedPublish(t),
            Event::Rejected(Rejected::Subscribe(f) | Rejected::Unsubscribe(f)) => {
                Ev::RejectedFilter(f.to_string())
            }
        }
    }
}

/// Backoff for tests: 100 ms growing to 2 s, so outages heal quickly.
pub fn fast_backoff() -> Options {
    Options {
        backoff: Backoff::new(
            Ms::from_ticks(100),
            Ms::from_ticks(2_000),
            std::process::id(),
        ),
        connect_timeout: Ms::from_ticks(2_000),
        ..Options::default()
    }
}

/// Buffers live for the whole test process (leaked), like a firmware's statics.
fn buffer(len: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; len].into_boxed_slice())
}

/// `config`, speaking `protocol`: the scenarios that run in MQTT 3.1.1 and
/// in 5.0 (feature `mqtt5`) build their device from one configuration.
pub fn speaking(mut config: Config<'static>, protocol: Protocol) -> Config<'static> {
    config.protocol = protocol;
    config
}

/// The protocol's name, for messages and client ids.
pub fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::V311 => "3.1.1",
        #[cfg(feature = "mqtt5")]
        Protocol::V5 => "5.0",
    }
}

/// A `&'static str` for configuration and topics built at run time.
pub fn leak(s: impl Into<String>) -> &'static str {
    Box::leak(s.into().into_boxed_str())
}

/// The device's path to the broker: a real TCP socket behind a switch the
/// test can open and close, like a WiFi link that is up or down. While it is
/// closed every connection attempt fails as it would with no network.
pub struct Link {
    pub tcp: StdTcp,
    pub up: bool,
    /// When set, every byte each way and every connect/close, in order (see
    /// [`Link::packets`]).
    pub trace: Option<Vec<(char, Vec<u8>)>>,
    /// The client speaks MQTT 5.0: [`Link::packets`] decodes as 5.0.
    pub v5: bool,
}

impl Link {
    /// The traced traffic as one line per packet: `>` sent, `<` received,
    /// `+` connected, `x` closed.
    pub fn packets(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (mut tx, mut rx) = (Vec::new(), Vec::new());
        for (dir, bytes) in self.trace.iter().flatten() {
            let buf = match dir {
                '>' => &mut tx,
                '<' => &mut rx,
                _ => {
                    out.push(dir.to_string());
                    tx.clear();
                    rx.clear();
                    continue;
                }
            };
            buf.extend_from_slice(bytes);
            while let Ok(Some(f)) = limpet::wire::Frame::parse(buf) {
                if buf.len() < f.len() {
                    break;
                }
                let p: Vec<u8> = buf.drain(..f.len()).collect();
                #[cfg(feature = "mqtt5")]
                if self.v5 {
                    let line = match limpet::wire::v5::Packet::decode(&p) {
                        Ok(limpet::wire::v5::Packet::Publish(p)) => format!(
                            "PUBLISH q{} id {:?} dup {} {}",
                            p.qos as u8,
                            p.pid,
                            p.dup,
                            String::from_utf8_lossy(p.payload)
                        ),
                        Ok(p) => format!("{p:?}"),
                        Err(e) => format!("malformed {e:?}"),
                    };
                    out.push(format!("{dir} {line}"));
                    continue;
                }
                let line = match limpet::wire::Packet::decode(&p) {
                    Ok(limpet::wire::Packet::Publish(p)) => {
                        format!(
                            "PUBLISH q{} id {:?} dup {} {}",
                            p.qos as u8,
                            p.pid,
                            p.dup,
                            String::from_utf8_lossy(p.payload)
                        )
                    }
                    Ok(p) => format!("{p:?}"),
                    Err(e) => format!("malformed {e:?}"),
                };
                out.push(format!("{dir} {line}"));
            }
        }
        out
    }

    fn note(&mut self, dir: char, bytes: &[u8]) {
        if let Some(t) = &mut self.trace {
            t.push((dir, bytes.to_vec()));
        }
    }
}

impl Transport for Link {
    type Error = std::io::Error;

    fn connect(&mut self) -> nb::Result<(), std::io::Error> {
        if !self.up {
            return Err(nb::Error::Other(
                std::io::ErrorKind::NetworkUnreachable.into(),
            ));
        }
        let r = self.tcp.connect();
        if r.is_ok()
            && self
                .trace
                .as_ref()
                .is_some_and(|t| t.last().is_none_or(|(d, _)| *d != '+'))
        {
            self.note('+', &[]);
        }
        r
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, std::io::Error> {
        let r = self.tcp.send(data);
        if let Ok(n) = r {
            self.note('>', &data[..n]);
        }
        r
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, std::io::Error> {
        let r = self.tcp.recv(buf);
        if let Ok(n) = r {
            self.note('<', &buf[..n]);
        }
        r
    }

    fn close(&mut self) {
        if self
            .trace
            .as_ref()
            .is_some_and(|t| t.last().is_none_or(|(d, _)| *d != 'x'))
        {
            self.note('x', &[]);
        }
        self.tcp.close()
    }
}

pub struct Device {
    pub client: Client<'static, 4, 8>,
    pub tcp: Link,
    epoch: Instant,
    /// Every event seen so far, in order.
    pub log: Vec<Ev>,
    /// Events polled but not yet looked at by `run_until`.
    unseen: std::collections::VecDeque<Ev>,
    /// Poll with `poll_chunked` (large messages in pieces) instead of `poll`.
    pub chunked: bool,
}

impl Device {
    pub fn new(config: Config<'static>, broker: SocketAddr) -> Device {
        Device::with_buffers(config, broker, 1024, 1024, 4 * 256)
    }

    pub fn with_buffers(
        config: Config<'static>,
        broker: SocketAddr,
        rx: usize,
        tx: usize,
        store: usize,
    ) -> Device {
        Device::with_options(config, broker, rx, tx, store, fast_backoff())
    }

    pub fn with_options(
        config: Config<'static>,
        broker: SocketAddr,
        rx: usize,
        tx: usize,
        store: usize,
        options: Options,
    ) -> Device {
        let v5 = config.protocol != Protocol::V311;
        let client = Client::new(config, options, buffer(rx), buffer(tx), buffer(store))
            .expect("client config");
        Device {
            client,
            tcp: Link {
                tcp: StdTcp::new(broker).with_connect_timeout(Duration::from_millis(200)),
                up: true,
                trace: None,
                v5,
            },
            epoch: Instant::now(),
            log: Vec::new(),
            unseen: Default::default(),
            chunked: false,
        }
    }

    pub fn now(&self) -> Ms32 {
        Ms32::from_ticks(self.epoch.elapsed().as_millis() as u32)
    }

    /// Superloop passes until the client has nothing to do: each pass reads
    /// the clock and polls once.
    pub fn poll(&mut self) -> Vec<Ev> {
        let mut out = Vec::new();
        loop {
            let now = self.now();
            let event = if self.chunked {
                self.client.poll_chunked(now, &mut self.tcp)
            } else {
                self.client.poll(now, &mut self.tcp)
            };
            match event {
                Some(e) => out.push(Ev::own(&e)),
                None => break,
            }
        }
        self.log.extend(out.iter().cloned());
        self.unseen.extend(out.iter().cloned());
        out
    }

    /// Runs the superloop until an event satisfies `want` or `timeout` passes.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut want: impl FnMut(&Ev) -> bool,
    ) -> Option<Ev> {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(e) = self.unseen.pop_front() {
                if want(&e) {
                    return Some(e);
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.poll();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs the superloop for `d`, whatever happens.
    pub fn run_for(&mut self, d: Duration) -> Vec<Ev> {
        let deadline = Instant::now() + d;
        let mut all: Vec<Ev> = self.unseen.drain(..).collect();
        while Instant::now() < deadline {
            self.poll();
            all.extend(self.unseen.drain(..));
            std::thread::sleep(Duration::from_millis(1));
        }
        all
    }

    pub fn up(&mut self, timeout: Duration) -> bool {
        self.run_until(timeout, |e| matches!(e, Ev::Up { .. }))
            .is_some()
    }

    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Option<Token> {
        self.client
            .publish(topic, payload, qos, retain)
            .expect("publish accepted")
    }
}

impl Device {
    /// Breaks the TCP connection under the client, as a WiFi drop would.
    pub fn tcp_drop(&mut self) {
        self.tcp.close();
    }
}
