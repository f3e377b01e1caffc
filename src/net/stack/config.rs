//! What the application chooses about its IP stack, and the checks that
//! refuse what can never work.
//!
//! Plain `Copy` data with `const` constructors, so a firmware can keep its
//! configuration in a `static`: [`StackConfig::new`] fills in the defaults,
//! the public fields change one at a time, and [`StackConfig::check`] (run by
//! `Stack::new`) refuses at start-up what would otherwise only fail later, on
//! the network (no broker, a timeout of 0).

use crate::time::Duration;
use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

/// How the device gets its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    /// DHCPv4 (feature `dhcp`; an Ethernet-medium interface): address,
    /// router and DNS servers from the lease, renewed and replaced as the
    /// lease changes.
    #[cfg(feature = "dhcp")]
    Dhcp,
    /// A fixed address (any medium, e.g. SLIP's `Medium::Ip`).
    Static {
        /// The device's address and the size of its subnet.
        address: Ipv4Cidr,
        /// The default router (`None`: only the subnet is reachable).
        gateway: Option<Ipv4Address>,
        /// The DNS server for brokers' names (`None`: brokers given as addresses only).
        dns: Option<Ipv4Address>,
    },
}

/// One broker: a host name (resolved with DNS) or a dotted IPv4 address, and
/// a port. [`StackConfig::brokers`] lists them in order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Broker<'a> {
    /// A host name, or an IPv4 address written as a dotted quad.
    pub host: &'a str,
    /// The TCP port (1883: MQTT without TLS, §4.2's IANA port).
    pub port: u16,
}

impl<'a> Broker<'a> {
    /// The broker at `host`, `port`.
    pub const fn new(host: &'a str, port: u16) -> Self {
        Broker { host, port }
    }

    /// The host as an address, if it is written as one ("192.0.2.7").
    pub fn literal(&self) -> Option<Ipv4Address> {
        parse_ipv4(self.host)
    }
}

/// Settings of the IP stack. Build with [`StackConfig::new`].
#[derive(Clone, Copy, Debug)]
pub struct StackConfig<'a> {
    /// How the device gets its address.
    pub addressing: Addressing,
    /// Tried in turn: the next one after `failover_after` failures in a row.
    pub brokers: &'a [Broker<'a>],
    /// Longest wait for a DNS answer (smoltcp's own retries go on inside
    /// it). Default 5 s.
    pub dns_timeout: Duration,
    /// Longest wait for the TCP handshake. Default 10 s.
    pub connect_timeout: Duration,
    /// An established connection whose sent data goes unacknowledged this
    /// long is aborted (smoltcp would retransmit forever). Default 20 s.
    pub tcp_timeout: Duration,
    /// A resolved address is forgotten (and the name resolved again) after
    /// this many connection failures in a row. Default 2.
    pub resolve_after: u8,
    /// The next broker of the list is tried after this many failures in a
    /// row with the current one. Default 3.
    pub failover_after: u8,
    /// Where [`super::Stack::check_wan`] sends its query (`None`: the DNS
    /// server of the lease). mqtt_as hard-codes 8.8.8.8.
    pub wan_server: Option<Ipv4Address>,
    /// The name it asks for. Default "example.com".
    pub wan_name: &'a str,
}

/// Why a [`StackConfig`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackConfigError {
    /// No broker to connect to.
    NoBroker,
    /// A broker with port 0, or an empty host name.
    BadBroker,
    /// A timeout of 0, or longer than the wrap-safe limit (24.8 days).
    BadTimeout,
    /// `resolve_after` or `failover_after` is 0.
    BadPolicy,
}

impl<'a> StackConfig<'a> {
    /// Settings for `addressing` and `brokers`, with the defaults each field names.
    pub const fn new(addressing: Addressing, brokers: &'a [Broker<'a>]) -> Self {
        StackConfig {
            addressing,
            brokers,
            dns_timeout: Duration::from_ticks(5_000),
            connect_timeout: Duration::from_ticks(10_000),
            tcp_timeout: Duration::from_ticks(20_000),
            resolve_after: 2,
            failover_after: 3,
            wan_server: None,
            wan_name: "example.com",
        }
    }

    /// Refuses a configuration that can never work ([`Stack::new`](super::Stack::new) calls it).
    pub fn check(&self) -> Result<(), StackConfigError> {
        if self.brokers.is_empty() {
            return Err(StackConfigError::NoBroker);
        }
        if self
            .brokers
            .iter()
            .any(|b| b.port == 0 || b.host.is_empty())
        {
            return Err(StackConfigError::BadBroker);
        }
        let ok = |d: Duration| d.ticks() > 0 && d.ticks() <= i32::MAX as u32;
        if !(ok(self.dns_timeout) && ok(self.connect_timeout) && ok(self.tcp_timeout)) {
            return Err(StackConfigError::BadTimeout);
        }
        if self.resolve_after == 0 || self.failover_after == 0 {
            return Err(StackConfigError::BadPolicy);
        }
        Ok(())
    }
}

/// "a.b.c.d" with each part 0..=255, no leading '+', no spaces.
pub(crate) fn parse_ipv4(s: &str) -> Option<Ipv4Address> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for o in octets.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Address::new(octets[0], octets[1], octets[2], octets[3]))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn literal_addresses_and_names() {
        assert_eq!(
            parse_ipv4("192.0.2.7"),
            Some(Ipv4Address::new(192, 0, 2, 7))
        );
        assert_eq!(parse_ipv4("0.0.0.0"), Some(Ipv4Address::new(0, 0, 0, 0)));
        for name in [
            "broker.local",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "+1.2.3.4",
            " 1.2.3.4",
            "",
        ] {
            assert_eq!(parse_ipv4(name), None, "{name}");
        }
    }

    const STATIC: Addressing = Addressing::Static {
        address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24),
        gateway: None,
        dns: None,
    };

    #[test]
    fn a_configuration_that_cannot_work_is_refused() {
        let ok = [Broker::new("broker", 1883)];
        assert_eq!(StackConfig::new(STATIC, &ok).check(), Ok(()));
        assert_eq!(
            StackConfig::new(STATIC, &[]).check(),
            Err(StackConfigError::NoBroker)
        );
        let bad = [Broker::new("b", 0)];
        assert_eq!(
            StackConfig::new(STATIC, &bad).check(),
            Err(StackConfigError::BadBroker)
        );
        let mut c = StackConfig::new(STATIC, &ok);
        c.dns_timeout = Duration::from_ticks(0);
        assert_eq!(c.check(), Err(StackConfigError::BadTimeout));
        let mut c = StackConfig::new(STATIC, &ok);
        c.failover_after = 0;
        assert_eq!(c.check(), Err(StackConfigError::BadPolicy));
    }
}
