//! CONNECT and CONNACK in MQTT 5.0 (§3.1, §3.2): the session's properties
//! out, the server's limits and assigned client id in.
//!
//! What the CONNECT announces, and why:
//! - Session Expiry Interval (§3.1.2.11.2): `Config::session_expiry` when
//!   the session persists (`clean` false), else left out (0: the session
//!   ends with the connection, as a 3.1.1 clean session does);
//! - Receive Maximum (§3.1.2.11.3): `R`, the incoming QoS 2 messages the
//!   client can hold until their PUBREL, so a server that honours it never
//!   overflows the exactly-once table. Left out when `R = 0` (no QoS 2:
//!   incoming QoS 1 needs no state, and 0 would be a Protocol Error);
//! - Maximum Packet Size (§3.1.2.11.4): the receive buffer, so the server
//!   never sends a packet the client would have to skip
//!   ([MQTT-3.1.2-24]); left out by a client that takes large messages in
//!   pieces (`Client::poll_chunked`);
//! - Topic Alias Maximum (§3.1.2.11.5): left out, which means 0: the
//!   server may not use aliases.

use super::super::{Reason, Session};
use crate::session::{Handled, Instant};
use crate::wire::v5::{ConnAck, Connect, Properties, Property, PropertyId, Will};
use crate::wire::EncodeError;

impl<'a, const N: usize, const S: usize, const R: usize> Session<'a, N, S, R> {
    /// The Session Expiry Interval this session asks for (§3.1.2.11.2):
    /// 0 when it ends with its connection (`clean`).
    pub(in crate::session) fn session_expiry(&self) -> u32 {
        if self.config.clean {
            0
        } else {
            self.config.session_expiry
        }
    }

    /// The client id of the next CONNECT: the configured one, or the one
    /// the server assigned to an empty one (§3.1.3.1, §3.2.2.3.7).
    fn client_id_v5(&self) -> &str {
        if self.config.client_id.is_empty() {
            self.v5.assigned.as_str()
        } else {
            self.config.client_id
        }
    }

    /// Calls `f` with the CONNECT this session sends next.
    pub(in crate::session) fn with_connect_v5<T>(&self, f: impl FnOnce(&Connect<'_>) -> T) -> T {
        let mut props = [Property::ReceiveMaximum(1); 3];
        let mut n = 0;
        let mut add = |p| {
            if let Some(slot) = props.get_mut(n) {
                *slot = p;
                n += 1;
            }
        };
        let expiry = self.session_expiry();
        if expiry > 0 {
            add(Property::SessionExpiryInterval(expiry));
        }
        if R > 0 {
            add(Property::ReceiveMaximum(R.min(usize::from(u16::MAX)) as u16));
        }
        if self.v5.max_incoming > 0 {
            add(Property::MaximumPacketSize(self.v5.max_incoming));
        }
        let will = self.config.will.map(|w| Will {
            properties: Properties::NONE,
            topic: w.topic,
            payload: w.payload,
            qos: w.qos,
            retain: w.retain,
        });
        let connect = Connect {
            client_id: self.client_id_v5(),
            keep_alive: self.config.keepalive,
            clean_start: self.next_clean(),
            properties: Properties::new(props.get(..n).unwrap_or(&[])),
            will,
            username: self.config.username,
            password: self.config.password,
        };
        f(&connect)
    }

    /// Bytes of the next CONNECT.
    pub(in crate::session) fn connect_len_v5(&self) -> Result<usize, EncodeError> {
        self.with_connect_v5(|c| c.encoded_len())
    }

    /// True if the next CONNECT fits the transmit buffer.
    pub(crate) fn connect_fits(&self) -> bool {
        self.connect_len_v5()
            .is_ok_and(|len| len <= self.max_packet)
            || !self.config.is_v5()
    }

    /// The largest packet this client accepts (its receive buffer), to
    /// announce as Maximum Packet Size (§3.1.2.11.4); 0 announces none.
    /// The `Client` sets it.
    pub(crate) fn set_max_incoming(&mut self, bytes: u32) {
        self.v5.max_incoming = bytes;
    }

    /// CONNACK (§3.2): a reason code of 0x80 or above refuses the
    /// connection (§3.2.2.2); an accepted one sets the server's limits
    /// (absent properties: their defaults, so nothing of an earlier
    /// server lingers) and may assign the client id.
    pub(in crate::session) fn connack_v5<'p>(
        &mut self,
        now: Instant,
        ack: ConnAck<'_>,
        clean: bool,
    ) -> Result<Handled<'a, 'p>, Reason> {
        self.v5.reason = Some(ack.reason);
        if !ack.reason.is_success() {
            return Err(Reason::Server(ack.reason));
        }
        self.v5.limits = super::ServerLimits::from_connack(&ack.properties);
        if let Some(Property::AssignedClientIdentifier(id)) =
            ack.properties.get(PropertyId::AssignedClientIdentifier)
        {
            self.keep_assigned(id);
        }
        self.accepted(now, ack.session_present, clean)
    }

    /// Keeps an Assigned Client Identifier for the next connections, if
    /// the client has no id of its own, the id fits, and the CONNECT with
    /// it still fits the transmit buffer; otherwise the next CONNECT asks
    /// for a new one again (a new session: nothing is lost, subscriptions
    /// and messages in flight are sent again).
    fn keep_assigned(&mut self, id: &str) {
        if !self.config.client_id.is_empty() || !self.v5.assigned.set(id) {
            return;
        }
        match self.connect_len_v5() {
            Ok(len) if len <= self.max_packet => {}
            _ => self.v5.assigned.clear(),
        }
    }

    /// The client identifier the server assigned (§3.2.2.3.7) to this
    /// client's empty one, used for its next connections (and saved with
    /// the session); `None` if it has an id of its own or none was assigned.
    pub fn assigned_client_id(&self) -> Option<&str> {
        Some(self.v5.assigned.as_str()).filter(|id| !id.is_empty())
    }

    /// What the server's last CONNACK allowed (MQTT 5.0). A 3.1.1 session,
    /// or one that has not connected yet, has the defaults: everything allowed.
    pub fn server(&self) -> &super::ServerLimits {
        &self.v5.limits
    }

    /// The ping interval, in milliseconds (0: never ping), once the
    /// server's keep alive is adopted: a Server Keep Alive replaces the
    /// client's own ([MQTT-3.2.2-21]).
    pub(in crate::session) fn ping_interval_v5(&self) -> u32 {
        match (self.v5.limits.keep_alive, self.config.ping_interval) {
            (None, _) => self.config.ping_interval_ms(),
            (Some(k), None) => u32::from(k) * 1000 / 4,
            (Some(0), Some(d)) => d.ticks(),
            (Some(k), Some(d)) => d.ticks().min(u32::from(k) * 1000),
        }
    }
}
