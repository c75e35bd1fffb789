//! A fast per-thread pseudo-random generator for sampling (RANDOMKEY,
//! SPOP, active expiry): xorshift64*, seeded per thread from the clock and
//! the thread's address space. Not for anything security-related.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    let addr = &local as *const u8 as u64;
    (t ^ addr.rotate_left(32)) | 1
}

/// The next pseudo-random u64 of this thread.
pub fn next_u64() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// Uniform in `0..n` (n > 0), bias negligible for the sizes used here.
pub fn below(n: u64) -> u64 {
    ((next_u64() as u128 * n as u128) >> 64) as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn below_stays_in_range_and_varies() {
        let v: Vec<u64> = (0..1000).map(|_| super::below(10)).collect();
        assert!(v.iter().all(|&x| x < 10));
        assert!((0..10).all(|d| v.contains(&d)));
    }
}
