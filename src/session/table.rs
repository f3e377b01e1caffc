//! Order-keeping removal from the small fixed tables, without `memmove`.
//!
//! `heapless::Vec::remove` shifts the tail with `ptr::copy`, which links the
//! general `memmove` (~1.5 KB on Cortex-M). Tables here hold a handful of
//! entries, so bubbling the one removed to the end with swaps costs nothing.

pub(crate) fn remove<T, const N: usize>(v: &mut heapless::Vec<T, N>, index: usize) -> Option<T> {
    if index >= v.len() {
        return None;
    }
    for i in index + 1..v.len() {
        v.swap(i - 1, i);
    }
    v.pop()
}

#[cfg(test)]
mod tests {
    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn keeps_the_order_of_the_rest() {
        let mut v: heapless::Vec<u8, 4> = heapless::Vec::from_slice(&[1, 2, 3, 4]).unwrap();
        assert_eq!(super::remove(&mut v, 1), Some(2));
        assert_eq!(&v[..], &[1, 3, 4]);
        assert_eq!(super::remove(&mut v, 2), Some(4));
        assert_eq!(super::remove(&mut v, 5), None);
        assert_eq!(&v[..], &[1, 3]);
    }
}
