//! Output frames lent to a sink's thread, where they lie: the slot is not
//! reused until the frame comes back, so a writer thread can hand it to
//! the disk without a copy while the run loop goes on.
//!
//! One frame per output is lent at a time. While it is out, the output
//! reports no frame ready; when the [`LentFrame`] is dropped (on any
//! thread), the next [`GraphRt::reclaim_lent`] counts the version as read,
//! which frees its slot for the producer, exactly as a read by the host
//! would have. A graph being dropped first waits for its lent frames.

use super::GraphRt;
use crate::error::{Result, RuntimeError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One output frame lent out of its graph's mapped slot (see
/// [`crate::Runtime::lend_port`]). Read it with [`LentFrame::bytes`] on any
/// thread; dropping it gives the slot back.
pub struct LentFrame {
    ptr: *const u8,
    len: usize,
    returned: Arc<AtomicBool>,
}

// SAFETY: `ptr..ptr + len` is a mapped output slot that, while this frame
// lives, the graph neither frees (`GraphRt`'s Drop waits for `returned`)
// nor lets the GPU or the host write (the slot's version is not counted
// as read until `returned`, so no producer has room in it). Shared reads
// of immutable bytes from any thread are sound.
unsafe impl Send for LentFrame {}
// SAFETY: as for `Send`: the bytes do not change while the frame lives.
unsafe impl Sync for LentFrame {}

impl LentFrame {
    /// The frame's bytes, in the graph's output slot.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: see the `Send` impl: the slot is mapped, `len` bytes
        // long, and unchanged for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl std::fmt::Debug for LentFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LentFrame").field("len", &self.len).finish()
    }
}

impl Drop for LentFrame {
    fn drop(&mut self) {
        // Release: every read of the bytes happens before the slot is
        // seen free (the reclaiming thread loads with Acquire).
        self.returned.store(true, Ordering::Release);
    }
}

/// An output's lending state (see the module docs).
#[derive(Default)]
pub(crate) struct LendState {
    /// A frame is out (lent and not yet reclaimed).
    out: bool,
    /// Set by the frame's drop.
    returned: Arc<AtomicBool>,
}

impl GraphRt {
    /// Lends the next version of output buffer `b` (which must be
    /// available and not lent), waiting for the GPU to finish it.
    pub(crate) fn lend_output(&mut self, b: usize) -> Result<LentFrame> {
        if self.lent_out(b) {
            return Err(RuntimeError::Io(format!(
                "output `{}`: a frame is already lent out",
                self.output_name(b)
            )));
        }
        let src = self.next_output(b)?;
        let (ptr, len) = (src.as_ptr(), src.len());
        if self.lent.len() <= b {
            self.lent.resize_with(b + 1, LendState::default);
        }
        // One flag per output, made on its first lend and reused: lending
        // allocates nothing per frame.
        let l = &mut self.lent[b];
        l.returned.store(false, Ordering::Relaxed);
        l.out = true;
        Ok(LentFrame {
            ptr,
            len,
            returned: l.returned.clone(),
        })
    }

    /// True while output buffer `b` has a frame lent out that has not
    /// been reclaimed (see the module docs).
    pub(crate) fn lent_out(&self, b: usize) -> bool {
        self.lent.get(b).is_some_and(|l| l.out)
    }

    /// Counts every returned lent frame as read (its slot is free again);
    /// true if any was.
    pub(crate) fn reclaim_lent(&mut self) -> bool {
        let mut any = false;
        for (b, l) in self.lent.iter_mut().enumerate() {
            if l.out && l.returned.load(Ordering::Acquire) {
                l.out = false;
                self.slots.output_read(b);
                any = true;
            }
        }
        any
    }

    /// Blocks until every lent frame is back (the graph is going away; a
    /// sink's thread holds them only for one write).
    pub(crate) fn wait_lent(&self) {
        for l in self.lent.iter().filter(|l| l.out) {
            while !l.returned.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
    }

    fn output_name(&self, b: usize) -> &str {
        self.outputs
            .iter()
            .find(|(_, ob)| *ob == b)
            .map_or("?", |(p, _)| p.name.as_str())
    }
}
