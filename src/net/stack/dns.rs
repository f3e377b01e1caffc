//! The broker's address from DNS (RFC 1035): smoltcp's DNS socket sends the
//! query; the stack bounds it with `dns_timeout` and keeps the answer.
//!
//! mqtt_as resolves once, blocking. Here the query is polled, times out,
//! and its answer is cached until `resolve_after` failures in a row (see
//! `failover`): a broker's name may point elsewhere by then.

use super::{expired, Conn, Stack, StackError};
use crate::time::Instant;
use smoltcp::socket::dns::{self, GetQueryResultError, QueryHandle};
use smoltcp::wire::{DnsQueryType, IpAddress, Ipv4Address};

/// The first IPv4 address of a DNS answer.
pub(super) fn first_ipv4(addrs: &[IpAddress]) -> Option<Ipv4Address> {
    addrs.iter().find_map(|a| match a {
        IpAddress::Ipv4(v4) => Some(*v4),
        #[allow(unreachable_patterns)]
        _ => None,
    })
}

impl Stack<'_> {
    /// Starts resolving `host`, the current broker's name (from `connect`,
    /// between polls: timed from the next poll).
    pub(super) fn resolve(&mut self, host: &str) -> Result<(), StackError> {
        if self.dns_server.is_none() {
            return Err(StackError::NoDnsServer);
        }
        let cx = self.iface.context();
        let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
        match dns.start_query(cx, host, DnsQueryType::A) {
            Ok(query) => {
                self.counters.dns_queries = self.counters.dns_queries.wrapping_add(1);
                self.conn = Conn::Resolving { query, since: None };
                Ok(())
            }
            Err(_) => {
                self.failed(StackError::Dns);
                Err(StackError::Dns)
            }
        }
    }

    /// The query for the broker's name: its answer starts the handshake.
    pub(super) fn resolving(&mut self, now: Instant, query: QueryHandle, since: Option<Instant>) {
        let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
        match dns.get_query_result(query) {
            Ok(addrs) => {
                let v4 = first_ipv4(&addrs);
                match v4 {
                    Some(addr) => {
                        self.resolved = Some(addr);
                        // The SYN leaves in this poll's egress: timed from now.
                        self.start_tcp(Some(now), addr);
                    }
                    None => self.failed(StackError::Dns),
                }
            }
            Err(GetQueryResultError::Pending) => {
                if expired(since, now, self.config.dns_timeout) {
                    dns.cancel_query(query);
                    self.failed(StackError::Dns);
                }
            }
            Err(GetQueryResultError::Failed) => self.failed(StackError::Dns),
        }
    }

    pub(super) fn set_dns_servers(&mut self, server: Option<Ipv4Address>) {
        let servers: heapless::Vec<IpAddress, 1> =
            server.map(IpAddress::Ipv4).into_iter().collect();
        self.sockets
            .get_mut::<dns::Socket>(self.dns)
            .update_servers(&servers);
    }
}
