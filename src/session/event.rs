//! What the session tells the application.

use crate::wire::{ConnectReturnCode, DecodeError, QoS};

/// Identifies one QoS 1 publish from `publish()` until its [`Event::Published`].
/// It is the packet identifier, which stays the same across reconnections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token(pub u16);

/// A received application message, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: QoS,
    pub retain: bool,
    /// The broker may have delivered this message before (§3.3.1.1).
    pub dup: bool,
}

/// Why a connection (or an attempt at one) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// CONNACK return code 1–5 (§3.2.2.3).
    Refused(ConnectReturnCode),
    /// No CONNACK within `response_time`.
    ConnAckTimeout,
    /// No PINGRESP within `response_time`.
    PingTimeout,
    /// A QoS 1 message stayed unacknowledged after `max_repubs` republishes.
    PubAckTimeout,
    /// No SUBACK or UNSUBACK within `response_time`.
    SubAckTimeout,
    /// The broker sent bytes that are not valid MQTT.
    Malformed(DecodeError),
    /// The broker sent a valid packet at a time the protocol forbids it.
    Unexpected,
    /// The transport failed, was closed by the peer, or could not connect in time.
    Transport,
    /// Closed on purpose by `Client::disconnect`.
    Closed,
}

/// What `poll` returns. Drain them in a loop; nothing is delivered by callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The MQTT connection is established (CONNACK accepted).
    Up {
        session_present: bool,
    },
    /// An established connection ended; the client reconnects by itself,
    /// except after `Client::disconnect` (`Reason::Closed`).
    Down(Reason),
    /// A connection attempt failed before CONNACK was accepted; retried with backoff.
    ConnectFailed(Reason),
    Message(Message<'a>),
    /// The broker acknowledged a QoS 1 publish (PUBACK).
    Published(Token),
    /// SUBACK granted this QoS for the filter.
    Subscribed {
        topic: &'a str,
        qos: QoS,
    },
    /// SUBACK returned 0x80 for the filter; it is removed from the table.
    SubscribeFailed {
        topic: &'a str,
    },
    Unsubscribed {
        topic: &'a str,
    },
}

/// What one received packet amounts to, from [`crate::session::Session::handle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled<'a, 'p> {
    Nothing,
    /// An event about the session (never `Event::Message`).
    Event(Event<'a>),
    /// An application message, borrowed from the packet.
    Deliver(Message<'p>),
}
