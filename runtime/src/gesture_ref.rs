//! A pure-Rust CPU reference of the gesture pipeline's kernels
//! (`kernels/xform.comp` and `kernels/detect.comp`).
//!
//! It defines what the GPU kernels must compute: tests compare the GPU
//! output with it, and it is compared with OpenCV's `cv2.bilateralFilter`
//! (reference data in `tests/data/`). The arithmetic mirrors the kernels
//! step by step (f32 throughout, same subsampling, same thresholds), so only
//! the order of floating-point sums differs.

/// Frame width of the gesture pipeline, in pixels.
pub const WIDTH: usize = 640;
/// Frame height of the gesture pipeline, in pixels.
pub const HEIGHT: usize = 480;
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
    pub fx: f32,
    pub fy: f32,
    pub cx: f32,
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

/// The whole xform ptask on a 640×480 frame: filter, then back-project.
pub fn xform(raw: &[u16], p: &BilateralParams, k: &Intrinsics) -> Vec<[f32; 4]> {
    back_project(&bilateral(raw, WIDTH, HEIGHT, p), WIDTH, k)
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

/// Gesture event kinds (`Event.kind`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum EventKind {
    /// Empty slot.
    None = 0,
    /// Pointer position = hand centroid.
    Move = 1,
    /// The hand pushed toward the camera.
    Press = 2,
    /// The hand moved back (or was lost) after a press.
    Release = 3,
    /// Fast motion toward smaller x.
    SwipeLeft = 4,
    /// Fast motion toward larger x.
    SwipeRight = 5,
}

impl EventKind {
    /// Decodes a kind number (`None` for unknown numbers too).
    pub fn from_u32(k: u32) -> EventKind {
        match k {
            1 => EventKind::Move,
            2 => EventKind::Press,
            3 => EventKind::Release,
            4 => EventKind::SwipeLeft,
            5 => EventKind::SwipeRight,
            _ => EventKind::None,
        }
    }

    /// The name used in JSON lines (`"move"`, `"press"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::None => "none",
            EventKind::Move => "move",
            EventKind::Press => "press",
            EventKind::Release => "release",
            EventKind::SwipeLeft => "swipe_left",
            EventKind::SwipeRight => "swipe_right",
        }
    }
}

/// One `Event { kind: u32, x: f32, y: f32, t: f32 }` (std430, 16 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct Event {
    pub kind: u32,
    /// Centroid x in [0, 1] image coordinates (0 = left).
    pub x: f32,
    /// Centroid y in [0, 1] image coordinates (0 = top).
    pub y: f32,
    /// Frame counter of detect (frames it has seen before this one).
    pub t: f32,
}

impl Event {
    /// Decodes `Event[n]` from std430 bytes (trailing partial element ignored).
    pub fn decode_all(bytes: &[u8]) -> Vec<Event> {
        bytes
            .chunks_exact(16)
            .map(|c| {
                let w = |i: usize| [c[i], c[i + 1], c[i + 2], c[i + 3]];
                Event {
                    kind: u32::from_le_bytes(w(0)),
                    x: f32::from_le_bytes(w(4)),
                    y: f32::from_le_bytes(w(8)),
                    t: f32::from_le_bytes(w(12)),
                }
            })
            .collect()
    }

    /// The decoded kind.
    pub fn kind(&self) -> EventKind {
        EventKind::from_u32(self.kind)
    }
}

/// What detect found in one frame (also stored in state words 5..=12).
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct HandStats {
    /// Hand pixels (0 = no hand).
    pub pixels: u32,
    /// Centroid, pixels.
    pub cu: f32,
    pub cv: f32,
    /// Mean depth of the hand, mm.
    pub depth: f32,
    /// Extent box (inclusive), pixels.
    pub u0: f32,
    pub v0: f32,
    pub u1: f32,
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

fn fit_coords(u: usize, v: usize, z: f32) -> [f32; 3] {
    [
        (u as f32 - 319.5) / 320.0,
        (v as f32 - 239.5) / 240.0,
        (z - 2000.0) / 1000.0,
    ]
}

/// A background plane in the kernel's normalised coordinates.
#[derive(Copy, Clone, Debug)]
struct Plane([f32; 3]);

impl Plane {
    fn at(&self, u: usize, v: usize) -> f32 {
        let q = fit_coords(u, v, 2000.0);
        2000.0 + 1000.0 * (self.0[0] + self.0[1] * q[0] + self.0[2] * q[1])
    }
}

/// Least-squares plane over the 4×4-subsampled valid points; with `prev`,
/// only points not more than `near` mm in front of it take part.
fn fit_plane(cloud: &[[f32; 4]], prev: Option<&Plane>, near: f32) -> Option<Plane> {
    let mut s = [0.0f32; 9];
    for sv in 0..HEIGHT / SUB {
        for su in 0..WIDTH / SUB {
            let (u, v) = (su * SUB + 2, sv * SUB + 2);
            let c = cloud.get(v * WIDTH + u).copied().unwrap_or([0.0; 4]);
            if c[3] <= 0.0 {
                continue;
            }
            if let Some(pl) = prev {
                if c[2] < pl.at(u, v) - near {
                    continue;
                }
            }
            let q = fit_coords(u, v, c[2]);
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
    Some(Plane([d0 / det, d1 / det, d2 / det]))
}

/// Segments the hand: valid points more than `near_mm` in front of the
/// background plane (fitted twice, see `kernels/detect.comp`).
pub fn hand_stats(cloud: &[[f32; 4]], p: &DetectParams) -> HandStats {
    let plane =
        fit_plane(cloud, None, p.near_mm).and_then(|pl| fit_plane(cloud, Some(&pl), p.near_mm));
    let Some(plane) = plane else {
        return HandStats::default();
    };
    let (mut n, mut su, mut sv, mut sz) = (0u32, 0.0f64, 0.0f64, 0.0f64);
    let (mut u0, mut v0, mut u1, mut v1) = (WIDTH, HEIGHT, 0usize, 0usize);
    for (i, c) in cloud.iter().enumerate().take(WIDTH * HEIGHT) {
        let (u, v) = (i % WIDTH, i / WIDTH);
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

/// One firing of detect: the cloud and the previous state in, the events
/// and the next state out. `state` shorter than 64 words reads as zeros.
pub fn detect(
    cloud: &[[f32; 4]],
    state: &[u32],
    p: &DetectParams,
) -> ([Event; EVENT_SLOTS], [u32; STATE_WORDS]) {
    let mut ns = [0u32; STATE_WORDS];
    for (d, s) in ns.iter_mut().zip(state) {
        *d = *s;
    }
    let hand = hand_stats(cloud, p);
    step(&hand, &mut ns, p)
}

/// The state machine of detect, given this frame's hand.
fn step(
    hand: &HandStats,
    ns: &mut [u32; STATE_WORDS],
    p: &DetectParams,
) -> ([Event; EVENT_SLOTS], [u32; STATE_WORDS]) {
    let fs = |s: &[u32; STATE_WORDS], i: usize| f32::from_bits(s[i]);
    let n = ns[0];
    let present = hand.pixels > 0;
    let (x, y, depth) = if present {
        (
            (hand.cu + 0.5) / WIDTH as f32,
            (hand.cv + 0.5) / HEIGHT as f32,
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
                let h = hist(n - j);
                if ns[h] != 0 && fs(ns, h + 2) - depth >= p.press_mm {
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
            let h = hist(n - j);
            if ns[h] == 0 {
                continue;
            }
            let dx = x - fs(ns, h + 1);
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
    let h = hist(n);
    ns[h] = u32::from(present);
    ns[h + 1] = x.to_bits();
    ns[h + 2] = depth.to_bits();
    (ev, *ns)
}
