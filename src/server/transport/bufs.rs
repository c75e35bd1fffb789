//! The shard's receive buffers: a provided-buffer ring (`IORING_REGISTER_PBUF_RING`)
//! that multishot receives pick from, so read memory is one pool per shard
//! instead of a buffer per connection.

use std::io;

use io_uring::types::BufRingEntry;
use io_uring::IoUring;

/// The buffer group id the shard's receives select from.
pub const GROUP: u16 = 0;

/// An anonymous mapping, unmapped on drop. The ring of buffer descriptors
/// must be page aligned; the buffers come from the same kind of mapping so
/// that pages nobody received into are never made resident.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh private anonymous mapping; no aliasing.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: ptr.cast(), len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// `count` buffers of `size` bytes, registered with the ring as group
/// [`GROUP`]. A buffer the kernel filled belongs to us until
/// [`BufPool::give_back`] returns it.
///
/// Must be dropped after the io_uring it is registered with: the kernel
/// writes into these pages for as long as the ring lives.
pub struct BufPool {
    descriptors: Mapping,
    buffers: Mapping,
    size: usize,
    mask: u16,
    tail: u16,
}

impl BufPool {
    /// `count` must be a power of two, at most 32768.
    pub fn register(ring: &IoUring, count: u16, size: usize) -> io::Result<BufPool> {
        assert!(count.is_power_of_two() && count <= 1 << 15, "buffer count must be a power of two");
        let descriptors = Mapping::new((count as usize * std::mem::size_of::<BufRingEntry>()).max(4096))?;
        let buffers = Mapping::new(count as usize * size)?;
        // SAFETY: the descriptor ring is page aligned, `count` entries long,
        // and outlives the registration (see the type's drop order note).
        unsafe { ring.submitter().register_buf_ring_with_flags(descriptors.ptr as u64, count, GROUP, 0)? };
        let mut pool = BufPool { descriptors, buffers, size, mask: count - 1, tail: 0 };
        for bid in 0..count {
            pool.give_back(bid);
        }
        Ok(pool)
    }

    /// The first `len` bytes the kernel received into buffer `bid`.
    pub fn filled(&self, bid: u16, len: usize) -> &[u8] {
        let len = len.min(self.size);
        // SAFETY: `bid` < count (the kernel only reports ids we registered)
        // and the buffer is ours until given back.
        unsafe { std::slice::from_raw_parts(self.buffers.ptr.add(bid as usize * self.size), len) }
    }

    /// Hands buffer `bid` back to the kernel for the next receive.
    pub fn give_back(&mut self, bid: u16) {
        let entries = self.descriptors.ptr.cast::<BufRingEntry>();
        // SAFETY: the slot at `tail` is not visible to the kernel until the
        // tail store below publishes it.
        unsafe {
            let entry = &mut *entries.add((self.tail & self.mask) as usize);
            entry.set_addr(self.buffers.ptr.add(bid as usize * self.size) as u64);
            entry.set_len(self.size as u32);
            entry.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail lives in the first entry's reserved field; the
        // release store orders the entry's writes before it.
        unsafe {
            let tail = BufRingEntry::tail(entries).cast_mut();
            std::sync::atomic::AtomicU16::from_ptr(tail).store(self.tail, std::sync::atomic::Ordering::Release);
        }
    }
}
