//! Large frames written by a thread of their own.
//!
//! Writing a 4.7 MiB frame blocks for milliseconds (the disk, a slow pipe,
//! the kernel's dirty-page throttling), and the run loop — in `ptc daemon`
//! the one thread that runs every client's graphs — must not wait for it.
//! A [`ThreadedWriter`] hands each frame to its thread, which writes it
//! with a [`FrameWriter`] (direct I/O where it applies):
//!
//! * to a **regular file** the frame goes **lent** where it lies in the
//!   graph's output slot ([`crate::LentFrame`]): no copy; the slot is
//!   reused once the thread wrote it, so the graph runs a frame ahead of
//!   the disk (outputs have two slots);
//! * anything else (a pipe, whose reader may stall) gets a **copy** in one
//!   of a few page-aligned buffers, so the slot is free at once; while
//!   every buffer is queued the sink is not ready and the frame waits in
//!   its slot, which holds the graph back: memory stays bounded.
//!
//! Errors come back with the next frame or at [`ThreadedWriter::finish`];
//! a writer dropped without `finish` discards what is queued and leaves no
//! new file, like a [`FrameWriter`].

use super::direct::DIRECT_ALIGN;
use super::npy::FrameWriter;
use crate::error::{Result, RuntimeError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Frames at least this large get a writer thread; smaller ones are
/// written in the caller's thread (the copy and hand-off would cost more
/// than the write).
pub(super) const MIN_THREADED_FRAME: u64 = 256 << 10;

/// Whether a sink of large frames gets a writer thread: `default` (what
/// its caller chose) unless `PTC_SINK_THREAD` is set to `1` or `0`.
pub(super) fn wanted(default: bool) -> bool {
    match std::env::var("PTC_SINK_THREAD").as_deref() {
        Ok("1" | "true" | "on" | "yes") => true,
        Ok("0" | "false" | "off" | "no") => false,
        _ => default,
    }
}

/// A frame-sized buffer whose bytes start on a [`DIRECT_ALIGN`] boundary.
struct AlignedBuf {
    mem: Vec<u8>,
    at: usize,
    len: usize,
}

impl AlignedBuf {
    fn new(len: usize) -> AlignedBuf {
        let mem = vec![0u8; len + DIRECT_ALIGN];
        let at = mem.as_ptr().align_offset(DIRECT_ALIGN).min(DIRECT_ALIGN);
        AlignedBuf { mem, at, len }
    }
    fn bytes(&self) -> &[u8] {
        &self.mem[self.at..self.at + self.len]
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.mem[self.at..self.at + self.len]
    }
}

enum Msg {
    /// A copy of a frame, in one of the writer's buffers.
    Frame(AlignedBuf),
    /// A frame lent out of its graph's output slot (no copy).
    Lent(crate::LentFrame),
    Finish,
}

/// State shared by the caller and the writer thread.
struct Shared {
    /// Buffers written and free for the next frame.
    free: Mutex<Vec<AlignedBuf>>,
    /// CPU time the writer thread has used, ns.
    cpu_ns: AtomicU64,
    /// Set by `Drop`: skip whatever is still queued.
    cancel: AtomicBool,
}

/// A [`FrameWriter`] on its own thread; see the module docs.
pub(super) struct ThreadedWriter {
    tx: Option<SyncSender<Msg>>,
    thread: Option<JoinHandle<Result<()>>>,
    shared: Arc<Shared>,
    /// Buffers made so far, and the most there may be.
    made: usize,
    max: usize,
    frame_len: usize,
    /// Takes lent frames (the output is a regular file, whose writes
    /// always finish: a frame is never held up by a stalled reader).
    lend: bool,
    /// Writer CPU already reported by [`ThreadedWriter::take_cpu_ns`].
    reported_cpu_ns: u64,
}

impl ThreadedWriter {
    /// Starts a thread writing frames of `frame_len` bytes with `writer`.
    /// `lend`: see [`ThreadedWriter::takes_lent`].
    pub(super) fn start(
        writer: FrameWriter,
        frame_len: usize,
        lend: bool,
    ) -> Result<ThreadedWriter> {
        // Two buffers keep the disk busy while the next frame is copied; a
        // third absorbs jitter where frames are small enough to afford it.
        let max = if frame_len <= 16 << 20 { 3 } else { 2 };
        // Room for every buffer and a lent frame: sending never blocks.
        let (tx, rx) = sync_channel(max + 1);
        let shared = Arc::new(Shared {
            free: Mutex::new(Vec::new()),
            cpu_ns: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ptc-sink".into())
            .spawn(move || write_loop(writer, &rx, &s))
            .map_err(|e| RuntimeError::Io(format!("cannot start a writer thread: {e}")))?;
        Ok(ThreadedWriter {
            tx: Some(tx),
            thread: Some(thread),
            shared,
            made: 0,
            max,
            frame_len,
            lend,
            reported_cpu_ns: 0,
        })
    }

    /// False while every buffer is queued (the next frame would block).
    pub(super) fn ready(&self) -> bool {
        self.made < self.max || self.shared.free.lock().map_or(true, |f| !f.is_empty())
    }

    /// Copies `bytes` into a free buffer and queues it; blocks only if the
    /// caller did not check [`ThreadedWriter::ready`].
    pub(super) fn write_frame(&mut self, bytes: &[u8]) -> Result<()> {
        self.check_len(bytes.len())?;
        let mut buf = loop {
            let free = self.shared.free.lock().ok().and_then(|mut f| f.pop());
            if let Some(b) = free {
                break b;
            }
            if self.made < self.max {
                self.made += 1;
                break AlignedBuf::new(self.frame_len);
            }
            if self.thread.as_ref().is_none_or(JoinHandle::is_finished) {
                return Err(self.join_error());
            }
            std::thread::sleep(std::time::Duration::from_micros(100));
        };
        buf.bytes_mut().copy_from_slice(bytes);
        self.send(Msg::Frame(buf))
    }

    /// True if frames may come lent ([`ThreadedWriter::write_lent`]): the
    /// output is a regular file.
    pub(super) fn takes_lent(&self) -> bool {
        self.lend
    }

    /// Queues a frame lent out of its slot: no copy; the slot is free
    /// again once the thread wrote it.
    pub(super) fn write_lent(&mut self, frame: crate::LentFrame) -> Result<()> {
        self.check_len(frame.bytes().len())?;
        self.send(Msg::Lent(frame))
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len == self.frame_len {
            return Ok(());
        }
        Err(RuntimeError::Io(format!(
            "a frame of {len} bytes where {} were expected",
            self.frame_len
        )))
    }

    /// Queues `msg` for the thread (never blocks: the queue has room for
    /// every buffer there may be and the one lent frame of its output).
    fn send(&mut self, msg: Msg) -> Result<()> {
        match self.tx.as_ref().map(|tx| tx.send(msg)) {
            Some(Ok(())) => Ok(()),
            // The thread stopped: it failed, and says why when joined.
            _ => Err(self.join_error()),
        }
    }

    /// Writes what is queued, completes the file (see
    /// [`FrameWriter::finish`]) and stops the thread.
    pub(super) fn finish(&mut self) -> Result<()> {
        if let Some(tx) = self.tx.take() {
            // A failed send means the thread already stopped on an error,
            // which joining returns.
            let _ = tx.send(Msg::Finish);
        }
        self.join()
    }

    /// CPU time the writer thread used since the last call, ns.
    pub(super) fn take_cpu_ns(&mut self) -> u64 {
        let total = self.shared.cpu_ns.load(Ordering::Relaxed);
        let d = total.saturating_sub(self.reported_cpu_ns);
        self.reported_cpu_ns = total;
        d
    }

    fn join(&mut self) -> Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(RuntimeError::Io(
                "the output's writer thread panicked".into(),
            )),
        }
    }

    /// The error the stopped thread ended with.
    fn join_error(&mut self) -> RuntimeError {
        self.tx = None;
        match self.join() {
            Err(e) => e,
            Ok(()) => RuntimeError::Io("the output was already finished".into()),
        }
    }
}

impl Drop for ThreadedWriter {
    fn drop(&mut self) {
        // Discard what is queued; the thread drops its writer unfinished,
        // which leaves no new file.
        self.shared.cancel.store(true, Ordering::Relaxed);
        self.tx = None;
        let _ = self.join();
    }
}

/// The writer thread: frames in order until `Finish` (then completes the
/// file) or until the sender goes away (then drops it unfinished).
fn write_loop(mut writer: FrameWriter, rx: &Receiver<Msg>, s: &Shared) -> Result<()> {
    let account = || {
        s.cpu_ns
            .store(crate::cpu::thread_cpu_ns(), Ordering::Relaxed)
    };
    while let Ok(msg) = rx.recv() {
        if s.cancel.load(Ordering::Relaxed) {
            return Ok(());
        }
        match msg {
            Msg::Frame(buf) => {
                let r = writer.write_frame(buf.bytes());
                if let Ok(mut f) = s.free.lock() {
                    f.push(buf);
                }
                account();
                r?;
            }
            Msg::Lent(frame) => {
                let r = writer.write_frame(frame.bytes());
                // Give the slot back before anything else.
                drop(frame);
                account();
                r?;
            }
            Msg::Finish => {
                let r = writer.finish();
                account();
                return r;
            }
        }
    }
    Ok(())
}
