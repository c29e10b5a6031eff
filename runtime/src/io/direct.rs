//! Direct I/O for large frames written to regular files.
//!
//! A buffered `write` of a 4.7 MiB frame costs the writing thread a copy of
//! every byte into the page cache (and the kernel's write-back more later);
//! on a CPU device that is the same cores the kernels run on. With
//! `O_DIRECT` the kernel hands the pages of the output slot itself to the
//! disk: the CPU only pins them. It applies when a frame is at least
//! [`MIN_DIRECT_FRAME`] bytes, a multiple of [`DIRECT_ALIGN`], written at an
//! aligned offset of a regular file whose file system accepts `O_DIRECT`.
//! A frame whose memory is not aligned, or that the kernel cannot pin
//! (`EFAULT`: some drivers map device memory so), goes through one aligned
//! bounce buffer (a copy, still none in the kernel). Anything else — small frames,
//! pipes, devices, a file system that refuses `O_DIRECT` (at `open` or at
//! the first write) — is written buffered, as before.
//!
//! `PTC_DIRECT_IO=0` in the environment turns direct writes off (to compare
//! the two, or where a file system misbehaves with them).

use rustix::fs::OFlags;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Alignment of file offsets, lengths and memory for a direct write: the
/// page size, which covers every block size a Linux file system uses.
pub(super) const DIRECT_ALIGN: usize = 4096;

/// Frames smaller than this are written buffered: for them a direct write's
/// fixed cost (a synchronous round trip to the disk) outweighs the copy.
pub(super) const MIN_DIRECT_FRAME: usize = 256 << 10;

/// Writes fixed-size frames at consecutive offsets of a file opened for
/// direct I/O, falling back to buffered writes where the kernel refuses.
#[derive(Debug)]
pub(super) struct DirectWriter {
    /// File offset of the next frame.
    offset: u64,
    /// Whether `O_DIRECT` is still set on the file.
    direct: bool,
    /// `frame_len + DIRECT_ALIGN` bytes, made on the first unaligned frame.
    bounce: Vec<u8>,
    /// Every frame goes through `bounce` (the kernel could not pin a
    /// frame's own memory for the disk: `EFAULT`).
    always_bounce: bool,
    frame_len: usize,
}

/// True unless `PTC_DIRECT_IO=0` (or `false`/`off`) is set.
fn enabled() -> bool {
    !matches!(
        std::env::var("PTC_DIRECT_IO").as_deref(),
        Ok("0" | "false" | "off" | "no")
    )
}

impl DirectWriter {
    /// A writer of `frame_len`-byte frames into `file` from offset `start`,
    /// or `None` (write buffered) if direct I/O does not apply: see the
    /// module docs.
    pub(super) fn try_new(file: &File, start: u64, frame_len: usize) -> Option<DirectWriter> {
        let aligned = |n: u64| n % DIRECT_ALIGN as u64 == 0;
        if frame_len < MIN_DIRECT_FRAME
            || !aligned(frame_len as u64)
            || !aligned(start)
            || !enabled()
            || !file.metadata().is_ok_and(|m| m.is_file())
        {
            return None;
        }
        let flags = rustix::fs::fcntl_getfl(file).ok()?;
        rustix::fs::fcntl_setfl(file, flags | OFlags::DIRECT).ok()?;
        Some(DirectWriter {
            offset: start,
            direct: true,
            bounce: Vec::new(),
            always_bounce: false,
            frame_len,
        })
    }

    /// The file offset after the last frame written.
    pub(super) fn end(&self) -> u64 {
        self.offset
    }

    /// True while frames still go straight to the disk.
    #[cfg(test)]
    pub(super) fn is_direct(&self) -> bool {
        self.direct
    }

    /// Writes one frame (`frame_len` bytes) at the next offset.
    pub(super) fn write_frame(&mut self, file: &File, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() != self.frame_len {
            return Err(io::Error::other(format!(
                "a frame of {} bytes where {} were expected",
                bytes.len(),
                self.frame_len
            )));
        }
        if self.direct {
            let offset = self.offset;
            let in_place = !self.always_bounce && bytes.as_ptr().align_offset(DIRECT_ALIGN) == 0;
            let src = if in_place { bytes } else { self.bounce(bytes) };
            let mut r = file.write_all_at(src, offset);
            if in_place
                && r.as_ref()
                    .is_err_and(|e| e.raw_os_error() == Some(libc::EFAULT))
            {
                // The kernel cannot pin this memory for the disk (a GPU
                // driver's mapping of its own memory can be like that):
                // from now on copy each frame to the bounce buffer first.
                self.always_bounce = true;
                let src = self.bounce(bytes);
                r = file.write_all_at(src, offset);
            }
            match r {
                Ok(()) => {
                    self.offset += bytes.len() as u64;
                    return Ok(());
                }
                // The file system took the flag but not the write (or a
                // short write left the offset unaligned): go buffered and
                // write the whole frame again.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => self.stop_direct(file)?,
                Err(e) => return Err(e),
            }
        }
        file.write_all_at(bytes, self.offset)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Copies `bytes` into the aligned part of the bounce buffer.
    fn bounce(&mut self, bytes: &[u8]) -> &[u8] {
        if self.bounce.len() < bytes.len() + DIRECT_ALIGN {
            self.bounce = vec![0; bytes.len() + DIRECT_ALIGN];
        }
        let at = self
            .bounce
            .as_ptr()
            .align_offset(DIRECT_ALIGN)
            .min(DIRECT_ALIGN);
        let dst = &mut self.bounce[at..at + bytes.len()];
        dst.copy_from_slice(bytes);
        dst
    }

    /// Clears `O_DIRECT`: later writes (and the caller's, e.g. a header)
    /// go through the page cache.
    pub(super) fn stop_direct(&mut self, file: &File) -> io::Result<()> {
        if self.direct {
            let flags = rustix::fs::fcntl_getfl(file)?;
            rustix::fs::fcntl_setfl(file, flags - OFlags::DIRECT)?;
            self.direct = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn frames(n: usize, len: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|k| (0..len).map(|i| (i * 7 + k * 13) as u8).collect())
            .collect()
    }

    fn read_all(f: &mut File) -> Vec<u8> {
        use std::io::Seek;
        let mut v = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    }

    #[test]
    fn small_or_unaligned_frames_and_offsets_are_written_buffered() {
        let f = tempfile::tempfile().unwrap();
        assert!(DirectWriter::try_new(&f, 0, MIN_DIRECT_FRAME - DIRECT_ALIGN).is_none());
        assert!(DirectWriter::try_new(&f, 0, MIN_DIRECT_FRAME + 16).is_none());
        assert!(DirectWriter::try_new(&f, 128, MIN_DIRECT_FRAME).is_none());
    }

    /// Aligned and unaligned source memory, after a hole for a header: the
    /// file holds exactly the frames, whether or not the file system here
    /// accepted `O_DIRECT`.
    #[test]
    fn frames_land_at_consecutive_offsets_from_aligned_and_unaligned_memory() {
        let len = MIN_DIRECT_FRAME;
        let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("frames.raw"))
            .unwrap();
        let Some(mut w) = DirectWriter::try_new(&f, DIRECT_ALIGN as u64, len) else {
            eprintln!("this file system refuses O_DIRECT; nothing to test");
            return;
        };
        let fr = frames(3, len);
        // An aligned copy of frame 0 (page-aligned memory), then frames 1
        // and 2 from wherever the allocator put them, one of them
        // deliberately one byte off alignment.
        let mut aligned = vec![0u8; len + DIRECT_ALIGN];
        let at = aligned.as_ptr().align_offset(DIRECT_ALIGN);
        aligned[at..at + len].copy_from_slice(&fr[0]);
        w.write_frame(&f, &aligned[at..at + len]).unwrap();
        let mut off = vec![0u8; len + 1];
        let odd = usize::from(off.as_ptr() as usize % 2 == 0);
        off[odd..odd + len].copy_from_slice(&fr[1]);
        w.write_frame(&f, &off[odd..odd + len]).unwrap();
        w.write_frame(&f, &fr[2]).unwrap();
        let direct = w.is_direct();
        w.stop_direct(&f).unwrap();
        f.write_all_at(&[b'H'; DIRECT_ALIGN], 0).unwrap();
        let got = read_all(&mut f);
        assert_eq!(got.len(), DIRECT_ALIGN + 3 * len);
        assert!(got[..DIRECT_ALIGN].iter().all(|&b| b == b'H'));
        for (k, want) in fr.iter().enumerate() {
            let s = DIRECT_ALIGN + k * len;
            assert!(got[s..s + len] == want[..], "frame {k} (direct: {direct})");
        }
        assert!(w.write_frame(&f, &fr[0][..len - 1]).is_err());
    }

    fn scratch_file(name: &str) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join(name))
            .unwrap();
        (dir, f)
    }

    /// A write the file system refuses with `EINVAL` (here: O_DIRECT at an
    /// unaligned offset) is written again, buffered, and later frames stay
    /// buffered.
    #[test]
    fn a_refused_direct_write_falls_back_to_buffered() {
        let len = MIN_DIRECT_FRAME;
        let (_dir, mut f) = scratch_file("einval.raw");
        let Some(mut w) = DirectWriter::try_new(&f, 0, len) else {
            eprintln!("this file system refuses O_DIRECT; nothing to test");
            return;
        };
        w.offset = 100;
        let fr = frames(2, len);
        w.write_frame(&f, &fr[0]).unwrap();
        assert!(!w.is_direct(), "EINVAL turned direct I/O off");
        w.write_frame(&f, &fr[1]).unwrap();
        let got = read_all(&mut f);
        assert_eq!(got.len(), 100 + 2 * len);
        assert!(got[100..100 + len] == fr[0][..] && got[100 + len..] == fr[1][..]);
    }

    /// Memory the kernel cannot pin for the disk (`EFAULT`) goes through the
    /// bounce buffer. `memfd_secret` memory is like that (readable here,
    /// never pinned), as some GPU drivers' mappings are.
    #[test]
    fn memory_the_kernel_cannot_pin_goes_through_the_bounce_buffer() {
        use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
        use std::os::fd::{FromRawFd, OwnedFd};
        let len = MIN_DIRECT_FRAME;
        // SAFETY: memfd_secret takes one flags argument and returns a new
        // descriptor or -1; nothing else is touched.
        let raw = unsafe { libc::syscall(libc::SYS_memfd_secret, 0) };
        if raw < 0 {
            eprintln!("no memfd_secret on this kernel; nothing to test");
            return;
        }
        // SAFETY: the kernel just returned this descriptor; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        rustix::fs::ftruncate(&fd, len as u64).unwrap();
        // SAFETY: a new shared read-write mapping of the whole memfd, which
        // is `len` bytes long; it is unmapped at the end of this test and
        // nothing else refers to it.
        let p = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )
        }
        .unwrap();
        // SAFETY: `p` is a live, page-aligned mapping of `len` bytes that
        // only this slice refers to until `munmap` below.
        let mem = unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) };
        let fr = frames(1, len);
        mem.copy_from_slice(&fr[0]);
        let (_dir, mut f) = scratch_file("efault.raw");
        let Some(mut w) = DirectWriter::try_new(&f, 0, len) else {
            eprintln!("this file system refuses O_DIRECT; nothing to test");
            return;
        };
        w.write_frame(&f, mem).unwrap();
        w.write_frame(&f, mem).unwrap();
        assert!(w.is_direct(), "still direct, from the bounce buffer");
        assert!(w.always_bounce, "the kernel refused to pin the memory");
        // SAFETY: `p` was mapped above with this length; `mem` is not used
        // after this point.
        unsafe { munmap(p, len) }.unwrap();
        w.stop_direct(&f).unwrap();
        let got = read_all(&mut f);
        assert_eq!(got.len(), 2 * len);
        assert!(got[..len] == fr[0][..] && got[len..] == fr[0][..]);
    }
}
