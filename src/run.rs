//! `ptc run` and `ptc devices`.
//!
//! `ptc run` is argument handling and reporting around
//! [`ptc_runtime::Session`]: [`prepare`] loads the plans, applies the flags
//! and opens every file the run reads or writes (so bad data and unwritable
//! outputs fail before any device work); [`run_local`] runs them
//! in-process. Exit codes: see [`crate::exit::Exit`].

use crate::exit::{Exit, Fail};
use crate::signals;
use ptc_compiler::diag::Code;
use ptc_compiler::{check_file, Options, Plan, Report};
use ptc_gesture::preview::PreviewBuffer;
use ptc_plan::{Sink, Source};
use ptc_runtime::io::{check_conflicts, Deferred, OutputFile, PortFiles};
use ptc_runtime::sched::{SchedConfig, SchedMode};
use ptc_runtime::{GlobalPriority, RunLimits, RunSummary, Runtime, RuntimeOptions, Session};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Scheduling options of `ptc run` (several graphs share the GPU).
#[derive(clap::Args, Debug, Default)]
pub struct SchedArgs {
    /// Arbitration between graphs: `priority` (weighted fair sharing of GPU
    /// time, the default) or `fifo` (readiness order, like a driver).
    #[arg(long = "sched", value_name = "MODE", default_value = "priority")]
    pub mode: String,
    /// Override graph NAME's priority (1..=100). Repeatable.
    #[arg(long = "priority", value_name = "NAME=P")]
    pub priorities: Vec<String>,
    /// Stop after this long (e.g. `10s`, `500ms`, `2.5`; seconds by default).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Write per-graph and per-ptask statistics as JSON (schema `ptc-stats/1`).
    #[arg(long, value_name = "FILE.json")]
    pub stats: Option<PathBuf>,
    /// Write a Chrome/Perfetto trace of every dispatch batch (ui.perfetto.dev).
    #[arg(long, value_name = "FILE.json")]
    pub trace: Option<PathBuf>,
    /// System-wide queue priority where the device offers
    /// VK_KHR/EXT_global_priority: `auto` (high if a graph has a paced
    /// source, else the driver default), `off`, `low`, `medium`, `high`,
    /// `realtime`. A level the process may not use is lowered until allowed.
    #[arg(long = "global-priority", value_name = "LEVEL", default_value = "auto")]
    pub global_priority: String,
    /// Priority mode: split a background graph's dispatches that take
    /// longer than this into slices (about half this much GPU time each, at
    /// most two in flight), so a higher-priority frame waits for at most this
    /// much background work, not a whole dispatch (`0` or `off` = never split).
    #[arg(long = "max-batch", value_name = "DURATION", default_value = "2ms")]
    pub max_batch: String,
}

/// What `--global-priority` asks for, given the graphs to run: `auto` is
/// `high` when any graph is paced by a source rate (an interactive graph
/// that must keep up with its camera), else no request (driver default).
fn global_priority(arg: &str, plans: &[Plan]) -> Result<Option<GlobalPriority>, Fail> {
    match arg {
        "off" => Ok(None),
        "auto" => {
            let paced = plans.iter().any(|p| p.rate_hz().is_some());
            Ok(paced.then_some(GlobalPriority::High))
        }
        level => level.parse().map(Some).map_err(|_: String| {
            Fail::usage(format!(
                "--global-priority: expected auto, off, low, medium, high or realtime, got `{level}`"
            ))
        }),
    }
}

/// Parses `10s`, `500ms`, `2m` or a plain number of seconds: positive and
/// at most a year (anything larger is surely a typo, and would overflow).
pub fn parse_duration(s: &str) -> Result<Duration, Fail> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    const YEAR_S: f64 = 366.0 * 86_400.0;
    match num.trim().parse::<f64>().map(|v| v * scale) {
        Ok(v) if v.is_finite() && v > 0.0 && v <= YEAR_S => Duration::try_from_secs_f64(v)
            .map_err(|e| Fail::usage(format!("--duration `{s}`: {e}"))),
        Ok(v) if v.is_finite() && v > YEAR_S => Err(Fail::usage(format!(
            "--duration `{s}` is longer than a year; use Ctrl-C to stop an endless run"
        ))),
        _ => Err(Fail::usage(format!(
            "--duration expects a positive time like `10s` or `500ms`, got `{s}`"
        ))),
    }
}

/// Arguments of `ptc run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The .pt files or plan .yaml files (one graph each, run concurrently).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Feed input PORT from FILE (.npy checked against the port, else raw
    /// little-endian frames); overrides the graph's `from` clause. Repeatable.
    #[arg(long = "input", value_name = "PORT=FILE")]
    pub inputs: Vec<String>,
    /// Write output PORT to FILE (.npy, else raw bytes), all frames. Repeatable.
    #[arg(long = "output", value_name = "PORT=FILE")]
    pub outputs: Vec<String>,
    /// Stop after N frames.
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
    /// Feed paced sources (`from camera(fps: N)`, `rate: N`) as fast as the
    /// graphs take their frames, not in real time: no frame dropped.
    #[arg(long)]
    pub unpaced: bool,
    /// Enable the Vulkan validation layer with synchronization validation
    /// (also PTC_VALIDATE=1); any message fails the run.
    #[arg(long)]
    pub validate: bool,
    /// Device by index or name (see `ptc devices`).
    #[arg(long, value_name = "NAME|INDEX")]
    pub device: Option<String>,
    /// Copy graph inputs/outputs through staging buffers (also PTC_FORCE_STAGING=1).
    #[arg(long)]
    pub force_staging: bool,
    /// Extra directory to resolve `kernel "..."` paths against (repeatable).
    #[arg(long = "kernel-path", value_name = "DIR")]
    pub kernel_paths: Vec<PathBuf>,
    /// Override a `const` of every .pt graph given (repeatable; plans are
    /// compiled already).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = crate::parse_set)]
    pub sets: Vec<(String, String)>,
    #[command(flatten)]
    pub sched: SchedArgs,
    /// Hand trajectory for `from camera(...)` inputs (keyframes, see docs/gesture.md).
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Send Event outputs (`kind: u32, x: f32, y: f32, t: f32`) to a
    /// virtual pointer (Linux uinput).
    #[arg(long)]
    pub hid: bool,
    /// After the run, write a PNG of the last frame's point cloud as the
    /// GPU computed it (depth, and the gesture pipeline's hand box and
    /// centroid): the buffer `--preview-buffer` names.
    #[arg(long, value_name = "OUT.png")]
    pub preview: Option<PathBuf>,
    /// The `vec4<f32>[h, w]` buffer `--preview` draws (`ptask.port`, e.g.
    /// `xform.cloud`; an unknown name lists the candidates); default: the
    /// graph's first internal one that feeds a ptask.
    #[arg(long, value_name = "NAME", requires = "preview")]
    pub preview_buffer: Option<String>,
    /// Run through the daemon listening at PATH (an error if none does).
    /// Without it: `$PTC_SOCKET`, else the user's then the system's daemon
    /// if one listens, else in this process.
    #[arg(long, value_name = "PATH", conflicts_with = "local")]
    pub socket: Option<PathBuf>,
    /// Always run in this process, even if a daemon listens.
    #[arg(long)]
    pub local: bool,
    /// Leave the graphs running in the daemon and exit, printing their ids
    /// (see `ptc ps`, `ptc kill`). File outputs are then written in place.
    #[arg(long, conflicts_with = "local")]
    pub detach: bool,
}

fn split_assign(s: &str, flag: &str) -> Result<(String, PathBuf), Fail> {
    match s.split_once('=') {
        Some((p, f)) if !p.is_empty() && !f.is_empty() => Ok((p.to_string(), PathBuf::from(f))),
        _ => Err(Fail::usage(format!("{flag} expects PORT=FILE, got `{s}`"))),
    }
}

/// Loads a plan from a `.pt` (through the compiler) or a plan YAML.
fn load_plan(
    file: &Path,
    kernel_paths: &[PathBuf],
    sets: &[(String, String)],
    render: &dyn Fn(&Report) -> String,
) -> Result<Plan, Fail> {
    let is_pt = file.extension().is_some_and(|e| e == "pt");
    if is_pt {
        let report = check_file(
            file,
            &Options {
                kernel_paths: kernel_paths.to_vec(),
                skip_kernels: false,
                sets: sets.to_vec(),
            },
        );
        eprint!("{}", render(&report));
        if report.diagnostics.iter().any(|d| d.code == Code::Io) {
            return Err(Fail::usage(format!("cannot read `{}`", file.display())));
        }
        if report.has_errors() {
            return Err(Fail::input(format!("`{}` has errors", file.display())));
        }
        report
            .plan
            .ok_or_else(|| Fail::input(format!("`{}` produced no plan", file.display())))
    } else {
        if !sets.is_empty() {
            eprintln!(
                "ptc: warning: --set does not apply to `{}`: a plan's consts were fixed when it was compiled (recompile with `ptc compile --set ...`)",
                file.display()
            );
        }
        // At most ptc_plan::MAX_PLAN_BYTES + 1 bytes: from_yaml refuses more.
        let text = ptc_plan::read_plan_file(file)
            .map_err(|e| Fail::usage(format!("cannot read `{}`: {e}", file.display())))?;
        Plan::from_yaml(&text).map_err(|e| Fail::input(format!("`{}`: {e}", file.display())))
    }
}

/// `PORT=FILE` or `GRAPH.PORT=FILE`: which (graph, port) pairs it names.
fn override_targets(
    plans: &[Plan],
    spec: &str,
    flag: &str,
    outputs: bool,
) -> Result<(Vec<(usize, String)>, PathBuf), Fail> {
    let (p, f) = split_assign(spec, flag)?;
    let names = |pl: &Plan| -> Vec<String> {
        if outputs {
            pl.outputs.iter().map(|o| o.name.clone()).collect()
        } else {
            pl.inputs.iter().map(|i| i.name.clone()).collect()
        }
    };
    let mut hits = Vec::new();
    for (k, pl) in plans.iter().enumerate() {
        let port = match p.split_once('.') {
            Some((g, port)) if g == pl.graph => port,
            Some(_) => continue,
            None => p.as_str(),
        };
        if names(pl).iter().any(|n| n == port) {
            hits.push((k, port.to_string()));
        }
    }
    if hits.is_empty() {
        let kind = if outputs { "output" } else { "input" };
        if let [pl] = plans {
            return Err(Fail::usage(format!(
                "{flag} {p}=...: graph `{}` has no {kind} `{p}` ({kind}s: {})",
                pl.graph,
                names(pl).join(", ")
            )));
        }
        let all: Vec<String> = plans
            .iter()
            .flat_map(|pl| names(pl).into_iter().map(|n| format!("{}.{n}", pl.graph)))
            .collect();
        return Err(Fail::usage(format!(
            "{flag} {p}=...: no graph has an {kind} `{p}` ({kind}s: {})",
            all.join(", ")
        )));
    }
    Ok((hits, f))
}

/// Per-ptask firings and host-clock latencies (µs).
fn print_ptask_latency(stats: &[ptc_runtime::PtaskSummary]) {
    eprintln!(
        "{:<24} {:>8} {:>14} {:>14} {:>14} {:>14}",
        "ptask", "firings", "ready→sub µs", "p99", "sub→done µs", "p99"
    );
    for s in stats {
        eprintln!(
            "{:<24} {:>8} {:>14.1} {:>14.1} {:>14.1} {:>14.1}",
            s.ptask,
            s.firings,
            s.ready_to_submit.mean_us,
            s.ready_to_submit.p99_us,
            s.submit_to_done.mean_us,
            s.submit_to_done.p99_us
        );
    }
}

/// The end-of-run table: per graph, then per ptask.
pub fn print_stats(r: &ptc_runtime::sched::stats::StatsReport) {
    let ms = |ns: u64| ns as f64 / 1e6;
    eprintln!(
        "{:<28} {:>8} {:>9} {:>6} {:>11} {:>9} {:>11} {:>9}",
        "graph / ptask", "firings", "GPU ms", "share", "ready→sub ms", "p99", "sub→done ms", "p99"
    );
    for g in &r.graphs {
        let rate = match g.rate_hz {
            Some(hz) => format!(
                ", {:.1}/{hz:.0} Hz delivered, p99 frame {:.2} ms, {} late, {} dropped",
                g.delivered_hz,
                ms(g.latency.frame.p99),
                g.deadline_misses,
                g.frames_dropped
            ),
            None if g.frames > 1 => format!(", {:.1} frames/s", g.delivered_hz),
            None => String::new(),
        };
        eprintln!("{} (priority {}){rate}", g.name, g.priority);
        if let Some(h) = &g.host {
            let per = |ns: u64, n: u64| if n == 0 { 0.0 } else { ms(ns) / n as f64 };
            let gpu = per(g.gpu_ns, g.frames);
            let sink_cpu = per(h.sink_cpu_ns, h.frames_out);
            eprintln!(
                "  host: sources {:.3} ms/frame ({} in), sinks {:.3} ms/frame, {:.3} ms CPU ({} out){}",
                per(h.source_ns, h.frames_in),
                h.frames_in,
                per(h.sink_ns, h.frames_out),
                sink_cpu,
                h.frames_out,
                if gpu > 0.0 && h.sink_cpu_ns > 0 {
                    format!(" = {:.1}% of GPU {gpu:.3} ms/frame", 100.0 * sink_cpu / gpu)
                } else {
                    String::new()
                }
            );
        }
        for p in g.ptasks.iter().filter(|p| p.firings > 0) {
            eprintln!(
                "  {:<26} {:>8} {:>9.2} {:>6.3} {:>11.3} {:>9.3} {:>11.3} {:>9.3}",
                p.name,
                p.firings,
                ms(p.gpu_ns),
                p.gpu_share,
                ms(p.latency.ready_to_submit.p50),
                ms(p.latency.ready_to_submit.p99),
                ms(p.latency.submit_to_done.p50),
                ms(p.latency.submit_to_done.p99)
            );
        }
    }
    if let Some(h) = &r.host {
        let per = |ns: u64| {
            if h.frames == 0 {
                0.0
            } else {
                ms(ns) / h.frames as f64
            }
        };
        eprintln!(
            "host CPU: {:.3} ms/frame on the thread running the graphs ({} frames, {:.1} ms in {:.2} s); \
             process {:.3} ms/frame (all threads: on a CPU device, its work too)",
            per(h.thread_cpu_ns),
            h.frames,
            ms(h.thread_cpu_ns),
            h.wall_ns as f64 / 1e9,
            per(h.process_cpu_ns),
        );
    }
}

/// Runs `ptc devices`.
pub fn devices() -> ExitCode {
    let devs = match ptc_runtime::list_devices() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("ptc: error: {e}");
            return ExitCode::from(2);
        }
    };
    if devs.is_empty() {
        eprintln!("ptc: no Vulkan devices found");
        return ExitCode::from(2);
    }
    let def = ptc_runtime::default_device(&devs);
    let yn = |b: bool| if b { "yes" } else { "no" };
    // Written as one text: a reader that went away (`| head`) is no error.
    use std::fmt::Write as _;
    let mut out = String::new();
    for d in &devs {
        let _ = writeln!(
            out,
            "{}: {} [{}]{}",
            d.index,
            d.name,
            d.kind.name(),
            if def == Some(d.index) {
                " (default)"
            } else {
                ""
            }
        );
        let _ = writeln!(out, "   driver: {}, Vulkan {}", d.driver, d.api_version);
        for f in &d.queue_families {
            let _ = writeln!(out, "   queue family {}: {} x{}", f.index, f.flags, f.count);
        }
        let _ = match &d.global_priority_ext {
            Some(ext) => writeln!(
            out,
                "   global priority: {ext} (--global-priority low|medium|high|realtime)"
            ),
            None => writeln!(
            out,
                "   global priority: not offered (graphs are ranked at submission and by queue priority only)"
            ),
        };
        let _ = writeln!(
            out,
            "   limits: maxStorageBufferRange {} B, maxPushConstantsSize {} B, maxComputeWorkGroupInvocations {}, maxComputeWorkGroupCount {:?}, maxComputeSharedMemorySize {} B",
            d.max_storage_buffer_range,
            d.max_push_constants_size,
            d.max_workgroup_invocations,
            d.max_workgroup_count,
            d.max_shared_memory
        );
        let _ = writeln!(
            out,
            "   features: timelineSemaphore {}, storageBuffer8BitAccess {}, storageBuffer16BitAccess {}, shaderInt16 {}, shaderFloat64 {}, device-local host-visible memory {}",
            yn(d.timeline_semaphore),
            yn(d.storage_8bit),
            yn(d.storage_16bit),
            yn(d.shader_int16),
            yn(d.shader_float64),
            yn(d.device_local_host_visible)
        );
        let ops = ptc_plan::spirv::subgroup_names(d.subgroup_operations);
        let _ = writeln!(
            out,
            "   subgroups in compute: size {}, operations {}",
            d.subgroup_size,
            if ops.is_empty() { "none" } else { &ops }
        );
    }
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitCode::SUCCESS
}

/// Applies `--script` (camera inputs) and `--hid` (Event outputs).
/// `PTC_CAMERA_SCRIPT`, if set, replaces every camera's script, `--script`
/// included (a relative path is the graph's, like `camera(script:)`).
fn apply_gesture_flags(plan: &mut Plan, args: &RunArgs) -> Result<(), Fail> {
    if let Some(script) = &args.script {
        let mut any = false;
        for gi in &mut plan.inputs {
            if let Source::Camera { script: s, .. } = &mut gi.source {
                // An absolute path: it is relative to the working directory.
                let abs = std::path::absolute(script)
                    .map_err(|e| Fail::usage(format!("--script {}: {e}", script.display())))?;
                *s = Some(abs);
                any = true;
            }
        }
        if !any {
            return Err(Fail::usage(format!(
                "--script: graph `{}` has no `from camera` input",
                plan.graph
            )));
        }
    }
    if let Some(env) = std::env::var_os("PTC_CAMERA_SCRIPT").filter(|s| !s.is_empty()) {
        for gi in &mut plan.inputs {
            if let Source::Camera { script: s, .. } = &mut gi.source {
                *s = Some(PathBuf::from(&env));
            }
        }
    }
    if args.hid {
        let mut any = false;
        for go in &mut plan.outputs {
            let layout = match &plan.buffers[go.buffer].ty.elem {
                ptc_plan::types::ElemType::Struct(n) => plan.structs.iter().find(|s| &s.name == n),
                _ => None,
            };
            if layout.is_some_and(ptc_runtime::io::event::is_event_layout) {
                go.sink = Sink::Hid;
                any = true;
            }
        }
        if !any {
            return Err(Fail::usage(format!(
                "--hid: graph `{}` has no output of Event {{ kind: u32, x: f32, y: f32, t: f32 }} elements",
                plan.graph
            )));
        }
    }
    Ok(())
}

/// What `--preview` draws: the plan (an index into the run's plans) and
/// its buffer, `--preview-buffer` or the first graph's default (see
/// [`ptc_gesture::preview::find_buffer`]).
fn preview_target(plans: &[Plan], name: Option<&str>) -> Result<(usize, PreviewBuffer), Fail> {
    let mut errs = Vec::new();
    for (k, plan) in plans.iter().enumerate() {
        match ptc_gesture::preview::find_buffer(plan, name) {
            Ok(b) => return Ok((k, b)),
            Err(e) => errs.push(e.to_string()),
        }
    }
    Err(Fail::usage(format!("--preview: {}", errs.join("; "))))
}

/// `--preview`: the last completed frame as the GPU pipeline saw it, read
/// back from the graph's preview buffer (depth = its z; hand overlay from
/// detect's segmentation rule applied to that cloud), as a PNG.
fn render_preview(
    rt: &mut Runtime,
    plan: &Plan,
    summary: &RunSummary,
    target: &PreviewBuffer,
    out: &mut OutputFile,
) -> Result<(), Fail> {
    use std::io::Write;
    let (w, h) = (target.width, target.height);
    let bytes = rt
        .read_buffer(summary.graph, &target.name)?
        .ok_or_else(|| Fail::usage("--preview: no frame was computed"))?;
    let rgb = ptc_gesture::preview::render_cloud_bytes(plan, &bytes, w, h)
        .map_err(|e| Fail::usage(format!("--preview: {e}")))?;
    let png = ptc_gesture::preview::encode_png(&rgb, w, h)
        .map_err(|e| Fail::usage(format!("--preview: {e}")))?;
    out.write_all(&png)
        .map_err(|e| Fail::usage(format!("cannot write `{}`: {e}", out.path().display())))?;
    // The frame: the most frames any input of the graph was fed.
    let n: u64 = summary.pushed.iter().map(|(_, n)| *n).max().unwrap_or(0);
    eprintln!(
        "wrote preview of frame {} (read back from the GPU's `{}`) to {}",
        n.saturating_sub(1),
        target.name,
        out.path().display()
    );
    Ok(())
}

/// How long a stopped run may take to finish its work in flight before it
/// is abandoned (frames delivered so far are kept).
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Everything `ptc run` resolved from its arguments before touching the
/// device: the plans (flags applied, `--input`/`--output` overrides folded
/// into their sources and sinks), the files they read and write (already
/// open), and where the reports go.
pub struct Prepared {
    /// One plan per graph file, in argument order.
    pub plans: Vec<Plan>,
    /// The files of each plan's ports.
    pub files: Vec<PortFiles>,
    /// When each run stops by itself.
    pub frames: Option<u64>,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `--stats`, `--trace`, `--preview` outputs, created up front.
    pub stats: Option<OutputFile>,
    /// `--trace`.
    pub trace: Option<OutputFile>,
    /// `--preview`.
    pub preview: Option<OutputFile>,
    /// What `--preview` draws: the plan (index into `plans`) and buffer.
    pub preview_target: Option<(usize, PreviewBuffer)>,
    /// Every output file's commit waits for the whole run to succeed.
    pub deferred: Deferred,
    /// Outputs another process writes (the daemon), committed at the end.
    pub kept: Vec<OutputFile>,
}

impl Prepared {
    /// Keeps an output another process writes, to commit it at the end.
    pub fn keep_output(&mut self, o: OutputFile) {
        self.kept.push(o);
    }

    /// Commits every output: the kept ones (written elsewhere) and the
    /// deferred ones, now that the whole run succeeded.
    pub fn commit(&mut self) -> Result<(), Fail> {
        for o in self.kept.drain(..) {
            let shown = o.path().display().to_string();
            o.commit()
                .map_err(|e| Fail::usage(format!("cannot write `{shown}`: {e}")))?;
        }
        self.deferred
            .commit_all()
            .map_err(|e| Fail::usage(format!("cannot write {e}")))
    }
}

/// The daemon to run through, or `None` for in-process (see
/// [`RunArgs::socket`]).
fn where_to_run(args: &RunArgs) -> Result<Option<ptc_daemon::client::Connection>, Fail> {
    if args.local {
        return Ok(None);
    }
    let choice = ptc_daemon::client::client_socket(args.socket.as_deref());
    ptc_daemon::client::connect_any(&choice).map_err(|e| Fail::usage(e.to_string()))
}

/// Loads, edits and opens everything a run needs (see [`Prepared`]). Bad
/// graphs, unknown ports, unreadable inputs, unwritable outputs, two
/// outputs to one file and an output overwriting an input all fail here.
/// `in_place`: regular output files are written in place (a detached run
/// has no process left to commit them atomically).
pub fn prepare(
    args: &RunArgs,
    render: &dyn Fn(&Report) -> String,
    in_place: bool,
) -> Result<Prepared, Fail> {
    let mut plans = Vec::new();
    for f in &args.files {
        plans.push(load_plan(f, &args.kernel_paths, &args.sets, render)?);
    }
    // --script/--hid apply to the graphs they fit; an error only if none does.
    let mut fitted = 0;
    let mut first_err = None;
    for plan in &mut plans {
        match apply_gesture_flags(plan, args) {
            Ok(()) => fitted += 1,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if fitted == 0 {
        if let Some(e) = first_err {
            return Err(e);
        }
    }
    for spec in &args.sched.priorities {
        let (name, p) = spec
            .split_once('=')
            .ok_or_else(|| Fail::usage(format!("--priority expects NAME=P, got `{spec}`")))?;
        let p: u32 = p
            .trim()
            .parse()
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| {
                Fail::usage(format!("--priority {spec}: P must be an integer 1..=100"))
            })?;
        let mut found = false;
        for pl in plans.iter_mut().filter(|pl| pl.graph == name) {
            pl.priority = p;
            found = true;
        }
        if !found {
            let names: Vec<&str> = plans.iter().map(|pl| pl.graph.as_str()).collect();
            return Err(Fail::usage(format!(
                "--priority {spec}: no graph `{name}` (graphs: {})",
                names.join(", ")
            )));
        }
    }
    let duration = match &args.sched.duration {
        Some(d) => Some(parse_duration(d)?),
        None => None,
    };
    // Overrides become the plans' own sources and sinks (absolute paths).
    for (flag, specs, outputs) in [
        ("--input", &args.inputs, false),
        ("--output", &args.outputs, true),
    ] {
        for spec in specs {
            let (hits, file) = override_targets(&plans, spec, flag, outputs)?;
            let abs = std::path::absolute(&file)
                .map_err(|e| Fail::usage(format!("{flag} {spec}: {e}")))?;
            for (k, port) in hits {
                if outputs {
                    for go in plans[k].outputs.iter_mut().filter(|o| o.name == port) {
                        go.sink = Sink::File { path: abs.clone() };
                    }
                } else {
                    for gi in plans[k].inputs.iter_mut().filter(|i| i.name == port) {
                        gi.source = Source::File { path: abs.clone() };
                    }
                }
            }
        }
    }
    for (plan, file) in plans.iter().zip(&args.files) {
        if let Some(gi) = plan.inputs.iter().find(|i| i.source == Source::Host) {
            return Err(Fail::usage(format!(
                "input `{}` has no source: pass --input {}=FILE (.npy or raw){}",
                gi.name,
                gi.name,
                if args.files.len() > 1 {
                    format!(" (graph `{}`, {})", plan.graph, file.display())
                } else {
                    String::new()
                }
            )));
        }
    }
    let preview_target = match &args.preview {
        Some(_) => Some(preview_target(&plans, args.preview_buffer.as_deref())?),
        None => None,
    };
    // Open every file now: bad data and unwritable places fail before the
    // device is touched, and nothing is committed unless the run succeeds.
    let deferred = Deferred::new();
    let mut files = Vec::new();
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    let several = plans.len() > 1;
    for (plan, file) in plans.iter().zip(&args.files) {
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut pf = PortFiles::open(plan, &base, in_place)?;
        for o in pf.outputs.iter_mut().flatten() {
            o.defer_to(&deferred);
        }
        let (r, w) = pf.labelled_paths(plan, several.then_some(plan.graph.as_str()));
        reads.extend(r);
        writes.extend(w);
        files.push(pf);
    }
    let mut report_file =
        |flag: &str, path: &Option<PathBuf>| -> Result<Option<OutputFile>, Fail> {
            let Some(p) = path else { return Ok(None) };
            let mut f = OutputFile::create(p)
                .map_err(|e| Fail::usage(format!("{flag}: cannot write `{}`: {e}", p.display())))?;
            f.defer_to(&deferred);
            if f.is_atomic() {
                writes.push((flag.to_string(), p.clone()));
            }
            Ok(Some(f))
        };
    let stats = report_file("--stats", &args.sched.stats)?;
    let trace = report_file("--trace", &args.sched.trace)?;
    let preview = report_file("--preview", &args.preview)?;
    check_conflicts(&reads, &writes)?;
    Ok(Prepared {
        plans,
        files,
        frames: args.frames,
        duration,
        stats,
        trace,
        preview,
        preview_target,
        deferred,
        kept: Vec::new(),
    })
}

/// The runtime options `ptc run`'s flags (and `PTC_*` variables) ask for.
pub fn runtime_options(args: &RunArgs, plans: &[Plan]) -> Result<RuntimeOptions, Fail> {
    let env = RuntimeOptions::from_env();
    let mode: SchedMode = args
        .sched
        .mode
        .parse()
        .map_err(|e: ptc_runtime::sched::SchedError| Fail::usage(format!("--sched: {e}")))?;
    Ok(RuntimeOptions {
        validate: args.validate || env.validate,
        device: args.device.clone().or(env.device),
        force_staging: args.force_staging || env.force_staging,
        global_priority: global_priority(&args.sched.global_priority, plans)?,
        sched: SchedConfig {
            mode,
            trace_limit: if args.sched.trace.is_some() {
                SchedConfig::TRACE_LIMIT
            } else {
                0
            },
            max_batch: match args.sched.max_batch.trim() {
                "0" | "off" => 0,
                t => parse_duration(t)
                    .map_err(|Fail(c, m)| Fail(c, m.replace("--duration", "--max-batch")))?
                    .as_nanos() as u64,
            },
            ..SchedConfig::default()
        },
    })
}

/// `ptc run`: see [`crate::exit::Exit`] for the exit codes.
pub fn run(args: RunArgs, render: &dyn Fn(&Report) -> String) -> ExitCode {
    signals::catch_stop_signals();
    let result = where_to_run(&args).and_then(|daemon| {
        let p = prepare(&args, render, daemon.is_some() && args.detach)?;
        match daemon {
            Some(conn) => crate::remote::run_remote(&args, p, conn),
            None if args.detach => Err(Fail::usage(
                "--detach needs a daemon: start one with `ptc daemon` (no daemon listens at the default sockets or $PTC_SOCKET)",
            )),
            None => run_local(&args, p),
        }
    });
    match result {
        Ok(()) => match signals::received() {
            Some(sig) => Exit::Signal(sig).into(),
            None => Exit::Success.into(),
        },
        Err(Fail(code, msg)) => {
            eprintln!("ptc: error: {msg}");
            code.into()
        }
    }
}

/// Runs prepared graphs in this process.
pub fn run_local(args: &RunArgs, mut p: Prepared) -> Result<(), Fail> {
    let opts = runtime_options(args, &p.plans)?;
    // Sources and sinks first: bad data is reported before any device work.
    let registry = ptc_gesture::io_registry();
    let mut io = Vec::new();
    for (plan, files) in p.plans.iter().zip(std::mem::take(&mut p.files)) {
        io.push(registry.attach(plan, files)?);
    }
    let rt = Runtime::new(&opts)?;
    let log = rt.validation_log();
    let mut session = Session::new(rt);
    let deadline = p.duration.map(|d| Instant::now() + d);
    let mut graphs = Vec::new();
    for (plan, (feeds, drains)) in p.plans.iter().zip(io) {
        let g = session.runtime_mut().open_graph(plan)?;
        session.add(
            g,
            feeds,
            drains,
            RunLimits {
                frames: p.frames,
                deadline,
                unpaced: args.unpaced,
            },
        )?;
        graphs.push(g);
    }
    let rt = session.runtime();
    if let Some(ext) = &rt.device().global_priority_ext {
        eprintln!(
            "device queues: global priority {} ({ext})",
            rt.global_priority()
                .map_or("default".to_string(), |g| g.to_string())
        );
    }
    let names: Vec<&str> = p.plans.iter().map(|p| p.graph.as_str()).collect();
    eprintln!(
        "ptc: running {} on {} (in this process; Ctrl-C stops)",
        names.join(" + "),
        rt.device().name
    );
    let bar = progress_bar(
        args.frames,
        &format!("{} on {}", names.join(" + "), rt.device().name),
    );
    let outcomes = session.run(Some(&signals::STOP), STOP_GRACE, |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let abandoned = session.abandoned();
    let mut summaries = Vec::new();
    for (_, o) in outcomes {
        summaries.push(o?);
    }
    // With the host's cost (Session::run's CPU time, sources and sinks).
    let report = session.report();
    let rt = session.runtime_mut();
    if let (Some(out), Some((k, target)), false) = (&mut p.preview, &p.preview_target, abandoned) {
        // The summary of the graph opened for plan k (by id, not position).
        let summary = graphs
            .get(*k)
            .and_then(|g| summaries.iter().find(|s| s.graph == *g));
        if let (Some(plan), Some(summary)) = (p.plans.get(*k), summary) {
            render_preview(rt, plan, summary, target, out)?;
        }
    }
    if let Some(out) = p.preview.take() {
        let shown = out.path().display().to_string();
        out.commit()
            .map_err(|e| Fail::usage(format!("cannot write `{shown}`: {e}")))?;
    }
    report_run(&p.plans, &summaries, &rt.device().name.clone(), abandoned);
    print_ptask_latency(&rt.stats());
    print_stats(&report);
    write_reports(&mut p, &report, || rt.trace_json().to_string())?;
    if abandoned {
        // A dispatch is still running: do not wait for it (that is what
        // the grace period bounds). Outputs and reports are complete.
        let msgs = log.messages();
        if !msgs.is_empty() {
            return Err(Fail::usage(format!(
                "{} validation message(s) were reported",
                msgs.len()
            )));
        }
        p.commit()?;
        exit_now(signals::received().map_or(Exit::Usage, Exit::Signal));
    }
    for g in graphs {
        rt.terminate(g)?;
    }
    drop(session);
    let msgs = log.messages();
    if !msgs.is_empty() {
        return Err(Fail::usage(format!(
            "{} validation message(s) were reported",
            msgs.len()
        )));
    }
    p.commit()
}

/// A progress bar on a terminal (none otherwise).
pub fn progress_bar(frames: Option<u64>, msg: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = match frames {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    b.set_message(msg.to_string());
    Some(b)
}

/// The per-graph lines after a run (and what a stop left undone).
pub fn report_run(plans: &[Plan], summaries: &[RunSummary], device: &str, abandoned: bool) {
    if let Some(sig) = signals::received() {
        eprintln!(
            "ptc: stopped by {}: stopped feeding, {}",
            signals::describe(sig),
            if abandoned {
                "gave up on the work still on the GPU after 2 s"
            } else {
                "finished the work in flight"
            }
        );
    }
    for (plan, summary) in plans.iter().zip(summaries) {
        eprintln!(
            "ran `{}` on {device} in {:.3} s: {}",
            plan.graph,
            summary.elapsed.as_secs_f64(),
            summary
                .delivered
                .iter()
                .map(|(p, n)| format!("{p}: {n} frames"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (port, n) in &summary.unconsumed {
            eprintln!(
                "ptc: warning: graph `{}`: {n} frame(s) fed to input `{port}` were not consumed{}",
                plan.graph,
                if abandoned {
                    " (abandoned on the GPU)"
                } else {
                    " (another input ran out first)"
                }
            );
        }
    }
}

/// Writes `--stats` and `--trace` into their (deferred) files.
pub fn write_reports(
    p: &mut Prepared,
    report: &ptc_runtime::sched::stats::StatsReport,
    trace: impl FnOnce() -> String,
) -> Result<(), Fail> {
    use std::io::Write;
    let put = |f: Option<OutputFile>, text: &str| -> Result<(), Fail> {
        let Some(mut f) = f else { return Ok(()) };
        let shown = f.path().display().to_string();
        f.write_all(text.as_bytes())
            .and_then(|()| f.commit())
            .map_err(|e| Fail::usage(format!("cannot write `{shown}`: {e}")))
    };
    put(p.stats.take(), &report.to_json())?;
    if p.trace.is_some() {
        put(p.trace.take(), &trace())?;
    }
    Ok(())
}

/// Ends the process now with `code`, after flushing stdout and stderr,
/// without running destructors (a GPU dispatch may still be running, and
/// the runtime's destructors would wait for it).
pub fn exit_now(code: Exit) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process immediately; nothing of this
    // process's state is needed afterwards (outputs are committed).
    unsafe { libc::_exit(i32::from(code.code())) }
}
