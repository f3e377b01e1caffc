//! The ESP8266 as the bridge's co-processor: the 5-wire link to a host on
//! GPIO pins, and the network as in `firmware.rs` (smoltcp over SLIP on
//! UART0, static address, DNS and TCP through the host-side gateway), with
//! the MQTT client the host configures.
//!
//! Pins: GPIO4 the host's clock (in), GPIO5 the host's data (in), GPIO12
//! our clock (out), GPIO13 our data (out); the host drives the chip's
//! reset (RST) as the fifth wire.
//!
//! Phase 1 answers the host until it sends its settings; phase 2 builds the
//! device (`limpet::Device`: link controller on `wlan::Wired`, IP stack,
//! MQTT client) from them and runs the bridge role on its parts, asking the
//! configured time server (SNTP over the stack's UDP socket) when the host
//! wants the time. Everything
//! large is static (the role, its frames, the filters, the client's and the
//! stack's buffers); the boot counter would live in RTC memory on a chip
//! (here it is 1 at every start: a restart is also recognised by the frame
//! layer's handshake echo).
//!
//! Built and sized (scripts/esp8266-image, scripts/size-report); not run:
//! QEMU's `sim` machine has no GPIO.
#![cfg_attr(target_arch = "xtensa", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_arch = "xtensa")]
mod app {
    use limpet::bridge::coproc::{Coproc, Settings};
    use limpet::bridge::link::{Link, Side};
    use limpet::device::{Device, DeviceBuffers, DeviceConfig, DeviceEvent};
    use limpet::net::stack::{Addressing, Broker, StackConfig, UdpBuffers};
    use limpet::wlan::{Network, Wired, WlanEvent};
    use limpet_esp8266::clock::CycleClock;
    use limpet_esp8266::console::Console;
    use limpet_esp8266::gpio::Pins;
    use limpet_esp8266::hw::{self, TakeOnce};
    use limpet_esp8266::slip_ip::{SlipFrames, SlipIp};
    use limpet_esp8266::watchdog::Watchdog;
    use limpet_esp8266::{entry, log, CPU_HZ};
    use smoltcp::iface::{Config as IfaceConfig, Interface, SocketStorage};
    use smoltcp::socket::dns::DnsQuery;
    use smoltcp::socket::udp::PacketMetadata;
    use smoltcp::wire::{HardwareAddress, Ipv4Address, Ipv4Cidr};

    entry!(run);

    /// Frame payloads on the link, frames in flight, the client's in-flight
    /// table and subscriptions.
    const FRAME: usize = 255;
    const WINDOW: usize = 2;
    const INFLIGHT: usize = 4;
    const SUBSCRIPTIONS: usize = 8;
    const MTU: usize = 576;

    type Role = Coproc<'static, FRAME, WINDOW, INFLIGHT, SUBSCRIPTIONS>;

    struct Buffers {
        rx: [u8; 512],
        tx: [u8; 512],
        store: [u8; 1024],
        tcp_rx: [u8; 1024],
        tcp_tx: [u8; 1024],
        filters: [u8; 256],
    }

    static BUFFERS: TakeOnce<Buffers> = TakeOnce::new(Buffers {
        rx: [0; 512],
        tx: [0; 512],
        store: [0; 1024],
        tcp_rx: [0; 1024],
        tcp_tx: [0; 1024],
        filters: [0; 256],
    });

    struct Slots {
        sockets: [SocketStorage<'static>; 3],
        dns_queries: [Option<DnsQuery>; 1],
        broker: [Broker<'static>; 1],
        udp_rx_meta: [PacketMetadata; 1],
        udp_tx_meta: [PacketMetadata; 1],
        udp_rx: [u8; 96],
        udp_tx: [u8; 64],
    }

    static SLOTS: TakeOnce<Slots> = TakeOnce::new(Slots {
        sockets: [SocketStorage::EMPTY; 3],
        dns_queries: [const { None }; 1],
        broker: [Broker::new("", 0)],
        udp_rx_meta: [PacketMetadata::EMPTY; 1],
        udp_tx_meta: [PacketMetadata::EMPTY; 1],
        udp_rx: [0; 96],
        udp_tx: [0; 64],
    });

    static FRAMES: TakeOnce<SlipFrames<MTU>> = TakeOnce::new(SlipFrames::new());
    /// The role and the host's settings, set at start and when they come.
    static ROLE: TakeOnce<Option<Role>> = TakeOnce::new(None);
    static SETTINGS: TakeOnce<Option<Settings<FRAME>>> = TakeOnce::new(None);

    /// The gateway's serial line (the image does not run under QEMU: no
    /// GPIO there, so no `sim` variant).
    fn gateway_port() -> limpet_esp8266::uart::Uart0 {
        limpet_esp8266::uart::Uart0::new(115_200)
    }

    fn run() -> ! {
        hw::paint_stack();
        Console::init();
        log!("limpet-esp8266 co-processor: link on GPIO4/5/12/13, IP over SLIP on UART0");
        let mut watchdog = Watchdog::new();
        let (Some(pins), Some(buffers), Some(slots), Some(frames), Some(role), Some(settings)) = (
            Pins::take(),
            BUFFERS.take(),
            SLOTS.take(),
            FRAMES.take(),
            ROLE.take(),
            SETTINGS.take(),
        ) else {
            log!("already taken");
            hw::halt(1)
        };
        let Buffers {
            rx,
            tx,
            store,
            tcp_rx,
            tcp_tx,
            filters,
        } = buffers;
        let Slots {
            sockets,
            dns_queries,
            broker,
            udp_rx_meta,
            udp_tx_meta,
            udp_rx,
            udp_tx,
        } = slots;
        let link_pins = (
            pins.gpio4.into_input(false),
            pins.gpio5.into_input(false),
            pins.gpio12.into_output(false),
            pins.gpio13.into_output(false),
        );
        let Ok(mut link) = Link::new(
            Side::Coproc,
            link_pins.0,
            link_pins.1,
            link_pins.2,
            link_pins.3,
        ) else {
            log!("link pins failed");
            hw::halt(1)
        };
        let role = role.insert(Coproc::new(1, filters));
        let mut clock = CycleClock::new(CPU_HZ);

        // Phase 1: the host's settings.
        let settings: &'static Settings<FRAME> = loop {
            watchdog.feed();
            let now = clock.now();
            let _ = link.poll(now);
            if let Some(s) = role.configure(now, &mut link) {
                break settings.insert(s);
            }
        };
        let c = settings.config();
        broker[0] = Broker::new(c.broker, c.port);
        let brokers: &'static [Broker<'static>] = broker;

        // Phase 2: the network and the client, from the settings.
        let mut slip: SlipIp<_, MTU> = SlipIp::new(gateway_port(), frames);
        let mut iface_config = IfaceConfig::new(HardwareAddress::Ip);
        iface_config.random_seed = u64::from(clock.now().ticks());
        let iface = Interface::new(iface_config, &mut slip, smoltcp::time::Instant::ZERO);
        let gateway = Ipv4Address::new(10, 0, 0, 1);
        let addressing = Addressing::Static {
            address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24),
            gateway: Some(gateway),
            dns: Some(gateway),
        };
        let buffers = DeviceBuffers {
            rx,
            tx,
            store,
            tcp_rx,
            tcp_tx,
            sockets,
            dns_queries,
            udp: Some(UdpBuffers {
                rx_meta: udp_rx_meta,
                rx: udp_rx,
                tx_meta: udp_tx_meta,
                tx: udp_tx,
            }),
        };
        let config = DeviceConfig::new(
            Wired::config(),
            StackConfig::new(addressing, brokers),
            settings.mqtt(),
        );
        let device: Result<Device<'static, INFLIGHT, SUBSCRIPTIONS, 0>, _> =
            Device::with_buffers(config, iface, clock.now().ticks(), buffers);
        let Ok(mut device) = device else {
            // Settings that can never work: the host is told, and resets us
            // with new ones.
            role.config_failed();
            loop {
                watchdog.feed();
                let now = clock.now();
                let _ = link.poll(now);
                let _ = role.configure(now, &mut link);
            }
        };
        log!("configured: broker {}:{}", c.broker, c.port);
        let mut line = Wired;
        loop {
            watchdog.feed();
            let now = clock.now();
            let _ = link.poll(now);
            // The link controller and the stack, wired by the device; the
            // role drives the client.
            while let Some(event) = device.poll_network(now, &mut line, &mut slip) {
                match event {
                    DeviceEvent::Wlan(WlanEvent::Up(network)) => {
                        role.wifi(Some(network == Network::Stored))
                    }
                    DeviceEvent::Wlan(WlanEvent::Down(_)) => role.wifi(None),
                    _ => {}
                }
            }
            let (client, stack) = device.parts();
            role.poll(now, &mut link, client, stack);
            // The host asked for the time: SNTP through the stack.
            if role.time_wanted() {
                stack.request_time(now, c.time_server);
            }
            if let Some(answer) = stack.time() {
                role.time_answer(answer, now);
            }
        }
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        limpet_esp8266::fatal::panic(info)
    }
}

#[cfg(not(target_arch = "xtensa"))]
fn main() {}
