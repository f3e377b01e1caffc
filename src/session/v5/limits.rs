//! What an MQTT 5.0 server says it allows, in its CONNACK (§3.2.2.3), and
//! the client identifier it assigned.
//!
//! Only what the session uses is kept: each limit refuses a request at the
//! call ([`super::super::Session::publish`], `subscribe`) or shapes what is
//! sent. The server's Topic Alias Maximum (no aliases are sent yet),
//! Response Information, Server Reference (not followed: see the `Client`'s
//! steering), Reason String and User Properties are not kept.

use crate::wire::v5::{Properties, Property};
use crate::wire::QoS;

/// What the server's last CONNACK allowed (MQTT 5.0 §3.2.2.3), as the
/// session honours it. Before the first CONNACK, and for a property the
/// server left out, the spec's default: everything allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Receive Maximum (§3.2.2.3.3): QoS 1 and 2 messages the server
    /// takes in flight at once; the client never has more sent and
    /// unacknowledged ([MQTT-3.3.4-7]). 65,535 when absent.
    pub receive_maximum: u16,
    /// Maximum QoS (§3.2.2.3.4): a publish above it is refused at the
    /// call ([MQTT-3.2.2-11]). QoS 2 when absent.
    pub maximum_qos: QoS,
    /// Retain Available (§3.2.2.3.5): when false a retained publish is
    /// refused at the call ([MQTT-3.2.2-14]).
    pub retain_available: bool,
    /// Maximum Packet Size (§3.2.2.3.6), bytes: a publish whose packet
    /// would be larger is refused at the call with `TooLarge`
    /// ([MQTT-3.2.2-15]). `u32::MAX` when absent (no limit but the
    /// protocol's).
    pub maximum_packet_size: u32,
    /// Server Keep Alive (§3.2.2.3.14), seconds: the keep alive the client
    /// uses instead of its own ([MQTT-3.2.2-21]). `None` when absent.
    pub keep_alive: Option<u16>,
    /// Wildcard Subscription Available (§3.2.2.3.11): when false a filter
    /// with `+` or `#` is refused at the call.
    pub wildcard_available: bool,
    /// Shared Subscription Available (§3.2.2.3.13): when false a
    /// `$share/` filter is refused at the call.
    pub shared_available: bool,
    /// Subscription Identifiers Available (§3.2.2.3.12): when false a
    /// subscription with an identifier is refused at the call.
    pub subscription_ids_available: bool,
}

impl ServerLimits {
    /// Everything allowed: the value of every property left out.
    pub const DEFAULT: ServerLimits = ServerLimits {
        receive_maximum: u16::MAX,
        maximum_qos: QoS::ExactlyOnce,
        retain_available: true,
        maximum_packet_size: u32::MAX,
        keep_alive: None,
        wildcard_available: true,
        shared_available: true,
        subscription_ids_available: true,
    };

    /// The limits a CONNACK's properties set (validated by the codec:
    /// each at most once, in range).
    pub(crate) fn from_connack(properties: &Properties<'_>) -> Self {
        let mut limits = ServerLimits::DEFAULT;
        for p in properties.iter() {
            match p {
                Property::ReceiveMaximum(n) => limits.receive_maximum = n,
                // 0 or 1 (§3.2.2.3.4; the codec refuses other values).
                Property::MaximumQoS(0) => limits.maximum_qos = QoS::AtMostOnce,
                Property::MaximumQoS(_) => limits.maximum_qos = QoS::AtLeastOnce,
                Property::RetainAvailable(a) => limits.retain_available = a == 1,
                Property::MaximumPacketSize(n) => limits.maximum_packet_size = n,
                Property::ServerKeepAlive(s) => limits.keep_alive = Some(s),
                Property::WildcardSubscriptionAvailable(a) => limits.wildcard_available = a == 1,
                Property::SharedSubscriptionAvailable(a) => limits.shared_available = a == 1,
                Property::SubscriptionIdentifiersAvailable(a) => {
                    limits.subscription_ids_available = a == 1
                }
                _ => {}
            }
        }
        limits
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits::DEFAULT
    }
}

/// Longest Assigned Client Identifier kept, in bytes. Servers assign ids
/// of about 20 to 40 bytes (mosquitto 2.0: `auto-` and a UUID, 41).
pub const MAX_ASSIGNED_ID: usize = 64;

/// The Assigned Client Identifier (§3.2.2.3.7) of a client that connected
/// with an empty id, kept for the session's next connections.
pub(crate) struct AssignedId {
    bytes: [u8; MAX_ASSIGNED_ID],
    len: u8,
}

impl AssignedId {
    pub(crate) const fn new() -> Self {
        AssignedId {
            bytes: [0; MAX_ASSIGNED_ID],
            len: 0,
        }
    }

    /// The id, empty if none is kept.
    pub(crate) fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        // Copied from a `&str`, so always valid.
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// Keeps `id`; false (and nothing kept) if it is longer than
    /// [`MAX_ASSIGNED_ID`].
    pub(crate) fn set(&mut self, id: &str) -> bool {
        match self.bytes.get_mut(..id.len()) {
            Some(dst) => {
                dst.copy_from_slice(id.as_bytes());
                self.len = id.len() as u8;
                true
            }
            None => {
                self.len = 0;
                false
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}
