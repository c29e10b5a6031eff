//! `ptc run --preview out.png`: what the gesture pipeline sees in one frame.
//!
//! A point cloud (`vec4<f32>[h, w]`: x, y, z, valid; the gesture graph's
//! `xform.cloud`) read back from the GPU, drawn as its depth z in grey
//! levels (near = bright, dropouts = black), with detect's segmentation
//! applied to it (the CPU reference, [`crate::reference::hand_stats`], with
//! the plan's params): hand pixels (nearer than the box's far bound) tinted
//! blue, the extent box in green and the centroid as a red cross.
//!
//! Which buffer: [`find_buffer`] — one named by the user
//! (`--preview-buffer NAME`), else the first internal `vec4<f32>[h, w]`
//! buffer that feeds a ptask; the image is `w` × `h`.

use crate::reference::{HandStats, PlanConfig};
use ptc_plan::types::{ElemType, Scalar};
use ptc_plan::{Access, BufferRole, Plan};
use std::path::Path;

/// Why the preview could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The PNG could not be written.
    #[error("cannot write preview {path}: {why}")]
    Write {
        /// Where it was to go.
        path: String,
        /// The I/O or encoding error.
        why: String,
    },
    /// The cloud is not `w * h` points.
    #[error("preview needs a {w}x{h} cloud ({} points), got {got}", w * h)]
    Size {
        /// Image width, pixels.
        w: usize,
        /// Image height, pixels.
        h: usize,
        /// Points the cloud has.
        got: usize,
    },
    /// No buffer of the plan can be previewed as asked.
    #[error("{0}")]
    Buffer(String),
}

/// A buffer a preview can draw: a point cloud `vec4<f32>[height, width]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewBuffer {
    /// Its name in the plan (`Plan::buffers`, e.g. `xform.cloud`), as
    /// `Runtime::read_buffer` takes it.
    pub name: String,
    /// Image width, pixels.
    pub width: usize,
    /// Image height, pixels.
    pub height: usize,
}

/// `(w, h)` if `ty` is `vec4<f32>[h, w]`.
fn cloud_size(ty: &ptc_plan::types::PortType) -> Option<(usize, usize)> {
    match (&ty.elem, ty.shape.as_slice()) {
        (
            ElemType::Vector {
                n: 4,
                scalar: Scalar::F32,
            },
            [h, w],
        ) => Some((usize::try_from(*w).ok()?, usize::try_from(*h).ok()?)),
        _ => None,
    }
}

/// Every buffer of `plan` a preview can draw (`vec4<f32>[h, w]`), in plan
/// order.
pub fn candidates(plan: &Plan) -> Vec<PreviewBuffer> {
    plan.buffers
        .iter()
        .filter_map(|b| {
            cloud_size(&b.ty).map(|(width, height)| PreviewBuffer {
                name: b.name.clone(),
                width,
                height,
            })
        })
        .collect()
}

fn names(c: &[PreviewBuffer]) -> String {
    if c.is_empty() {
        "none".to_string()
    } else {
        c.iter()
            .map(|b| format!("{} ({}x{})", b.name, b.width, b.height))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The buffer of `plan` to preview: `name` if given (any
/// `vec4<f32>[h, w]` buffer), else the first internal `vec4<f32>[h, w]`
/// buffer that feeds a ptask (in `graphs/gesture.pt`: `xform.cloud`).
/// Errors name the graph and list the candidates.
pub fn find_buffer(plan: &Plan, name: Option<&str>) -> Result<PreviewBuffer, PreviewError> {
    let all = candidates(plan);
    let err = |what: String| {
        PreviewError::Buffer(format!(
            "{what} (buffers it can preview, vec4<f32>[h, w]: {})",
            names(&all)
        ))
    };
    if let Some(name) = name {
        let Some(b) = plan.buffers.iter().find(|b| b.name == name) else {
            return Err(err(format!(
                "graph `{}` has no buffer `{name}`",
                plan.graph
            )));
        };
        return match all.iter().find(|c| c.name == name) {
            Some(c) => Ok(c.clone()),
            None => Err(err(format!(
                "buffer `{name}` of graph `{}` is {}, not a point cloud vec4<f32>[h, w]",
                plan.graph, b.ty
            ))),
        };
    }
    let feeds_a_ptask = |i: usize| {
        plan.ptasks.iter().any(|p| {
            p.bindings
                .iter()
                .any(|b| b.buffer == i && matches!(b.access, Access::In | Access::Sticky))
        })
    };
    let found = plan.buffers.iter().enumerate().find(|(i, b)| {
        b.role == BufferRole::Internal && cloud_size(&b.ty).is_some() && feeds_a_ptask(*i)
    });
    match found.and_then(|(_, b)| all.iter().find(|c| c.name == b.name)) {
        Some(c) => Ok(c.clone()),
        None => Err(err(format!(
            "graph `{}` has no internal vec4<f32>[h, w] buffer feeding a ptask to preview by default; name one with --preview-buffer NAME",
            plan.graph
        ))),
    }
}

/// Renders an RGB8 image (row-major, 3 bytes a pixel).
pub fn render(
    cloud: &[[f32; 4]],
    w: usize,
    h: usize,
    hand: &HandStats,
) -> Result<Vec<u8>, PreviewError> {
    if cloud.len() != w * h {
        return Err(PreviewError::Size {
            w,
            h,
            got: cloud.len(),
        });
    }
    let present = hand.pixels > 0;
    let hand_far = hand.depth + 100.0;
    let mut img = vec![0u8; w * h * 3];
    for (i, c) in cloud.iter().enumerate() {
        if c[3] <= 0.0 {
            continue;
        }
        // 400 mm -> 255, 2600 mm -> 30.
        let g = (255.0 - (c[2] - 400.0) * (225.0 / 2200.0)).clamp(30.0, 255.0) as u8;
        let (u, v) = ((i % w) as f32, (i / w) as f32);
        let in_box = present && u >= hand.u0 && u <= hand.u1 && v >= hand.v0 && v <= hand.v1;
        let px = if in_box && c[2] < hand_far {
            [g / 3, g / 2, g]
        } else {
            [g, g, g]
        };
        img[i * 3..i * 3 + 3].copy_from_slice(&px);
    }
    if present {
        let mut put = |x: i64, y: i64, rgb: [u8; 3]| {
            if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                let i = (y as usize * w + x as usize) * 3;
                img[i..i + 3].copy_from_slice(&rgb);
            }
        };
        let green = [40, 230, 40];
        let (x0, y0, x1, y1) = (
            hand.u0 as i64,
            hand.v0 as i64,
            hand.u1 as i64,
            hand.v1 as i64,
        );
        for x in x0..=x1 {
            put(x, y0, green);
            put(x, y1, green);
        }
        for y in y0..=y1 {
            put(x0, y, green);
            put(x1, y, green);
        }
        let red = [255, 30, 30];
        let (cx, cy) = (hand.cu.round() as i64, hand.cv.round() as i64);
        for d in -12..=12 {
            for t in -1..=1 {
                put(cx + d, cy + t, red);
                put(cx + t, cy + d, red);
            }
        }
    }
    Ok(img)
}

/// Encodes an RGB8 image as PNG bytes.
pub fn encode_png(rgb: &[u8], w: usize, h: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().map_err(|e| e.to_string())?;
        wr.write_image_data(rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Renders and writes the preview PNG to `path`.
pub fn write(
    path: &Path,
    cloud: &[[f32; 4]],
    w: usize,
    h: usize,
    hand: &HandStats,
) -> Result<(), PreviewError> {
    let err = |why: String| PreviewError::Write {
        path: path.display().to_string(),
        why,
    };
    let rgb = render(cloud, w, h, hand)?;
    let bytes = encode_png(&rgb, w, h).map_err(err)?;
    ptc_runtime::io::write_atomic(path, &bytes).map_err(|e| err(e.to_string()))
}

/// Decodes a `vec4<f32>[h, w]` buffer (std430 bytes) into points.
pub fn cloud_from_bytes(bytes: &[u8]) -> Vec<[f32; 4]> {
    bytes
        .chunks_exact(16)
        .map(|c| {
            let f = |i: usize| f32::from_le_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
            [f(0), f(4), f(8), f(12)]
        })
        .collect()
}

/// Decodes an 8-bit RGB PNG (as [`encode_png`] writes) into (pixels, w, h).
pub fn decode_png(bytes: &[u8]) -> Result<(Vec<u8>, usize, usize), String> {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut rd = dec.read_info().map_err(|e| e.to_string())?;
    let size = rd
        .output_buffer_size()
        .ok_or_else(|| "PNG too large".to_string())?;
    let mut buf = vec![0u8; size];
    let info = rd.next_frame(&mut buf).map_err(|e| e.to_string())?;
    if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
        return Err(format!(
            "expected 8-bit RGB, got {:?} {:?}",
            info.color_type, info.bit_depth
        ));
    }
    buf.truncate(info.buffer_size());
    Ok((buf, info.width as usize, info.height as usize))
}

/// Renders a `w`×`h` point cloud the GPU produced (e.g. `xform.cloud`'s
/// std430 bytes, as `Runtime::read_buffer` returns them): depth = the
/// cloud's z, hand overlay from detect's segmentation rule (with the plan's
/// detect params, defaults where it has none) applied to that same cloud.
/// Returns the RGB8 pixels.
pub fn render_cloud_bytes(
    plan: &Plan,
    bytes: &[u8],
    w: usize,
    h: usize,
) -> Result<Vec<u8>, PreviewError> {
    let cloud = cloud_from_bytes(bytes);
    let dp = PlanConfig::from_plan(plan)
        .map(|c| c.detect)
        .unwrap_or_default();
    let hand = crate::reference::hand_stats(&cloud, w, h, &dp);
    render(&cloud, w, h, &hand)
}

/// [`render_cloud_bytes`], written as a PNG to `out`.
pub fn write_cloud_bytes(
    plan: &Plan,
    bytes: &[u8],
    w: usize,
    h: usize,
    out: &Path,
) -> Result<(), PreviewError> {
    let err = |why: String| PreviewError::Write {
        path: out.display().to_string(),
        why,
    };
    let rgb = render_cloud_bytes(plan, bytes, w, h)?;
    let png = encode_png(&rgb, w, h).map_err(err)?;
    ptc_runtime::io::write_atomic(out, &png).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gesture(sets: &[(&str, &str)]) -> Plan {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repo root")
            .to_path_buf();
        let opts = ptc_compiler::Options {
            sets: sets
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let report = ptc_compiler::check_file(&root.join("graphs/gesture.pt"), &opts);
        assert!(!report.has_errors(), "{:#?}", report.diagnostics);
        report.plan.expect("gesture compiles")
    }

    /// The default is the cloud xform feeds detect with, at the graph's
    /// size; a name picks any cloud; errors list what can be previewed.
    #[test]
    fn the_buffer_comes_from_the_graph() {
        let p = gesture(&[]);
        let cloud = PreviewBuffer {
            name: "xform.cloud".into(),
            width: 640,
            height: 480,
        };
        assert_eq!(find_buffer(&p, None).unwrap(), cloud);
        assert_eq!(find_buffer(&p, Some("xform.cloud")).unwrap(), cloud);
        assert_eq!(candidates(&p), [cloud]);
        let small = find_buffer(&gesture(&[("W", "320"), ("H", "240")]), None).unwrap();
        assert_eq!((small.width, small.height), (320, 240));
        let e = find_buffer(&p, Some("nope")).unwrap_err().to_string();
        assert_eq!(
            e,
            "graph `gesture` has no buffer `nope` (buffers it can preview, vec4<f32>[h, w]: xform.cloud (640x480))"
        );
        let e = find_buffer(&p, Some("detect_plane.plane"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "buffer `detect_plane.plane` of graph `gesture` is vec4<f32>[2], not a point cloud"
            ),
            "{e}"
        );
        // A graph without one: the error says what to do.
        let mut flat = p.clone();
        for b in &mut flat.buffers {
            if b.name == "xform.cloud" {
                b.role = BufferRole::Output;
            }
        }
        let e = find_buffer(&flat, None).unwrap_err().to_string();
        assert!(
            e.contains("no internal vec4<f32>[h, w] buffer feeding a ptask"),
            "{e}"
        );
        assert!(e.contains("--preview-buffer NAME"), "{e}");
        assert!(e.contains("xform.cloud (640x480)"), "{e}");
        assert_eq!(
            find_buffer(&flat, Some("xform.cloud")).unwrap().name,
            "xform.cloud"
        );
    }

    #[test]
    fn draws_depth_box_and_cross() {
        let (w, h) = (64, 48);
        let mut cloud = vec![[0.0, 0.0, 2000.0, 1.0]; w * h];
        cloud[0] = [0.0; 4];
        for v in 10..20 {
            for u in 20..30 {
                cloud[v * w + u][2] = 800.0;
            }
        }
        let hand = HandStats {
            pixels: 100,
            cu: 24.5,
            cv: 14.5,
            depth: 800.0,
            u0: 20.0,
            v0: 10.0,
            u1: 29.0,
            v1: 19.0,
        };
        let img = render(&cloud, w, h, &hand).unwrap();
        let px = |u: usize, v: usize| &img[(v * w + u) * 3..(v * w + u) * 3 + 3];
        assert_eq!(px(0, 0), [0, 0, 0]); // dropout
        assert_eq!(px(5, 40), [91, 91, 91]); // wall: 255 - 1600*225/2200
        assert_eq!(px(20, 12), [40, 230, 40]); // box edge
        assert_eq!(px(25, 15), [255, 30, 30]); // cross
        assert_eq!(px(22, 17), [71, 107, 214]); // hand tint of 214
        let png = encode_png(&img, w, h).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(decode_png(&png).unwrap(), (img.clone(), w, h));
        assert!(render(&cloud[1..], w, h, &hand).is_err());
    }
}
