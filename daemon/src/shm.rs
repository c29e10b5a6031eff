//! Shared-memory frame slots: a `memfd` of `slots × slot_bytes`, mapped by
//! the daemon and by its client, passed once when a push/pull graph opens.
//!
//! Ownership of a slot passes with protocol messages: a client writes input
//! slot `k` and sends `Push { slot: k }`; the daemon reads it and answers
//! `PushDone { slot: k }`, after which the client may write it again. The
//! daemon writes an output slot only between a `Pull` and its `Pulled`.
//! The daemon seals its files against shrinking and growing, so a client
//! cannot truncate a mapping under it (which would fault the daemon).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// A mapped `memfd` divided into equal slots.
pub struct SharedSlots {
    fd: OwnedFd,
    ptr: *mut u8,
    slot_bytes: usize,
    slots: u32,
}

// SAFETY: the mapping is plain shared memory owned by this value (unmapped
// on drop); moving it to another thread moves that ownership. Concurrent
// access is coordinated by the protocol (see the module docs), and every
// access goes through `&self`/`&mut self` methods that copy bytes.
unsafe impl Send for SharedSlots {}

impl std::fmt::Debug for SharedSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedSlots({} × {} B)", self.slots, self.slot_bytes)
    }
}

fn total(slot_bytes: u64, slots: u32) -> io::Result<usize> {
    slot_bytes
        .checked_mul(u64::from(slots))
        .and_then(|t| usize::try_from(t).ok())
        .filter(|t| *t > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad shared-memory size"))
}

impl SharedSlots {
    /// Creates and maps a sealed `memfd` of `slots` slots (daemon side).
    pub fn create(name: &str, slot_bytes: u64, slots: u32) -> io::Result<SharedSlots> {
        use rustix::fs::{MemfdFlags, SealFlags};
        let len = total(slot_bytes, slots)?;
        let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
        rustix::fs::ftruncate(&fd, len as u64)?;
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)?;
        Self::map_fd(fd, len, slot_bytes as usize, slots)
    }

    /// Maps a file received from the daemon (client side), checking its size.
    pub fn map(fd: OwnedFd, slot_bytes: u64, slots: u32) -> io::Result<SharedSlots> {
        let len = total(slot_bytes, slots)?;
        let st = rustix::fs::fstat(&fd)?;
        if (st.st_size as u64) < len as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the daemon's shared memory is smaller than its port",
            ));
        }
        Self::map_fd(fd, len, slot_bytes as usize, slots)
    }

    fn map_fd(fd: OwnedFd, len: usize, slot_bytes: usize, slots: u32) -> io::Result<SharedSlots> {
        use rustix::mm::{MapFlags, ProtFlags};
        // SAFETY: a fresh shared mapping of `len` bytes of `fd` at an address
        // the kernel chooses; it aliases nothing in this process. It is
        // unmapped exactly once, in `Drop`.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )?
        };
        Ok(SharedSlots {
            fd,
            ptr: ptr.cast(),
            slot_bytes,
            slots,
        })
    }

    /// The file, to pass to the other side.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Number of slots.
    pub fn slots(&self) -> u32 {
        self.slots
    }

    /// Bytes per slot.
    pub fn slot_bytes(&self) -> usize {
        self.slot_bytes
    }

    fn check(&self, k: u32) -> io::Result<*mut u8> {
        if k >= self.slots {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("slot {k} does not exist ({} slots)", self.slots),
            ));
        }
        // SAFETY: `k < slots`, so the offset stays inside the mapping.
        Ok(unsafe { self.ptr.add(k as usize * self.slot_bytes) })
    }

    /// Slot `k` as bytes. The protocol gives this side the slot (see the
    /// module docs); a peer that writes it anyway can only tear the frame.
    pub fn slot(&self, k: u32) -> io::Result<&[u8]> {
        let p = self.check(k)?;
        // SAFETY: `p..p+slot_bytes` lies in the live mapping; the slice is
        // tied to `&self`, so it cannot outlive the mapping.
        Ok(unsafe { std::slice::from_raw_parts(p, self.slot_bytes) })
    }

    /// Slot `k` as writable bytes (same rule as [`SharedSlots::slot`]).
    pub fn slot_mut(&mut self, k: u32) -> io::Result<&mut [u8]> {
        let p = self.check(k)?;
        // SAFETY: as in `slot`; `&mut self` makes it the only slice into
        // the mapping in this process.
        Ok(unsafe { std::slice::from_raw_parts_mut(p, self.slot_bytes) })
    }
}

impl Drop for SharedSlots {
    fn drop(&mut self) {
        // SAFETY: `ptr` and the length are exactly what `mmap` returned and
        // no slice into the mapping outlives `self`.
        unsafe {
            let _ = rustix::mm::munmap(self.ptr.cast(), self.slot_bytes * self.slots as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_see_the_same_bytes_and_cannot_resize() {
        let mut a = SharedSlots::create("ptc-test", 16, 3).unwrap();
        let fd = a.fd().try_clone_to_owned().unwrap();
        a.slot_mut(2).unwrap().copy_from_slice(&[7u8; 16]);
        let b = SharedSlots::map(fd, 16, 3).unwrap();
        assert_eq!(b.slot(2).unwrap(), &[7u8; 16]);
        assert!(b.slot(3).is_err());
        assert!(rustix::fs::ftruncate(b.fd(), 0).is_err(), "sealed");
        assert!(SharedSlots::map(b.fd().try_clone_to_owned().unwrap(), 16, 4).is_err());
    }
}
