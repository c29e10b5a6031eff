//! A pure-Rust CPU reference of the gesture pipeline's kernels
//! (`kernels/xform.comp` and `kernels/detect*.comp`).
//!
//! It defines what the GPU kernels must compute: tests compare the GPU
//! output with it, and it is compared with OpenCV's `cv2.bilateralFilter`
//! (reference data in `tests/data/`). The arithmetic mirrors the kernels
//! step by step (f32 throughout, same subsampling, same thresholds), so only
//! the order of floating-point sums differs. Every function takes the frame
//! size (`w` × `h` pixels, the kernels' specialization constants W and H):
//! [`PlanConfig::from_plan`] reads it, and the params, from a compiled plan.

pub use ptc_runtime::io::event::{Event, EventKind};

/// Words in the detect state buffer (`u32[64]`).
pub const STATE_WORDS: usize = 64;
/// Event slots per frame (`Event[16]`).
pub const EVENT_SLOTS: usize = 16;
/// Frames of motion history kept in the state ring.
const HIST: u32 = 16;
/// Subsampling step of the background plane fit.
const SUB: usize = 4;

/// Pinhole camera intrinsics in pixels: the `intrinsics: vec4<f32>[1]` input.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Intrinsics {
    /// Focal length along x, pixels.
    pub fx: f32,
    /// Focal length along y, pixels.
    pub fy: f32,
    /// Principal point x, pixels.
    pub cx: f32,
    /// Principal point y, pixels.
    pub cy: f32,
}

impl Default for Intrinsics {
    /// Kinect-like 640x480 depth camera: f = 525 px, centre (319.5, 239.5).
    fn default() -> Self {
        Intrinsics {
            fx: 525.0,
            fy: 525.0,
            cx: 319.5,
            cy: 239.5,
        }
    }
}

impl Intrinsics {
    /// The four floats in port order (fx, fy, cx, cy).
    pub fn to_array(self) -> [f32; 4] {
        [self.fx, self.fy, self.cx, self.cy]
    }

    /// The same camera's intrinsics for frames `k_scale` times as wide (as
    /// xform does with its `K_SCALE` spec, since `graphs/kinect_intrinsics.npy`
    /// is the 640-wide camera's): focal lengths scale, pixel centres map
    /// `c -> (c + 0.5) * k_scale - 0.5`. The identity at 1.
    pub fn scaled(self, k_scale: f32) -> Intrinsics {
        if k_scale == 1.0 {
            return self;
        }
        Intrinsics {
            fx: self.fx * k_scale,
            fy: self.fy * k_scale,
            cx: (self.cx + 0.5) * k_scale - 0.5,
            cy: (self.cy + 0.5) * k_scale - 0.5,
        }
    }
}

/// Parameters of the bilateral filter (the xform ptask's `param`s).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct BilateralParams {
    /// Spatial Gaussian sigma, pixels.
    pub sigma_space: f32,
    /// Range Gaussian sigma, millimetres.
    pub sigma_range: f32,
    /// Window radius in pixels (circular window, OpenCV's d = 2*radius+1).
    pub radius: u32,
}

impl Default for BilateralParams {
    fn default() -> Self {
        BilateralParams {
            sigma_space: 3.0,
            sigma_range: 30.0,
            radius: 4,
        }
    }
}

/// Bilateral filter of a `w`×`h` u16 depth image, ignoring dropout pixels
/// (value 0) and taps outside the image. A dropout pixel stays 0.
///
/// Returns one f32 per pixel. Panics never; a `raw` shorter than `w*h`
/// is treated as if padded with zeros.
pub fn bilateral(raw: &[u16], w: usize, h: usize, p: &BilateralParams) -> Vec<f32> {
    let at = |x: usize, y: usize| f32::from(raw.get(y * w + x).copied().unwrap_or(0));
    let ks = -0.5 / (p.sigma_space * p.sigma_space);
    let kr = -0.5 / (p.sigma_range * p.sigma_range);
    let r = p.radius.min(32) as i64;
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let c = at(x, y);
            if c == 0.0 {
                continue;
            }
            let (mut sum, mut wsum) = (0.0f32, 0.0f32);
            for dy in -r..=r {
                let yy = y as i64 + dy;
                if yy < 0 || yy >= h as i64 {
                    continue;
                }
                for dx in -r..=r {
                    let xx = x as i64 + dx;
                    let d2 = dx * dx + dy * dy;
                    if xx < 0 || xx >= w as i64 || d2 > r * r {
                        continue;
                    }
                    let v = at(xx as usize, yy as usize);
                    if v == 0.0 {
                        continue;
                    }
                    let dv = v - c;
                    let wt = (ks * d2 as f32 + kr * dv * dv).exp();
                    sum += wt * v;
                    wsum += wt;
                }
            }
            out[y * w + x] = sum / wsum;
        }
    }
    out
}

/// Back-projects filtered depth (0 = invalid) to points `(X, Y, Z, valid)`.
pub fn back_project(depth: &[f32], w: usize, k: &Intrinsics) -> Vec<[f32; 4]> {
    depth
        .iter()
        .enumerate()
        .map(|(i, &z)| {
            if z == 0.0 {
                [0.0; 4]
            } else {
                let (u, v) = ((i % w) as f32, (i / w) as f32);
                [(u - k.cx) * z / k.fx, (v - k.cy) * z / k.fy, z, 1.0]
            }
        })
        .collect()
}

/// The whole xform ptask on a `w`×`h` frame: filter, then back-project
/// (`k` as the kernel uses it: see [`Intrinsics::scaled`]).
pub fn xform(
    raw: &[u16],
    w: usize,
    h: usize,
    p: &BilateralParams,
    k: &Intrinsics,
) -> Vec<[f32; 4]> {
    back_project(&bilateral(raw, w, h, p), w, k)
}

/// Parameters of the detect ptask (its `param`s).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct DetectParams {
    /// A hand pixel is this many mm in front of the background plane.
    pub near_mm: f32,
    /// Fewer hand pixels than this means no hand.
    pub min_pixels: u32,
    /// Depth decrease that makes a press, mm.
    pub press_mm: f32,
    /// ... within at most this many frames (capped at 15).
    pub press_frames: u32,
    /// Horizontal motion that makes a swipe, fraction of the width.
    pub swipe_frac: f32,
    /// ... within at most this many frames (capped at 15).
    pub swipe_frames: u32,
}

impl Default for DetectParams {
    fn default() -> Self {
        DetectParams {
            near_mm: 150.0,
            min_pixels: 400,
            press_mm: 100.0,
            press_frames: 10,
            swipe_frac: 0.4,
            swipe_frames: 15,
        }
    }
}

/// What detect found in one frame (also stored in state words 5..=12).
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct HandStats {
    /// Hand pixels (0 = no hand).
    pub pixels: u32,
    /// Centroid u (column), pixels.
    pub cu: f32,
    /// Centroid v (row), pixels.
    pub cv: f32,
    /// Mean depth of the hand, mm.
    pub depth: f32,
    /// Extent box (inclusive), pixels: first column.
    pub u0: f32,
    /// First row.
    pub v0: f32,
    /// Last column.
    pub u1: f32,
    /// Last row.
    pub v1: f32,
}

impl HandStats {
    /// Reads the current frame's hand from a detect state buffer.
    pub fn from_state(s: &[u32]) -> HandStats {
        let f = |i: usize| f32::from_bits(s.get(i).copied().unwrap_or(0));
        HandStats {
            pixels: s.get(5).copied().unwrap_or(0),
            cu: f(6),
            cv: f(7),
            depth: f(8),
            u0: f(9),
            v0: f(10),
            u1: f(11),
            v1: f(12),
        }
    }
}

/// Normalised coordinates of pixel (u, v) used by the plane fit: -1..1
/// across a `w`×`h` image (`(u - 319.5) / 320` at 640 wide), as
/// `kernels/detect_plane.comp` computes them.
fn fit_coords(u: usize, v: usize, z: f32, w: usize, h: usize) -> [f32; 3] {
    let (hw, hh) = (0.5 * w as f32, 0.5 * h as f32);
    [
        (u as f32 - (hw - 0.5)) / hw,
        (v as f32 - (hh - 0.5)) / hh,
        (z - 2000.0) / 1000.0,
    ]
}

/// A background plane in the kernel's normalised coordinates of a `w`×`h`
/// image.
#[derive(Copy, Clone, Debug)]
struct Plane {
    s: [f32; 3],
    w: usize,
    h: usize,
}

impl Plane {
    fn at(&self, u: usize, v: usize) -> f32 {
        let q = fit_coords(u, v, 2000.0, self.w, self.h);
        2000.0 + 1000.0 * (self.s[0] + self.s[1] * q[0] + self.s[2] * q[1])
    }
}

/// Least-squares plane over the 4×4-subsampled valid points of a `w`×`h`
/// cloud; with `prev`, only points not more than `near` mm in front of it
/// take part.
fn fit_plane(
    cloud: &[[f32; 4]],
    w: usize,
    h: usize,
    prev: Option<&Plane>,
    near: f32,
) -> Option<Plane> {
    let mut s = [0.0f32; 9];
    for sv in 0..h / SUB {
        for su in 0..w / SUB {
            let (u, v) = (su * SUB + 2, sv * SUB + 2);
            let c = cloud.get(v * w + u).copied().unwrap_or([0.0; 4]);
            if c[3] <= 0.0 {
                continue;
            }
            if let Some(pl) = prev {
                if c[2] < pl.at(u, v) - near {
                    continue;
                }
            }
            let q = fit_coords(u, v, c[2], w, h);
            s[0] += 1.0;
            s[1] += q[0];
            s[2] += q[1];
            s[3] += q[2];
            s[4] += q[0] * q[0];
            s[5] += q[0] * q[1];
            s[6] += q[1] * q[1];
            s[7] += q[0] * q[2];
            s[8] += q[1] * q[2];
        }
    }
    let [n, a, b, z, aa, ab, bb, az, bz] = s;
    let det = n * (aa * bb - ab * ab) - a * (a * bb - ab * b) + b * (a * ab - aa * b);
    if n < 16.0 || det.abs() <= 1e-6 * n * n * n {
        return None;
    }
    let d0 = z * (aa * bb - ab * ab) - a * (az * bb - ab * bz) + b * (az * ab - aa * bz);
    let d1 = n * (az * bb - bz * ab) - z * (a * bb - ab * b) + b * (a * bz - az * b);
    let d2 = n * (aa * bz - ab * az) - a * (a * bz - az * b) + z * (a * ab - aa * b);
    Some(Plane {
        s: [d0 / det, d1 / det, d2 / det],
        w,
        h,
    })
}

/// Segments the hand in a `w`×`h` cloud: valid points more than `near_mm`
/// in front of the background plane (fitted twice, see
/// `kernels/detect_plane.comp` and `kernels/detect_hand.comp`). A cloud
/// shorter than `w * h` points reads as invalid points.
pub fn hand_stats(cloud: &[[f32; 4]], w: usize, h: usize, p: &DetectParams) -> HandStats {
    let plane = fit_plane(cloud, w, h, None, p.near_mm)
        .and_then(|pl| fit_plane(cloud, w, h, Some(&pl), p.near_mm));
    let Some(plane) = plane else {
        return HandStats::default();
    };
    let (mut n, mut su, mut sv, mut sz) = (0u32, 0.0f64, 0.0f64, 0.0f64);
    let (mut u0, mut v0, mut u1, mut v1) = (w, h, 0usize, 0usize);
    for (i, c) in cloud.iter().enumerate().take(w * h) {
        let (u, v) = (i % w, i / w);
        if c[3] <= 0.0 || c[2] >= plane.at(u, v) - p.near_mm {
            continue;
        }
        n += 1;
        su += u as f64;
        sv += v as f64;
        sz += f64::from(c[2]);
        u0 = u0.min(u);
        v0 = v0.min(v);
        u1 = u1.max(u);
        v1 = v1.max(v);
    }
    if n < p.min_pixels.max(1) {
        return HandStats::default();
    }
    let nf = f64::from(n);
    HandStats {
        pixels: n,
        cu: (su / nf) as f32,
        cv: (sv / nf) as f32,
        depth: (sz / nf) as f32,
        u0: u0 as f32,
        v0: v0 as f32,
        u1: u1 as f32,
        v1: v1 as f32,
    }
}

/// One firing of detect (its three passes) on a `w`×`h` cloud: the cloud
/// and the previous state in, the events and the next state out. `state`
/// shorter than 64 words reads as zeros.
pub fn detect(
    cloud: &[[f32; 4]],
    w: usize,
    h: usize,
    state: &[u32],
    p: &DetectParams,
) -> ([Event; EVENT_SLOTS], [u32; STATE_WORDS]) {
    let mut ns = [0u32; STATE_WORDS];
    for (d, s) in ns.iter_mut().zip(state) {
        *d = *s;
    }
    let hand = hand_stats(cloud, w, h, p);
    step(&hand, w, h, &mut ns, p)
}

/// The state machine of detect, given this frame's hand in a `w`×`h` image.
fn step(
    hand: &HandStats,
    w: usize,
    h: usize,
    ns: &mut [u32; STATE_WORDS],
    p: &DetectParams,
) -> ([Event; EVENT_SLOTS], [u32; STATE_WORDS]) {
    let fs = |s: &[u32; STATE_WORDS], i: usize| f32::from_bits(s[i]);
    let n = ns[0];
    let present = hand.pixels > 0;
    let (x, y, depth) = if present {
        (
            (hand.cu + 0.5) / w as f32,
            (hand.cv + 0.5) / h as f32,
            hand.depth,
        )
    } else {
        (0.0, 0.0, 0.0)
    };
    let mut ev = [Event::default(); EVENT_SLOTS];
    let mut ne = 0usize;
    let tf = n as f32;
    let mut push = |kind: EventKind, x: f32, y: f32| {
        if ne < EVENT_SLOTS {
            ev[ne] = Event {
                kind: kind as u32,
                x,
                y,
                t: tf,
            };
            ne += 1;
        }
    };
    let hist = |k: u32| 16 + 3 * (k % HIST) as usize;
    let mut pressed = ns[1] != 0;
    let mut dmin = fs(ns, 2);
    if present {
        push(EventKind::Move, x, y);
        if !pressed {
            let jmax = p.press_frames.min(HIST - 1);
            for j in (1..=jmax).take_while(|&j| j <= n) {
                let slot = hist(n - j);
                if ns[slot] != 0 && fs(ns, slot + 2) - depth >= p.press_mm {
                    push(EventKind::Press, x, y);
                    pressed = true;
                    dmin = depth;
                    break;
                }
            }
        } else {
            dmin = dmin.min(depth);
            if depth - dmin >= 0.5 * p.press_mm {
                push(EventKind::Release, x, y);
                pressed = false;
            }
        }
        let jmax = p.swipe_frames.min(HIST - 1);
        for j in (1..=jmax).take_while(|&j| j <= n) {
            let slot = hist(n - j);
            if ns[slot] == 0 {
                continue;
            }
            let dx = x - fs(ns, slot + 1);
            if dx >= p.swipe_frac || dx <= -p.swipe_frac {
                push(
                    if dx > 0.0 {
                        EventKind::SwipeRight
                    } else {
                        EventKind::SwipeLeft
                    },
                    x,
                    y,
                );
                for k in 0..HIST {
                    ns[hist(k)] = 0;
                }
                break;
            }
        }
        ns[3] = x.to_bits();
        ns[4] = y.to_bits();
    } else if pressed {
        push(EventKind::Release, fs(ns, 3), fs(ns, 4));
        pressed = false;
    }
    ns[0] = n.wrapping_add(1);
    ns[1] = u32::from(pressed);
    ns[2] = dmin.to_bits();
    ns[5] = hand.pixels;
    ns[6] = hand.cu.to_bits();
    ns[7] = hand.cv.to_bits();
    ns[8] = hand.depth.to_bits();
    ns[9] = hand.u0.to_bits();
    ns[10] = hand.v0.to_bits();
    ns[11] = hand.u1.to_bits();
    ns[12] = hand.v1.to_bits();
    let slot = hist(n);
    ns[slot] = u32::from(present);
    ns[slot + 1] = x.to_bits();
    ns[slot + 2] = depth.to_bits();
    (ev, *ns)
}

/// What the CPU reference needs to follow a compiled gesture plan
/// (`graphs/gesture.pt` at any `--set W=.. --set H=..`, or its stages in
/// `graphs/gesture_stages/`): the frame size, taken from the plan's port
/// shapes, and the ptasks' params.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct PlanConfig {
    /// Frame width, pixels (W).
    pub width: usize,
    /// Frame height, pixels (H).
    pub height: usize,
    /// xform's params (defaults where the plan sets none).
    pub bilateral: BilateralParams,
    /// detect's params, from whichever detect ptask declares each.
    pub detect: DetectParams,
    /// xform's `K_SCALE` spec (1 where the plan sets none): scale the
    /// 640-wide camera's intrinsics with [`Intrinsics::scaled`].
    pub k_scale: f32,
}

/// `(w, h)` of an image-shaped port type: `u16[h, w]` (depth) or
/// `vec4<f32>[h, w]` (a point cloud).
pub fn image_size(ty: &ptc_plan::types::PortType) -> Option<(usize, usize)> {
    use ptc_plan::types::{ElemType, Scalar};
    let image = matches!(
        ty.elem,
        ElemType::Scalar(Scalar::U16)
            | ElemType::Vector {
                n: 4,
                scalar: Scalar::F32
            }
    );
    match ty.shape.as_slice() {
        [h, w] if image => Some((usize::try_from(*w).ok()?, usize::try_from(*h).ok()?)),
        _ => None,
    }
}

impl PlanConfig {
    /// Reads the frame size from the first buffer of `plan` shaped like an
    /// image (`u16[H, W]` depth or `vec4<f32>[H, W]` cloud: every one of a
    /// gesture plan has the same H, W) and the params the ptasks set (push
    /// constants or uniform params). Errors say why the plan is not a
    /// gesture pipeline.
    pub fn from_plan(plan: &ptc_plan::Plan) -> Result<PlanConfig, String> {
        use ptc_plan::types::Value;
        let (width, height) = plan
            .buffers
            .iter()
            .find_map(|b| image_size(&b.ty))
            .ok_or_else(|| {
                format!(
                    "graph `{}` has no u16[H, W] depth or vec4<f32>[H, W] point-cloud buffer: it is not a gesture pipeline (buffers: {})",
                    plan.graph,
                    plan.buffers
                        .iter()
                        .map(|b| format!("{}: {}", b.name, b.ty))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        // A param from whichever ptask declares it (detect is three ptasks).
        let param = |name: &str| -> Option<Value> {
            plan.ptasks.iter().find_map(|p| {
                let uniform = p.uniform_params.iter().flat_map(|u| &u.members);
                p.push_constants
                    .iter()
                    .chain(uniform)
                    .find(|c| c.name == name)
                    .map(|c| c.value)
            })
        };
        let f = |name: &str, d: f32| match param(name) {
            Some(Value::F32(x)) => x,
            Some(Value::U32(x)) => x as f32,
            Some(Value::I32(x)) => x as f32,
            None => d,
        };
        let u = |name: &str, d: u32| match param(name) {
            Some(Value::U32(x)) => x,
            Some(Value::I32(x)) => x.max(0) as u32,
            Some(Value::F32(x)) => x.max(0.0) as u32,
            None => d,
        };
        let (bd, dd) = (BilateralParams::default(), DetectParams::default());
        let k_scale = plan
            .ptasks
            .iter()
            .flat_map(|p| &p.specialization)
            .find(|s| s.name == "K_SCALE")
            .and_then(|s| match s.value {
                Value::F32(x) => Some(x),
                _ => None,
            })
            .unwrap_or(1.0);
        Ok(PlanConfig {
            width,
            height,
            bilateral: BilateralParams {
                sigma_space: f("sigma_space", bd.sigma_space),
                sigma_range: f("sigma_range", bd.sigma_range),
                radius: u("radius", bd.radius),
            },
            detect: DetectParams {
                near_mm: f("near_mm", dd.near_mm),
                min_pixels: u("min_pixels", dd.min_pixels),
                press_mm: f("press_mm", dd.press_mm),
                press_frames: u("press_frames", dd.press_frames),
                swipe_frac: f("swipe_frac", dd.swipe_frac),
                swipe_frames: u("swipe_frames", dd.swipe_frames),
            },
            k_scale,
        })
    }

    /// Pixels a frame.
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }

    /// [`xform`] at this plan's size and params; `k` is the 640-wide
    /// camera's intrinsics (the `intrinsics` input), scaled here.
    pub fn xform(&self, raw: &[u16], k: &Intrinsics) -> Vec<[f32; 4]> {
        xform(
            raw,
            self.width,
            self.height,
            &self.bilateral,
            &k.scaled(self.k_scale),
        )
    }

    /// [`detect`] at this plan's size and params.
    pub fn detect(
        &self,
        cloud: &[[f32; 4]],
        state: &[u32],
    ) -> ([Event; EVENT_SLOTS], [u32; STATE_WORDS]) {
        detect(cloud, self.width, self.height, state, &self.detect)
    }

    /// [`hand_stats`] at this plan's size and params.
    pub fn hand_stats(&self, cloud: &[[f32; 4]]) -> HandStats {
        hand_stats(cloud, self.width, self.height, &self.detect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sets: &[(&str, &str)], edit: impl Fn(String) -> String) -> ptc_plan::Plan {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repo root")
            .to_path_buf();
        let path = root.join("graphs/gesture.pt");
        let text = edit(std::fs::read_to_string(&path).expect("gesture.pt"));
        let opts = ptc_compiler::Options {
            sets: sets
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let report = ptc_compiler::check_source(&path, text, &opts);
        assert!(!report.has_errors(), "{:#?}", report.diagnostics);
        report.plan.expect("gesture compiles")
    }

    /// The size comes from the ports, the params from whichever ptask
    /// declares them (detect is several ptasks), K_SCALE from xform's specs.
    #[test]
    fn config_comes_from_the_plan() {
        let c = PlanConfig::from_plan(&plan(&[], |t| {
            let t2 = t.replace(
                "param near_mm:      f32 = 150.0;",
                "param near_mm:      f32 = 222.0;",
            );
            assert_ne!(t, t2, "the graph declares near_mm");
            t2
        }))
        .expect("a gesture plan");
        assert_eq!((c.width, c.height, c.k_scale), (640, 480, 1.0));
        assert_eq!(c.detect.near_mm, 222.0);
        assert_eq!(c.detect.min_pixels, 400);
        assert_eq!(c.bilateral, BilateralParams::default());
        let c = PlanConfig::from_plan(&plan(&[("W", "320"), ("H", "240")], |t| t))
            .expect("a gesture plan");
        assert_eq!((c.width, c.height, c.k_scale), (320, 240, 0.5));
        assert_eq!(c.detect.min_pixels, 100, "400 * W * H / (640 * 480)");
        assert_eq!(c.pixels(), 320 * 240);
    }

    #[test]
    fn intrinsics_scale_like_the_kernel() {
        let k = Intrinsics::default();
        assert_eq!(k.scaled(1.0), k);
        let h = k.scaled(0.5);
        assert_eq!((h.fx, h.fy, h.cx, h.cy), (262.5, 262.5, 159.5, 119.5));
    }

    /// The same scene at half the size: the plane fit, the segmentation and
    /// the events' coordinates agree (x, y are fractions of the image).
    #[test]
    fn detect_takes_the_frame_size() {
        let scene = |w: usize, h: usize| -> Vec<[f32; 4]> {
            (0..w * h)
                .map(|i| {
                    let (u, v) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
                    let hand = (u - 0.25).abs() < 0.1 && (v - 0.5).abs() < 0.15;
                    [0.0, 0.0, if hand { 800.0 } else { 2200.0 + 100.0 * u }, 1.0]
                })
                .collect()
        };
        let dp = DetectParams {
            min_pixels: 10,
            ..DetectParams::default()
        };
        let (big, small) = (scene(640, 480), scene(320, 240));
        let (hb, hs) = (
            hand_stats(&big, 640, 480, &dp),
            hand_stats(&small, 320, 240, &dp),
        );
        // About 0.2 x 0.3 of the image either way.
        assert!(hs.pixels > 4000, "{hs:?}");
        let ratio = hb.pixels as f32 / hs.pixels as f32;
        assert!((ratio - 4.0).abs() < 0.2, "{hb:?} vs {hs:?}");
        let (eb, _) = detect(&big, 640, 480, &[], &dp);
        let (es, _) = detect(&small, 320, 240, &[], &dp);
        assert_eq!(eb[0].kind(), EventKind::Move);
        assert_eq!(es[0].kind(), EventKind::Move);
        assert!((eb[0].x - 0.25).abs() < 0.01 && (es[0].x - 0.25).abs() < 0.01);
        assert!((eb[0].y - 0.5).abs() < 0.01 && (es[0].y - 0.5).abs() < 0.01);
        // Read as 640 wide, the small cloud is not the same scene: each
        // 640-pixel row holds two of its rows, so the hand shows twice.
        let wrong = hand_stats(&small, 640, 120, &dp);
        assert!(((wrong.cu + 0.5) / 640.0 - 0.25).abs() > 0.05, "{wrong:?}");
    }
}
