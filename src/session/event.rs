//! What the session tells the application.

use crate::security::SecurityFailure;
#[cfg(feature = "mqtt5")]
use crate::wire::v5::{self, Properties, ReasonCode};
use crate::wire::{ConnectReturnCode, DecodeError, QoS};

/// Identifies one QoS 1 or QoS 2 publish from `publish()` until its
/// [`Event::Published`]. It is the packet identifier, which stays the same
/// across reconnections (and a saved and restored session).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token(pub u16);

/// A received application message, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The topic it was published to (§3.3.2.1).
    pub topic: &'a str,
    /// The application message (§3.3.3).
    pub payload: &'a [u8],
    /// The QoS it was delivered with: the lower of the publisher's and the
    /// subscription's (§3.8.4).
    pub qos: QoS,
    /// A retained message, sent because a subscription matched it (§3.3.1.3).
    pub retain: bool,
    /// The broker may have delivered this message before (§3.3.1.1).
    pub dup: bool,
    /// MQTT 5.0: the PUBLISH Properties (§3.3.2.3), validated: content
    /// type, user properties, response topic, correlation data, message
    /// expiry, subscription identifiers ([`Properties::get`],
    /// [`Properties::user_properties`]). Empty for a 3.1.1 session and for
    /// a message taken out of an [`crate::client::Inbox`].
    #[cfg(feature = "mqtt5")]
    pub properties: Properties<'a>,
}

/// A piece of a message too large for the receive buffer, handed over as it
/// arrives (opt-in: `Client::poll_chunked`). The pieces of one message
/// come in order, with nothing else between them; the message is
/// acknowledged after its last piece (`offset + bytes.len() == total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The topic the whole message was published to.
    pub topic: &'a str,
    /// Where `bytes` start in the payload.
    pub offset: usize,
    /// Length of the whole payload.
    pub total: usize,
    /// This piece of the payload.
    pub bytes: &'a [u8],
    /// The message's QoS (it is acknowledged after its last piece).
    pub qos: QoS,
    /// A retained message (§3.3.1.3).
    pub retain: bool,
    /// The broker may have delivered this message before (§3.3.1.1).
    pub dup: bool,
}

impl Chunk<'_> {
    /// True for the first piece of a message.
    pub fn is_first(&self) -> bool {
        self.offset == 0
    }

    /// True for the last piece of a message.
    pub fn is_last(&self) -> bool {
        self.offset + self.bytes.len() == self.total
    }
}

/// A request dropped because the broker closed the connection on it
/// `Config::max_rejections` times, each on evidence (see `Session::closed_by_peer`).
/// MQTT 5.0 also drops a publish the server answered with a failure reason
/// code (a PUBACK or PUBREC of 0x80 and above, §4.3), or one it could never
/// take (above its Maximum QoS, retained without Retain Available, larger
/// than its Maximum Packet Size): `Session::reason_code` says which code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected<'a> {
    /// The QoS 1/2 publish with this token; it is no longer in flight.
    Publish(Token),
    /// The subscription to this filter; it is out of the table.
    Subscribe(&'a str),
    /// The unsubscription from this filter; it is out of the table.
    Unsubscribe(&'a str),
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
    /// The oldest QoS 1/2 message stayed unanswered after `max_repubs`
    /// republishes, with nothing received meanwhile.
    PubAckTimeout,
    /// No SUBACK or UNSUBACK within `response_time`.
    SubAckTimeout,
    /// The broker sent bytes that are not valid MQTT.
    Malformed(DecodeError),
    /// The broker sent a valid packet at a time the protocol forbids it.
    Unexpected,
    /// The transport failed, was closed by the peer, or could not connect in time.
    Transport,
    /// A secure transport refused the server or ended the session: why
    /// (untrusted issuer, name mismatch, expired, an alert, ...). Followed by
    /// the usual backoff; never a fallback to plaintext.
    Security(SecurityFailure),
    /// The caller handed the session a packet while
    /// [`crate::session::Session::can_receive`] was false: no room for the
    /// acknowledgement it owes. Closed so the broker sends it again; the
    /// caller's mistake, not counted against the broker.
    AcksFull,
    /// Closed on purpose by `Client::disconnect`.
    Closed,
    /// Closed on purpose to have QoS 2 messages sent again: they arrived
    /// while all `R` places for exactly-once ids were taken, so they were
    /// left unacknowledged (the broker keeps them); once the places are
    /// free again the client reconnects and the broker sends them again
    /// (§4.4, persistent session). Size `R` to the broker's in-flight
    /// window (mosquitto: `max_inflight_messages`) to avoid it.
    ExactlyOnceFull,
    /// MQTT 5.0: the server's reason code (§2.4, 0x80 and above): in
    /// `ConnectFailed`, its CONNACK's refusal (§3.2.2.2); in `Down`, its
    /// DISCONNECT (§3.14.2.1). Some steer the reconnection (see
    /// `Client`): 0x8E Session taken over stops it (call
    /// `Client::connect` to try again: the client does not fight another
    /// connection for its client id); 0x89 Server busy, 0x97 Quota
    /// exceeded, 0x9F Connection rate exceeded, 0x9C Use another server and
    /// 0x9D Server moved wait the backoff's longest delay.
    #[cfg(feature = "mqtt5")]
    Server(ReasonCode),
    /// MQTT 5.0: the broker sent bytes that are not a valid MQTT 5.0
    /// packet (§4.13: a Malformed Packet or a Protocol Error).
    #[cfg(feature = "mqtt5")]
    MalformedV5(v5::DecodeError),
    /// MQTT 5.0: the broker broke a rule of this connection (§4.13); the
    /// reason code names it: 0x94 Topic Alias invalid (a PUBLISH with a
    /// Topic Alias, which this client never allows: it announces a Topic
    /// Alias Maximum of 0, §3.1.2.11.5, [MQTT-3.3.2-9]), 0x82 Protocol
    /// Error (AUTH, though the client asked for no enhanced authentication,
    /// §4.12).
    #[cfg(feature = "mqtt5")]
    Violation(ReasonCode),
}

/// What `poll` returns. Drain them in a loop; nothing is delivered by callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The MQTT connection is established (CONNACK accepted).
    Up {
        /// The broker kept this client's session (§3.2.2.2): subscriptions
        /// and messages in flight go on; false means everything was sent
        /// again (subscriptions are renewed by the client itself).
        session_present: bool,
    },
    /// An established connection ended; the client reconnects by itself,
    /// except after `Client::disconnect` (`Reason::Closed`) and, in MQTT
    /// 5.0, after the server said another connection took the session over
    /// (`Reason::Server` with 0x8E: call `Client::connect` to try again).
    Down(Reason),
    /// A connection attempt failed before CONNACK was accepted; retried with backoff.
    ConnectFailed(Reason),
    /// An application message; its acknowledgement goes out on the next
    /// poll, once the application has had it (§4.3.2, §4.3.3).
    Message(Message<'a>),
    /// A piece of a message larger than the receive buffer (`Client::poll_chunked`).
    Chunk(Chunk<'a>),
    /// The broker completed a publish: PUBACK (QoS 1) or PUBCOMP (QoS 2).
    Published(Token),
    /// SUBACK granted this QoS for the filter.
    Subscribed {
        /// The filter.
        topic: &'a str,
        /// The maximum QoS the broker granted (§3.9.3).
        qos: QoS,
    },
    /// SUBACK returned 0x80 for the filter (MQTT 5.0: a reason code of 0x80
    /// or above, `Session::reason_code`); it is removed from the table.
    SubscribeFailed {
        /// The filter.
        topic: &'a str,
    },
    /// UNSUBACK: the filter is out of the broker's session and the table.
    Unsubscribed {
        /// The filter.
        topic: &'a str,
    },
    /// A request was dropped: the broker closed the connection on it
    /// `Config::max_rejections` times, or (MQTT 5.0) refused it with a
    /// reason code (see [`Rejected`]).
    Rejected(Rejected<'a>),
}

/// What one received packet amounts to, from [`crate::session::Session::handle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled<'a, 'p> {
    /// Nothing for the application (an acknowledgement may be owed).
    Nothing,
    /// An event about the session (never `Event::Message`).
    Event(Event<'a>),
    /// An application message, borrowed from the packet.
    Deliver(Message<'p>),
}
