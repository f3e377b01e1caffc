//! The address from DHCPv4 (RFC 2131; feature `dhcp`): smoltcp's DHCP
//! socket does the protocol, this file applies what it reports.
//!
//! A new lease sets the interface's address, default route and DNS server;
//! a changed address or a lost lease aborts the connection at once, since
//! whatever ran over the old address is dead.
//!
//! Without the feature the address is static and there is nothing to report.

use super::{Stack, StackEvent};
#[cfg(feature = "dhcp")]
use {super::StackError, smoltcp::socket::dhcpv4, smoltcp::wire::IpCidr};

impl Stack<'_> {
    /// What the DHCP socket reports, applied (from `poll`).
    #[cfg(not(feature = "dhcp"))]
    pub(super) fn dhcp_event(&mut self) -> Option<StackEvent> {
        None
    }

    /// What the DHCP socket reports, applied (from `poll`).
    #[cfg(feature = "dhcp")]
    pub(super) fn dhcp_event(&mut self) -> Option<StackEvent> {
        let dhcp = self.dhcp?;
        let event = self.sockets.get_mut::<dhcpv4::Socket>(dhcp).poll()?;
        match event {
            dhcpv4::Event::Configured(lease) => {
                let address = lease.address;
                let router = lease.router;
                let dns = lease.dns_servers.first().copied();
                if self.iface.ipv4_addr() != Some(address.address()) {
                    // Whatever ran over the old address is dead.
                    self.abort(StackError::Closed);
                }
                self.iface.update_ip_addrs(|addrs| {
                    addrs.clear();
                    let _ = addrs.push(IpCidr::Ipv4(address));
                });
                match router {
                    Some(r) => {
                        let _ = self.iface.routes_mut().add_default_ipv4_route(r);
                    }
                    None => {
                        self.iface.routes_mut().remove_default_ipv4_route();
                    }
                }
                self.dns_server = dns;
                self.set_dns_servers(dns);
                self.counters.leases = self.counters.leases.wrapping_add(1);
                Some(StackEvent::Configured(address))
            }
            dhcpv4::Event::Deconfigured => {
                self.abort(StackError::Closed);
                self.deconfigure();
                Some(StackEvent::Deconfigured)
            }
        }
    }

    /// No address, route or DNS server: the lease is gone.
    #[cfg(feature = "dhcp")]
    pub(super) fn deconfigure(&mut self) {
        self.iface.update_ip_addrs(|addrs| addrs.clear());
        self.iface.routes_mut().remove_default_ipv4_route();
        self.dns_server = None;
        self.set_dns_servers(None);
    }
}
