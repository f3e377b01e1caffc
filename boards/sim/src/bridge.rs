//! The bridge on the sim board: a co-processor firmware — the bridge role's
//! superloop over the board's radio and network — on the simulated wires,
//! for the host driver on their other end.
//!
//! [`CoprocFirmware`] is what a co-processor's firmware runs (a real one
//! keeps its buffers in statics; here they are leaked, once per boot, as a
//! reboot wipes RAM): phase 1 answers the host until it gives the
//! settings; phase 2 builds the WLAN controller, the IP stack and the MQTT
//! client from them and runs them with the role. Each boot starts from
//! nothing but its boot counter, like a chip after reset.

use std::rc::Rc;

use limpet::bridge::coproc::{Coproc, Settings};
use limpet::bridge::host::Host;
use limpet::bridge::link::{Link, Side};
use limpet::client::{Client, Options};
use limpet::net::stack::{Addressing, Broker, Buffers, Stack, StackConfig, StackEvent};
use limpet::time::Instant;
use limpet::wlan::{self, Network, Wlan, WlanEvent};
use smoltcp::iface::SocketStorage;

use crate::board::SimBoard;
use crate::wires::{Pins, ResetOut, WireIn, WireOut, Wires};

/// The largest frame payload both ends use.
pub const FRAME: usize = 255;
/// Frames in flight each way.
pub const WINDOW: usize = 4;
/// The co-processor client's in-flight table (credits for host publishes).
pub const INFLIGHT: usize = 8;
/// Subscriptions.
pub const SUBSCRIPTIONS: usize = 8;

pub type SimLink = Link<WireIn, WireIn, WireOut, WireOut>;
pub type CoprocRole = Coproc<'static, FRAME, WINDOW, INFLIGHT, SUBSCRIPTIONS>;
pub type HostRole<'a> = Host<'a, ResetOut, FRAME, WINDOW, INFLIGHT, SUBSCRIPTIONS>;
pub type CoprocClient = Client<'static, INFLIGHT, SUBSCRIPTIONS>;

/// One side's link engine on its pins.
pub fn link(side: Side, (ck_in, d_in, ck_out, d_out): Pins) -> SimLink {
    match Link::new(side, ck_in, d_in, ck_out, d_out) {
        Ok(link) => link,
        Err(_) => unreachable!("sim pins never fail"),
    }
}

fn leak<T>(value: T) -> &'static mut T {
    Box::leak(Box::new(value))
}

fn leak_bytes(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

/// The network side, built from the host's settings.
pub struct Machines {
    pub wlan: Wlan<'static>,
    pub stack: Stack<'static>,
    pub client: CoprocClient,
}

/// The co-processor's firmware, one boot of it.
pub struct CoprocFirmware {
    pub link: SimLink,
    pub role: CoprocRole,
    pub machines: Option<Machines>,
    pub boot: u32,
}

impl CoprocFirmware {
    /// Boots: its link on the co-processor's pins, nothing else yet.
    pub fn boot(wires: &Rc<Wires>, boot: u32) -> CoprocFirmware {
        CoprocFirmware {
            link: link(Side::Coproc, wires.coproc_pins()),
            role: Coproc::new(boot, leak_bytes(512)),
            machines: None,
            boot,
        }
    }

    /// One superloop pass.
    pub fn pass(&mut self, board: &mut SimBoard, now: Instant) {
        let _ = self.link.poll(now);
        let Some(m) = &mut self.machines else {
            if let Some(settings) = self.role.configure(now, &mut self.link) {
                match build(leak(settings), board, self.boot) {
                    Some(m) => self.machines = Some(m),
                    // Settings that can never work: the host is told.
                    None => self.role.config_failed(),
                }
            }
            return;
        };
        if let Some(event) = m.wlan.poll(now, &mut board.radio) {
            match event {
                WlanEvent::Up(network) => {
                    m.stack.link_up();
                    self.role.wifi(Some(network == Network::Stored));
                }
                WlanEvent::Down(_) => {
                    m.stack.link_down();
                    self.role.wifi(None);
                }
                WlanEvent::AttemptFailed(..) => {}
            }
        }
        if let Some(StackEvent::Configured(_)) = m.stack.poll(now, &mut board.net) {
            m.client.network_up(now);
        }
        self.role
            .poll(now, &mut self.link, &mut m.client, &mut m.stack);
    }
}

/// The machines a configured co-processor runs, from the host's settings.
fn build(settings: &'static Settings<FRAME>, board: &mut SimBoard, boot: u32) -> Option<Machines> {
    let c = settings.config();
    let mut wcfg = wlan::Config::new(c.ssid, c.wifi_password);
    wcfg.use_stored = c.use_stored;
    let wlan = Wlan::new(wcfg).ok()?;
    let brokers: &'static [Broker<'static>] = leak([Broker {
        host: c.broker,
        port: c.port,
    }]);
    let buffers = Buffers {
        sockets: leak([SocketStorage::EMPTY; 3]),
        tcp_rx: leak_bytes(2048),
        tcp_tx: leak_bytes(2048),
        dns_queries: leak([None; 1]),
    };
    let seed = board.seed() ^ boot.wrapping_mul(0x9E37_79B9);
    let mut stack = Stack::new(
        StackConfig::new(Addressing::Dhcp, brokers),
        board.interface(),
        buffers,
        seed,
    )
    .ok()?;
    stack.link_down();
    let mut options = Options::default();
    options.backoff = options.backoff.with_seed(seed);
    let client = Client::new(
        settings.mqtt(),
        options,
        leak_bytes(512),
        leak_bytes(512),
        leak_bytes(INFLIGHT * 300),
    )
    .ok()?;
    Some(Machines {
        wlan,
        stack,
        client,
    })
}
