//! `.npy` (and raw) input files as `--input PORT=FILE` opens them:
//! `FileSource::from_file` (ptc's `.npy` header parser, dtype and shape
//! against the port, length against the frames promised), then the frames
//! read back.
//! The first byte picks the port; the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptc_plan::types::{ElemType, PortType, Scalar};
use ptc_runtime::io::{FileSource, FrameSource, InputFile};
use ptc_runtime::PortInfo;
use std::io::Write;

fn port(pick: u8) -> PortInfo {
    let (elem, shape) = match pick % 5 {
        0 => (ElemType::Scalar(Scalar::F32), vec![4]),
        1 => (ElemType::Scalar(Scalar::U16), vec![2, 3]),
        2 => (
            ElemType::Vector {
                n: 3,
                scalar: Scalar::F32,
            },
            vec![2],
        ),
        3 => (ElemType::Scalar(Scalar::U8), vec![1]),
        _ => (ElemType::Scalar(Scalar::I32), vec![2, 1, 2]),
    };
    let ty = PortType { elem, shape };
    let bytes = ty.byte_size(&Vec::new()).expect("fixed ports have a size");
    PortInfo {
        name: "x".into(),
        ty,
        bytes,
        slots: 2,
        layout: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let port = port(pick);
    let ext = if pick & 0x80 == 0 { "npy" } else { "raw" };
    let path = std::env::temp_dir().join(format!("ptc-fuzz-{}.{ext}", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("temp file");
    f.write_all(file).expect("write temp file");
    drop(f);
    let input = InputFile {
        file: std::fs::File::open(&path).expect("reopen"),
        path: path.clone(),
    };
    if let Ok(mut src) = FileSource::from_file(input, &port) {
        let mut buf = vec![0u8; port.bytes as usize];
        let mut frames = 0u64;
        while let Ok(true) = src.next_frame(&mut buf) {
            frames += 1;
            assert!(frames <= file.len() as u64, "more frames than bytes");
        }
    }
    let _ = std::fs::remove_file(&path);
});
