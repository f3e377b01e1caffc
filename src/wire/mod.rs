//! MQTT 3.1.1 wire format: bytes in, borrowed views out; typed packets in, bytes out.
//!
//! Receiving is two steps, as in smoltcp's `wire` module. [`Frame::parse`] reads
//! the fixed header (MQTT 3.1.1 §2.2) and says how long the whole packet is, so
//! a caller can wait for more bytes or skip a packet larger than its buffer
//! without reading it. [`Packet::decode`] then validates one complete frame
//! once and returns a [`Packet`] whose fields borrow the receive buffer; after
//! that, reading a field cannot fail or panic. No byte sequence can make
//! either step panic (see `fuzz/`).
//!
//! Sending: [`Packet::encode`] writes into a caller buffer and returns
//! [`EncodeError::BufferTooSmall`] rather than panicking when it does not fit.
//!
//! MQTT 5.0 is `v5` (feature `mqtt5`), built on the same frame, reader,
//! writer and topic rules.
//!
//! Nothing here knows about sockets, time or sessions.

mod error;
mod frame;
mod packet;
pub(crate) mod reader;
pub mod topic;
// MQTT 5.0 (feature `mqtt5`): properties, reason codes, subscription
// options, the fifteen packets; a 3.1.1-only build links none of it.
#[cfg(feature = "mqtt5")]
pub mod v5;
pub(crate) mod writer;

pub use error::{DecodeError, EncodeError};
pub use frame::{Frame, PacketType, MAX_REMAINING_LENGTH};
pub use packet::{
    encode_short, ConnAck, Connect, ConnectReturnCode, Packet, Publish, PublishHeader, SubAck,
    Subscribe, SubscribeTopics, Unsubscribe, UnsubscribeTopics, Will,
};

/// Quality of service of a PUBLISH (MQTT 3.1.1 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum QoS {
    /// QoS 0: sent once, never acknowledged (§4.3.1).
    AtMostOnce = 0,
    /// QoS 1: resent until a PUBACK comes (§4.3.2).
    AtLeastOnce = 1,
    /// QoS 2: PUBREC, PUBREL, PUBCOMP make it exactly once (§4.3.3).
    ExactlyOnce = 2,
}

impl QoS {
    /// The two QoS bits as they appear on the wire; 3 is malformed (§3.3.1.2).
    pub fn from_bits(bits: u8) -> Option<QoS> {
        match bits {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}
