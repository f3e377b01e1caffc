//! The topic filters this client wants, and where each stands with the broker.
//!
//! The table is the source of truth: whenever the broker reports no session
//! (CONNACK session present = 0, §3.2.2.2) every filter is subscribed again,
//! so an application never has to notice that a broker restarted.
//! One filter per SUBSCRIBE / UNSUBSCRIBE keeps acknowledgement tracking exact.

use super::table::remove;
use super::Rejected;
use crate::time::{elapsed, later, Duration, Instant};
use crate::wire::QoS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// SUBSCRIBE to be sent.
    Subscribe,
    AwaitSubAck {
        pid: u16,
        sent_at: Instant,
    },
    Active,
    /// UNSUBSCRIBE to be sent; the entry goes when UNSUBACK arrives.
    Unsubscribe,
    AwaitUnsubAck {
        pid: u16,
        sent_at: Instant,
    },
}

/// MQTT 5.0: what a subscription asks beyond its QoS, kept with it and
/// sent again with every SUBSCRIBE for it.
#[cfg(feature = "mqtt5")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Extra {
    /// Bits 2 to 5 of the Subscription Options byte (§3.8.3.1): No Local,
    /// Retain As Published, Retain Handling (the QoS is `Entry::qos`).
    pub(crate) flags: u8,
    /// The Subscription Identifier (§3.8.2.1.2), 0 for none.
    pub(crate) id: u32,
}

#[derive(Clone, Copy, Debug)]
struct Entry<'a> {
    topic: &'a str,
    qos: QoS,
    /// MQTT 5.0: `Extra::flags` (in what was padding) and `Extra::id`.
    #[cfg(feature = "mqtt5")]
    flags: u8,
    #[cfg(feature = "mqtt5")]
    id: u32,
    state: State,
    /// Connections the broker closed while this request was the oldest one
    /// unanswered (see `Config::max_rejections`).
    rejections: u8,
}

/// A packet the table wants sent.
pub(crate) enum Request<'a> {
    Subscribe {
        index: usize,
        topic: &'a str,
        qos: QoS,
        #[cfg(feature = "mqtt5")]
        extra: Extra,
    },
    Unsubscribe {
        index: usize,
        topic: &'a str,
    },
}

/// Outcome of an acknowledgement.
pub(crate) enum Acked<'a> {
    Subscribed { topic: &'a str, qos: QoS },
    Failed { topic: &'a str },
    Unsubscribed { topic: &'a str },
}

/// Where a filter stood when the session was saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Saved {
    Active,
    Subscribe,
    Unsubscribe,
}

pub(crate) struct Subscriptions<'a, const S: usize> {
    entries: heapless::Vec<Entry<'a>, S>,
}

impl<'a, const S: usize> Subscriptions<'a, S> {
    pub(crate) const fn new() -> Self {
        Subscriptions {
            entries: heapless::Vec::new(),
        }
    }

    fn find(&self, topic: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.topic == topic)
    }

    /// Adds or updates a filter; it is (re)subscribed on the next send.
    /// `Err` when the table is full.
    pub(crate) fn subscribe(&mut self, topic: &'a str, qos: QoS) -> Result<(), ()> {
        self.put(Entry {
            topic,
            qos,
            #[cfg(feature = "mqtt5")]
            flags: 0,
            #[cfg(feature = "mqtt5")]
            id: 0,
            state: State::Subscribe,
            rejections: 0,
        })
    }

    /// MQTT 5.0: [`Self::subscribe`] with options and an identifier.
    #[cfg(feature = "mqtt5")]
    pub(crate) fn subscribe_with(
        &mut self,
        topic: &'a str,
        qos: QoS,
        extra: Extra,
    ) -> Result<(), ()> {
        self.put(Entry {
            topic,
            qos,
            flags: extra.flags,
            id: extra.id,
            state: State::Subscribe,
            rejections: 0,
        })
    }

    fn put(&mut self, entry: Entry<'a>) -> Result<(), ()> {
        let topic = entry.topic;
        match self.find(topic) {
            Some(i) => {
                self.entries[i] = entry;
                Ok(())
            }
            None => self.entries.push(entry).map_err(|_| ()),
        }
    }

    /// Marks a filter for UNSUBSCRIBE (adding it if unknown, since a persistent
    /// session may hold it from before power-up). `Err` when the table is full.
    pub(crate) fn unsubscribe(&mut self, topic: &'a str) -> Result<(), ()> {
        match self.find(topic) {
            Some(i) => {
                self.entries[i].state = State::Unsubscribe;
                Ok(())
            }
            None => self
                .entries
                .push(Entry {
                    topic,
                    qos: QoS::AtMostOnce,
                    #[cfg(feature = "mqtt5")]
                    flags: 0,
                    #[cfg(feature = "mqtt5")]
                    id: 0,
                    state: State::Unsubscribe,
                    rejections: 0,
                })
                .map_err(|_| ()),
        }
    }

    pub(crate) fn uses_pid(&self, pid: u16) -> bool {
        self.entries.iter().any(|e| {
            matches!(e.state, State::AwaitSubAck { pid: p, .. } | State::AwaitUnsubAck { pid: p, .. } if p == pid)
        })
    }

    /// The connection ended: requests in flight are sent again next time.
    pub(crate) fn connection_lost(&mut self) {
        for e in self.entries.iter_mut() {
            e.state = match e.state {
                State::AwaitSubAck { .. } => State::Subscribe,
                State::AwaitUnsubAck { .. } => State::Unsubscribe,
                s => s,
            };
        }
    }

    /// The broker has no session for us: subscribe everything again, and
    /// forget pending unsubscriptions (nothing is left to remove).
    pub(crate) fn session_lost(&mut self) {
        let mut i = 0;
        while let Some(e) = self.entries.get_mut(i) {
            if e.state == State::Unsubscribe {
                remove(&mut self.entries, i);
            } else {
                e.state = State::Subscribe;
                i += 1;
            }
        }
    }

    /// The next SUBSCRIBE or UNSUBSCRIBE to send, if any.
    pub(crate) fn next_request(&self) -> Option<Request<'a>> {
        self.entries
            .iter()
            .enumerate()
            .find_map(|(index, e)| match e.state {
                State::Subscribe => Some(Request::Subscribe {
                    index,
                    topic: e.topic,
                    qos: e.qos,
                    #[cfg(feature = "mqtt5")]
                    extra: Extra {
                        flags: e.flags,
                        id: e.id,
                    },
                }),
                State::Unsubscribe => Some(Request::Unsubscribe {
                    index,
                    topic: e.topic,
                }),
                _ => None,
            })
    }

    /// Records that the request for entry `index` went out with `pid`.
    pub(crate) fn sent(&mut self, index: usize, pid: u16, now: Instant) {
        if let Some(e) = self.entries.get_mut(index) {
            e.state = match e.state {
                State::Subscribe => State::AwaitSubAck { pid, sent_at: now },
                State::Unsubscribe => State::AwaitUnsubAck { pid, sent_at: now },
                s => s,
            };
        }
    }

    /// SUBACK with one return code (§3.9.3). `None` if no request has `pid`.
    pub(crate) fn suback(&mut self, pid: u16, code: u8) -> Option<Acked<'a>> {
        let i = self
            .entries
            .iter()
            .position(|e| matches!(e.state, State::AwaitSubAck { pid: p, .. } if p == pid))?;
        let topic = self.entries[i].topic;
        match QoS::from_bits(code) {
            Some(qos) => {
                self.entries[i].state = State::Active;
                self.entries[i].rejections = 0;
                Some(Acked::Subscribed { topic, qos })
            }
            None => {
                remove(&mut self.entries, i);
                Some(Acked::Failed { topic })
            }
        }
    }

    /// UNSUBACK (§3.11). `None` if no request has `pid`.
    pub(crate) fn unsuback(&mut self, pid: u16) -> Option<Acked<'a>> {
        let i = self
            .entries
            .iter()
            .position(|e| matches!(e.state, State::AwaitUnsubAck { pid: p, .. } if p == pid))?;
        let topic = remove(&mut self.entries, i)?.topic;
        Some(Acked::Unsubscribed { topic })
    }

    /// When the earliest outstanding SUBACK / UNSUBACK becomes overdue: no
    /// reply for `response_ms` and nothing at all received for as long
    /// (`last_rx`: any byte is a sign of life).
    pub(crate) fn deadline(&self, last_rx: Instant, response_ms: u32) -> Option<Instant> {
        let (_, sent_at) = self.oldest_sent()?;
        Some(later(sent_at, last_rx) + Duration::from_ticks(response_ms))
    }

    /// True if some SUBACK / UNSUBACK is overdue at `now` (see `deadline`).
    pub(crate) fn overdue(&self, now: Instant, last_rx: Instant, response_ms: u32) -> bool {
        self.oldest_sent()
            .is_some_and(|(_, at)| elapsed(later(at, last_rx), now) >= response_ms)
    }

    /// Filters in the table (requests or not).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The request sent earliest that still awaits its reply: its index and send time.
    pub(crate) fn oldest_sent(&self) -> Option<(usize, Instant)> {
        let mut oldest: Option<(usize, Instant)> = None;
        for (i, e) in self.entries.iter().enumerate() {
            if let State::AwaitSubAck { sent_at, .. } | State::AwaitUnsubAck { sent_at, .. } =
                e.state
            {
                if oldest.is_none_or(|(_, at)| sent_at < at) {
                    oldest = Some((i, sent_at));
                }
            }
        }
        oldest
    }

    /// A strike against request `index`: the broker closed the connection
    /// on it (see `caution`). Once that has happened `limit` times the
    /// request is dropped and returned, for the application to hear of it.
    pub(crate) fn rejected(&mut self, index: usize, limit: u8) -> Option<Rejected<'a>> {
        let e = self.entries.get_mut(index)?;
        e.rejections = e.rejections.saturating_add(1);
        if limit == 0 || e.rejections < limit {
            return None;
        }
        let given_up = match e.state {
            State::AwaitUnsubAck { .. } | State::Unsubscribe => Rejected::Unsubscribe(e.topic),
            _ => Rejected::Subscribe(e.topic),
        };
        remove(&mut self.entries, index);
        Some(given_up)
    }

    /// Every filter with where it stands, for saving the session.
    pub(crate) fn saved(&self) -> impl Iterator<Item = (&'a str, QoS, Saved)> + '_ {
        self.entries.iter().map(|e| {
            let saved = match e.state {
                State::Active => Saved::Active,
                State::Subscribe | State::AwaitSubAck { .. } => Saved::Subscribe,
                State::Unsubscribe | State::AwaitUnsubAck { .. } => Saved::Unsubscribe,
            };
            (e.topic, e.qos, saved)
        })
    }

    /// A filter of a saved session: if the application declared it again
    /// (`subscribe` after power-up) with the same QoS and the broker had
    /// confirmed it, it is active (not sent again). `matches` tells whether
    /// a declared filter is the saved one.
    pub(crate) fn restore(&mut self, qos: QoS, saved: Saved, matches: impl Fn(&str) -> bool) {
        for e in self.entries.iter_mut() {
            if e.state == State::Subscribe
                && e.qos == qos
                && saved == Saved::Active
                && matches(e.topic)
            {
                e.state = State::Active;
            }
        }
    }

    /// Filters the broker has confirmed.
    pub(crate) fn active(&self) -> impl Iterator<Item = (&'a str, QoS)> + '_ {
        self.entries
            .iter()
            .filter(|e| e.state == State::Active)
            .map(|e| (e.topic, e.qos))
    }
}
