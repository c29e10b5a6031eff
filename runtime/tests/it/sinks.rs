//! File sinks of large frames: on a writer thread (frames lent from their
//! slots, or copied) or in the caller's thread, with direct I/O where the
//! file system takes it, as `.npy` and raw; what lands in the file is
//! exactly the frames, in numpy's format (read with npyz, an independent
//! reader) whichever way they were written.

use ptc_plan::types::{ElemType, PortType, Scalar};
use ptc_runtime::io::output::OutputFile;
use ptc_runtime::io::{FileSink, FileSource, FrameSink, FrameSource, SinkThread};
use ptc_runtime::PortInfo;
use std::path::{Path, PathBuf};

/// f32[256, 512]: 512 KiB a frame, above the size where direct I/O and the
/// writer thread start.
fn big_port() -> PortInfo {
    PortInfo {
        name: "cloud".into(),
        bytes: 256 * 512 * 4,
        ty: PortType {
            elem: ElemType::Scalar(Scalar::F32),
            shape: vec![256, 512],
        },
        slots: 2,
        layout: None,
    }
}

/// Runs saxpy2 (graph `g`, f32[n] ports) in `session` from `x.raw` and
/// `y.raw` in `dir` to `sink`; checks all `frames` frames were delivered
/// and every frame fed was consumed.
fn run_saxpy(
    session: &mut ptc_runtime::Session,
    g: ptc_runtime::GraphId,
    dir: &Path,
    n: usize,
    sink: Box<dyn FrameSink>,
    frames: u64,
) {
    use ptc_runtime::{Drain, Feed, RunLimits};
    let feeds = ["x", "y"]
        .iter()
        .map(|p| Feed {
            port: p.to_string(),
            source: Box::new(
                FileSource::open(&dir.join(format!("{p}.raw")), &f32_port(p, n)).unwrap(),
            ) as Box<dyn FrameSource>,
        })
        .collect();
    let drains = vec![Drain {
        port: "z".into(),
        sink: Some(sink),
    }];
    session
        .add(g, feeds, drains, RunLimits::default())
        .expect("add");
    let out = session
        .run(None, std::time::Duration::from_secs(2), |_| {})
        .expect("run");
    let summary = out[0].1.as_ref().expect("the run succeeded");
    assert_eq!(summary.delivered, vec![("z".to_string(), frames)]);
    assert!(summary.unconsumed.is_empty(), "{:?}", summary.unconsumed);
}

/// saxpy2's port `name`: f32[n].
fn f32_port(name: &str, n: usize) -> PortInfo {
    PortInfo {
        name: name.into(),
        bytes: (n * 4) as u64,
        ty: PortType {
            elem: ElemType::Scalar(Scalar::F32),
            shape: vec![n as u64],
        },
        slots: 2,
        layout: None,
    }
}

fn frames(k: usize) -> Vec<Vec<u8>> {
    (0..k)
        .map(|f| {
            (0..256 * 512)
                .flat_map(|i| ((f * 1_000_003 + i) as f32 * 0.25).to_le_bytes())
                .collect()
        })
        .collect()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ptc-sinks-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sink(path: &Path, thread: SinkThread) -> FileSink {
    FileSink::with_thread(OutputFile::create(path).unwrap(), &big_port(), thread).unwrap()
}

const ALL: [SinkThread; 3] = [
    SinkThread::RegularFiles,
    SinkThread::Always,
    SinkThread::Never,
];

#[test]
fn large_frames_round_trip_inline_and_on_a_thread_as_npy_and_raw() {
    let d = dir("round-trip");
    let fr = frames(5);
    let all = fr.concat();
    for thread in ALL {
        for ext in ["npy", "raw"] {
            let what = format!("{ext}, {thread:?}");
            let path = d.join(format!("out-{thread:?}.{ext}"));
            let mut s = sink(&path, thread);
            for (i, f) in fr.iter().enumerate() {
                // The run loop only hands a frame to a ready sink.
                while !s.ready() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                s.write_frame(i as u64, f).unwrap();
            }
            assert!(!path.exists(), "{what}: visible before finish");
            s.finish().unwrap();
            let bytes = std::fs::read(&path).unwrap();
            if ext == "raw" {
                assert!(bytes == all, "{what}");
                continue;
            }
            let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
            assert_eq!(npy.shape(), &[5, 256, 512], "{what}");
            let data_start = bytes.len() - all.len();
            // 4096 where the frames went to the disk with direct I/O, else
            // numpy's 64-byte alignment.
            assert_eq!(data_start % 64, 0, "{what}");
            assert!(bytes[data_start..] == all[..], "{what}");
            let want: Vec<f32> = all
                .chunks(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            assert!(npy.into_vec::<f32>().unwrap() == want, "{what}");
            let mut src = FileSource::open(&path, &big_port()).unwrap();
            let mut buf = vec![0u8; all.len() / 5];
            for f in &fr {
                assert!(src.next_frame(&mut buf).unwrap());
                assert!(buf == *f, "{what}");
            }
            assert!(!src.next_frame(&mut buf).unwrap());
        }
    }
}

#[test]
fn a_writer_thread_reports_its_cpu_time() {
    let d = dir("cpu");
    let mut s = sink(&d.join("o.raw"), SinkThread::RegularFiles);
    let fr = frames(2);
    s.write_frame(0, &fr[0]).unwrap();
    s.write_frame(1, &fr[1]).unwrap();
    s.finish().unwrap();
    assert!(s.take_thread_cpu_ns() > 0, "the thread wrote 1 MiB");
    assert_eq!(s.take_thread_cpu_ns(), 0, "reported once");
    let mut inline = sink(&d.join("i.raw"), SinkThread::Never);
    inline.write_frame(0, &fr[0]).unwrap();
    inline.finish().unwrap();
    assert_eq!(inline.take_thread_cpu_ns(), 0);
}

#[test]
fn a_dropped_threaded_sink_leaves_no_file() {
    let d = dir("dropped");
    for ext in ["npy", "raw"] {
        let path = d.join(format!("o.{ext}"));
        let mut s = sink(&path, SinkThread::RegularFiles);
        for (i, f) in frames(3).iter().enumerate() {
            s.write_frame(i as u64, f).unwrap();
        }
        drop(s); // the run failed
        assert!(!path.exists(), "{ext}");
    }
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A write that fails on the thread (`/dev/full`: no space left) fails the
/// run: at a later frame or at `finish`, never silently.
#[test]
fn a_write_error_on_the_thread_reaches_the_run() {
    let full = Path::new("/dev/full");
    assert!(full.exists(), "Linux has /dev/full");
    for thread in ALL {
        let mut s = sink(full, thread);
        let fr = frames(1);
        let mut err = None;
        for i in 0..8 {
            if let Err(e) = s.write_frame(i, &fr[0]) {
                err = Some(e);
                break;
            }
        }
        let e = match err {
            Some(e) => e,
            None => s.finish().unwrap_err(),
        };
        let m = e.to_string();
        assert!(
            m.contains("No space left") && m.contains("/dev/full"),
            "{thread:?}: {m}"
        );
    }
}

/// saxpy2 with 256 KiB frames, 24 of them, fed from raw files and written
/// to `.npy` through a Session: each output frame is lent to the sink's
/// writer thread and its slot comes back only when written, so the graph
/// keeps stalling on its output. Every frame arrives, equal to the CPU's,
/// with no validation message.
#[test]
fn a_session_delivers_every_large_frame_through_lent_slots() {
    use crate::common::*;
    use ptc_runtime::Session;
    let Some((rt, log)) = runtime(false) else {
        return;
    };
    let (n, frames) = (1usize << 16, 24usize);
    let d = dir("session");
    let xs: Vec<Vec<f32>> = (0..frames).map(|f| rand_f32(n, 2 * f as u64 + 1)).collect();
    let ys: Vec<Vec<f32>> = (0..frames).map(|f| rand_f32(n, 2 * f as u64 + 2)).collect();
    let raw = |name: &str, v: &[Vec<f32>]| {
        let bytes: Vec<u8> = v.iter().flat_map(|f| bytes_f32(f)).collect();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    raw("x.raw", &xs);
    raw("y.raw", &ys);
    let plan = saxpy2(n as u64, 2.5);
    let port = |name: &str| f32_port(name, n);
    let mut session = Session::new(rt);
    let g = session.runtime_mut().open_graph(&plan).expect("open");
    let zp = d.join("z.npy");
    let sink = FileSink::new(OutputFile::create(&zp).unwrap(), &port("z")).unwrap();
    assert!(sink.takes_lent(), "a regular file takes lent frames");
    run_saxpy(&mut session, g, &d, n, Box::new(sink), frames as u64);
    let mut src = FileSource::open(&zp, &port("z")).unwrap();
    let mut buf = vec![0u8; n * 4];
    for f in 0..frames {
        assert!(src.next_frame(&mut buf).unwrap(), "frame {f}");
        let want: Vec<f32> = xs[f].iter().zip(&ys[f]).map(|(x, y)| 2.5 * x + y).collect();
        close(&f32s(&buf), &want, 1e-6);
    }
    assert!(!src.next_frame(&mut buf).unwrap());
    let rt = session.runtime_mut();
    rt.terminate(g).expect("terminate");
    drop(session);
    assert_clean(&log);
}

/// A sink that keeps each lent frame 5 ms on a thread of its own before
/// copying and dropping it: slower than the GPU, so the graph keeps
/// waiting for its output slot. The session must neither end the run
/// while a frame is out nor lose one.
struct SlowLendingSink {
    tx: Option<std::sync::mpsc::Sender<ptc_runtime::LentFrame>>,
    thread: Option<std::thread::JoinHandle<Vec<Vec<u8>>>>,
    got: Vec<Vec<u8>>,
}

impl SlowLendingSink {
    fn new() -> SlowLendingSink {
        let (tx, rx) = std::sync::mpsc::channel::<ptc_runtime::LentFrame>();
        let thread = std::thread::spawn(move || {
            let mut got = Vec::new();
            for f in rx {
                std::thread::sleep(std::time::Duration::from_millis(5));
                got.push(f.bytes().to_vec());
            }
            got
        });
        SlowLendingSink {
            tx: Some(tx),
            thread: Some(thread),
            got: Vec::new(),
        }
    }
}

impl FrameSink for SlowLendingSink {
    fn write_frame(&mut self, _: u64, _: &[u8]) -> ptc_runtime::Result<()> {
        panic!("frames come lent to a sink that takes them lent");
    }
    fn takes_lent(&self) -> bool {
        true
    }
    fn write_lent(&mut self, _: u64, frame: ptc_runtime::LentFrame) -> ptc_runtime::Result<()> {
        self.tx.as_ref().unwrap().send(frame).unwrap();
        Ok(())
    }
    fn finish(&mut self) -> ptc_runtime::Result<()> {
        self.tx = None;
        self.got = self.thread.take().unwrap().join().unwrap();
        let want: Vec<Vec<u8>> = (0..16)
            .map(|f| {
                (0..1024u32)
                    .flat_map(|i| (2.5 * (f * 1024 + i) as f32 + 1.0).to_le_bytes())
                    .collect()
            })
            .collect();
        assert_eq!(self.got.len(), want.len(), "frames written");
        for (f, (g, w)) in self.got.iter().zip(&want).enumerate() {
            assert!(g == w, "frame {f}");
        }
        Ok(())
    }
}

#[test]
fn a_session_waits_for_lent_frames_and_loses_none() {
    use crate::common::*;
    use ptc_runtime::Session;
    let Some((rt, log)) = runtime(false) else {
        return;
    };
    let n = 1024usize;
    let d = dir("slow");
    // x = 0, 1, 2, ... across 16 frames; y = 1: z = 2.5 x + 1.
    let xs: Vec<u8> = (0..16 * n as u32)
        .flat_map(|i| (i as f32).to_le_bytes())
        .collect();
    let ys: Vec<u8> = (0..16 * n).flat_map(|_| 1.0f32.to_le_bytes()).collect();
    std::fs::write(d.join("x.raw"), xs).unwrap();
    std::fs::write(d.join("y.raw"), ys).unwrap();
    let mut session = Session::new(rt);
    let g = session
        .runtime_mut()
        .open_graph(&saxpy2(n as u64, 2.5))
        .expect("open");
    run_saxpy(&mut session, g, &d, n, Box::new(SlowLendingSink::new()), 16);
    session.runtime_mut().terminate(g).expect("terminate");
    drop(session);
    assert_clean(&log);
}
