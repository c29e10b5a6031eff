//! Sources and sinks: the outside ends of a graph's channels.
//!
//! A [`FrameSource`] produces the frames of one graph input, a [`FrameSink`]
//! consumes the frames of one graph output. An [`IoRegistry`] builds them
//! from a plan's [`Source`] / [`Sink`] and the files [`PortFiles::open`]
//! opened for them (`--input` / `--output` files are [`Source::File`] /
//! [`Sink::File`] too). Opening files is a separate step so that the process
//! with the right to open them (the `ptc run` client) can do it and hand the
//! descriptors to another (the daemon), which never opens a path on a
//! client's behalf.
//!
//! Built in here: host (the caller pushes/pulls: no source/sink object),
//! `file` (`.npy` checked against the port, else raw little-endian bytes),
//! `random(seed)`, `zeros`, `stdin`; sinks `file`, `null`, `stdout` (JSON
//! lines, [`jsonl`]) and `hid` (a virtual pointer, [`hid`]; both understand
//! the pointer events of [`event`]). Every other clause — `from camera(...)`,
//! the synthetic depth camera of crate `ptc-gesture` — is built by a factory
//! the program registers ([`plugin`]).

mod direct;
pub mod event;
mod files;
pub mod hid;
pub mod jsonl;
mod npy;
pub mod output;
pub mod plugin;
mod threaded;

use crate::error::{Result, RuntimeError};
use crate::graph::PortInfo;
use ptc_plan::types::{ElemType, Scalar};
use ptc_plan::{Sink, Source};
use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

pub use files::{check_conflicts, read_limited, InputFile, PortFiles};
pub use npy::{npy_dtype_and_shape, NpyInfo};
pub use output::{same_target, write_atomic, Deferred, OutputFile};
pub use plugin::{IoRegistry, SinkFactory, SourceFactory};

/// What [`FrameSource::poll_frame`] found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FramePoll {
    /// The frame is in the buffer.
    Ready,
    /// No frame yet; ask again later (a source fed by another thread).
    Pending,
    /// The source is exhausted.
    End,
}

/// Produces the frames of one graph input.
pub trait FrameSource: Send {
    /// Bytes of one frame (the port's size).
    fn frame_size(&self) -> u64;
    /// Fills `dst` (exactly `frame_size` bytes) with the next frame.
    /// Returns `Ok(false)` when the source is exhausted (`dst` untouched).
    fn next_frame(&mut self, dst: &mut [u8]) -> Result<bool>;
    /// Like [`FrameSource::next_frame`] without blocking: sources that may
    /// wait (a pipe read by a thread) answer [`FramePoll::Pending`].
    fn poll_frame(&mut self, dst: &mut [u8]) -> Result<FramePoll> {
        Ok(if self.next_frame(dst)? {
            FramePoll::Ready
        } else {
            FramePoll::End
        })
    }
    /// Frame rate to pace this source at, if any (else as fast as consumed).
    fn fps(&self) -> Option<f32> {
        None
    }
}

/// Consumes the frames of one graph output.
pub trait FrameSink: Send {
    /// Receives frame `frame_index` (0, 1, 2, ...) of the output.
    fn write_frame(&mut self, frame_index: u64, bytes: &[u8]) -> Result<()>;
    /// Called once after the last frame when the run succeeded: files are
    /// completed here (an `.npy` header gets its frame count, a regular
    /// file is renamed into place). A sink dropped without `finish` leaves
    /// no new file behind.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    /// True if the sink does not need the bytes (lets the runtime skip the read).
    fn discards(&self) -> bool {
        false
    }
    /// False while the sink cannot take a frame without blocking (a queue
    /// drained by another thread is full); the runtime then leaves the
    /// frame in the graph's output slot.
    fn ready(&self) -> bool {
        true
    }
    /// True if the sink takes frames lent where they lie
    /// ([`FrameSink::write_lent`]) rather than borrowed for the call.
    fn takes_lent(&self) -> bool {
        false
    }
    /// Receives frame `frame_index` lent out of the graph's output slot
    /// (when [`FrameSink::takes_lent`]): the sink may keep it, e.g. send it
    /// to a thread, and the slot is free again when it drops it. The
    /// default writes it with [`FrameSink::write_frame`].
    fn write_lent(&mut self, frame_index: u64, frame: crate::LentFrame) -> Result<()> {
        self.write_frame(frame_index, frame.bytes())
    }
    /// CPU time the sink's own threads used since the last call, ns (a
    /// sink writing on a thread of its own reports it here, so the run's
    /// sink cost includes it).
    fn take_thread_cpu_ns(&mut self) -> u64 {
        0
    }
}

fn io_err(what: impl std::fmt::Display, path: &Path, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Io(format!("{what} `{}`: {e}", path.display()))
}

/// The built-in source for `source` (see [`IoRegistry::open_source`]).
fn builtin_source(
    source: &Source,
    port: &PortInfo,
    file: Option<InputFile>,
) -> std::result::Result<Option<Box<dyn FrameSource>>, plugin::NotBuiltIn> {
    let need = |file: Option<InputFile>, what: &str| {
        file.ok_or_else(|| {
            RuntimeError::Io(format!(
                "input `{}`: {what} was not opened (the client must pass it)",
                port.name
            ))
        })
    };
    Ok(Some(match source {
        Source::Host => return Ok(None),
        Source::File { .. } => Box::new(FileSource::from_file(need(file, "its file")?, port)?),
        Source::Random { seed, fps } => Box::new(RandomSource::new(*seed, *fps, port)),
        Source::Zeros { fps } => Box::new(ZerosSource {
            size: port.bytes,
            fps: *fps,
        }),
        Source::Stdin => {
            let f = need(file, "standard input")?;
            Box::new(StdinSource {
                size: port.bytes,
                port: port.name.clone(),
                input: f.file,
            })
        }
        Source::Camera { .. } => return Err(plugin::NotBuiltIn::Kind(source.kind())),
    }))
}

/// The built-in sink for `sink` (see [`IoRegistry::open_sink`]).
fn builtin_sink(
    sink: &Sink,
    port: &PortInfo,
    file: Option<OutputFile>,
    threaded: bool,
) -> Result<Option<Box<dyn FrameSink>>> {
    let need = |file: Option<OutputFile>, what: &str| {
        file.ok_or_else(|| {
            RuntimeError::Io(format!(
                "output `{}`: {what} was not opened (the client must pass it)",
                port.name
            ))
        })
    };
    Ok(Some(match sink {
        Sink::Host => return Ok(None),
        Sink::File { .. } => Box::new(FileSink::with_thread(
            need(file, "its file")?,
            port,
            if threaded {
                SinkThread::Always
            } else {
                SinkThread::RegularFiles
            },
        )?),
        Sink::Null => Box::new(NullSink),
        Sink::Stdout => Box::new(jsonl::JsonlPortSink::new(
            OutputFileWriter(need(file, "standard output")?),
            port,
        )),
        Sink::Hid => match file {
            // A client relays the frames to its own virtual pointer.
            Some(f) => Box::new(RawSink::new(f, port)),
            None => Box::new(hid::HidPortSink::open(port)?),
        },
    }))
}

/// An [`OutputFile`] as a plain writer for the JSON-lines sink (in place:
/// standard output).
struct OutputFileWriter(OutputFile);

impl Write for OutputFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Frames from a `.npy` file (one frame, or a stack `[k, ...shape]`) or a
/// raw file of little-endian frames.
pub struct FileSource {
    size: u64,
    left: u64,
    path: PathBuf,
    port: String,
    reader: BufReader<File>,
}

impl FileSource {
    /// Opens `path` and checks it against `port`.
    pub fn open(path: &Path, port: &PortInfo) -> Result<FileSource> {
        let file = File::open(path).map_err(|e| io_err("cannot open input", path, e))?;
        FileSource::from_file(
            InputFile {
                file,
                path: path.to_path_buf(),
            },
            port,
        )
    }

    /// Checks an open file against `port`: an `.npy` header (dtype, shape)
    /// and the file's length against the frames the header promises, or a
    /// raw file's length against whole frames. The errors name the file and
    /// the port.
    pub fn from_file(input: InputFile, port: &PortInfo) -> Result<FileSource> {
        let InputFile { file, path } = input;
        let meta = file
            .metadata()
            .map_err(|e| io_err("cannot read", &path, e))?;
        if meta.is_dir() {
            return Err(io_err("cannot read input", &path, "is a directory"));
        }
        let len = meta.len();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let is_npy = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        let frames = if is_npy {
            let header = npy::read_header(&mut reader).map_err(|e| RuntimeError::WrongType {
                port: port.name.clone(),
                why: format!("`{}` is not a valid .npy file: {e}", path.display()),
            })?;
            let frames = npy::check_header(&header, port, &path)?;
            if meta.is_file() {
                // Bytes after the header must be exactly the frames promised.
                let data_start = reader
                    .stream_position()
                    .map_err(|e| io_err("cannot read", &path, e))?;
                let have = len.saturating_sub(data_start);
                let want = frames.saturating_mul(port.bytes);
                if have != want {
                    return Err(RuntimeError::WrongSize {
                        port: port.name.clone(),
                        expected: want,
                        got: have,
                        ty: format!(
                            "{} × {frames} frame(s) after the header of `{}` ({})",
                            port.ty,
                            path.display(),
                            if have < want {
                                "the file is truncated"
                            } else {
                                "the file has trailing bytes"
                            }
                        ),
                    });
                }
            }
            frames
        } else if meta.is_file() {
            if len == 0 || len % port.bytes != 0 {
                return Err(RuntimeError::WrongSize {
                    port: port.name.clone(),
                    expected: port.bytes,
                    got: len,
                    ty: format!(
                        "{} (raw file `{}` must hold whole frames)",
                        port.ty,
                        path.display()
                    ),
                });
            }
            len / port.bytes
        } else {
            // A pipe or device: frames until end of file.
            u64::MAX
        };
        Ok(FileSource {
            size: port.bytes,
            left: frames,
            path,
            port: port.name.clone(),
            reader,
        })
    }

    /// Frames left to read (`u64::MAX`: a stream, until its end).
    pub fn frames_left(&self) -> u64 {
        self.left
    }
}

impl FrameSource for FileSource {
    fn frame_size(&self) -> u64 {
        self.size
    }
    fn next_frame(&mut self, dst: &mut [u8]) -> Result<bool> {
        if self.left == 0 {
            return Ok(false);
        }
        match read_frame(&mut self.reader, dst) {
            Ok(true) => {}
            Ok(false) if self.left == u64::MAX => return Ok(false),
            Ok(false) => {
                return Err(RuntimeError::WrongSize {
                    port: self.port.clone(),
                    expected: self.size,
                    got: 0,
                    ty: format!(
                        "a frame (`{}` ended early: it shrank while being read)",
                        self.path.display()
                    ),
                })
            }
            Err(e) => {
                return Err(RuntimeError::Io(format!(
                    "input `{}`: reading `{}`: {e}",
                    self.port,
                    self.path.display()
                )))
            }
        }
        if self.left != u64::MAX {
            self.left -= 1;
        }
        Ok(true)
    }
}

/// Reads one whole frame; `Ok(false)` at a clean end of file; a partial
/// frame is an error.
fn read_frame(r: &mut impl Read, dst: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < dst.len() {
        match r.read(&mut dst[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    match got {
        0 => Ok(false),
        n if n == dst.len() => Ok(true),
        n => Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("the data ended mid-frame ({n} of {} bytes)", dst.len()),
        )),
    }
}

/// Endless pseudo-random frames (SplitMix64): floats uniform in [0, 1),
/// integers uniform over their range. The same seed gives the same frames.
pub struct RandomSource {
    state: u64,
    size: u64,
    scalar: Option<Scalar>,
    fps: Option<f32>,
}

impl RandomSource {
    /// A generator for `port`'s element type.
    pub fn new(seed: u64, fps: Option<f32>, port: &PortInfo) -> RandomSource {
        RandomSource {
            state: seed,
            size: port.bytes,
            scalar: port.ty.elem.scalar(),
            fps,
        }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl FrameSource for RandomSource {
    fn frame_size(&self) -> u64 {
        self.size
    }
    fn next_frame(&mut self, dst: &mut [u8]) -> Result<bool> {
        if self.scalar == Some(Scalar::F32) {
            for c in dst.chunks_exact_mut(4) {
                let v = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
                c.copy_from_slice(&v.to_le_bytes());
            }
        } else {
            for c in dst.chunks_mut(8) {
                let v = self.next().to_le_bytes();
                c.copy_from_slice(&v[..c.len()]);
            }
        }
        Ok(true)
    }
    fn fps(&self) -> Option<f32> {
        self.fps
    }
}

/// Endless zero frames.
pub struct ZerosSource {
    size: u64,
    fps: Option<f32>,
}

impl FrameSource for ZerosSource {
    fn frame_size(&self) -> u64 {
        self.size
    }
    fn next_frame(&mut self, dst: &mut [u8]) -> Result<bool> {
        dst.fill(0);
        Ok(true)
    }
    fn fps(&self) -> Option<f32> {
        self.fps
    }
}

/// Raw frames from standard input; exhausted at end of file.
pub struct StdinSource {
    size: u64,
    port: String,
    input: File,
}

impl FrameSource for StdinSource {
    fn frame_size(&self) -> u64 {
        self.size
    }
    fn next_frame(&mut self, dst: &mut [u8]) -> Result<bool> {
        read_frame(&mut self.input, dst).map_err(|e| {
            RuntimeError::Io(format!(
                "input `{}`: reading standard input: {e}",
                self.port
            ))
        })
    }
}

/// Discards frames.
pub struct NullSink;

impl FrameSink for NullSink {
    fn write_frame(&mut self, _frame_index: u64, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }
    fn discards(&self) -> bool {
        true
    }
}

/// Writes frames to an [`OutputFile`]: `.npy` (a stack `[k, ...shape]`,
/// or the port's shape when k = 1) or raw little-endian bytes for any other
/// extension. Frames stream out (memory does not grow with the number of
/// frames): through a 1 MiB buffer, or — frames of at least 256 KiB (a
/// multiple of 4 KiB) to a regular file — straight to the disk with direct
/// I/O, such an `.npy` getting a 4 KiB header so its data starts on a disk
/// block. Large frames are written on a thread of the sink's own (see
/// [`SinkThread`]). An `.npy` header is written with room for any frame
/// count and rewritten with the real count by [`FrameSink::finish`]; where
/// the output cannot seek (a pipe), frames are spooled to an unnamed
/// temporary file and copied behind the header at the end.
pub struct FileSink {
    writer: Writer,
}

/// Where a [`FileSink`] writes: in the caller's thread, or (frames of at
/// least 256 KiB) on a thread of its own, see [`threaded`].
enum Writer {
    Inline(Box<npy::FrameWriter>),
    Threaded(threaded::ThreadedWriter),
}

impl FileSink {
    /// Prepares to write `path` for `port` (checks an `.npy` can hold it,
    /// creates the file's temporary now).
    pub fn create(path: &Path, port: &PortInfo) -> Result<FileSink> {
        let out = OutputFile::create(path).map_err(|e| io_err("cannot create", path, e))?;
        FileSink::new(out, port)
    }

    /// Writes into an output already opened, with
    /// [`SinkThread::RegularFiles`].
    pub fn new(out: OutputFile, port: &PortInfo) -> Result<FileSink> {
        FileSink::with_thread(out, port, SinkThread::RegularFiles)
    }

    /// Writes into an output already opened, with [`SinkThread::Always`]:
    /// what `ptc daemon` uses, whose one thread runs every client's graphs.
    pub fn threaded(out: OutputFile, port: &PortInfo) -> Result<FileSink> {
        FileSink::with_thread(out, port, SinkThread::Always)
    }

    /// Writes into an output already opened; `thread` says where frames of
    /// at least 256 KiB are written. `PTC_SINK_THREAD=1` or `0` in the
    /// environment overrides it (`Always` or `Never`).
    pub fn with_thread(out: OutputFile, port: &PortInfo, thread: SinkThread) -> Result<FileSink> {
        let npy = out
            .path()
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        let regular = out.seekable();
        let w = npy::FrameWriter::new(out, port, npy)?;
        let wanted = match thread {
            SinkThread::RegularFiles => regular,
            SinkThread::Always => true,
            SinkThread::Never => false,
        };
        let writer = match usize::try_from(port.bytes) {
            Ok(n) if port.bytes >= threaded::MIN_THREADED_FRAME && threaded::wanted(wanted) => {
                Writer::Threaded(threaded::ThreadedWriter::start(w, n, regular)?)
            }
            _ => Writer::Inline(Box::new(w)),
        };
        Ok(FileSink { writer })
    }
}

/// Where a [`FileSink`] writes frames of at least 256 KiB (smaller ones
/// are always written in the caller's thread: the hand-off would cost more
/// than the write).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SinkThread {
    /// On a writer thread of the sink's own when the output is a regular
    /// file: each frame is lent where it lies in the graph's output slot
    /// (no copy; see [`FrameSink::write_lent`]), so the run loop never
    /// waits for the disk. Pipes and devices are written in the caller's
    /// thread. The default ([`FileSink::new`]).
    #[default]
    RegularFiles,
    /// On a writer thread for any output; to a pipe or device each frame is
    /// copied out of its slot, so a stalled reader holds back only this
    /// graph ([`FileSink::threaded`]).
    Always,
    /// In the caller's thread (the run loop waits for each write).
    Never,
}

impl FrameSink for FileSink {
    fn write_frame(&mut self, _frame_index: u64, bytes: &[u8]) -> Result<()> {
        match &mut self.writer {
            Writer::Inline(w) => w.write_frame(bytes),
            Writer::Threaded(w) => w.write_frame(bytes),
        }
    }

    fn finish(&mut self) -> Result<()> {
        match &mut self.writer {
            Writer::Inline(w) => w.finish(),
            Writer::Threaded(w) => w.finish(),
        }
    }

    fn ready(&self) -> bool {
        match &self.writer {
            Writer::Inline(_) => true,
            Writer::Threaded(w) => w.ready(),
        }
    }

    fn takes_lent(&self) -> bool {
        matches!(&self.writer, Writer::Threaded(w) if w.takes_lent())
    }

    fn write_lent(&mut self, _frame_index: u64, frame: crate::LentFrame) -> Result<()> {
        match &mut self.writer {
            Writer::Threaded(w) => w.write_lent(frame),
            Writer::Inline(w) => w.write_frame(frame.bytes()),
        }
    }

    fn take_thread_cpu_ns(&mut self) -> u64 {
        match &mut self.writer {
            Writer::Inline(_) => 0,
            Writer::Threaded(w) => w.take_cpu_ns(),
        }
    }
}

/// Raw frames to an open output, unbuffered per frame (a client relaying
/// them, e.g. to its virtual pointer).
pub struct RawSink {
    out: OutputFile,
    port: String,
}

impl RawSink {
    /// Frames of `port` to `out`.
    pub fn new(out: OutputFile, port: &PortInfo) -> RawSink {
        RawSink {
            out,
            port: port.name.clone(),
        }
    }
}

impl FrameSink for RawSink {
    fn write_frame(&mut self, _frame_index: u64, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| RuntimeError::Io(format!("output `{}`: {e}", self.port)))
    }
}

/// The element count of a vector/scalar element as laid out (vec3 pads to 4).
pub(crate) fn components(elem: &ElemType) -> Option<(Scalar, u64)> {
    match elem {
        ElemType::Scalar(s) => Some((*s, 1)),
        ElemType::Vector { n, scalar } => Some((*scalar, if *n == 3 { 4 } else { u64::from(*n) })),
        ElemType::Struct(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptc_plan::types::PortType;

    fn port(elem: ElemType, shape: &[u64]) -> PortInfo {
        let ty = PortType {
            elem,
            shape: shape.to_vec(),
        };
        let bytes = ty.byte_size(&Vec::new()).unwrap_or(0);
        PortInfo {
            name: "p".into(),
            ty,
            bytes,
            slots: 2,
            layout: None,
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ptc-io-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn npy_sink_then_source_round_trips_a_stack() {
        let d = tmp("stack");
        let p = port(ElemType::Scalar(Scalar::F32), &[2, 3]);
        let path = d.join("o.npy");
        let mut sink = FileSink::create(&path, &p).unwrap();
        let frames: Vec<Vec<u8>> = (0..3)
            .map(|f| {
                (0..6)
                    .flat_map(|i| (f as f32 * 10.0 + i as f32).to_le_bytes())
                    .collect()
            })
            .collect();
        for (i, f) in frames.iter().enumerate() {
            sink.write_frame(i as u64, f).unwrap();
        }
        assert!(!path.exists(), "written before finish");
        sink.finish().unwrap();
        let mut src = FileSource::open(&path, &p).unwrap();
        assert_eq!(src.frames_left(), 3);
        let mut buf = vec![0u8; 24];
        for f in &frames {
            assert!(src.next_frame(&mut buf).unwrap());
            assert_eq!(&buf, f);
        }
        assert!(!src.next_frame(&mut buf).unwrap());
    }

    #[test]
    fn npy_dtype_and_shape_are_checked() {
        let d = tmp("check");
        let f32p = port(ElemType::Scalar(Scalar::F32), &[4]);
        let path = d.join("a.npy");
        let mut s = FileSink::create(&path, &f32p).unwrap();
        s.write_frame(0, &[0u8; 16]).unwrap();
        s.finish().unwrap();
        let u32p = port(ElemType::Scalar(Scalar::U32), &[4]);
        let e = FileSource::open(&path, &u32p).err().unwrap();
        assert!(
            e.to_string()
                .contains("dtype is '<f4' but the port is u32[4]"),
            "{e}"
        );
        let wide = port(ElemType::Scalar(Scalar::F32), &[5]);
        let e = FileSource::open(&path, &wide).err().unwrap();
        assert!(
            e.to_string()
                .contains("shape is [4] but the port needs [5]"),
            "{e}"
        );
        // vec3 ports are 4 wide in memory and in .npy.
        let v3 = port(
            ElemType::Vector {
                n: 3,
                scalar: Scalar::F32,
            },
            &[2],
        );
        assert_eq!(npy_dtype_and_shape(&v3).unwrap().shape, vec![2, 4]);
    }

    #[test]
    fn raw_files_must_hold_whole_frames_and_sinks_leave_nothing_on_error() {
        let d = tmp("raw");
        let p = port(ElemType::Scalar(Scalar::U16), &[3]);
        std::fs::write(d.join("in.bin"), [1u8, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0]).unwrap();
        let mut s = FileSource::open(&d.join("in.bin"), &p).unwrap();
        assert_eq!(s.frames_left(), 2);
        let mut b = [0u8; 6];
        assert!(s.next_frame(&mut b).unwrap());
        assert_eq!(b, [1, 0, 2, 0, 3, 0]);
        std::fs::write(d.join("odd.bin"), [0u8; 7]).unwrap();
        assert!(FileSource::open(&d.join("odd.bin"), &p).is_err());
        {
            let mut sink = FileSink::create(&d.join("out.bin"), &p).unwrap();
            sink.write_frame(0, &b).unwrap();
            // dropped without finish: an error happened
        }
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("out"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn random_is_deterministic_and_floats_in_unit_interval() {
        let p = port(ElemType::Scalar(Scalar::F32), &[1000]);
        let mut a = RandomSource::new(42, None, &p);
        let mut b = RandomSource::new(42, None, &p);
        let mut c = RandomSource::new(43, None, &p);
        let (mut x, mut y, mut z) = (vec![0u8; 4000], vec![0u8; 4000], vec![0u8; 4000]);
        a.next_frame(&mut x).unwrap();
        b.next_frame(&mut y).unwrap();
        c.next_frame(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        for ch in x.chunks_exact(4) {
            let v = f32::from_le_bytes([ch[0], ch[1], ch[2], ch[3]]);
            assert!((0.0..1.0).contains(&v), "{v}");
        }
        let mut zs = ZerosSource { size: 8, fps: None };
        let mut buf = [7u8; 8];
        assert!(zs.next_frame(&mut buf).unwrap());
        assert_eq!(buf, [0u8; 8]);
    }
}
