//! On-ISA smoke test for QEMU `-M sim -cpu lx106` (feature `sim`):
//!
//! ```text
//! qemu-system-xtensa -M sim -cpu lx106 -semihosting -nographic -monitor none \
//!     -device loader,file=target/xtensa-lx106-none-elf/size/sim-smoke,cpu-num=0
//! ```
//!
//! It checks that the startup path works (vectors, stack, .data copied,
//! .bss zeroed), then u64 arithmetic (compiler-builtins libcalls),
//! `core::fmt`, the atomics of asm/rt.S, the cycle counter, and finally the
//! limpet client itself, over an in-memory connection, against a small
//! broker written here on limpet's own codec: CONNECT/CONNACK, SUBSCRIBE/
//! SUBACK, PUBLISH QoS 1 both ways with PUBACKs. It prints one line per check
//! to stdout, then `N passed, M failed`, the stack high-water mark, and exits
//! 0 when all passed (1 otherwise; 101 on a panic, 128 + cause on a CPU
//! exception). Built by scripts/esp8266-image --sim.
#![cfg_attr(target_arch = "xtensa", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_arch = "xtensa")]
mod smoke {
    use core::fmt::Write;
    use core::hint::black_box;
    use core::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU8, Ordering};

    use limpet::client::{Client, Options};
    use limpet::net::Transport;
    use limpet::session::{Config, Event};
    use limpet::time::Instant;
    use limpet::wire::{ConnAck, ConnectReturnCode, Frame, Packet, Publish, QoS, SubAck};
    use limpet_esp8266::clock::MillisClock;
    use limpet_esp8266::hw::{self, TakeOnce};
    use limpet_esp8266::{entry, sim};

    entry!(run);

    /// Starts non-zero: lands in .data, which startup must have put in place.
    static DATA_WORD: AtomicU32 = AtomicU32::new(0x1234_5678);
    /// Starts zero: lands in .bss, which startup must have cleared.
    static BSS_WORDS: [AtomicU32; 4] = [
        AtomicU32::new(0),
        AtomicU32::new(0),
        AtomicU32::new(0),
        AtomicU32::new(0),
    ];
    static FLAG: AtomicBool = AtomicBool::new(false);
    static BYTE: AtomicU8 = AtomicU8::new(0);
    static HALF: AtomicU16 = AtomicU16::new(0);
    static BUFFERS: TakeOnce<[u8; 3 * 512]> = TakeOnce::new([0; 3 * 512]);

    /// A fixed-size text buffer for `core::fmt` output.
    struct Text {
        buf: [u8; 96],
        len: usize,
    }

    impl Text {
        fn new() -> Self {
            Text {
                buf: [0; 96],
                len: 0,
            }
        }
        fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap_or("<utf8>")
        }
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

    struct Report {
        passed: u32,
        failed: u32,
    }

    impl Report {
        fn check(&mut self, name: &str, ok: bool) {
            let mut t = Text::new();
            let _ = writeln!(t, "{} {}", if ok { "ok    " } else { "FAILED" }, name);
            sim::print(t.as_str().as_bytes());
            if ok {
                self.passed += 1;
            } else {
                self.failed += 1;
            }
        }
    }

    fn run() -> ! {
        hw::paint_stack();
        let mut r = Report {
            passed: 0,
            failed: 0,
        };

        // Read through black_box so the optimizer cannot answer from the
        // initialisers; written afterwards, so they must be in RAM.
        r.check(
            "startup: .data initialised",
            black_box(&DATA_WORD).load(Ordering::Relaxed) == 0x1234_5678,
        );
        r.check(
            "startup: .bss zeroed",
            black_box(&BSS_WORDS)
                .iter()
                .all(|w| w.load(Ordering::Relaxed) == 0),
        );
        black_box(&DATA_WORD).store(black_box(1), Ordering::Relaxed);
        black_box(&BSS_WORDS)[0].store(black_box(1), Ordering::Relaxed);

        // u64 arithmetic: libcalls into compiler-builtins (__udivdi3,
        // __umoddi3, __muldi3) and shifts across the word boundary.
        let a = black_box(0xDEAD_BEEF_CAFE_BABEu64);
        let b = black_box(1_000_003u64);
        r.check(
            "u64: division and remainder",
            a / b == 16_045_642_847_574 && a % b == 555_324,
        );
        r.check(
            "u64: multiply and shift",
            a.wrapping_mul(b) == 0x42BF_B004_BDF1_DBBA
                && (a >> 36) == 0xDEA_DBEE
                && (a << 20) >> 52 == 0xEEF,
        );
        r.check(
            "i64: signed division",
            black_box(-9_000_000_000i64) / black_box(7i64) == -1_285_714_285,
        );

        // core::fmt: padding, hex, Debug of a struct, a negative number.
        let mut t = Text::new();
        let _ = write!(
            t,
            "{:>6}|{:#x}|{:?}|{}",
            black_box(42u32),
            black_box(0xBEEFu32),
            black_box(Some(QoS::AtLeastOnce)),
            black_box(-7i64)
        );
        r.check(
            "core::fmt",
            t.as_str() == "    42|0xbeef|Some(AtLeastOnce)|-7",
        );

        // Atomics: loads and stores of every width go through asm/rt.S.
        FLAG.store(black_box(true), Ordering::SeqCst);
        BYTE.store(black_box(0xA5), Ordering::Release);
        HALF.store(black_box(0xBEEF), Ordering::Release);
        BSS_WORDS[1].store(black_box(0xFEED_F00D), Ordering::SeqCst);
        r.check(
            "atomics: load/store 1, 2, 4 bytes",
            FLAG.load(Ordering::SeqCst)
                && BYTE.load(Ordering::Acquire) == 0xA5
                && HALF.load(Ordering::Acquire) == 0xBEEF
                && BSS_WORDS[1].load(Ordering::SeqCst) == 0xFEED_F00D,
        );
        let first = BUFFERS.take().is_some();
        r.check("TakeOnce: one taker", first && BUFFERS.take().is_none());

        // The cycle counter runs, and MillisClock follows it.
        let c0 = hw::ccount();
        let mut spin = 0u32;
        for i in 0..10_000u32 {
            spin = black_box(spin.wrapping_add(i));
        }
        let c1 = hw::ccount();
        r.check("ccount advances", c1.wrapping_sub(c0) > 0);
        let mut clock = MillisClock::new(80_000_000, c0);
        r.check(
            "MillisClock",
            clock.at(c0.wrapping_add(80_000 * 5 + 1)).ticks() == 5,
        );

        client_scenario(&mut r);

        let mut t = Text::new();
        let _ = write!(
            t,
            "{} passed, {} failed\nstack: {} of {} bytes used\n",
            r.passed,
            r.failed,
            hw::stack_used(),
            hw::stack_size()
        );
        sim::print(t.as_str().as_bytes());
        sim::exit(if r.failed == 0 { 0 } else { 1 })
    }

    // ------------------------------------------------ the client, end to end

    /// Bytes in one direction of the in-memory connection.
    struct Line {
        buf: [u8; 512],
        len: usize,
    }

    impl Line {
        const fn new() -> Self {
            Line {
                buf: [0; 512],
                len: 0,
            }
        }
        fn push(&mut self, bytes: &[u8]) {
            let n = bytes.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
        }
        /// Removes and returns up to `out.len()` bytes from the front.
        fn take(&mut self, out: &mut [u8]) -> usize {
            let n = out.len().min(self.len);
            out[..n].copy_from_slice(&self.buf[..n]);
            self.buf.copy_within(n..self.len, 0);
            self.len -= n;
            n
        }
    }

    /// The device's connection: what it sends goes to `out`, what it
    /// receives comes from `inp`.
    struct Pipe {
        out: Line,
        inp: Line,
    }

    impl Transport for Pipe {
        type Error = ();
        fn connect(&mut self) -> nb::Result<(), ()> {
            Ok(())
        }
        fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
            let before = self.out.len;
            self.out.push(data);
            match self.out.len - before {
                0 => Err(nb::Error::WouldBlock),
                n => Ok(n),
            }
        }
        fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
            match self.inp.take(buf) {
                0 => Err(nb::Error::WouldBlock),
                n => Ok(n),
            }
        }
        fn close(&mut self) {}
    }

    /// A broker on limpet's own codec: answers MQTT packets as a broker
    /// would. After SUBACK it publishes one QoS 1 message to the subscribed
    /// filter.
    struct Broker {
        mqtt: [u8; 256],
        mqtt_len: usize,
        got_connect: bool,
        got_subscribe: bool,
        got_publish: bool,
        got_puback: bool,
    }

    impl Broker {
        fn new() -> Self {
            Broker {
                mqtt: [0; 256],
                mqtt_len: 0,
                got_connect: false,
                got_subscribe: false,
                got_publish: false,
                got_puback: false,
            }
        }

        /// Reads what the device sent, answers into the device's input.
        fn step(&mut self, pipe: &mut Pipe) {
            let len = self.mqtt_len;
            self.mqtt_len += pipe.out.take(&mut self.mqtt[len..]);
            self.answer_packets(&mut pipe.inp);
        }

        fn answer_packets(&mut self, inp: &mut Line) {
            loop {
                let len = match Frame::parse(&self.mqtt[..self.mqtt_len]) {
                    Ok(Some(f)) if f.len() <= self.mqtt_len => f.len(),
                    _ => return,
                };
                let mut out = [0u8; 64];
                let mut extra = [0u8; 64];
                let (n, m) = match Packet::decode(&self.mqtt[..len]) {
                    Ok(Packet::Connect(c)) => {
                        self.got_connect = c.client_id == "lx106-smoke";
                        let ack = Packet::ConnAck(ConnAck {
                            session_present: false,
                            code: ConnectReturnCode::Accepted,
                        });
                        (ack.encode(&mut out).unwrap_or(0), 0)
                    }
                    Ok(Packet::Subscribe(s)) => {
                        let mut topics = s.topics.iter();
                        self.got_subscribe = topics.next() == Some(("smoke/in", QoS::AtLeastOnce))
                            && topics.next().is_none();
                        let ack = Packet::SubAck(SubAck {
                            pid: s.pid,
                            codes: &[1],
                        });
                        let message = Packet::Publish(Publish {
                            dup: false,
                            qos: QoS::AtLeastOnce,
                            retain: false,
                            topic: "smoke/in",
                            pid: Some(7),
                            payload: b"hello lx106",
                        });
                        (
                            ack.encode(&mut out).unwrap_or(0),
                            message.encode(&mut extra).unwrap_or(0),
                        )
                    }
                    Ok(Packet::Publish(p)) => {
                        self.got_publish = p.topic == "smoke/out" && p.payload == b"42";
                        let ack = Packet::PubAck(p.pid.unwrap_or(0));
                        (ack.encode(&mut out).unwrap_or(0), 0)
                    }
                    Ok(Packet::PubAck(7)) => {
                        self.got_puback = true;
                        (0, 0)
                    }
                    Ok(Packet::PingReq) => (Packet::PingResp.encode(&mut out).unwrap_or(0), 0),
                    _ => (0, 0),
                };
                inp.push(&out[..n]);
                inp.push(&extra[..m]);
                self.mqtt.copy_within(len..self.mqtt_len, 0);
                self.mqtt_len -= len;
            }
        }
    }

    fn client_scenario(r: &mut Report) {
        let mut rx = [0u8; 256];
        let mut tx = [0u8; 256];
        let mut store = [0u8; 4 * 64];
        let config = Config::new(black_box("lx106-smoke"));
        let mut client: Client<'_, 4, 8> =
            match Client::new(config, Options::default(), &mut rx, &mut tx, &mut store) {
                Ok(c) => c,
                Err(_) => {
                    r.check("client: new", false);
                    return;
                }
            };
        let mut pipe = Pipe {
            out: Line::new(),
            inp: Line::new(),
        };
        let mut broker = Broker::new();
        let _ = client.subscribe("smoke/in", QoS::AtLeastOnce);

        let (mut up, mut subscribed, mut published, mut message) = (false, false, false, false);
        let mut token = None;
        for step in 0..40u32 {
            let now = Instant::from_ticks(step * 10);
            while let Some(event) = client.poll(now, &mut pipe) {
                match event {
                    Event::Up { .. } => up = true,
                    Event::Subscribed { topic, qos } => {
                        subscribed = topic == "smoke/in" && qos == QoS::AtLeastOnce
                    }
                    Event::Message(m) => {
                        message = m.topic == "smoke/in" && m.payload == b"hello lx106"
                    }
                    Event::Published(t) => published = Some(t) == token,
                    _ => {}
                }
            }
            if up && token.is_none() {
                token = client
                    .publish("smoke/out", b"42", QoS::AtLeastOnce, false)
                    .ok()
                    .flatten();
            }
            broker.step(&mut pipe);
        }
        r.check(
            "client: CONNECT sent, CONNACK -> Up",
            broker.got_connect && up,
        );
        r.check(
            "client: SUBSCRIBE sent, SUBACK -> Subscribed",
            broker.got_subscribe && subscribed,
        );
        r.check(
            "client: PUBLISH QoS 1 sent, PUBACK -> Published",
            broker.got_publish && published,
        );
        r.check(
            "client: PUBLISH QoS 1 received -> Message, PUBACK sent",
            message && broker.got_puback,
        );
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        limpet_esp8266::fatal::panic(info)
    }
}

#[cfg(not(target_arch = "xtensa"))]
fn main() {}
