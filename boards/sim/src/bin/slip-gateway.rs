//! The host's end of the ESP8266's serial link: IP over SLIP to a gateway
//! that answers DNS and proxies TCP to a real broker.
//!
//! ```text
//! slip-gateway [--broker HOST:PORT] [--name NAME] --serial PATH
//! slip-gateway [--broker HOST:PORT] [--name NAME] -- COMMAND ARGS...
//! ```
//!
//! The device is 10.0.0.2/24 with the gateway 10.0.0.1 as router and DNS
//! server (the firmware's static configuration, `boards/esp8266`). The
//! gateway answers `NAME` (default `broker.sim`) with 10.0.0.1 and proxies
//! TCP to 10.0.0.1:1883 to `--broker` (default 127.0.0.1:1883, which must be
//! a loopback address).
//!
//! The line is either a serial device (`--serial /dev/ttyUSB0`; set its
//! speed first, e.g. `stty -F /dev/ttyUSB0 115200 raw`) or the standard
//! streams of COMMAND (the firmware under QEMU with feature `sim`), whose
//! stderr (the device's log) passes through. The gateway's own log lines go
//! to stderr, prefixed `gateway:`. It exits when the line closes, with
//! COMMAND's exit status if there is one.
//!
//! Time: the device and QEMU run in real time, so the gateway does too.

use limpet_sim::gateway::{Gateway, GatewayConfig, Network, NetworkConfig};
use limpet_sim::slip::SlipLine;
use smoltcp::time::Instant;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::process::{exit, Command, Stdio};
use std::time::{Duration, Instant as WallClock};

/// The firmware's SLIP MTU (`boards/esp8266`, src/bin/firmware.rs).
const MTU: usize = 576;
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const MQTT_PORT: u16 = 1883;

/// Longest sleep between polls with nothing pending.
const IDLE: Duration = Duration::from_millis(20);
/// Sleep while a proxied connection may get bytes from the broker.
const BUSY: Duration = Duration::from_millis(1);

struct Args {
    broker: SocketAddr,
    name: String,
    serial: Option<String>,
    command: Vec<String>,
}

fn usage(msg: &str) -> ! {
    eprintln!("slip-gateway: {msg}");
    eprintln!(
        "usage: slip-gateway [--broker HOST:PORT] [--name NAME] (--serial PATH | -- COMMAND ARGS...)"
    );
    exit(2)
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let mut broker = None;
    let mut name = "broker.sim".to_string();
    let mut serial = None;
    let mut command = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--broker" => {
                let v = args
                    .next()
                    .unwrap_or_else(|| usage("--broker needs HOST:PORT"));
                let addr = v
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .unwrap_or_else(|| usage(&format!("cannot resolve {v}")));
                broker = Some(addr);
            }
            "--name" => name = args.next().unwrap_or_else(|| usage("--name needs a name")),
            "--serial" => {
                serial = Some(
                    args.next()
                        .unwrap_or_else(|| usage("--serial needs a path")),
                )
            }
            "--" => {
                command = args.by_ref().collect();
            }
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if serial.is_some() != command.is_empty() {
        usage("give exactly one of --serial PATH or -- COMMAND");
    }
    Args {
        broker: broker.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], MQTT_PORT))),
        name,
        serial,
        command,
    }
}

fn main() {
    let args = parse_args();
    if !args.broker.ip().is_loopback() {
        usage("the broker must be on a loopback address");
    }
    let network = Network::new(NetworkConfig {
        gateway: GATEWAY,
        ..NetworkConfig::default()
    });
    network.set_record(&args.name, GATEWAY);
    network.map(GATEWAY, MQTT_PORT, args.broker);

    let mut child = None;
    let mut line = match &args.serial {
        Some(path) => {
            let port = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .unwrap_or_else(|e| usage(&format!("cannot open {path}: {e}")));
            let reader = port
                .try_clone()
                .unwrap_or_else(|e| usage(&format!("{path}: {e}")));
            SlipLine::new(reader, Box::new(port) as Box<dyn Write>, MTU)
        }
        None => {
            let mut c = Command::new(&args.command[0])
                .args(&args.command[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| usage(&format!("cannot run {}: {e}", args.command[0])));
            let (stdin, stdout) = (c.stdin.take(), c.stdout.take());
            child = Some(c);
            match (stdin, stdout) {
                (Some(i), Some(o)) => SlipLine::new(o, Box::new(i) as Box<dyn Write>, MTU),
                _ => usage("no pipes to the command"),
            }
        }
    };
    eprintln!(
        "gateway: {} -> {GATEWAY}, TCP {GATEWAY}:{MQTT_PORT} -> {}",
        args.name, args.broker
    );

    let start = WallClock::now();
    let now = || Instant::from_micros(start.elapsed().as_micros() as i64);
    let mut gateway = Gateway::new(&network, GatewayConfig::default(), &mut line, now());
    let mut connections = 0;
    loop {
        let t = now();
        let next = gateway.poll_device(t, &mut line);
        if line.closed() {
            break;
        }
        let open = gateway.real_connections();
        if open != connections {
            eprintln!("gateway: {open} broker connection(s)");
            connections = open;
        }
        let mut wait = match next {
            Some(at) if at <= t => Duration::ZERO,
            Some(at) => Duration::from_micros((at - t).total_micros()).min(IDLE),
            None => IDLE,
        };
        if open > 0 {
            wait = wait.min(BUSY);
        }
        line.wait(wait);
    }
    let _ = std::io::stderr().flush();
    let code = match child {
        Some(mut c) => c.wait().ok().and_then(|s| s.code()).unwrap_or(1),
        None => 0,
    };
    eprintln!("gateway: line closed");
    exit(code)
}
