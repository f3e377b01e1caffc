//! The time from an SNTP server (RFC 4330) over the stack's UDP socket:
//! [`Stack::request_time`] starts a query (the server by name or dotted
//! quad; a name is resolved with the stack's DNS socket), every
//! [`Stack::poll`] advances it, [`Stack::time`] takes the answer. One query
//! at a time; each one times out after `StackConfig::dns_timeout` per
//! step (the DNS answer, then the server's). Never blocks.

use smoltcp::socket::dns::{self, GetQueryResultError, QueryHandle};
use smoltcp::socket::udp;
use smoltcp::wire::{DnsQueryType, IpAddress, IpEndpoint, Ipv4Address};

use super::Stack;
use crate::net::sntp::{self, TimeError};
use crate::time::{elapsed, Instant};

/// Local port of the SNTP queries (one socket, one query at a time).
const LOCAL_PORT: u16 = 49_151;

/// Buffers of the stack's UDP socket: one request and one reply each way
/// is enough (e.g. 2 metadata slots and 128 bytes each way).
pub struct UdpBuffers<'a> {
    /// Slots for received datagrams' metadata (one per datagram held).
    pub rx_meta: &'a mut [udp::PacketMetadata],
    /// Bytes of received datagrams.
    pub rx: &'a mut [u8],
    /// Slots for outgoing datagrams' metadata.
    pub tx_meta: &'a mut [udp::PacketMetadata],
    /// Bytes of outgoing datagrams.
    pub tx: &'a mut [u8],
}

/// Where a time query stands.
#[derive(Clone, Copy)]
pub(super) enum TimeQuery<'a> {
    Idle,
    /// The name waits for the DNS socket (a broker's name is being
    /// resolved), or for its answer.
    Resolving {
        server: &'a str,
        query: Option<QueryHandle>,
        since: Instant,
    },
    Waiting {
        server: Ipv4Address,
        stamp: u64,
        since: Instant,
    },
    Done(Result<u64, TimeError>),
}

impl<'a> Stack<'a> {
    /// Starts asking `server` (a name or a dotted quad) for the time; the
    /// answer comes from [`Stack::time`]. A query in progress is replaced.
    pub fn request_time(&mut self, now: Instant, server: &'a str) {
        if let TimeQuery::Resolving { query: Some(q), .. } = self.time {
            self.sockets
                .get_mut::<dns::Socket>(self.dns)
                .cancel_query(q);
        }
        self.time = if server.is_empty() || self.udp.is_none() {
            TimeQuery::Done(Err(TimeError::NoServer))
        } else if !self.link || self.iface.ipv4_addr().is_none() {
            TimeQuery::Done(Err(TimeError::NoNetwork))
        } else if let Ok(addr) = server.parse::<Ipv4Address>() {
            self.send_time_request(now, addr)
        } else {
            TimeQuery::Resolving {
                server,
                query: None,
                since: now,
            }
        };
    }

    /// The answer to the last [`Stack::request_time`], once: Unix seconds
    /// at the moment it arrived (the poll that returned it), or why not.
    pub fn time(&mut self) -> Option<Result<u64, TimeError>> {
        match self.time {
            TimeQuery::Done(r) => {
                self.time = TimeQuery::Idle;
                Some(r)
            }
            _ => None,
        }
    }

    /// When the time query's step times out, if one is in progress.
    pub(super) fn time_deadline(&self) -> Option<Instant> {
        match self.time {
            TimeQuery::Resolving { since, .. } | TimeQuery::Waiting { since, .. } => {
                Some(since + self.config.dns_timeout)
            }
            _ => None,
        }
    }

    fn send_time_request(&mut self, now: Instant, server: Ipv4Address) -> TimeQuery<'a> {
        let Some(handle) = self.udp else {
            return TimeQuery::Done(Err(TimeError::NoServer));
        };
        // Different at each request (the clock, the device's port seed).
        let stamp = (u64::from(now.ticks()) << 16 | u64::from(self.local_port)) | 1;
        let socket = self.sockets.get_mut::<udp::Socket>(handle);
        if !socket.is_open() && socket.bind(LOCAL_PORT).is_err() {
            return TimeQuery::Done(Err(TimeError::NoNetwork));
        }
        // Replies to an earlier request are stale now.
        while socket.recv().is_ok() {}
        let to = IpEndpoint::new(IpAddress::Ipv4(server), sntp::PORT);
        match socket.send_slice(&sntp::request(stamp), to) {
            Ok(()) => TimeQuery::Waiting {
                server,
                stamp,
                since: now,
            },
            Err(_) => TimeQuery::Done(Err(TimeError::NoNetwork)),
        }
    }

    /// Advances the time query (from `poll`).
    pub(super) fn time_progress(&mut self, now: Instant) {
        let timeout = self.config.dns_timeout.ticks();
        match self.time {
            TimeQuery::Idle | TimeQuery::Done(_) => {}
            TimeQuery::Resolving {
                server,
                query,
                since,
            } => {
                if elapsed(since, now) >= timeout {
                    if let Some(q) = query {
                        self.sockets
                            .get_mut::<dns::Socket>(self.dns)
                            .cancel_query(q);
                    }
                    self.time = TimeQuery::Done(Err(TimeError::NoNetwork));
                    return;
                }
                let Some(q) = query else {
                    // The DNS socket's one query slot may be the broker's.
                    let cx = self.iface.context();
                    let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
                    if let Ok(q) = dns.start_query(cx, server, DnsQueryType::A) {
                        self.time = TimeQuery::Resolving {
                            server,
                            query: Some(q),
                            since,
                        };
                    }
                    return;
                };
                let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
                match dns.get_query_result(q) {
                    Ok(addrs) => {
                        self.time = match super::dns::first_ipv4(&addrs) {
                            Some(addr) => self.send_time_request(now, addr),
                            None => TimeQuery::Done(Err(TimeError::NoNetwork)),
                        };
                    }
                    Err(GetQueryResultError::Pending) => {}
                    Err(GetQueryResultError::Failed) => {
                        self.time = TimeQuery::Done(Err(TimeError::NoNetwork));
                    }
                }
            }
            TimeQuery::Waiting {
                server,
                stamp,
                since,
            } => {
                let Some(handle) = self.udp else { return };
                let socket = self.sockets.get_mut::<udp::Socket>(handle);
                while let Ok((reply, meta)) = socket.recv() {
                    // Only the server we asked, from its port.
                    if meta.endpoint.addr != IpAddress::Ipv4(server)
                        || meta.endpoint.port != sntp::PORT
                    {
                        continue;
                    }
                    self.time = TimeQuery::Done(sntp::parse_reply(reply, stamp));
                    return;
                }
                if elapsed(since, now) >= timeout {
                    self.time = TimeQuery::Done(Err(TimeError::Timeout));
                }
            }
        }
    }
}
