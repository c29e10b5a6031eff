//! File sinks of large frames: written in the run loop (direct I/O where
//! the file system takes it) or on a writer thread, as `.npy` and raw; what
//! lands in the file is exactly the frames, and numpy's format (read with
//! npyz, an independent reader) whichever way they were written.

use ptc_plan::types::{ElemType, PortType, Scalar};
use ptc_runtime::io::output::OutputFile;
use ptc_runtime::io::{FileSink, FileSource, FrameSink, FrameSource};
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

fn sink(path: &Path, threaded: bool) -> FileSink {
    let out = OutputFile::create(path).unwrap();
    if threaded {
        FileSink::threaded(out, &big_port()).unwrap()
    } else {
        FileSink::new(out, &big_port()).unwrap()
    }
}

#[test]
fn large_frames_round_trip_inline_and_on_a_thread_as_npy_and_raw() {
    let d = dir("round-trip");
    let fr = frames(5);
    let all = fr.concat();
    for threaded in [false, true] {
        for ext in ["npy", "raw"] {
            let what = format!("{ext}, threaded: {threaded}");
            let path = d.join(format!("out-{threaded}.{ext}"));
            let mut s = sink(&path, threaded);
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
    let mut s = sink(&d.join("o.raw"), true);
    let fr = frames(2);
    s.write_frame(0, &fr[0]).unwrap();
    s.write_frame(1, &fr[1]).unwrap();
    s.finish().unwrap();
    assert!(s.take_thread_cpu_ns() > 0, "the thread wrote 1 MiB");
    assert_eq!(s.take_thread_cpu_ns(), 0, "reported once");
    let mut inline = sink(&d.join("i.raw"), false);
    inline.write_frame(0, &fr[0]).unwrap();
    inline.finish().unwrap();
    assert_eq!(inline.take_thread_cpu_ns(), 0);
}

#[test]
fn a_dropped_threaded_sink_leaves_no_file() {
    let d = dir("dropped");
    for ext in ["npy", "raw"] {
        let path = d.join(format!("o.{ext}"));
        let mut s = sink(&path, true);
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
    for threaded in [false, true] {
        let mut s = sink(full, threaded);
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
            "threaded: {threaded}: {m}"
        );
    }
}
