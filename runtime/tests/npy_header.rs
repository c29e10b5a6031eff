//! `.npy` headers are bounded before npyz reads them: found by the `npy`
//! fuzz target (fuzz/fuzz_targets/npy.rs).
#![allow(clippy::unwrap_used)] // tests, benches and examples may panic

use ptc_plan::types::{ElemType, PortType, Scalar};
use ptc_runtime::io::{FileSource, FrameSource};
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
fn nested_brackets_in_a_header_are_refused_before_parsing() {
    // Found by the fuzzer as a 10 s timeout: 19 unclosed `[` in a 118-byte
    // header. npyz's Python-literal parser backtracks exponentially in
    // nesting: 14 `{` took 30 s (12: 3.5 s, 10: 0.47 s).
    // (The fuzzer's input, less its first byte, which picked the port.)
    let artifact = include_bytes!("data/npy_brackets_timeout.npy");
    let t = std::time::Instant::now();
    let e = open("brackets.npy", artifact).err().expect("refused");
    assert!(
        e.to_string()
            .contains("its header has 21 brackets; ptc reads plain dtypes"),
        "{e}"
    );
    let text = format!("{{'descr': '<f4', 'shape': {}", "{".repeat(16));
    let e = open("braces.npy", &npy_v1(&text, &[]))
        .err()
        .expect("refused");
    assert!(e.to_string().contains("its header has 17 brackets"), "{e}");
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
    // Cut inside the header, or not .npy at all: npyz-style errors.
    let e = open("cut.npy", &file[..40]).err().expect("refused");
    assert!(
        e.to_string().contains("ends inside its 118-byte header"),
        "{e}"
    );
    let e = open("text.npy", b"hello").err().expect("refused");
    assert!(e.to_string().contains("magic not found"), "{e}");
}
