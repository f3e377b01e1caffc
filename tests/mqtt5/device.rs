//! A limpet client speaking MQTT 5.0 on a real socket (the 3.1.1 suite's
//! `support::device::Device`, configured with `Protocol::V5`), polled by
//! the test's superloop, each event kept with the reason code behind it
//! (`Session::reason_code`, readable until the next poll) and, for a
//! message, its properties.

use crate::support::device::{fast_backoff, leak, Device, Ev};
use limpet::session::{Config, Event, Protocol};
use limpet::wire::v5::{Property, ReasonCode};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One event, owned, with what MQTT 5.0 adds to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Got {
    pub ev: Ev,
    pub reason: Option<ReasonCode>,
    /// A message's content type and user properties.
    pub content_type: Option<String>,
    pub user_properties: Vec<(String, String)>,
    /// A message's Response Topic, Correlation Data and Subscription
    /// Identifiers (request/response, §4.10; §3.3.2.3.8).
    pub response_topic: Option<String>,
    pub correlation: Option<Vec<u8>>,
    pub subscription_ids: Vec<u32>,
}

pub struct Dev5 {
    pub dev: Device,
    pub log: Vec<Got>,
    unseen: VecDeque<Got>,
}

/// A 5.0 configuration for client id `id`, keepalive 10 s.
pub fn config(id: &str) -> Config<'static> {
    let mut c = Config::new(leak(id));
    c.protocol = Protocol::V5;
    c.keepalive = 10;
    c
}

impl Dev5 {
    /// 1 KiB receive and transmit buffers, 4 messages of 256 bytes in flight.
    pub fn new(config: Config<'static>, broker: SocketAddr) -> Dev5 {
        Dev5 {
            dev: Device::with_options(config, broker, 1024, 1024, 4 * 256, fast_backoff()),
            log: Vec::new(),
            unseen: VecDeque::new(),
        }
    }

    /// Superloop passes until the client has nothing to do.
    pub fn poll(&mut self) {
        loop {
            let now = self.dev.now();
            let got = match self.dev.client.poll(now, &mut self.dev.tcp) {
                None => break,
                Some(e) => {
                    let (mut content_type, mut user_properties) = (None, Vec::new());
                    let (mut response_topic, mut correlation) = (None, None);
                    let mut subscription_ids = Vec::new();
                    if let Event::Message(m) = &e {
                        for p in m.properties.iter() {
                            match p {
                                Property::ContentType(t) => content_type = Some(t.to_owned()),
                                Property::UserProperty(k, v) => {
                                    user_properties.push((k.to_owned(), v.to_owned()))
                                }
                                Property::ResponseTopic(t) => response_topic = Some(t.to_owned()),
                                Property::CorrelationData(d) => correlation = Some(d.to_vec()),
                                Property::SubscriptionIdentifier(id) => subscription_ids.push(id),
                                _ => {}
                            }
                        }
                    }
                    Got {
                        ev: Ev::own(&e),
                        reason: None,
                        content_type,
                        user_properties,
                        response_topic,
                        correlation,
                        subscription_ids,
                    }
                }
            };
            let got = Got {
                reason: self.dev.client.session().reason_code(),
                ..got
            };
            self.log.push(got.clone());
            self.unseen.push_back(got);
        }
    }

    /// Runs until an event satisfies `want`, or `timeout`.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut want: impl FnMut(&Got) -> bool,
    ) -> Option<Got> {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(g) = self.unseen.pop_front() {
                if want(&g) {
                    return Some(g);
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.poll();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs for `d`, whatever happens.
    pub fn run_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            self.poll();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs until `Up`; its `Got`.
    pub fn up(&mut self, timeout: Duration) -> Option<Got> {
        self.run_until(timeout, |g| matches!(g.ev, Ev::Up { .. }))
    }
}
