//! MQTT 5.0 wire format (OASIS standard, 7 March 2019), beside 3.1.1:
//! bytes in, borrowed views out; typed packets in, bytes out.
//!
//! Only with the `mqtt5` feature: a firmware built without it links none of
//! this. The shape is 3.1.1's (see [`crate::wire`]): a frame is validated
//! once by [`Packet::decode`] (or [`Packet::decode_from_server`], a client's
//! receive path) and read freely afterwards; [`Packet::encode`] writes into
//! the caller's buffer, validating first. No byte sequence makes decoding
//! panic (`fuzz/fuzz_targets/decode_v5.rs`), and nothing allocates.
//!
//! What 5.0 adds, one concept per file:
//! - `property`: one property of §2.2.2.2 ([`Property`], [`PropertyId`]),
//!   its type and its range;
//! - `properties`: a property block ([`Properties`]): which properties a
//!   packet may carry ([`Carrier`]), which may repeat, validated once at
//!   the frame boundary; encoded with its Variable Byte Integer length,
//!   counted first;
//! - `reason`: the reason codes of §2.4 ([`ReasonCode`]) and which packet
//!   may carry which;
//! - `subscription`: the Subscription Options of §3.8.3.1
//!   ([`SubscriptionOptions`]) and a SUBSCRIBE's list ([`Subscriptions`]);
//! - `packet`, `decode`, `encode`: the fifteen packets, AUTH included;
//! - `error`: every refusal, one variant per rule ([`DecodeError`],
//!   [`PropertyError`]).
//!
//! What is shared with 3.1.1 is not written twice: the fixed header
//! ([`crate::wire::Frame`]; AUTH's type 15 is read through it, see
//! [`frame_len`]), the field reader and writer, the topic rules of
//! [`crate::wire::topic`], [`crate::wire::QoS`], UNSUBSCRIBE's filter list
//! ([`crate::wire::UnsubscribeTopics`]) and [`crate::wire::EncodeError`].
//!
//! Choices where the spec leaves room, each so that a packet's meaning
//! survives decoding and re-encoding:
//! - the short forms of acknowledgements, DISCONNECT and AUTH (reason code
//!   and property length left out, §3.4.2.1, §3.14.2.1) are all accepted,
//!   and encoding writes the shortest one, except that DISCONNECT and AUTH
//!   keep the property length after a reason code (some receivers need it);
//!   so a decoded long form may re-encode shorter, to a packet that decodes
//!   equal;
//! - AUTH is decoded and encoded (§3.15); whether a client answers it
//!   (enhanced authentication) is the session's business, not the codec's;
//! - rules that need the connection's state are the session's: a Topic
//!   Alias above the maximum the client announced [MQTT-3.3.2-9], a packet
//!   above the Maximum Packet Size [MQTT-3.1.2-24], a Subscription
//!   Identifier in a PUBLISH the client sends [MQTT-3.3.4-6], a Session
//!   Expiry Interval in DISCONNECT after 0 in CONNECT [MQTT-3.14.2-2];
//! - a Payload Format Indicator of 1 does not make the codec check the
//!   payload's UTF-8 (§3.3.2.3.2 lets a receiver check; the application can);
//! - Session Present with a failure reason code ([MQTT-3.2.2-6]) is
//!   accepted as sent, as the 3.1.1 codec does.

mod decode;
mod encode;
mod error;
mod packet;
mod properties;
mod property;
mod reason;
mod subscription;
#[cfg(test)]
mod tests;

pub use decode::{frame_len, publish_header};
pub use error::{DecodeError, PropertyError};
pub use packet::{
    Ack, Auth, ConnAck, Connect, Disconnect, Packet, Publish, SubAck, Subscribe, UnsubAck,
    Unsubscribe, Will,
};
pub use properties::{Carrier, Properties};
pub use property::{Property, PropertyId, MAX_SUBSCRIPTION_IDENTIFIER};
pub use reason::{ReasonCode, ReasonIn};
pub use subscription::{RetainHandling, SubscriptionOptions, Subscriptions};
