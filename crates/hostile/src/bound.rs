//! The time one input may take. A parser that is linear in its input reads 64 KiB in well under
//! a millisecond even in a debug build; the bound is generous so a loaded machine does not fail
//! the suite, and tight enough that a quadratic path or a hang cannot pass.

use std::time::{Duration, Instant};

/// The most an input of up to 64 KiB may take; a longer one gets as much again per 64 KiB.
pub const PER_64_KIB: Duration = Duration::from_millis(50);

/// Runs `f`, which reads an input of `len` bytes, and panics when it overran its bound twice in
/// a row (once may be another process taking the CPU; twice is the code).
pub fn bounded<T>(len: usize, f: impl Fn() -> T) -> T {
    let blocks = u32::try_from(len.div_ceil(64 * 1024).max(1)).unwrap_or(u32::MAX);
    let bound = PER_64_KIB.saturating_mul(blocks);
    let started = Instant::now();
    let out = f();
    let first = started.elapsed();
    if first <= bound {
        return out;
    }
    let started = Instant::now();
    let out = f();
    let second = started.elapsed();
    assert!(second <= bound, "an input of {len} bytes took {first:?}, then {second:?}; the bound is {bound:?}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_call_passes_and_returns_its_value() {
        assert_eq!(bounded(10, || 7), 7);
    }

    #[test]
    #[should_panic(expected = "the bound is")]
    fn a_call_slower_than_its_bound_twice_fails() {
        bounded(10, || std::thread::sleep(PER_64_KIB + Duration::from_millis(5)));
    }
}
