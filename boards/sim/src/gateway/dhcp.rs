//! The DHCP server's logic: leases and replies, apart from any socket (the
//! gateway feeds it the payloads of UDP datagrams to port 67 and sends what
//! it returns to 255.255.255.255:68).
//!
//! - Leases are per client hardware address, shared by every gateway of a
//!   [`Network`](super::Network): many devices, distinct addresses.
//! - New addresses come from a cursor that walks the pool and never steps
//!   back, so an address is reused only after the cursor wrapped:
//!   [`DhcpServer::renumber`] forgets all leases and the next lease of every
//!   client is a different address (as long as the pool holds more than
//!   twice the clients).
//! - DISCOVER → OFFER (the client's current address if it has one, else a
//!   new one, held for [`OFFER_HOLD_SECS`]); REQUEST → ACK when it names the
//!   address this server holds for that client (selecting, init-reboot,
//!   renewing or rebinding), NAK otherwise, silence when it selects another
//!   server; RELEASE and DECLINE free the lease.
//! - Every reply carries the server identifier (smoltcp's client ignores a
//!   reply without one, NAK included), and OFFER/ACK the subnet mask (its
//!   ACK parser requires it), router, DNS server and lease time.

use std::net::Ipv4Addr;

use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{DhcpMessageType, DhcpOpCode, DhcpPacket, DhcpRepr, EthernetAddress};

/// How long an offered address is held for the client that was offered it.
pub const OFFER_HOLD_SECS: u64 = 60;

/// Largest reply this server emits (its replies carry a handful of options).
pub(crate) const MAX_REPLY: usize = 576;

/// A client's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The client's hardware address (`chaddr`).
    pub mac: EthernetAddress,
    /// The leased address.
    pub addr: Ipv4Addr,
    /// True once ACKed; false while only offered.
    pub bound: bool,
    /// When the lease (or the offer) lapses.
    pub expires: Instant,
}

/// What the DHCP server did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DhcpStats {
    /// DISCOVERs received.
    pub discovers: u64,
    /// REQUESTs received.
    pub requests: u64,
    /// OFFERs sent.
    pub offers: u64,
    /// ACKs sent.
    pub acks: u64,
    /// NAKs sent.
    pub naks: u64,
    /// RELEASEs and DECLINEs received.
    pub releases: u64,
    /// DISCOVERs left unanswered because the pool was full.
    pub exhausted: u64,
    /// Datagrams that were not a client's DHCP message, or ignored ones
    /// (INFORM, another server's REQUEST).
    pub ignored: u64,
    /// Messages left unanswered because the server was silenced.
    pub silenced: u64,
}

/// Leases and the pool.
#[derive(Debug)]
pub(crate) struct DhcpServer {
    server: Ipv4Addr,
    prefix_len: u8,
    pool_start: u32,
    pool_size: u32,
    lease_secs: u32,
    cursor: u32,
    leases: Vec<Lease>,
    pub(crate) silent: bool,
    pub(crate) stats: DhcpStats,
}

impl DhcpServer {
    pub(crate) fn new(
        server: Ipv4Addr,
        prefix_len: u8,
        pool_start: Ipv4Addr,
        pool_size: u32,
        lease_secs: u32,
    ) -> DhcpServer {
        assert!(prefix_len <= 30, "the subnet needs room for a pool");
        assert!(pool_size > 0, "an empty pool");
        let mask = subnet_mask(prefix_len);
        let net = u32::from(server) & u32::from(mask);
        let first = u32::from(pool_start);
        let last = first
            .checked_add(pool_size - 1)
            .expect("pool past 255.255.255.255");
        assert!(
            first & u32::from(mask) == net && last & u32::from(mask) == net,
            "pool {pool_start}+{pool_size} outside {server}/{prefix_len}"
        );
        assert!(
            !(first..=last).contains(&u32::from(server)),
            "the pool contains the server's own address"
        );
        DhcpServer {
            server,
            prefix_len,
            pool_start: first,
            pool_size,
            lease_secs,
            cursor: 0,
            leases: Vec::new(),
            silent: false,
            stats: DhcpStats::default(),
        }
    }

    pub(crate) fn set_lease_secs(&mut self, secs: u32) {
        self.lease_secs = secs;
    }

    /// Current leases and offers (expired ones are dropped lazily).
    pub(crate) fn leases(&self) -> &[Lease] {
        &self.leases
    }

    /// Forget every lease; the cursor keeps going, so every client's next
    /// address differs from its last one.
    pub(crate) fn renumber(&mut self) {
        self.leases.clear();
    }

    /// Handles one datagram's payload; the reply to broadcast, if any, is
    /// written to `out` and its length returned.
    pub(crate) fn handle(
        &mut self,
        now: Instant,
        payload: &[u8],
        out: &mut [u8; MAX_REPLY],
    ) -> Option<usize> {
        let packet = DhcpPacket::new_checked(payload).ok();
        let Some(req) = packet
            .as_ref()
            .filter(|p| p.opcode() == DhcpOpCode::Request)
            .and_then(|p| DhcpRepr::parse(p).ok())
        else {
            self.stats.ignored += 1;
            return None;
        };
        if self.silent {
            self.stats.silenced += 1;
            return None;
        }
        self.leases.retain(|l| l.expires > now);
        let (kind, addr) = match req.message_type {
            DhcpMessageType::Discover => {
                self.stats.discovers += 1;
                let addr = match self.lease_index(req.client_hardware_address) {
                    Some(i) => self.leases[i].addr,
                    None => match self.allocate() {
                        Some(a) => {
                            self.leases.push(Lease {
                                mac: req.client_hardware_address,
                                addr: a,
                                bound: false,
                                expires: now + Duration::from_secs(OFFER_HOLD_SECS),
                            });
                            a
                        }
                        None => {
                            self.stats.exhausted += 1;
                            return None;
                        }
                    },
                };
                (DhcpMessageType::Offer, addr)
            }
            DhcpMessageType::Request => {
                self.stats.requests += 1;
                let held = self.lease_index(req.client_hardware_address);
                if let Some(sid) = req.server_identifier {
                    if sid != self.server {
                        // The client chose another server: forget our offer.
                        if let Some(i) = held.filter(|&i| !self.leases[i].bound) {
                            self.leases.remove(i);
                        }
                        self.stats.ignored += 1;
                        return None;
                    }
                }
                // Selecting/init-reboot name the address in option 50;
                // renewing/rebinding in ciaddr.
                let wanted = req.requested_ip.unwrap_or(req.client_ip);
                match held.filter(|&i| self.leases[i].addr == wanted) {
                    Some(i) => {
                        let lease = &mut self.leases[i];
                        lease.bound = true;
                        lease.expires = now + Duration::from_secs(u64::from(self.lease_secs));
                        (DhcpMessageType::Ack, wanted)
                    }
                    None => (DhcpMessageType::Nak, Ipv4Addr::UNSPECIFIED),
                }
            }
            DhcpMessageType::Release | DhcpMessageType::Decline => {
                self.stats.releases += 1;
                if let Some(i) = self.lease_index(req.client_hardware_address) {
                    self.leases.remove(i);
                }
                return None;
            }
            _ => {
                self.stats.ignored += 1;
                return None;
            }
        };
        let offer_or_ack = kind != DhcpMessageType::Nak;
        let reply = DhcpRepr {
            message_type: kind,
            transaction_id: req.transaction_id,
            secs: 0,
            client_hardware_address: req.client_hardware_address,
            client_ip: if kind == DhcpMessageType::Ack {
                req.client_ip
            } else {
                Ipv4Addr::UNSPECIFIED
            },
            your_ip: addr,
            server_ip: Ipv4Addr::UNSPECIFIED,
            router: offer_or_ack.then_some(self.server),
            subnet_mask: offer_or_ack.then_some(subnet_mask(self.prefix_len)),
            relay_agent_ip: req.relay_agent_ip,
            broadcast: req.broadcast,
            requested_ip: None,
            client_identifier: None,
            server_identifier: Some(self.server),
            parameter_request_list: None,
            dns_servers: offer_or_ack.then(|| core::iter::once(self.server).collect()),
            max_size: None,
            lease_duration: offer_or_ack.then_some(self.lease_secs),
            renew_duration: None,
            rebind_duration: None,
            additional_options: &[],
        };
        let len = reply.buffer_len();
        let mut packet = DhcpPacket::new_unchecked(&mut out[..len]);
        reply.emit(&mut packet).ok()?;
        match kind {
            DhcpMessageType::Offer => self.stats.offers += 1,
            DhcpMessageType::Ack => self.stats.acks += 1,
            _ => self.stats.naks += 1,
        }
        Some(len)
    }

    fn lease_index(&self, mac: EthernetAddress) -> Option<usize> {
        self.leases.iter().position(|l| l.mac == mac)
    }

    /// The next free pool address at or after the cursor.
    fn allocate(&mut self) -> Option<Ipv4Addr> {
        (0..self.pool_size).find_map(|step| {
            let offset = (self.cursor + step) % self.pool_size;
            let addr = Ipv4Addr::from(self.pool_start + offset);
            if self.leases.iter().any(|l| l.addr == addr) {
                return None;
            }
            self.cursor = (offset + 1) % self.pool_size;
            Some(addr)
        })
    }
}

pub(crate) fn subnet_mask(prefix_len: u8) -> Ipv4Addr {
    Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(prefix_len))
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

    fn mac(n: u8) -> EthernetAddress {
        EthernetAddress([0x02, 0, 0, 0, 0, n])
    }

    fn server() -> DhcpServer {
        DhcpServer::new(SERVER, 24, Ipv4Addr::new(10, 0, 0, 100), 10, 600)
    }

    fn message(kind: DhcpMessageType, mac: EthernetAddress, xid: u32) -> DhcpRepr<'static> {
        DhcpRepr {
            message_type: kind,
            transaction_id: xid,
            secs: 0,
            client_hardware_address: mac,
            client_ip: Ipv4Addr::UNSPECIFIED,
            your_ip: Ipv4Addr::UNSPECIFIED,
            server_ip: Ipv4Addr::UNSPECIFIED,
            router: None,
            subnet_mask: None,
            relay_agent_ip: Ipv4Addr::UNSPECIFIED,
            broadcast: false,
            requested_ip: None,
            client_identifier: Some(mac),
            server_identifier: None,
            parameter_request_list: Some(&[1, 3, 6]),
            dns_servers: None,
            max_size: None,
            lease_duration: None,
            renew_duration: None,
            rebind_duration: None,
            additional_options: &[],
        }
    }

    fn exchange(s: &mut DhcpServer, now: Instant, req: &DhcpRepr) -> Option<Reply> {
        let mut buf = vec![0; req.buffer_len()];
        req.emit(&mut DhcpPacket::new_unchecked(&mut buf[..]))
            .unwrap();
        let mut out = [0; MAX_REPLY];
        let len = s.handle(now, &buf, &mut out)?;
        let packet = DhcpPacket::new_checked(&out[..len]).unwrap();
        assert_eq!(packet.opcode(), DhcpOpCode::Reply);
        let r = DhcpRepr::parse(&packet).unwrap();
        assert_eq!(r.transaction_id, req.transaction_id);
        assert_eq!(r.client_hardware_address, req.client_hardware_address);
        assert_eq!(r.server_identifier, Some(SERVER), "smoltcp needs it");
        Some(Reply {
            kind: r.message_type,
            addr: r.your_ip,
            mask: r.subnet_mask,
            router: r.router,
            dns: r.dns_servers.map(|d| d.to_vec()),
            lease: r.lease_duration,
        })
    }

    #[derive(Debug)]
    struct Reply {
        kind: DhcpMessageType,
        addr: Ipv4Addr,
        mask: Option<Ipv4Addr>,
        router: Option<Ipv4Addr>,
        dns: Option<Vec<Ipv4Addr>>,
        lease: Option<u32>,
    }

    /// DISCOVER, OFFER, REQUEST, ACK: the bound address.
    fn bind(s: &mut DhcpServer, now: Instant, m: EthernetAddress) -> Ipv4Addr {
        let offer = exchange(s, now, &message(DhcpMessageType::Discover, m, 1)).unwrap();
        assert_eq!(offer.kind, DhcpMessageType::Offer);
        let mut req = message(DhcpMessageType::Request, m, 2);
        req.requested_ip = Some(offer.addr);
        req.server_identifier = Some(SERVER);
        let ack = exchange(s, now, &req).unwrap();
        assert_eq!(ack.kind, DhcpMessageType::Ack);
        assert_eq!(ack.addr, offer.addr);
        ack.addr
    }

    #[test]
    fn discover_request_binds_with_the_options_a_client_needs() {
        let mut s = server();
        let now = Instant::from_secs(5);
        let offer = exchange(&mut s, now, &message(DhcpMessageType::Discover, mac(1), 7)).unwrap();
        assert_eq!(offer.kind, DhcpMessageType::Offer);
        assert_eq!(offer.addr, Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(offer.mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(offer.router, Some(SERVER));
        assert_eq!(offer.dns, Some(vec![SERVER]));
        assert_eq!(offer.lease, Some(600));
        assert!(!s.leases()[0].bound);
        assert_eq!(
            bind(&mut s, now, mac(1)),
            offer.addr,
            "same client, same address"
        );
        assert!(s.leases()[0].bound);
        assert_eq!(s.leases()[0].expires, now + Duration::from_secs(600));
        assert_eq!((s.stats.offers, s.stats.acks), (2, 1));
    }

    #[test]
    fn each_client_gets_its_own_address() {
        let mut s = server();
        let now = Instant::ZERO;
        let a: Vec<Ipv4Addr> = (1..=5).map(|n| bind(&mut s, now, mac(n))).collect();
        for (i, x) in a.iter().enumerate() {
            assert!(!a[i + 1..].contains(x), "{a:?}");
        }
        assert_eq!(s.leases().len(), 5);
    }

    #[test]
    fn renew_extends_and_a_wrong_address_is_naked() {
        let mut s = server();
        let addr = bind(&mut s, Instant::ZERO, mac(1));
        let mut renew = message(DhcpMessageType::Request, mac(1), 3);
        renew.client_ip = addr;
        let later = Instant::from_secs(300);
        let ack = exchange(&mut s, later, &renew).unwrap();
        assert_eq!((ack.kind, ack.addr), (DhcpMessageType::Ack, addr));
        assert_eq!(s.leases()[0].expires, later + Duration::from_secs(600));
        renew.client_ip = Ipv4Addr::new(10, 0, 0, 7);
        let nak = exchange(&mut s, later, &renew).unwrap();
        assert_eq!(nak.kind, DhcpMessageType::Nak);
        assert_eq!(nak.mask, None);
        assert_eq!(s.stats.naks, 1);
    }

    #[test]
    fn renumber_gives_every_client_a_different_address() {
        let mut s = server();
        let before: Vec<Ipv4Addr> = (1..=3)
            .map(|n| bind(&mut s, Instant::ZERO, mac(n)))
            .collect();
        s.renumber();
        // A renewal of the old lease is refused, which sends the client back to DISCOVER.
        let mut renew = message(DhcpMessageType::Request, mac(1), 3);
        renew.client_ip = before[0];
        assert_eq!(
            exchange(&mut s, Instant::ZERO, &renew).unwrap().kind,
            DhcpMessageType::Nak
        );
        let after: Vec<Ipv4Addr> = (1..=3)
            .map(|n| bind(&mut s, Instant::ZERO, mac(n)))
            .collect();
        for a in &after {
            assert!(!before.contains(a), "{before:?} then {after:?}");
        }
    }

    #[test]
    fn expired_leases_free_their_address_and_a_full_pool_stays_silent() {
        let mut s = DhcpServer::new(SERVER, 24, Ipv4Addr::new(10, 0, 0, 100), 2, 60);
        bind(&mut s, Instant::ZERO, mac(1));
        bind(&mut s, Instant::ZERO, mac(2));
        let discover = message(DhcpMessageType::Discover, mac(3), 9);
        assert!(exchange(&mut s, Instant::from_secs(30), &discover).is_none());
        assert_eq!(s.stats.exhausted, 1);
        let offer = exchange(&mut s, Instant::from_secs(61), &discover).unwrap();
        assert_eq!(offer.kind, DhcpMessageType::Offer);
    }

    #[test]
    fn request_for_another_server_is_ignored_and_release_frees() {
        let mut s = server();
        exchange(
            &mut s,
            Instant::ZERO,
            &message(DhcpMessageType::Discover, mac(1), 1),
        )
        .unwrap();
        let mut req = message(DhcpMessageType::Request, mac(1), 2);
        req.requested_ip = Some(Ipv4Addr::new(10, 0, 0, 100));
        req.server_identifier = Some(Ipv4Addr::new(10, 0, 0, 2));
        assert!(exchange(&mut s, Instant::ZERO, &req).is_none());
        assert!(s.leases().is_empty(), "the offer is withdrawn");
        bind(&mut s, Instant::ZERO, mac(1));
        assert!(exchange(
            &mut s,
            Instant::ZERO,
            &message(DhcpMessageType::Release, mac(1), 3)
        )
        .is_none());
        assert!(s.leases().is_empty());
    }

    #[test]
    fn silenced_server_and_garbage_get_no_reply() {
        let mut s = server();
        let mut out = [0; MAX_REPLY];
        assert!(s.handle(Instant::ZERO, &[1, 2, 3], &mut out).is_none());
        assert_eq!(s.stats.ignored, 1);
        s.silent = true;
        assert!(exchange(
            &mut s,
            Instant::ZERO,
            &message(DhcpMessageType::Discover, mac(1), 1)
        )
        .is_none());
        assert_eq!(s.stats.silenced, 1);
    }

    #[test]
    fn masks() {
        assert_eq!(subnet_mask(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(subnet_mask(16), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(subnet_mask(0), Ipv4Addr::UNSPECIFIED);
    }
}
