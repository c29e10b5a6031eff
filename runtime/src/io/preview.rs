//! `--preview out.png`: what the gesture pipeline sees in one frame.
//!
//! The filtered depth from the point cloud (`xform.cloud`, z) as grey levels
//! (near = bright, dropouts = black), hand pixels (more than 150 mm in front
//! of the hand's surroundings, i.e. nearer than the box's far bound) tinted
//! blue, the detected extent box in green and the centroid as a red cross.

use crate::gesture_ref::HandStats;
use std::path::Path;

/// Why the preview could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("cannot write preview {path}: {why}")]
    Write { path: String, why: String },
    #[error("preview needs a {w}x{h} cloud ({} points), got {got}", w * h)]
    Size { w: usize, h: usize, got: usize },
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
    super::write_atomic(path, &bytes).map_err(|e| err(e.to_string()))
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

/// The xform (bilateral) and detect (segmentation) parameters a plan sets
/// as push constants, defaults where it sets none.
pub fn plan_params(
    plan: &ptc_plan::Plan,
) -> (
    crate::gesture_ref::BilateralParams,
    crate::gesture_ref::DetectParams,
) {
    use crate::gesture_ref::{BilateralParams, DetectParams};
    use ptc_plan::types::Value;
    let param = |ptask: &str, name: &str| -> Option<Value> {
        plan.ptasks
            .iter()
            .find(|p| p.name == ptask)?
            .push_constants
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value)
    };
    let f = |v: Option<Value>, d: f32| match v {
        Some(Value::F32(x)) => x,
        Some(Value::U32(x)) => x as f32,
        Some(Value::I32(x)) => x as f32,
        None => d,
    };
    let u = |v: Option<Value>, d: u32| match v {
        Some(Value::U32(x)) => x,
        Some(Value::I32(x)) => x.max(0) as u32,
        Some(Value::F32(x)) => x.max(0.0) as u32,
        None => d,
    };
    let (bd, dd) = (BilateralParams::default(), DetectParams::default());
    let bp = BilateralParams {
        sigma_space: f(param("xform", "sigma_space"), bd.sigma_space),
        sigma_range: f(param("xform", "sigma_range"), bd.sigma_range),
        radius: u(param("xform", "radius"), bd.radius),
    };
    // detect is several ptasks (plane, hand, state machine): take each
    // param from whichever ptask declares it.
    let any = |name: &str| plan.ptasks.iter().find_map(|p| param(&p.name, name));
    let dp = DetectParams {
        near_mm: f(any("near_mm"), dd.near_mm),
        min_pixels: u(any("min_pixels"), dd.min_pixels),
        ..dd
    };
    (bp, dp)
}

/// Renders a point cloud the GPU produced (`xform.cloud`'s std430 bytes,
/// as `Runtime::read_buffer` returns them): depth = the cloud's z, hand
/// overlay from detect's segmentation rule (with the plan's `detect`
/// params) applied to that same cloud. Returns the RGB8 pixels.
pub fn render_cloud_bytes(
    plan: &ptc_plan::Plan,
    bytes: &[u8],
    w: usize,
    h: usize,
) -> Result<Vec<u8>, PreviewError> {
    let cloud = cloud_from_bytes(bytes);
    let (_, dp) = plan_params(plan);
    let hand = crate::gesture_ref::hand_stats(&cloud, &dp);
    render(&cloud, w, h, &hand)
}

/// [`render_cloud_bytes`], written as a PNG to `out`.
pub fn write_cloud_bytes(
    plan: &ptc_plan::Plan,
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
    super::write_atomic(out, &png).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The preview's segmentation uses the graph's own params, whichever
    /// ptask declares them (detect is several ptasks).
    #[test]
    fn params_come_from_the_plan() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repo root")
            .to_path_buf();
        let text = std::fs::read_to_string(root.join("graphs/gesture.pt"))
            .expect("gesture.pt")
            .replace(
                "param near_mm:      f32 = 150.0;",
                "param near_mm:      f32 = 222.0;",
            );
        assert!(text.contains("222.0"), "the graph declares near_mm");
        let report = ptc_compiler::check_source(
            &root.join("graphs/gesture.pt"),
            text,
            &ptc_compiler::Options::default(),
        );
        let plan = report.plan.expect("gesture compiles");
        let (_, dp) = plan_params(&plan);
        assert_eq!(dp.near_mm, 222.0);
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
