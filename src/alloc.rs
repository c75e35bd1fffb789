//! The process's allocator with a byte count, for `INFO memory`'s
//! `used_memory` (Redis counts through zmalloc the same way).
//!
//! The allocator is mimalloc, as Redis ships jemalloc rather than the libc
//! one: its size classes are tight for the small blocks a keyspace is made
//! of (a 16-byte key takes 16 bytes, where glibc's malloc takes 32), each
//! thread allocates from its own heap without locks — what a
//! thread-per-core server wants — and it does not grow arenas with
//! `mprotect`, whose TLB shootdowns interrupt every core.
//!
//! Each allocation is charged the size of the block mimalloc really hands
//! out for it (`mi_good_size`), so the total tracks the heap's real growth
//! rather than the sum of requested sizes. Counters are per thread slot to
//! keep cores off each other's cache lines; a reader sums them.

use std::alloc::{GlobalAlloc, Layout};

use mimalloc::MiMalloc as System;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

pub struct Counting;

const SLOTS: usize = 64;

#[repr(align(64))]
struct Slot(AtomicIsize);

static COUNTS: [Slot; SLOTS] = [const { Slot(AtomicIsize::new(0)) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// What mimalloc takes for a request of `size` bytes.
fn charge(size: usize) -> isize {
    // SAFETY: a pure function of the size.
    unsafe { libmimalloc_sys::mi_good_size(size) as isize }
}

fn add(delta: isize) {
    let slot = MY_SLOT
        .try_with(|s| {
            if s.get() == usize::MAX {
                s.set(NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS);
            }
            s.get()
        })
        // During thread teardown: any slot will do, the sum is what counts.
        .unwrap_or(0);
    COUNTS[slot].0.fetch_add(delta, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(charge(layout.size()));
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            add(charge(layout.size()));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        add(-charge(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            add(charge(new_size) - charge(layout.size()));
        }
        p
    }
}

/// Gives back to the system the memory this thread's heap freed and no
/// longer needs. mimalloc purges lazily, when the thread next allocates: a
/// shard that went idle after a burst (a bulk load reallocating its tables)
/// would keep the freed pages resident. Cheap when there is nothing to do.
pub fn collect() {
    // SAFETY: operates on the calling thread's own heap.
    unsafe { libmimalloc_sys::mi_collect(false) }
}

/// Marks the counting allocator as the one in use (the binary does this);
/// without it [`used`] has nothing to report.
pub fn mark_installed() {
    INSTALLED.store(true, Ordering::Relaxed);
}

/// Bytes allocated now, or None when the counting allocator is not in use.
pub fn used() -> Option<u64> {
    if !INSTALLED.load(Ordering::Relaxed) {
        return None;
    }
    let total: isize = COUNTS.iter().map(|s| s.0.load(Ordering::Relaxed)).sum();
    Some(total.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::charge;

    #[test]
    fn charges_follow_mimalloc_size_classes() {
        assert_eq!(charge(16), 16);
        assert_eq!(charge(17), 32);
        assert_eq!(charge(33), 48);
        assert_eq!(charge(32), 32);
        assert_eq!(charge(100), 112);
        assert!(charge(1 << 20) >= 1 << 20);
    }
}
