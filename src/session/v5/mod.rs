//! MQTT 5.0 in the session (feature `mqtt5`), beside 3.1.1 in the same
//! [`Session`]: a configuration with [`Protocol::V5`] sends and reads
//! [`crate::wire::v5`] packets, and the rules 5.0 adds live here, one
//! concept per file:
//! - `limits`: what the server allows ([`ServerLimits`], from its
//!   CONNACK) and the client id it assigned;
//! - `connect`: CONNECT with the session's properties, CONNACK with the
//!   server's, the Session Expiry Interval;
//! - `receive`: the acknowledgements' reason codes, PUBLISH with its
//!   properties, DISCONNECT from the server;
//! - `send`: PUBLISH, SUBSCRIBE and UNSUBSCRIBE in 5.0's encoding, what the
//!   server's limits refuse at the call, and the Receive Maximum window.
//!
//! What is shared with 3.1.1 is not written twice: the in-flight table,
//! subscriptions, keepalive, the acknowledgements owed (their short forms
//! are 3.1.1's bytes, §3.4.2.1) and DISCONNECT (a normal disconnection
//! without properties is 3.1.1's two bytes, §3.14.2.1) are the session's.
//!
//! On the way out, a PUBLISH may carry properties (`Session::publish_with`:
//! message expiry, payload format, content type, response topic and
//! correlation data, user properties) and a subscription its options
//! (no-local, retain-as-published, retain handling) and an identifier
//! (`Session::subscribe_with`); shared subscriptions are validated (`send`).
//!
//! Not in this slice: Topic Aliases (the client announces a maximum of 0,
//! so the server sends none; one that does breaks the protocol), will
//! properties, AUTH (enhanced authentication), a DISCONNECT with a reason
//! code from the client.
//!
//! [`Protocol::V5`]: super::Protocol::V5

mod connect;
mod limits;
mod receive;
mod send;

pub use limits::{ServerLimits, MAX_ASSIGNED_ID};
pub(crate) use send::encode_publish_with;
pub(super) use send::{check_properties, encode_publish};

use crate::wire::v5::ReasonCode;
use limits::AssignedId;

/// The session's MQTT 5.0 state (RAM only in a build with `mqtt5`).
pub(crate) struct V5 {
    /// What the server's last CONNACK allowed.
    limits: ServerLimits,
    /// The client id the server assigned to an empty one (saved with the
    /// session).
    pub(in crate::session) assigned: AssignedId,
    /// The reason code behind the last event (see `Session::reason_code`).
    reason: Option<ReasonCode>,
    /// The reason code the request being given up (`given_up`) was
    /// refused with; `None` when the broker closed on it instead.
    given_up_reason: Option<ReasonCode>,
    /// The Maximum Packet Size to announce: the receive buffer; 0 for
    /// none (a client that takes larger messages in pieces).
    max_incoming: u32,
}

impl V5 {
    pub(crate) const fn new() -> Self {
        V5 {
            limits: ServerLimits::DEFAULT,
            assigned: AssignedId::new(),
            reason: None,
            given_up_reason: None,
            max_incoming: 0,
        }
    }
}
