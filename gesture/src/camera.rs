//! The synthetic depth camera behind `from camera(fps: N, script: "path")`.
//! [`CameraFactory`] builds it for the runtime (register it in an
//! [`IoRegistry`](ptc_runtime::io::IoRegistry), as [`crate::register`] does).
//!
//! Frames are `u16` depth in millimetres, 640×480 by default or the shape of
//! the port the camera feeds (`u16[H, W]`, the field of view kept: the focal
//! length scales with the width): a background wall with a
//! gentle gradient (2100 mm top-left to 2450 mm bottom-right), Gaussian
//! sensor noise, dropout pixels (value 0, as real depth sensors produce), and
//! a hand-sized blob following a scripted trajectory. Everything is
//! deterministic: frame `n` depends only on the seed, the script and `n`.
//!
//! # Script format
//!
//! A text file of keyframes, one per line; `#` starts a comment:
//!
//! ```text
//! # time_s   x      y      depth_mm
//! 0.0        none                  # no hand until the next keyframe
//! 0.5        0.50   0.30   900     # hand centre at (0.5, 0.3) of the image
//! 1.0        0.70   0.50   800     # linear interpolation in between
//! ```
//!
//! `x`, `y` are image coordinates of the hand centre in [0, 1] (0, 0 = top
//! left; values down to -0.5 and up to 1.5 put the hand partly or fully out
//! of view); `depth_mm` is the palm's distance (200..=5000). Times must
//! increase. Between two hand keyframes the pose is interpolated linearly;
//! after a `none` keyframe there is no hand until the next hand keyframe;
//! before a `none` keyframe the hand holds its last pose. The camera stops
//! after the last keyframe's time (frame `n` is at `n / fps` seconds).

use ptc_runtime::io::{read_limited, FrameSource, InputFile, SourceFactory};
use ptc_runtime::plan::Source;
use ptc_runtime::{PortInfo, RuntimeError};
use std::fmt;
use std::path::{Path, PathBuf};

/// Default frame width, pixels.
pub const WIDTH: usize = 640;
/// Default frame height, pixels.
pub const HEIGHT: usize = 480;

/// Hand pose at one moment: centre in \[0, 1\]² (x, y) image coordinates, depth in mm.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct HandPose {
    /// Centre x in [0, 1] (0 = left).
    pub x: f32,
    /// Centre y in [0, 1] (0 = top).
    pub y: f32,
    /// Palm distance, mm.
    pub depth: f32,
}

/// One keyframe of a script.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Keyframe {
    /// Seconds from the first frame.
    pub t: f64,
    /// `None`: no hand from here until the next hand keyframe.
    pub hand: Option<HandPose>,
}

/// A hand trajectory: keyframes in increasing time.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    keys: Vec<Keyframe>,
}

/// Why a script could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScriptError {
    /// A line that does not parse, with its 1-based number.
    #[error("{origin}:{line}: {why}")]
    Syntax {
        /// Where the script came from (a path, `<default script>`).
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        why: String,
    },
    /// A script without keyframes.
    #[error(
        "{0}: the script has no keyframes (expected lines `time x y depth_mm` or `time none`)"
    )]
    Empty(String),
    /// The file could not be read.
    #[error("cannot read camera script {path}: {why}")]
    Io {
        /// The script's path.
        path: String,
        /// The I/O error.
        why: String,
    },
}

/// The default trajectory: empty scene, a circle, a push (press/release),
/// a swipe right, a swipe left, then the hand leaves (8.5 s).
pub const DEFAULT_SCRIPT: &str = include_str!("../../graphs/scripts/default.txt");

/// The latest keyframe time a script may have, in seconds (24 hours).
pub const MAX_SCRIPT_SECONDS: f64 = 86_400.0;

/// Largest camera script accepted (a script is a few keyframes; this
/// bounds what `--script /dev/zero` can make ptc read).
pub const MAX_SCRIPT_BYTES: u64 = 1 << 20;

impl Script {
    /// Parses a script; `origin` names it in errors (a path, or `<default>`).
    pub fn parse(text: &str, origin: &str) -> Result<Script, ScriptError> {
        let mut keys: Vec<Keyframe> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |why: String| ScriptError::Syntax {
                origin: origin.to_string(),
                line: i + 1,
                why,
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let num = |s: &str, what: &str| -> Result<f64, ScriptError> {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| err(format!("{what} `{s}` is not a number")))
            };
            // invariant: `line` is non-empty and trimmed, so it has a first field.
            let t = num(fields[0], "time")?;
            let hand = match fields[1..] {
                ["none"] => None,
                [x, y, d] => {
                    let (x, y, d) = (num(x, "x")?, num(y, "y")?, num(d, "depth")?);
                    if !(-0.5..=1.5).contains(&x) || !(-0.5..=1.5).contains(&y) {
                        return Err(err(format!(
                            "hand position ({x}, {y}) is outside -0.5..=1.5"
                        )));
                    }
                    if !(200.0..=5000.0).contains(&d) {
                        return Err(err(format!("depth {d} mm is outside 200..=5000")));
                    }
                    Some(HandPose {
                        x: x as f32,
                        y: y as f32,
                        depth: d as f32,
                    })
                }
                _ => {
                    return Err(err(format!(
                        "expected `time x y depth_mm` or `time none`, found `{line}`"
                    )))
                }
            };
            if t < 0.0 {
                return Err(err(format!("time {t} is negative")));
            }
            if t > MAX_SCRIPT_SECONDS {
                return Err(err(format!(
                    "time {} s is beyond {MAX_SCRIPT_SECONDS} s (24 hours), the longest script",
                    fields[0]
                )));
            }
            if let Some(prev) = keys.last() {
                if t <= prev.t {
                    return Err(err(format!(
                        "time {t} does not increase (previous keyframe at {})",
                        prev.t
                    )));
                }
            }
            keys.push(Keyframe { t, hand });
        }
        if keys.is_empty() {
            return Err(ScriptError::Empty(origin.to_string()));
        }
        Ok(Script { keys })
    }

    /// Reads and parses a script file of at most
    /// [`MAX_SCRIPT_BYTES`], as `--script` does.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let io = |why: String| ScriptError::Io {
            path: path.display().to_string(),
            why,
        };
        let file = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
        let text = read_limited(file, MAX_SCRIPT_BYTES, path).map_err(|e| io(e.to_string()))?;
        Script::parse(&text, &path.display().to_string())
    }

    /// The built-in default script.
    pub fn default_script() -> Script {
        // invariant: DEFAULT_SCRIPT is a checked-in file covered by a unit test.
        Script::parse(DEFAULT_SCRIPT, "<default script>").expect("default script parses")
    }

    /// Builds a script from keyframes (times must increase).
    pub fn from_keyframes(keys: Vec<Keyframe>) -> Result<Script, ScriptError> {
        if keys.is_empty() {
            return Err(ScriptError::Empty("<keyframes>".into()));
        }
        if let Some(w) = keys.windows(2).find(|w| w[1].t <= w[0].t) {
            return Err(ScriptError::Syntax {
                origin: "<keyframes>".into(),
                line: 0,
                why: format!("time {} does not increase", w[1].t),
            });
        }
        Ok(Script { keys })
    }

    /// The keyframes.
    pub fn keyframes(&self) -> &[Keyframe] {
        &self.keys
    }

    /// Time of the last keyframe, seconds.
    pub fn duration(&self) -> f64 {
        self.keys.last().map_or(0.0, |k| k.t)
    }

    /// The hand pose at time `t` seconds (`None`: no hand).
    pub fn pose_at(&self, t: f64) -> Option<HandPose> {
        let i = self.keys.partition_point(|k| k.t <= t);
        if i == 0 {
            return None;
        }
        let a = self.keys[i - 1];
        let ha = a.hand?;
        let Some(b) = self.keys.get(i) else {
            return Some(ha);
        };
        let Some(hb) = b.hand else {
            return Some(ha);
        };
        let s = ((t - a.t) / (b.t - a.t)) as f32;
        Some(HandPose {
            x: ha.x + (hb.x - ha.x) * s,
            y: ha.y + (hb.y - ha.y) * s,
            depth: ha.depth + (hb.depth - ha.depth) * s,
        })
    }
}

/// Settings of the synthetic camera.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraConfig {
    /// Frames per second (frame n is at n / fps seconds).
    pub fps: f32,
    /// Seed of the noise.
    pub seed: u64,
    /// Standard deviation of the Gaussian depth noise, mm.
    pub noise_mm: f32,
    /// Probability that a pixel drops out (reads 0).
    pub dropout: f32,
    /// Focal length used to size the hand, pixels, at [`WIDTH`] pixels
    /// wide (scaled with `width`).
    pub focal_px: f32,
    /// Frame width, pixels.
    pub width: usize,
    /// Frame height, pixels.
    pub height: usize,
}

impl CameraConfig {
    /// Pixels per frame.
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            fps: 30.0,
            seed: 1,
            noise_mm: 8.0,
            dropout: 0.01,
            focal_px: 525.0,
            width: WIDTH,
            height: HEIGHT,
        }
    }
}

/// One frame from a source: its index, time stamp and pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthFrame {
    /// Frame number, from 0.
    pub index: u64,
    /// Capture time, ms from the first frame.
    pub t_ms: f64,
    /// Row-major depth, mm; 0 = dropout.
    pub depth: Vec<u16>,
}

impl DepthFrame {
    /// The pixels as little-endian bytes (the `u16[H, W]` port layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.depth.iter().flat_map(|d| d.to_le_bytes()).collect()
    }
}

/// Why the camera could not be configured.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CameraError {
    /// The script is unusable.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// The fps is not a positive number.
    #[error("camera fps must be a positive number, got {0}")]
    Fps(f32),
    /// The port is not `u16[H, W]`.
    #[error("the camera produces u16[H, W] depth frames (an image of H rows of W pixels), but the port is {0}")]
    PortType(String),
    /// The frame has no pixels.
    #[error("camera frames must be at least 1 x 1 pixels, got {0} x {1}")]
    Size(usize, usize),
}

/// A deterministic synthetic depth camera following a [`Script`].
#[derive(Clone, Debug)]
pub struct SyntheticCamera {
    cfg: CameraConfig,
    script: Script,
    next: u64,
    frames: u64,
}

impl fmt::Display for SyntheticCamera {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "synthetic depth camera, {} fps, {} frames ({:.2} s)",
            self.cfg.fps,
            self.frames,
            self.script.duration()
        )
    }
}

/// splitmix64: a tiny, well-known generator whose output is fixed forever
/// (unlike a library RNG whose stream may change between versions), so a
/// seed always gives the same frames.
#[derive(Clone, Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 + 1.0) * (1.0 / (1u64 << 24) as f32)
    }
}

impl SyntheticCamera {
    /// A camera following `script`.
    pub fn new(cfg: CameraConfig, script: Script) -> Result<SyntheticCamera, CameraError> {
        if !(cfg.fps.is_finite() && cfg.fps > 0.0) {
            return Err(CameraError::Fps(cfg.fps));
        }
        if cfg.width == 0 || cfg.height == 0 {
            return Err(CameraError::Size(cfg.width, cfg.height));
        }
        // Bounded: durations are at most MAX_SCRIPT_SECONDS (from_keyframes
        // does not check that, hence the saturation).
        let frames = ((script.duration() * f64::from(cfg.fps)).floor() as u64).saturating_add(1);
        Ok(SyntheticCamera {
            cfg,
            script,
            next: 0,
            frames,
        })
    }

    /// The camera a plan's `camera(fps, script)` source describes; a relative
    /// script path is resolved against `base` (the graph file's directory).
    pub fn from_source(
        fps: Option<f32>,
        script: Option<&Path>,
        base: Option<&Path>,
    ) -> Result<SyntheticCamera, CameraError> {
        let script = match script {
            None => Script::default_script(),
            Some(p) if p.is_relative() => match base {
                Some(b) if !p.exists() => Script::load(&b.join(p))?,
                _ => Script::load(p)?,
            },
            Some(p) => Script::load(p)?,
        };
        let cfg = CameraConfig {
            fps: fps.unwrap_or(CameraConfig::default().fps),
            ..CameraConfig::default()
        };
        SyntheticCamera::new(cfg, script)
    }

    /// The configuration.
    pub fn config(&self) -> &CameraConfig {
        &self.cfg
    }

    /// Number of frames the script lasts.
    pub fn frame_count(&self) -> u64 {
        self.frames
    }

    /// Renders frame `n` (any n; frames past the script show its last pose).
    pub fn render(&self, n: u64) -> DepthFrame {
        let t = n as f64 / f64::from(self.cfg.fps);
        let mut depth = vec![0u16; self.cfg.pixels()];
        render_into(&self.cfg, self.script.pose_at(t), n, &mut depth);
        DepthFrame {
            index: n,
            t_ms: t * 1000.0,
            depth,
        }
    }

    /// The next frame, or `None` once the script is over.
    pub fn next_frame(&mut self) -> Option<DepthFrame> {
        if self.next >= self.frames {
            return None;
        }
        let f = self.render(self.next);
        self.next += 1;
        Some(f)
    }
}

impl Iterator for SyntheticCamera {
    type Item = DepthFrame;
    fn next(&mut self) -> Option<DepthFrame> {
        self.next_frame()
    }
}

/// Depth of the empty scene at pixel (u, v) of a 640×480 frame: a wall
/// 2100..2450 mm.
pub fn wall_depth(u: usize, v: usize) -> f32 {
    wall_depth_in(u, v, WIDTH, HEIGHT)
}

/// [`wall_depth`] in a `width` × `height` frame.
pub fn wall_depth_in(u: usize, v: usize, width: usize, height: usize) -> f32 {
    let (w, h) = ((width.max(2) - 1) as f32, (height.max(2) - 1) as f32);
    2100.0 + 250.0 * u as f32 / w + 100.0 * v as f32 / h
}

/// Draws one frame: wall, hand (if any), noise and dropouts.
pub fn render_into(cfg: &CameraConfig, hand: Option<HandPose>, n: u64, out: &mut [u16]) {
    let mut rng = SplitMix(
        cfg.seed
            .wrapping_mul(0x2545_F491_4F6C_DD1D)
            .wrapping_add(n.wrapping_mul(0x9E37_79B9)),
    );
    // A hand is about 160 mm wide and 200 mm tall (palm with fingers);
    // its surface bulges 25 mm toward the camera at the centre. The focal
    // length scales with the width: the same field of view at any size.
    let (width, height) = (cfg.width.max(1), cfg.height.max(1));
    let focal = cfg.focal_px * width as f32 / WIDTH as f32;
    let hand_px = hand.map(|h| {
        let rx = focal * 80.0 / h.depth;
        let ry = focal * 100.0 / h.depth;
        (
            h,
            h.x * width as f32 - 0.5,
            h.y * height as f32 - 0.5,
            rx,
            ry,
        )
    });
    for (i, px) in out.iter_mut().enumerate().take(width * height) {
        let (u, v) = (i % width, i / width);
        let mut z = wall_depth_in(u, v, width, height);
        if let Some((h, cx, cy, rx, ry)) = hand_px {
            let (dx, dy) = ((u as f32 - cx) / rx, (v as f32 - cy) / ry);
            let rho2 = dx * dx + dy * dy;
            if rho2 <= 1.0 {
                z = h.depth - 25.0 * (1.0 - rho2);
            }
        }
        // Box–Muller: one Gaussian sample per pixel.
        let (a, b) = (rng.unit(), rng.unit());
        let g = (-2.0 * a.ln()).sqrt() * (std::f32::consts::TAU * b).cos();
        let drop = rng.unit() <= cfg.dropout;
        *px = if drop {
            0
        } else {
            (z + cfg.noise_mm * g).round().clamp(1.0, 65535.0) as u16
        };
    }
}

/// The `from camera(...)` source: a [`SyntheticCamera`] behind the
/// runtime's [`FrameSource`] trait. It is paced at its fps by the runtime,
/// like a real camera.
pub struct CameraSource {
    cam: SyntheticCamera,
    port: String,
    next: u64,
    scratch: Vec<u16>,
}

impl CameraSource {
    /// The camera for input `port` (`u16[H, W]`: frames of that size),
    /// scripted by `script` (its text and where it came from) or by the
    /// default script.
    pub fn open(
        fps: Option<f32>,
        script: Option<(String, PathBuf)>,
        port: &PortInfo,
    ) -> ptc_runtime::Result<CameraSource> {
        use ptc_plan::types::{ElemType, Scalar};
        let size = match port.ty.shape.as_slice() {
            [h, w] if port.ty.elem == ElemType::Scalar(Scalar::U16) => {
                usize::try_from(*h).ok().zip(usize::try_from(*w).ok())
            }
            _ => None,
        };
        let Some((height, width)) = size else {
            return Err(RuntimeError::WrongType {
                port: port.name.clone(),
                why: CameraError::PortType(port.ty.to_string()).to_string(),
            });
        };
        let bad =
            |e: &dyn std::fmt::Display| RuntimeError::Io(format!("input `{}`: {e}", port.name));
        let script = match script {
            Some((text, path)) => {
                Script::parse(&text, &path.display().to_string()).map_err(|e| bad(&e))?
            }
            None => Script::default_script(),
        };
        let cfg = CameraConfig {
            fps: fps.unwrap_or(CameraConfig::default().fps),
            width,
            height,
            ..CameraConfig::default()
        };
        let cam = SyntheticCamera::new(cfg, script).map_err(|e| bad(&e))?;
        Ok(CameraSource {
            scratch: vec![0; cam.cfg.pixels()],
            cam,
            port: port.name.clone(),
            next: 0,
        })
    }

    /// The camera.
    pub fn camera(&self) -> &SyntheticCamera {
        &self.cam
    }
}

impl FrameSource for CameraSource {
    fn frame_size(&self) -> u64 {
        (self.cam.cfg.pixels() * 2) as u64
    }

    fn next_frame(&mut self, dst: &mut [u8]) -> ptc_runtime::Result<bool> {
        if self.next >= self.cam.frame_count() {
            return Ok(false);
        }
        let (w, h) = (self.cam.cfg.width, self.cam.cfg.height);
        if dst.len() != w * h * 2 {
            return Err(RuntimeError::WrongSize {
                port: self.port.clone(),
                expected: (w * h * 2) as u64,
                got: dst.len() as u64,
                ty: format!("u16[{h}, {w}]"),
            });
        }
        let t = self.next as f64 / f64::from(self.cam.cfg.fps);
        render_into(
            &self.cam.cfg,
            self.cam.script.pose_at(t),
            self.next,
            &mut self.scratch,
        );
        for (d, v) in dst.chunks_exact_mut(2).zip(&self.scratch) {
            d.copy_from_slice(&v.to_le_bytes());
        }
        self.next += 1;
        Ok(true)
    }

    fn fps(&self) -> Option<f32> {
        Some(self.cam.cfg.fps)
    }
}

/// Builds `from camera(fps: N, script: "path")` sources: a
/// [`CameraSource`] with the port's frame size, scripted by the file the
/// client opened for the plan's `script:` (at most [`MAX_SCRIPT_BYTES`])
/// or by the default script.
#[derive(Copy, Clone, Debug, Default)]
pub struct CameraFactory;

impl SourceFactory for CameraFactory {
    fn kind(&self) -> &str {
        "camera"
    }

    fn open(
        &self,
        source: &Source,
        port: &PortInfo,
        file: Option<InputFile>,
    ) -> ptc_runtime::Result<Box<dyn FrameSource>> {
        let Source::Camera { fps, .. } = source else {
            return Err(RuntimeError::Io(format!(
                "input `{}`: the camera factory was asked to build `from {}`",
                port.name,
                source.kind()
            )));
        };
        let script = match file {
            Some(f) => {
                let text = read_limited(f.file, MAX_SCRIPT_BYTES, &f.path).map_err(|e| {
                    RuntimeError::Io(format!(
                        "input `{}`: camera script: {e} (a script is a list of keyframes)",
                        port.name
                    ))
                })?;
                Some((text, f.path))
            }
            None => None,
        };
        Ok(Box::new(CameraSource::open(*fps, script, port)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_script_parses_and_lasts_8_5_s() {
        let s = Script::default_script();
        assert!((s.duration() - 8.5).abs() < 1e-9, "{}", s.duration());
        assert!(s.pose_at(0.1).is_none());
        assert!(s.pose_at(1.0).is_some());
    }

    #[test]
    fn interpolates_linearly_and_holds_before_none() {
        let s = Script::parse("0 0 0.5 1000\n1 1 0.5 500\n2 1 0.5 500\n3 none\n", "t").unwrap();
        let p = s.pose_at(0.25).unwrap();
        assert!((p.x - 0.25).abs() < 1e-6 && (p.depth - 875.0).abs() < 1e-3);
        assert_eq!(s.pose_at(2.5).unwrap().x, 1.0);
        assert!(s.pose_at(3.5).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn loading_a_script_reads_at_most_the_limit() {
        // /dev/zero never ends: read_to_string grew until memory ran out.
        let e = Script::load(Path::new("/dev/zero")).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "cannot read camera script /dev/zero: `/dev/zero` is larger than 1024 KiB"
            ),
            "{e}"
        );
    }

    #[test]
    fn script_errors_name_the_line() {
        let e = Script::parse("0 0.5 0.5 900\n\n1 0.5 bad 900\n", "s.txt").unwrap_err();
        assert_eq!(e.to_string(), "s.txt:3: y `bad` is not a number");
        let e = Script::parse("1 none\n0.5 none\n", "s.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.txt:2: time 0.5 does not increase (previous keyframe at 1)"
        );
        let e = Script::parse("0 1 2\n", "s.txt").unwrap_err();
        assert!(
            e.to_string().contains("expected `time x y depth_mm`"),
            "{e}"
        );
        let e = Script::parse("# only a comment\n", "s.txt").unwrap_err();
        assert!(matches!(e, ScriptError::Empty(_)));
        let e = Script::parse("0 0.5 0.5 50\n", "s.txt").unwrap_err();
        assert!(e.to_string().contains("outside 200..=5000"), "{e}");
    }

    #[test]
    fn frames_are_deterministic_and_noisy() {
        let cam = SyntheticCamera::new(CameraConfig::default(), Script::default_script()).unwrap();
        assert_eq!(cam.frame_count(), 256); // 8.5 s at 30 fps, frames 0..=255
        let a = cam.render(40);
        assert_eq!(a, cam.render(40));
        assert_ne!(a.depth, cam.render(41).depth);
        let zeros = a.depth.iter().filter(|&&d| d == 0).count();
        let frac = zeros as f64 / a.depth.len() as f64;
        assert!((0.005..0.015).contains(&frac), "dropout fraction {frac}");
        // The wall away from the hand is within noise of its model.
        let (u, v) = (5, 470);
        let d = f32::from(a.depth[v * WIDTH + u]);
        assert!(d == 0.0 || (d - wall_depth(u, v)).abs() < 50.0, "{d}");
    }

    #[test]
    fn hand_is_drawn_at_its_pose() {
        let s = Script::parse("0 0.25 0.5 800\n", "t").unwrap();
        let cfg = CameraConfig {
            noise_mm: 0.0,
            dropout: 0.0,
            ..CameraConfig::default()
        };
        let cam = SyntheticCamera::new(cfg, s).unwrap();
        let f = cam.render(0);
        let at = |u: usize, v: usize| f.depth[v * WIDTH + u];
        assert_eq!(at(160, 240), 775); // centre bulges 25 mm
        assert!(at(160 + 60, 240) > 2000); // rx = 525*80/800 = 52.5 px
        assert!(at(160 + 50, 240) < 900);
    }

    /// At another size the scene keeps its geometry: the same hand pose
    /// covers the same fraction of the image (the focal length scales).
    #[test]
    fn frames_take_the_configured_size_and_keep_the_field_of_view() {
        let s = Script::parse("0 0.25 0.5 800\n", "t").unwrap();
        let cfg = CameraConfig {
            noise_mm: 0.0,
            dropout: 0.0,
            width: 320,
            height: 240,
            ..CameraConfig::default()
        };
        let cam = SyntheticCamera::new(cfg, s).unwrap();
        let f = cam.render(0);
        assert_eq!(f.depth.len(), 320 * 240);
        let at = |u: usize, v: usize| f.depth[v * 320 + u];
        assert_eq!(at(80, 120), 775); // centre at (0.25, 0.5) of 320 x 240
        assert!(at(80 + 30, 120) > 2000); // rx = 262.5*80/800 = 26.25 px
        assert!(at(80 + 25, 120) < 900);
        // The wall spans the same depths corner to corner.
        assert_eq!(at(0, 0), 2100);
        assert_eq!(at(319, 239), 2450);
        let e = SyntheticCamera::new(
            CameraConfig {
                width: 0,
                ..CameraConfig::default()
            },
            Script::default_script(),
        )
        .unwrap_err();
        assert_eq!(e, CameraError::Size(0, 480));
    }

    #[test]
    fn bad_fps_is_an_error() {
        let e = SyntheticCamera::new(
            CameraConfig {
                fps: 0.0,
                ..CameraConfig::default()
            },
            Script::default_script(),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "camera fps must be a positive number, got 0");
    }

    fn port(elem: ptc_plan::types::ElemType, shape: &[u64]) -> PortInfo {
        let ty = ptc_plan::types::PortType {
            elem,
            shape: shape.to_vec(),
        };
        let bytes = ty.byte_size(&Vec::new()).unwrap_or(0);
        PortInfo {
            name: "usbsrc".into(),
            ty,
            bytes,
            slots: 2,
            layout: None,
        }
    }

    /// The factory renders the port's size, reads the script the client
    /// opened, and refuses other ports and oversized scripts by name.
    #[test]
    fn factory_builds_the_ports_camera() {
        use ptc_plan::types::{ElemType, Scalar};
        let dir = std::env::temp_dir().join(format!("ptc-gesture-cam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s.txt");
        std::fs::write(&script, "0 0.25 0.5 800\n0.1 0.25 0.5 800\n").unwrap();
        let open = |p: &Path| InputFile {
            file: std::fs::File::open(p).unwrap(),
            path: p.to_path_buf(),
        };
        let src = Source::Camera {
            fps: Some(10.0),
            script: Some(script.clone()),
        };
        let p = port(ElemType::Scalar(Scalar::U16), &[240, 320]);
        let mut cam = CameraFactory.open(&src, &p, Some(open(&script))).unwrap();
        assert_eq!(cam.frame_size(), 320 * 240 * 2);
        assert_eq!(cam.fps(), Some(10.0));
        let mut buf = vec![0u8; 320 * 240 * 2];
        let mut frames = 0;
        while cam.next_frame(&mut buf).unwrap() {
            frames += 1;
        }
        assert_eq!(frames, 2, "0.1 s at 10 fps: frames 0 and 1");
        // The hand (800 mm, 25 mm bulge) at (0.25, 0.5) of 320 x 240.
        let px = |u: usize, v: usize| {
            u16::from_le_bytes([buf[(v * 320 + u) * 2], buf[(v * 320 + u) * 2 + 1]])
        };
        assert!(
            (700..850).contains(&px(80, 120)) || px(80, 120) == 0,
            "{}",
            px(80, 120)
        );

        let wrong = port(ElemType::Scalar(Scalar::F32), &[240, 320]);
        let e = CameraFactory
            .open(&src, &wrong, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("port `usbsrc`: the camera produces u16[H, W]"),
            "{e}"
        );
        let big = dir.join("big.txt");
        std::fs::write(&big, vec![b'#'; MAX_SCRIPT_BYTES as usize + 1]).unwrap();
        let e = CameraFactory
            .open(&src, &p, Some(open(&big)))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("input `usbsrc`: camera script: `"), "{e}");
        assert!(e.contains("larger than 1024 KiB"), "{e}");
        let e = CameraFactory
            .open(&Source::Stdin, &p, None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("asked to build `from stdin`"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
