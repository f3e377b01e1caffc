//! All the storage a [`super::Device`] runs in, as one value.
//!
//! Like embassy-net's `StackResources`, the sizes are in the type and the
//! value is declared once — a `static` (through a `StaticCell` or similar)
//! in a firmware, a local in `main`, or one element of a `Vec` on a host —
//! and lent to [`super::Device::new`] for as long as the device lives.

use smoltcp::iface::SocketStorage;
use smoltcp::socket::dns::DnsQuery;

/// Socket slots the device's stack uses: DNS, TCP and DHCP.
const SOCKETS: usize = 3;

/// Storage for a device: MQTT receive and transmit buffers of `MQTT` bytes
/// each, an in-flight store of `STORE` bytes (`STORE / N` per QoS 1/2
/// message), TCP receive and transmit buffers of `TCP` bytes each, and the
/// stack's socket slots. The defaults (1 KiB, 1 KiB, 2 KiB) are the demo's.
pub struct Resources<
    'a,
    const MQTT: usize = 1024,
    const STORE: usize = 1024,
    const TCP: usize = 2048,
> {
    rx: [u8; MQTT],
    tx: [u8; MQTT],
    store: [u8; STORE],
    tcp_rx: [u8; TCP],
    tcp_tx: [u8; TCP],
    sockets: [SocketStorage<'a>; SOCKETS],
    dns_queries: [Option<DnsQuery>; 1],
}

impl<const MQTT: usize, const STORE: usize, const TCP: usize> Resources<'_, MQTT, STORE, TCP> {
    /// Empty storage; `const`, so it can be a `static`'s initial value.
    pub const fn new() -> Self {
        Resources {
            rx: [0; MQTT],
            tx: [0; MQTT],
            store: [0; STORE],
            tcp_rx: [0; TCP],
            tcp_tx: [0; TCP],
            sockets: [SocketStorage::EMPTY; SOCKETS],
            dns_queries: [const { None }; 1],
        }
    }
}

/// The same storage as slices, for [`super::Device::with_buffers`]: sizes
/// chosen at run time, or buffers in different memories.
pub struct DeviceBuffers<'a> {
    /// The MQTT receive buffer: the largest packet received whole.
    pub rx: &'a mut [u8],
    /// The MQTT transmit buffer: the largest packet sent.
    pub tx: &'a mut [u8],
    /// The in-flight store, `store.len() / N` bytes per QoS 1/2 message.
    pub store: &'a mut [u8],
    /// The TCP receive buffer.
    pub tcp_rx: &'a mut [u8],
    /// The TCP transmit buffer.
    pub tcp_tx: &'a mut [u8],
    /// The stack's socket slots: 3 (DNS, TCP, DHCP).
    pub sockets: &'a mut [SocketStorage<'a>],
    /// DNS queries at once: 1 is enough.
    pub dns_queries: &'a mut [Option<DnsQuery>],
    /// A UDP socket for the time (`Stack::request_time`; one more socket
    /// slot), or none.
    #[cfg(feature = "sntp")]
    pub udp: Option<crate::net::stack::UdpBuffers<'a>>,
}

impl<'a, const MQTT: usize, const STORE: usize, const TCP: usize> Resources<'a, MQTT, STORE, TCP> {
    /// The storage as slices.
    pub fn buffers(&'a mut self) -> DeviceBuffers<'a> {
        DeviceBuffers {
            rx: &mut self.rx,
            tx: &mut self.tx,
            store: &mut self.store,
            tcp_rx: &mut self.tcp_rx,
            tcp_tx: &mut self.tcp_tx,
            sockets: &mut self.sockets,
            dns_queries: &mut self.dns_queries,
            #[cfg(feature = "sntp")]
            udp: None,
        }
    }
}

impl<const MQTT: usize, const STORE: usize, const TCP: usize> Default
    for Resources<'_, MQTT, STORE, TCP>
{
    fn default() -> Self {
        Self::new()
    }
}
