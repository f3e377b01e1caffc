//! Stack high-water mark: paint the free stack before the tests, find the
//! deepest overwritten word after them.
//!
//! Each architecture's link script defines cortex-m-rt's two symbols:
//! `_stack_start` (the initial stack pointer, highest address) and
//! `_stack_end` (the lowest address the stack may use).

use core::ptr;

use crate::console::println;
use crate::runner::Global;

const PAINT: u32 = 0xCCCC_CCCC;
/// Painting costs time under QEMU; the tests need far less than this.
const MAX_PAINT: usize = 1 << 20;
/// Room left unpainted below the painter's own frame for its callees.
const MARGIN: usize = 1024;

extern "C" {
    static _stack_start: u8;
    static _stack_end: u8;
}

/// The painted range `[bottom, top)`, set by [`paint`].
static PAINTED: Global<(usize, usize)> = Global::new((0, 0));

fn bounds() -> (usize, usize) {
    // Only the symbols' addresses are used, never their contents.
    (
        ptr::addr_of!(_stack_end) as usize,
        ptr::addr_of!(_stack_start) as usize,
    )
}

pub(crate) fn paint() {
    let (low, _) = bounds();
    let marker = 0u8;
    let here = ptr::addr_of!(marker) as usize;
    let top = (here - MARGIN) & !3;
    let bottom = (top.saturating_sub(MAX_PAINT).max(low) + 3) & !3;
    PAINTED.set((bottom, top));
    let mut a = bottom;
    while a < top {
        // SAFETY: [bottom, top) is stack memory below the live frames (it
        // ends MARGIN bytes below this function's locals) and above the
        // stack limit: nothing is stored there yet.
        unsafe { ptr::write_volatile(a as *mut u32, PAINT) };
        a += 4;
    }
}

pub(crate) fn report() {
    let (bottom, top) = PAINTED.get();
    let (_, high) = bounds();
    let mut a = bottom;
    // SAFETY: reads words of the range `paint` wrote, which is stack memory.
    while a < top && unsafe { ptr::read_volatile(a as *const u32) } == PAINT {
        a += 4;
    }
    if a == bottom {
        println!("stack: more than {} bytes used", high - bottom);
    } else {
        println!("stack: {} bytes used at most", high - a);
    }
}
