//! `.npy` headers are bounded and parsed in linear time (cases found by
//! the `npy` fuzz target, fuzz/fuzz_targets/npy.rs, when npyz read them),
//! and what ptc writes reads back with npyz.
#![allow(clippy::unwrap_used)] // tests, benches and examples may panic

use ptc_plan::types::{ElemType, PortType, Scalar};
use ptc_runtime::io::{FileSink, FileSource, FrameSink, FrameSource};
use ptc_runtime::{PortInfo, RuntimeError};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, recording the largest single request.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator unchanged; the
// only addition is an atomic counter.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LARGEST.fetch_max(n, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Largest = Largest;

fn port() -> PortInfo {
    let ty = PortType {
        elem: ElemType::Scalar(Scalar::F32),
        shape: vec![4],
    };
    PortInfo {
        name: "x".into(),
        bytes: 16,
        ty,
        slots: 2,
        layout: None,
    }
}

fn open(name: &str, bytes: &[u8]) -> Result<FileSource, RuntimeError> {
    let dir = std::env::temp_dir().join(format!("ptc-npy-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    FileSource::open(&path, &port())
}

/// A version-1 `.npy` file with header `text` (padded as numpy does) and `data`.
fn npy_v1(text: &str, data: &[u8]) -> Vec<u8> {
    let mut h = text.to_string();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn a_huge_claimed_header_is_refused_without_allocating_it() {
    // The fuzzer's input, less its port byte: a version-2 header claiming
    // 0xff000074 bytes (4 GiB) in a 62-byte file. npyz allocated the whole
    // claim before reading (and ptc aborted where that failed).
    let file =
        b"\x93NUMPY\x02\x00t\x00\x00\xff\x00{\x00'descr': '|u1'cr': '|u1', 'fortran_order': Fals";
    LARGEST.store(0, Ordering::Relaxed);
    let e = open("huge.npy", file).err().expect("refused");
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < 16 << 20, "allocated {largest} bytes at once");
    assert!(
        e.to_string()
            .contains("its header claims 4278190196 bytes; ptc reads headers of at most 65536"),
        "{e}"
    );
}

#[test]
fn nested_brackets_in_a_header_are_refused_at_once() {
    // Found by the fuzzer as a 10 s timeout: 19 unclosed `[` in a 118-byte
    // header. npyz's Python-literal parser backtracked exponentially in
    // nesting (14 `{` took 30 s); ptc's parser takes no nested values and
    // stops at the first bracket where a value cannot start.
    // (The fuzzer's input, less its first byte, which picked the port.)
    let artifact = include_bytes!("data/npy_brackets_timeout.npy");
    let t = std::time::Instant::now();
    let e = open("brackets.npy", artifact).err().expect("refused");
    assert!(
        e.to_string().contains(
            "header: 'descr' at offset 10 is a list, tuple or dict: structured and \
             subarray dtypes are not supported"
        ),
        "{e}"
    );
    let text = format!("{{'descr': '<f4', 'shape': {}", "{".repeat(16));
    let e = open("braces.npy", &npy_v1(&text, &[]))
        .err()
        .expect("refused");
    assert!(
        e.to_string()
            .contains("expected a tuple of non-negative integers as 'shape'"),
        "{e}"
    );
    // As deep as a header may be long.
    let text = format!("{{'descr': '<f4', 'shape': {}", "(".repeat(60_000));
    let e = open("parens.npy", &npy_v1(&text, &[]))
        .err()
        .expect("refused");
    assert!(
        e.to_string()
            .contains("expected a non-negative integer in 'shape', found `(` at offset 27"),
        "{e}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn ordinary_files_still_read() {
    let data: Vec<u8> = (0..12).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let file = npy_v1(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
        &data,
    );
    let mut src = open("ok.npy", &file).expect("a valid stack of 3 frames");
    let mut buf = [0u8; 16];
    for k in 0..3 {
        assert!(src.next_frame(&mut buf).unwrap());
        assert_eq!(buf, data[k * 16..(k + 1) * 16]);
    }
    assert!(!src.next_frame(&mut buf).unwrap());
    // Cut inside the header, or not .npy at all.
    let e = open("cut.npy", &file[..40]).err().expect("refused");
    assert!(
        e.to_string().contains("ends inside its 118-byte header"),
        "{e}"
    );
    let e = open("text.npy", b"hello").err().expect("refused");
    assert!(e.to_string().contains("magic not found"), "{e}");
}

/// Writes `frames` frames of `port` through [`FileSink`] to `name`.
fn write_with_sink(name: &str, port: &PortInfo, frames: &[Vec<u8>]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ptc-npy-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut sink = FileSink::create(&path, port).unwrap();
    for (i, f) in frames.iter().enumerate() {
        sink.write_frame(i as u64, f).unwrap();
    }
    sink.finish().unwrap();
    path
}

#[test]
fn what_ptc_writes_npyz_reads() {
    let f32x4 = port();
    let u8s = PortInfo {
        name: "b".into(),
        bytes: 6,
        ty: PortType {
            elem: ElemType::Scalar(Scalar::U8),
            shape: vec![2, 3],
        },
        slots: 2,
        layout: None,
    };
    let vec3 = PortInfo {
        name: "v".into(),
        bytes: 32,
        ty: PortType {
            elem: ElemType::Vector {
                n: 3,
                scalar: Scalar::F32,
            },
            shape: vec![2],
        },
        slots: 2,
        layout: None,
    };
    let floats = |k: usize, n: usize| -> Vec<Vec<u8>> {
        (0..k)
            .map(|f| {
                (0..n)
                    .flat_map(|i| ((f * n + i) as f32 * 0.5).to_le_bytes())
                    .collect()
            })
            .collect()
    };
    let cases = [
        ("three.npy", &f32x4, floats(3, 4), &[3, 4][..]),
        ("one.npy", &f32x4, floats(1, 4), &[4]),
        ("none.npy", &f32x4, vec![], &[0, 4]),
        (
            "bytes.npy",
            &u8s,
            vec![vec![1, 2, 3, 4, 5, 6]; 2],
            &[2, 2, 3],
        ),
        ("vec3.npy", &vec3, floats(5, 8), &[5, 2, 4]),
    ];
    for (name, port, frames, shape) in cases {
        let path = write_with_sink(name, port, &frames);
        let bytes = std::fs::read(&path).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), shape, "{name}");
        assert_eq!(npy.order(), npyz::Order::C, "{name}");
        let all: Vec<u8> = frames.concat();
        let data_start = bytes.len() - all.len();
        assert_eq!(data_start % 64, 0, "{name}: data aligned to 64 bytes");
        if port.ty.elem.scalar() == Some(Scalar::U8) {
            assert_eq!(npy.dtype().descr(), "'|u1'");
            assert_eq!(npy.into_vec::<u8>().unwrap(), all, "{name}");
        } else {
            assert_eq!(npy.dtype().descr(), "'<f4'");
            let want: Vec<f32> = all
                .chunks(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            assert_eq!(npy.into_vec::<f32>().unwrap(), want, "{name}");
        }
        // And ptc reads it back, frame by frame (an empty stack is refused:
        // an input has at least one frame).
        match FileSource::open(&path, port) {
            Ok(mut src) => {
                let mut buf = vec![0u8; port.bytes as usize];
                for f in &frames {
                    assert!(src.next_frame(&mut buf).unwrap());
                    assert_eq!(&buf, f, "{name}");
                }
                assert!(!src.next_frame(&mut buf).unwrap());
            }
            Err(e) => {
                assert!(frames.is_empty(), "{name}: {e}");
                assert!(e.to_string().contains("shape is [0, 4]"), "{e}");
            }
        }
    }
}

#[test]
fn what_npyz_writes_ptc_reads() {
    use npyz::WriterBuilder;
    let data: Vec<f32> = (0..8).map(|i| i as f32).collect();
    let mut file = Vec::new();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[2, 4])
        .writer(std::io::Cursor::new(&mut file))
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
    let mut src = open("npyz.npy", &file).unwrap();
    let mut buf = [0u8; 16];
    for k in 0..2 {
        assert!(src.next_frame(&mut buf).unwrap());
        let want: Vec<u8> = data[k * 4..(k + 1) * 4]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(buf.as_slice(), want.as_slice());
    }
    assert!(!src.next_frame(&mut buf).unwrap());
}
