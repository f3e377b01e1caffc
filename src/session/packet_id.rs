//! Packet identifiers (§2.3.1) for SUBSCRIBE and UNSUBSCRIBE.
//!
//! The in-flight table derives the ids of messages from their slots (slot
//! `s` of `N` uses `s + 1 + k·(N + 1)`, see [`super::inflight`]); the one
//! class of ids it never uses, `N + 1 + k·(N + 1)`, is the subscriptions'.
//! So no id is ever in use twice and no table has to be searched to prove it.

/// True if `pid` belongs to the subscription class for `N` in-flight slots.
#[cfg(test)]
pub(crate) fn is_subscription_id<const N: usize>(pid: u16) -> bool {
    pid != 0 && (u32::from(pid) - 1) % (N as u32 + 1) == N as u32
}

/// Hands out the subscription class in turn, skipping ids still in use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SubscriptionIds {
    last: u16,
}

impl SubscriptionIds {
    pub(crate) const fn new() -> Self {
        SubscriptionIds { last: 0 }
    }

    /// The next id of the class for which `in_use` is false; `None` only if
    /// every id of the class is in use (possible only with a huge `N`).
    pub(crate) fn next<const N: usize>(&mut self, in_use: impl Fn(u16) -> bool) -> Option<u16> {
        let step = N as u32 + 1;
        let count = (u32::from(u16::MAX) - step) / step + 1;
        for _ in 0..count {
            let next = u32::from(self.last) + step;
            self.last = if self.last == 0 || next > u32::from(u16::MAX) {
                step as u16
            } else {
                next as u16
            };
            if !in_use(self.last) {
                return Some(self.last);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn subscription_ids_step_through_their_class_and_skip_those_in_use() {
        let mut ids = SubscriptionIds::new();
        assert_eq!(ids.next::<4>(|_| false), Some(5));
        assert_eq!(ids.next::<4>(|p| p == 10), Some(15));
        assert!(is_subscription_id::<4>(15));
        assert!(!is_subscription_id::<4>(14));
        // With no in-flight slots every id is a subscription id.
        let mut all = SubscriptionIds::new();
        assert_eq!(all.next::<0>(|_| false), Some(1));
        assert_eq!(all.next::<0>(|_| false), Some(2));
        // Wraps within the class, never to 0.
        let mut w = SubscriptionIds { last: 65_535 };
        assert_eq!(w.next::<0>(|_| false), Some(1));
        // A class that is entirely in use gives up instead of looping.
        let mut big = SubscriptionIds::new();
        assert_eq!(big.next::<40_000>(|_| true), None);
    }
}
