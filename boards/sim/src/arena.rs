//! The memory a simulated firmware lends its machines, freed when that
//! firmware goes.
//!
//! A real firmware lends the library its statics (`Resources` in a
//! `StaticCell`), which live as long as the chip runs. The sim runs many
//! firmwares in one process and reboots them, so each one's storage lives
//! in an [`Arena`] owned beside the machines that borrow it and dropped
//! after them: a sim device, or one boot of a co-processor, frees what it
//! took when it goes. Nothing is leaked.
//!
//! The machines are typed with `'static` borrows (as in a firmware). That
//! is a promise the owner keeps, not the compiler, so the arena's methods
//! are `unsafe` and the owners keep their machines private: a field
//! declared before the arena (dropped first), reached from outside only
//! through shared references, whose lifetime shrinks to the owner's.

/// Values kept until the arena is dropped. See the module documentation.
#[derive(Default)]
pub struct Arena {
    kept: Vec<Kept>,
}

/// One value: its box's raw pointer, and the function that frees it.
type Kept = (*mut (), unsafe fn(*mut ()));

/// Frees a value that [`Arena::keep`] boxed.
///
/// # Safety
/// `p` came from `Box::<T>::into_raw` and is freed once.
unsafe fn free<T>(p: *mut ()) {
    drop(unsafe { Box::from_raw(p.cast::<T>()) });
}

impl Arena {
    pub fn new() -> Arena {
        Arena::default()
    }

    /// Keeps `value` until the arena is dropped.
    ///
    /// # Safety
    /// The reference (and everything borrowed from it) must be gone before
    /// the arena is dropped.
    pub unsafe fn keep<T>(&mut self, value: T) -> &'static mut T {
        let p = Box::into_raw(Box::new(value));
        self.kept.push((p.cast(), free::<T>));
        unsafe { &mut *p }
    }

    /// `n` zeroed bytes.
    ///
    /// # Safety
    /// As [`Arena::keep`].
    pub unsafe fn bytes(&mut self, n: usize) -> &'static mut [u8] {
        unsafe { self.keep(vec![0u8; n]) }.as_mut_slice()
    }

    /// A copy of `s`.
    ///
    /// # Safety
    /// As [`Arena::keep`].
    pub unsafe fn str(&mut self, s: &str) -> &'static str {
        unsafe { self.keep(s.to_string()) }.as_str()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // Newest first: a later value may borrow an earlier one.
        for (p, free) in self.kept.drain(..).rev() {
            // SAFETY: each pointer came from `keep` and is freed once; the
            // owner dropped every borrower first (the methods' contract).
            unsafe { free(p) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Arena;
    use std::rc::Rc;

    #[test]
    fn everything_kept_is_dropped_with_the_arena() {
        let witness = Rc::new(());
        let mut arena = Arena::new();
        for _ in 0..3 {
            // SAFETY: the references die at the end of this statement.
            let _ = unsafe { arena.keep(Rc::clone(&witness)) };
            let _ = unsafe { arena.bytes(64) };
        }
        assert_eq!(Rc::strong_count(&witness), 4);
        drop(arena);
        assert_eq!(Rc::strong_count(&witness), 1);
    }
}
