//! The ESP8266 firmware: limpet's IP stack (smoltcp TCP and DNS over SLIP on
//! UART0) and MQTT client in a superloop.
//!
//! What it does, as far as this board can go without a radio:
//! - brings up IP over SLIP on UART0 with a static address (10.0.0.2/24,
//!   gateway and DNS 10.0.0.1: the host-side gateway on the serial link,
//!   README.md, "The serial link"), resolves `broker.sim` and connects as
//!   `limpet-esp8266`, with a retained last will `offline` on
//!   `limpet/esp8266/status`, and publishes a retained `online` there on
//!   every (re)connection;
//! - subscribes to `limpet/esp8266/out` (QoS 1): `1` / `0` drive GPIO5;
//! - publishes the FLASH button (GPIO0, active low) as `pressed` /
//!   `released` on `limpet/esp8266/button`, QoS 1 (queued while offline);
//! - publishes its uptime and stack high-water mark every 60 s on
//!   `limpet/esp8266/uptime`, QoS 0;
//! - feeds the hardware watchdog on every pass and logs on UART1 (GPIO2).
//!
//! The machines are one `limpet::Device` (the superloop every limpet
//! firmware runs), its link controller on `wlan::Wired`: the serial line is
//! always there, so the controller is up at once and the stack runs.
//!
//! Static RAM: MQTT 1 KiB receive and 1 KiB transmit buffer, 1 KiB store for
//! 4 QoS 1 messages of up to 256 bytes in flight, 8 subscriptions; TCP 1 KiB
//! receive and 1 KiB send buffer; SLIP one 576-byte frame each way. The
//! device and the smoltcp interface live in `run`'s frame, inside the stack
//! reserve (linker/esp8266.x; scripts/esp8266-sim-e2e checks the measured
//! high-water against it).
//!
//! With feature `sim` the same program runs under QEMU `-M sim`, its broker
//! link on the host's stdin/stdout and its logs on stderr.
#![cfg_attr(target_arch = "xtensa", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_arch = "xtensa")]
mod app {
    use core::fmt::Write;

    use embedded_hal::digital::{InputPin, OutputPin};
    use limpet::device::{Device, DeviceBuffers, DeviceConfig, DeviceEvent};
    use limpet::net::stack::{Addressing, Broker, StackConfig};
    use limpet::session::{Config, Event, Rejected};
    use limpet::time::{reached, Duration};
    use limpet::wire::{QoS, Will};
    use limpet::wlan::{Wired, WlanEvent};
    use limpet_esp8266::clock::CycleClock;
    use limpet_esp8266::console::Console;
    use limpet_esp8266::gpio::Pins;
    use limpet_esp8266::hw::{self, TakeOnce};
    use limpet_esp8266::slip_ip::{SlipFrames, SlipIp};
    use limpet_esp8266::watchdog::Watchdog;
    use limpet_esp8266::{entry, log, CPU_HZ};
    use smoltcp::iface::{Config as IfaceConfig, Interface, SocketStorage};
    use smoltcp::socket::dns::DnsQuery;
    use smoltcp::wire::{HardwareAddress, Ipv4Address, Ipv4Cidr};

    entry!(run);

    const CLIENT_ID: &str = "limpet-esp8266";
    const TOPIC_STATUS: &str = "limpet/esp8266/status";
    const TOPIC_OUT: &str = "limpet/esp8266/out";
    const TOPIC_BUTTON: &str = "limpet/esp8266/button";
    const TOPIC_UPTIME: &str = "limpet/esp8266/uptime";

    /// UART0 speed of the broker link.
    pub const LINK_BAUD: u32 = 115_200;
    /// Button sampling period (debounce).
    const BUTTON_MS: u32 = 20;
    /// Uptime report period.
    const REPORT_MS: u32 = 60_000;

    /// In-flight QoS 1 messages and subscriptions of the client.
    const INFLIGHT: usize = 4;
    const SUBSCRIPTIONS: usize = 8;

    /// IP MTU of the SLIP link: the IPv4 minimum every host accepts, and
    /// two frame buffers of RAM.
    const MTU: usize = 576;

    /// The brokers, by name (the gateway's DNS answers it) then by address.
    static BROKERS: [Broker<'static>; 2] = [
        Broker::new("broker.sim", 1883),
        Broker::new("10.0.0.1", 1883),
    ];

    /// The client's and the stack's byte buffers, in .bss.
    struct Buffers {
        rx: [u8; 1024],
        tx: [u8; 1024],
        store: [u8; 1024],
        tcp_rx: [u8; 1024],
        tcp_tx: [u8; 1024],
    }

    static BUFFERS: TakeOnce<Buffers> = TakeOnce::new(Buffers {
        rx: [0; 1024],
        tx: [0; 1024],
        store: [0; 1024],
        tcp_rx: [0; 1024],
        tcp_tx: [0; 1024],
    });

    /// Socket slots: DNS and TCP, and with TLS a UDP socket for SNTP.
    const SOCKETS: usize = if cfg!(feature = "tls") { 3 } else { 2 };

    /// The stack's socket slots and DNS query slot: not all zero bits, so
    /// apart from the buffers (in .data).
    struct Slots {
        sockets: [SocketStorage<'static>; SOCKETS],
        dns_queries: [Option<DnsQuery>; 1],
    }

    static SLOTS: TakeOnce<Slots> = TakeOnce::new(Slots {
        sockets: [SocketStorage::EMPTY; SOCKETS],
        dns_queries: [const { None }; 1],
    });

    /// TLS (feature `tls`): the broker's name and CA (PEM, given at build
    /// time through LIMPET_TLS_CA; build.rs), the time server.
    #[cfg(feature = "tls")]
    const TLS_NAME: &str = "broker.sim";
    #[cfg(feature = "tls")]
    const CA_PEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tls-ca.pem"));
    #[cfg(feature = "tls")]
    const TIME_SERVER: &str = "10.0.0.1"; // the gateway (README.md, "The serial link")

    /// TLS buffers, in .bss: a read record for 1 KiB of plaintext (max
    /// fragment length) plus 256, a 1 KiB write record, the pipes, the CA's
    /// DER, the SNTP datagrams.
    #[cfg(feature = "tls")]
    struct TlsBuffers {
        read: [u8; 1024 + 256],
        write: [u8; 1024],
        plain: [u8; 512],
        cipher: [u8; 512],
        ca: [u8; 1024],
        udp_rx: [u8; 96],
        udp_tx: [u8; 64],
    }

    #[cfg(feature = "tls")]
    static TLS_BUFFERS: TakeOnce<TlsBuffers> = TakeOnce::new(TlsBuffers {
        read: [0; 1024 + 256],
        write: [0; 1024],
        plain: [0; 512],
        cipher: [0; 512],
        ca: [0; 1024],
        udp_rx: [0; 96],
        udp_tx: [0; 64],
    });

    /// The SNTP socket's datagram slots (not all zero bits: .data).
    #[cfg(feature = "tls")]
    static UDP_META: TakeOnce<[smoltcp::socket::udp::PacketMetadata; 2]> =
        TakeOnce::new([smoltcp::socket::udp::PacketMetadata::EMPTY; 2]);

    /// The SLIP link's frame buffers (one MTU each way), in .bss.
    static FRAMES: TakeOnce<SlipFrames<MTU>> = TakeOnce::new(SlipFrames::new());

    #[cfg(not(feature = "sim"))]
    fn broker_port() -> limpet_esp8266::uart::Uart0 {
        limpet_esp8266::uart::Uart0::new(LINK_BAUD)
    }

    #[cfg(feature = "sim")]
    fn broker_port() -> limpet_esp8266::sim::SimPort {
        limpet_esp8266::sim::SimPort::new()
    }

    /// A small text buffer for payloads.
    struct Text {
        buf: [u8; 48],
        len: usize,
    }

    impl Write for Text {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.len + s.len();
            let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
            dst.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn run() -> ! {
        hw::paint_stack();
        Console::init();
        log!(
            "limpet-esp8266 {}: IP over SLIP on UART0 at {} baud, logs on UART1",
            env!("CARGO_PKG_VERSION"),
            LINK_BAUD
        );
        let mut watchdog = Watchdog::new();
        let Some(pins) = Pins::take() else {
            log!("pins already taken");
            hw::halt(1)
        };
        let mut button = pins.gpio0.into_input(true);
        let mut lamp = pins.gpio5.into_output(false);
        let (
            Some(Buffers {
                rx,
                tx,
                store,
                tcp_rx,
                tcp_tx,
            }),
            Some(Slots {
                sockets,
                dns_queries,
            }),
            Some(frames),
        ) = (BUFFERS.take(), SLOTS.take(), FRAMES.take())
        else {
            log!("buffers already taken");
            hw::halt(1)
        };

        let mut mqtt = Config::new(CLIENT_ID);
        mqtt.will = Some(Will {
            topic: TOPIC_STATUS,
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: true,
        });
        let gateway = Ipv4Address::new(10, 0, 0, 1);
        let addressing = Addressing::Static {
            address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24),
            gateway: Some(gateway),
            dns: Some(gateway),
        };
        let config = DeviceConfig::new(
            Wired::config(),
            StackConfig::new(addressing, &BROKERS),
            mqtt,
        );

        let mut clock = CycleClock::new(CPU_HZ);
        let mut slip: SlipIp<_, MTU> = SlipIp::new(broker_port(), frames);
        let mut iface_config = IfaceConfig::new(HardwareAddress::Ip);
        iface_config.random_seed = u64::from(clock.now().ticks());
        let iface = Interface::new(iface_config, &mut slip, smoltcp::time::Instant::ZERO);
        #[cfg(feature = "tls")]
        let (Some(tls_buffers), Some(udp_meta)) = (TLS_BUFFERS.take(), UDP_META.take()) else {
            log!("TLS buffers already taken");
            hw::halt(1)
        };
        let buffers = DeviceBuffers {
            rx,
            tx,
            store,
            tcp_rx,
            tcp_tx,
            sockets,
            dns_queries,
            #[cfg(feature = "tls")]
            udp: {
                let (rx_meta, tx_meta) = udp_meta.split_at_mut(1);
                Some(limpet::net::stack::UdpBuffers {
                    rx_meta,
                    rx: &mut tls_buffers.udp_rx,
                    tx_meta,
                    tx: &mut tls_buffers.udp_tx,
                })
            },
        };
        let device: Device<'_, INFLIGHT, SUBSCRIPTIONS, 0> =
            match Device::with_buffers(config, iface, clock.now().ticks(), buffers) {
                Ok(device) => device,
                Err(e) => {
                    log!("{:?}", e);
                    hw::halt(1)
                }
            };

        // Between the stack and the client: nothing, or TLS.
        #[cfg(not(feature = "tls"))]
        let layer = limpet::net::Plain;
        #[cfg(feature = "tls")]
        let mut cas: [&[u8]; 1] = [&[]];
        #[cfg(feature = "tls")]
        let tls_config = {
            use limpet::net::tls::{pem, Config as TlsConfig, FragmentLength};
            // No CA given (or none readable): every server is refused.
            let n = pem::certificates(CA_PEM, &mut tls_buffers.ca, &mut cas).unwrap_or(0);
            TlsConfig::new(TLS_NAME, &cas[..n]).with_max_fragment_length(FragmentLength::B1024)
        };
        #[cfg(feature = "tls")]
        let mail = limpet::net::tls::Mailbox::new(&mut tls_buffers.plain, &mut tls_buffers.cipher);
        #[cfg(feature = "tls")]
        let tls_driver = core::pin::pin!(limpet::net::tls::drive(
            tls_config,
            limpet_esp8266::random::HardwareRng::new(),
            &mut tls_buffers.read,
            &mut tls_buffers.write,
            &mail
        ));
        #[cfg(feature = "tls")]
        let layer = limpet::net::tls::Tls::new(&mail, tls_driver);
        // The time for the certificates' dates: unix seconds and when.
        #[cfg(feature = "tls")]
        let mut unix: Option<(u64, limpet::time::Instant)> = None;
        let mut device = device.with_layer(layer);
        if let Err(e) = device.subscribe(TOPIC_OUT, QoS::AtLeastOnce) {
            log!("subscribe {}: {:?}", TOPIC_OUT, e);
        }
        let mut line = Wired;
        let mut pressed = button.is_low().unwrap_or(false);
        // Timers start from the clock's first reading, whatever it is.
        let start = clock.now();
        #[cfg(feature = "tls")]
        let mut next_time_ask = start;
        let mut next_sample = start;
        let mut next_report = start + Duration::from_ticks(REPORT_MS);

        // One pass: read the clock, poll the device once, do the
        // application's due work. `poll` does bounded work, so the clock is
        // read again soon whatever arrives.
        loop {
            watchdog.feed();
            let now = clock.now();
            #[cfg(feature = "tls")]
            {
                let stack = device.stack();
                if let Some(Ok(t)) = stack.time() {
                    log!("time: {} (unix)", t);
                    unix = Some((t, now));
                }
                match unix {
                    Some((t, at)) => {
                        let ms = now.checked_duration_since(at).map_or(0, |d| d.ticks());
                        mail.set_time(t + u64::from(ms / 1000));
                    }
                    // Asked every 2 s until answered (a new ask replaces
                    // one in progress).
                    None if reached(now, next_time_ask) => {
                        stack.request_time(now, TIME_SERVER);
                        next_time_ask = now + Duration::from_ticks(2_000);
                    }
                    None => {}
                }
            }
            match device.poll(now, &mut line, &mut slip) {
                Some(DeviceEvent::Mqtt(Event::Up { session_present })) => {
                    log!(
                        "mqtt up (session present: {}; stack {} B used)",
                        session_present,
                        hw::stack_used()
                    );
                    if let Err(e) = device.publish(TOPIC_STATUS, b"online", QoS::AtLeastOnce, true)
                    {
                        log!("publish {}: {:?}", TOPIC_STATUS, e);
                    }
                }
                Some(DeviceEvent::Mqtt(Event::Down(reason))) => {
                    log!(
                        "mqtt down: {:?} (stack {} B used)",
                        reason,
                        hw::stack_used()
                    )
                }
                Some(DeviceEvent::Mqtt(Event::ConnectFailed(reason))) => {
                    log!("mqtt connect failed: {:?}", reason)
                }
                Some(DeviceEvent::Mqtt(Event::Message(m))) => {
                    if m.topic == TOPIC_OUT {
                        let _ = match m.payload {
                            b"1" => lamp.set_high(),
                            b"0" => lamp.set_low(),
                            _ => Ok(()),
                        };
                    }
                    log!("message on {} ({} bytes)", m.topic, m.payload.len());
                }
                Some(DeviceEvent::Mqtt(Event::Published(token))) => {
                    log!("published #{}", token.0)
                }
                Some(DeviceEvent::Mqtt(Event::Subscribed { topic, qos })) => {
                    log!("subscribed {} ({:?})", topic, qos)
                }
                Some(DeviceEvent::Mqtt(Event::SubscribeFailed { topic })) => {
                    log!("subscribe refused: {}", topic)
                }
                // Display, not Debug: `{:?}` of a `&str` links Unicode
                // escape tables (~1.5 KB, .rodata in DRAM here).
                Some(DeviceEvent::Mqtt(Event::Rejected(Rejected::Publish(t)))) => {
                    log!("broker rejected #{}", t.0)
                }
                Some(DeviceEvent::Mqtt(Event::Rejected(
                    Rejected::Subscribe(f) | Rejected::Unsubscribe(f),
                ))) => log!("broker rejected {}", f),
                Some(DeviceEvent::Wlan(WlanEvent::Up(_))) => log!("serial link up"),
                // Unsubscribed, chunks (only `poll_chunked` hands them out),
                // the line's other events, the static address.
                Some(_) => {}
                // Nothing more this pass: the button and the report below.
                None => {}
            }

            if reached(now, next_sample) {
                next_sample = now + Duration::from_ticks(BUTTON_MS);
                let is_pressed = button.is_low().unwrap_or(false);
                if is_pressed != pressed {
                    pressed = is_pressed;
                    let payload: &[u8] = if pressed { b"pressed" } else { b"released" };
                    if let Err(e) = device.publish(TOPIC_BUTTON, payload, QoS::AtLeastOnce, false) {
                        log!("publish {}: {:?}", TOPIC_BUTTON, e);
                    }
                }
            }

            if reached(now, next_report) {
                next_report = now + Duration::from_ticks(REPORT_MS);
                let mut text = Text {
                    buf: [0; 48],
                    len: 0,
                };
                let _ = write!(
                    text,
                    "{} s, stack {} B",
                    now.ticks() / 1000,
                    hw::stack_used()
                );
                let payload = text.buf.get(..text.len).unwrap_or(&[]);
                // QoS 0 is only sent while connected; a missed report is fine.
                let _ = device.publish(TOPIC_UPTIME, payload, QoS::AtMostOnce, false);
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
