//! Whether the internet is reachable beyond the access point: mqtt_as's
//! `wan_ok`, with a configurable server.
//!
//! A DNS query for `StackConfig::wan_name` sent to `StackConfig::wan_server`
//! (else the lease's DNS server), through the stack's one DNS socket: so not
//! while a broker's name is being resolved, and the socket's servers are put
//! back once the answer (or the timeout) comes.

use super::{expired, Conn, Stack, StackError};
use crate::time::Instant;
use smoltcp::socket::dns::{self, GetQueryResultError, QueryHandle};
use smoltcp::wire::DnsQueryType;

/// Where a WAN check stands.
#[derive(Clone, Copy)]
pub(super) enum Wan {
    Idle,
    Pending {
        query: QueryHandle,
        since: Option<Instant>,
    },
    Done(bool),
}

impl Stack<'_> {
    /// Asks the WAN DNS server (`StackConfig::wan_server`, else the lease's)
    /// for `StackConfig::wan_name`; [`Stack::wan_ok`] gives the answer. Not
    /// while a broker's name is being resolved (`Err(WouldBlock)`).
    pub fn check_wan(&mut self) -> nb::Result<(), StackError> {
        if matches!(self.conn, Conn::Resolving { .. }) || matches!(self.wan, Wan::Pending { .. }) {
            return Err(nb::Error::WouldBlock);
        }
        if self.iface.ipv4_addr().is_none() {
            return Err(nb::Error::Other(StackError::NoAddress));
        }
        let server = self
            .config
            .wan_server
            .or(self.dns_server)
            .ok_or(nb::Error::Other(StackError::NoDnsServer))?;
        self.set_dns_servers(Some(server));
        let cx = self.iface.context();
        let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
        let started = dns.start_query(cx, self.config.wan_name, DnsQueryType::A);
        match started {
            Ok(query) => {
                self.wan = Wan::Pending { query, since: None };
                Ok(())
            }
            Err(_) => {
                let lease = self.dns_server;
                self.set_dns_servers(lease);
                Err(nb::Error::Other(StackError::Dns))
            }
        }
    }

    /// The answer of the last [`Stack::check_wan`]: `None` while pending (or
    /// none asked), then once `Some(true)` (the WAN DNS server answered with
    /// an address) or `Some(false)`.
    pub fn wan_ok(&mut self) -> Option<bool> {
        match self.wan {
            Wan::Done(ok) => {
                self.wan = Wan::Idle;
                Some(ok)
            }
            _ => None,
        }
    }

    pub(super) fn wan_progress(&mut self, now: Instant) {
        let Wan::Pending { query, since } = self.wan else {
            return;
        };
        let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
        let done = match dns.get_query_result(query) {
            Ok(addrs) => Some(!addrs.is_empty()),
            Err(GetQueryResultError::Failed) => Some(false),
            Err(GetQueryResultError::Pending) => {
                if expired(since, now, self.config.dns_timeout) {
                    dns.cancel_query(query);
                    Some(false)
                } else {
                    None
                }
            }
        };
        if let Some(ok) = done {
            self.wan = Wan::Done(ok);
            let lease = self.dns_server;
            self.set_dns_servers(lease);
        }
    }
}
