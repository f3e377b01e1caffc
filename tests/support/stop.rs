//! Ctrl-C for the benchmarks that include this support: SIGINT, SIGTERM and
//! SIGHUP set a flag (the handler does nothing else: async-signal-safe) that
//! their loops check, so they end by returning from `main` and every
//! broker, observer and client they started is stopped by PID (`Drop`),
//! never left behind by a process that died of the signal. The tests never
//! install it: the flag stays false.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP.
pub fn on_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; signal(2) has no other precondition.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

/// A stop was asked for.
pub fn requested() -> bool {
    STOP.load(Ordering::Relaxed)
}
