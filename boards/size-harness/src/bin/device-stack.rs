//! The RAM of a whole device stack, as `size_of` figures a size report reads
//! from the ELF: each `LIMPET_RAM_*` symbol is an array as long as one part
//! of what a WiFi device running limpet keeps in RAM (feature `stack`):
//!
//! | symbol                 | part                                               |
//! |------------------------|----------------------------------------------------|
//! | `LIMPET_RAM_CLIENT`    | `Client<4, 8>` state (buffers borrowed)            |
//! | `LIMPET_RAM_MQTT_BUFS` | the client's rx, tx and in-flight store, 1 KiB each |
//! | `LIMPET_RAM_WLAN`      | the WLAN controller (`wlan::Wlan`)                  |
//! | `LIMPET_RAM_STACK`     | `net::stack::Stack`: smoltcp `Interface` (neighbour cache, routes, addresses) and the stack's own state |
//! | `LIMPET_RAM_SOCKETS`   | socket slots: TCP, DNS, DHCP (`SocketStorage` × 3)  |
//! | `LIMPET_RAM_DNS`       | one DNS query slot                                  |
//! | `LIMPET_RAM_TCP_BUFS`  | the TCP socket's rx and tx buffers, 1 KiB each (2 KiB) |
//!
//! Nothing here runs: the figures are the types' sizes on the target (a
//! 32-bit one; a 64-bit host has wider pointers). limpet itself has no
//! statics. The radio driver's frame buffers are the board's and not counted.
//!
//! On the host, and without feature `stack`, this is an empty program.
#![cfg_attr(target_os = "none", no_std, no_main)]

// The harness library carries the panic handler.
#[cfg(target_os = "none")]
use harness as _;

#[cfg(all(target_os = "none", feature = "stack"))]
mod parts {
    use core::mem::size_of;
    use limpet::net::stack::Stack;
    use limpet::wlan::Wlan;
    use smoltcp::iface::SocketStorage;
    use smoltcp::socket::dns::DnsQuery;

    pub const MQTT_BUF: usize = 1024;
    pub const TCP_BUF: usize = 1024;

    macro_rules! part {
        ($name:ident, $bytes:expr) => {
            #[used]
            #[no_mangle]
            pub static $name: [u8; $bytes] = [0; $bytes];
        };
    }

    part!(LIMPET_RAM_CLIENT, harness::CLIENT_STATE_BYTES);
    part!(LIMPET_RAM_MQTT_BUFS, 3 * MQTT_BUF);
    part!(LIMPET_RAM_WLAN, size_of::<Wlan<'static>>());
    part!(LIMPET_RAM_STACK, size_of::<Stack<'static>>());
    part!(LIMPET_RAM_SOCKETS, 3 * size_of::<SocketStorage<'static>>());
    part!(LIMPET_RAM_DNS, size_of::<Option<DnsQuery>>());
    part!(LIMPET_RAM_TCP_BUFS, 2 * TCP_BUF);

    /// Keeps every part from linker garbage collection.
    pub fn keep() {
        core::hint::black_box((
            &LIMPET_RAM_CLIENT,
            &LIMPET_RAM_MQTT_BUFS,
            &LIMPET_RAM_WLAN,
            &LIMPET_RAM_STACK,
            &LIMPET_RAM_SOCKETS,
            &LIMPET_RAM_DNS,
            &LIMPET_RAM_TCP_BUFS,
        ));
    }
}

#[cfg(all(target_os = "none", not(feature = "stack")))]
mod parts {
    pub fn keep() {}
}

#[cfg(all(target_arch = "arm", target_os = "none"))]
#[cortex_m_rt::entry]
fn main() -> ! {
    parts::keep();
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Other bare-metal targets: a plain entry symbol (measured, never run).
#[cfg(all(
    target_os = "none",
    not(any(target_arch = "arm", target_arch = "xtensa"))
))]
#[no_mangle]
pub extern "C" fn _start() -> ! {
    parts::keep();
    #[allow(clippy::empty_loop)]
    loop {}
}

// ESP8266: the board runtime's `_start` calls this `main` once RAM is set up.
#[cfg(all(target_os = "none", target_arch = "xtensa"))]
limpet_esp8266::entry!(run);

#[cfg(all(target_os = "none", target_arch = "xtensa"))]
fn run() -> ! {
    parts::keep();
    #[allow(clippy::empty_loop)]
    loop {}
}

#[cfg(not(target_os = "none"))]
fn main() {}
