//! MQTT 5.0 sessions (feature `mqtt5`) against a scripted 5.0 broker:
//! CONNECT and CONNACK with their properties (§3.1, §3.2), the server's
//! limits honoured, reason codes on acknowledgements (§3.4–§3.7, §3.9,
//! §3.11), DISCONNECT both ways (§3.14), saved sessions.

use super::*;
use crate::session::{Protocol, ServerLimits};
use crate::wire::v5::{self, Ack, Disconnect, Properties, Property, PropertyId, ReasonCode};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// A broker speaking MQTT 5.0, played by the test: it decodes what the
/// session sends as 5.0 packets and answers with 5.0 packets.
struct Broker5<'a, const N: usize, const S: usize, const R: usize = 2> {
    session: Session<'a, N, S, R>,
    out: [u8; 256],
}

/// A 5.0 configuration for client id `id`.
fn v5(id: &str) -> Config<'_> {
    let mut config = Config::new(id);
    config.protocol = Protocol::V5;
    config
}

/// A 5.0 configuration whose session persists (`clean` false).
fn v5_persistent(id: &str) -> Config<'_> {
    let mut config = v5(id);
    config.clean_init = false;
    config.clean = false;
    config
}

impl<'a, const N: usize, const S: usize, const R: usize> Broker5<'a, N, S, R> {
    fn new(config: Config<'a>, store: &'a mut [u8]) -> Self {
        Broker5 {
            session: Session::new(config, store, 256).unwrap(),
            out: [0; 256],
        }
    }

    /// The bytes of the next packet the session sends at `now`.
    fn sent_bytes(&mut self, now: Instant) -> Result<Option<&[u8]>, Reason> {
        match self.session.poll_transmit(now, &mut self.out)? {
            Some(n) => {
                self.session.bytes_sent(now);
                Ok(Some(&self.out[..n]))
            }
            None => Ok(None),
        }
    }

    /// The next packet the session sends at `now`, as a 5.0 server decodes it.
    fn expect_sent(&mut self, now: Instant) -> v5::Packet<'_> {
        match self.sent_bytes(now) {
            Ok(Some(bytes)) => v5::Packet::decode(bytes).expect("session sent a malformed packet"),
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    fn expect_quiet(&mut self, now: Instant) {
        let r = self.sent_bytes(now).map(|b| b.map(<[u8]>::to_vec));
        assert!(matches!(r, Ok(None)), "expected nothing, got {r:?}");
    }

    /// Transport up and the CONNECT out; returns a copy of its fields
    /// worth checking: (client id, clean start, properties as a list).
    fn sends_connect(&mut self, now: Instant) -> (heapless::String<64>, bool, Props) {
        self.session.transport_up(now);
        match self.expect_sent(now) {
            v5::Packet::Connect(c) => (
                heapless::String::try_from(c.client_id).unwrap(),
                c.clean_start,
                props(&c.properties),
            ),
            other => panic!("expected CONNECT, got {other:?}"),
        }
    }

    /// The broker answers CONNACK with `properties`; returns what the session made of it.
    fn connack(
        &mut self,
        now: Instant,
        session_present: bool,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<Handled<'a, 'static>, Reason> {
        let ack = v5::Packet::ConnAck(v5::ConnAck {
            session_present,
            reason,
            properties: Properties::new(properties),
        });
        self.session.handle_v5(now, ack).map(|h| match h {
            Handled::Deliver(m) => panic!("unexpected delivery {m:?}"),
            Handled::Nothing => Handled::Nothing,
            Handled::Event(e) => Handled::Event(e),
        })
    }

    /// Transport up, CONNECT out, CONNACK (Success, `properties`) in.
    fn connect(&mut self, now: Instant, properties: &[Property<'_>]) {
        self.sends_connect(now);
        let up = self.connack(now, false, ReasonCode::Success, properties);
        assert!(matches!(up, Ok(Handled::Event(Event::Up { .. }))), "{up:?}");
    }

    fn answer(
        &mut self,
        now: Instant,
        packet: v5::Packet<'_>,
    ) -> Result<Option<Event<'a>>, Reason> {
        match self.session.handle_v5(now, packet)? {
            Handled::Nothing => Ok(None),
            Handled::Event(e) => Ok(Some(e)),
            Handled::Deliver(m) => panic!("unexpected delivery {m:?}"),
        }
    }

    /// The id of the PUBLISH the session sends at `now`.
    fn publish_pid(&mut self, now: Instant) -> u16 {
        match self.expect_sent(now) {
            v5::Packet::Publish(p) => p.pid.unwrap(),
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }
}

/// A property block as an owned list (up to 8 properties, strings dropped).
type Props = heapless::Vec<PropertyId, 8>;

fn props(p: &Properties<'_>) -> Props {
    p.iter().map(|p| p.id()).collect()
}

fn ack<'p>(pid: u16, reason: ReasonCode) -> Ack<'p> {
    Ack {
        pid,
        reason,
        properties: Properties::NONE,
    }
}

fn publish_in<'p>(
    qos: QoS,
    pid: Option<u16>,
    topic: &'p str,
    properties: &'p [Property<'p>],
) -> v5::Packet<'p> {
    v5::Packet::Publish(v5::Publish {
        dup: false,
        qos,
        retain: false,
        topic,
        pid,
        properties: Properties::new(properties),
        payload: b"x",
    })
}

mod connack;
mod disconnect;
mod properties;
mod publish;
mod saved;
mod subscribe;
