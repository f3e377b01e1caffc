//! The test runner, the panic handler and the `start` lang item.

use core::cell::Cell;
use core::panic::PanicInfo;

use crate::console::{print, println};
use crate::{exit, stack};

/// Exit status of a failed run (libtest's).
const FAILED: i32 = 101;

/// A `static` cell for the runner's bookkeeping.
pub(crate) struct Global<T>(Cell<T>);

// SAFETY: the tests run on one core with no interrupt handlers and no
// threads; the only other code that touches these cells is the panic handler
// and the fault handlers, which run on that same flow of control and never
// return into it.
unsafe impl<T: Copy + Send> Sync for Global<T> {}

impl<T: Copy> Global<T> {
    pub(crate) const fn new(value: T) -> Self {
        Global(Cell::new(value))
    }

    pub(crate) fn get(&self) -> T {
        self.0.get()
    }

    pub(crate) fn set(&self, value: T) {
        self.0.set(value);
    }
}

/// Non-zero and mutable, so it lands in `.data`: [`start`] checks that the
/// architecture's startup copied `.data` to RAM (QEMU's `-kernel` loads it at
/// its flash address only).
static DATA_COPIED: Global<u32> = Global::new(0x600D_DA7A);

static PASSED: Global<usize> = Global::new(0);
static CURRENT: Global<Option<&'static str>> = Global::new(None);
static PANICKING: Global<bool> = Global::new(false);

/// One test as the harness hands it over: a `#[test]` function.
pub trait Testable {
    fn run(&self);
}

impl<F: Fn()> Testable for F {
    fn run(&self) {
        // "limpet::wire::frame::tests::all_types_parse" → the path libtest
        // prints on the host, without the crate name.
        let path = core::any::type_name::<F>();
        let name = path.split_once("::").map_or(path, |(_, rest)| rest);
        print!("test {name} ... ");
        CURRENT.set(Some(name));
        self();
        CURRENT.set(None);
        PASSED.set(PASSED.get() + 1);
        println!("ok");
    }
}

/// The custom test runner: runs every test in order, prints the summary,
/// exits 0. The first failure ends the run (bare metal has no unwinding).
pub fn run(tests: &[&dyn Testable]) {
    println!();
    println!("running {} tests", tests.len());
    for test in tests {
        test.run();
    }
    println!();
    stack::report();
    println!("{} passed, 0 failed", PASSED.get());
    exit(0)
}

/// Reports a fault (an exception or trap the tests caused) as a failure.
pub(crate) fn fault(args: core::fmt::Arguments<'_>) -> ! {
    if let Some(name) = CURRENT.get() {
        println!("FAILED");
        println!();
        println!("---- {name} ----");
    }
    println!("{args}");
    println!();
    println!("{} passed, 1 failed", PASSED.get());
    exit(FAILED)
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    if PANICKING.get() {
        // Panicked while reporting a panic: just stop.
        exit(FAILED)
    }
    PANICKING.set(true);
    fault(format_args!("{info}"))
}

/// What rustc's generated C `main` calls with the harness's `main` (std's
/// `lang_start` has this signature; it is rustc-internal, hence the pinned
/// nightly). The architecture's reset code calls that C `main`.
#[lang = "start"]
fn start<T>(main: fn() -> T, _argc: isize, _argv: *const *const u8, _sigpipe: u8) -> isize {
    if DATA_COPIED.get() != 0x600D_DA7A {
        fault(format_args!("startup error: .data was not copied to RAM"))
    }
    #[cfg(armv6m)]
    crate::cortex_m::armv6m_alignment();
    stack::paint();
    main();
    // The harness's main returns only if `run` did not exit.
    exit(0)
}
