//! `ptc run` and `ptc devices`.
//!
//! Exit codes: 0 ok, 1 bad input (the graph/plan or the data: wrong-size or
//! wrong-dtype files, invalid SPIR-V), 2 usage, I/O or device errors.

use ptc_compiler::diag::Code;
use ptc_compiler::{check_file, Options, Report};
use ptc_plan::Plan;
use ptc_plan::{Sink, Source};
use ptc_runtime::driver::{self, Drain, Feed, GraphRun};
use ptc_runtime::io::{open_sink, open_source};
use ptc_runtime::sched::{SchedConfig, SchedMode};
use ptc_runtime::{GlobalPriority, Runtime, RuntimeError, RuntimeOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

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
            Fail(
                2,
                format!(
                    "--global-priority: expected auto, off, low, medium, high or realtime, got `{level}`"
                ),
            )
        }),
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, Fail> {
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
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(std::time::Duration::from_secs_f64(v * scale)),
        _ => Err(Fail(
            2,
            format!("--duration expects a positive time like `10s` or `500ms`, got `{s}`"),
        )),
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
    #[command(flatten)]
    pub sched: SchedArgs,
    /// Hand trajectory for `from camera(...)` inputs (keyframes, see README).
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Send gesture Event outputs to a virtual pointer (Linux uinput).
    #[arg(long)]
    pub hid: bool,
    /// After the run, write a PNG of the last camera frame as the gesture
    /// pipeline sees it (filtered depth, hand box, centroid).
    #[arg(long, value_name = "OUT.png")]
    pub preview: Option<PathBuf>,
}

/// A failure with its exit code.
struct Fail(u8, String);

fn rt_fail(e: RuntimeError) -> Fail {
    Fail(if e.is_bad_input() { 1 } else { 2 }, e.to_string())
}

fn split_assign(s: &str, flag: &str) -> Result<(String, PathBuf), Fail> {
    match s.split_once('=') {
        Some((p, f)) if !p.is_empty() && !f.is_empty() => Ok((p.to_string(), PathBuf::from(f))),
        _ => Err(Fail(2, format!("{flag} expects PORT=FILE, got `{s}`"))),
    }
}

/// Loads a plan from a `.pt` (through the compiler) or a plan YAML.
fn load_plan(
    file: &Path,
    kernel_paths: &[PathBuf],
    render: &dyn Fn(&Report) -> String,
) -> Result<Plan, Fail> {
    let is_pt = file.extension().is_some_and(|e| e == "pt");
    if is_pt {
        let report = check_file(
            file,
            &Options {
                kernel_paths: kernel_paths.to_vec(),
                skip_kernels: false,
            },
        );
        eprint!("{}", render(&report));
        if report.diagnostics.iter().any(|d| d.code == Code::Io) {
            return Err(Fail(2, format!("cannot read `{}`", file.display())));
        }
        if report.has_errors() {
            return Err(Fail(1, format!("`{}` has errors", file.display())));
        }
        report
            .plan
            .ok_or_else(|| Fail(1, format!("`{}` produced no plan", file.display())))
    } else {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Fail(2, format!("cannot read `{}`: {e}", file.display())))?;
        Plan::from_yaml(&text).map_err(|e| Fail(1, format!("`{}`: {e}", file.display())))
    }
}

/// Runs `ptc run`.
/// Set by the first Ctrl-C (SIGINT) during `ptc run`.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
    // SAFETY: `signal` is async-signal-safe on Linux (glibc implements it
    // with `sigaction`); restoring the default makes a second Ctrl-C end the
    // process at once, as users expect when a clean stop takes too long.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
}

/// The first Ctrl-C stops the run cleanly (see [`driver::run_many`]); the
/// second kills the process.
fn catch_ctrl_c() {
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic and resets the signal's
    // disposition, both async-signal-safe; `on_sigint` has the C ABI and
    // signature `signal` expects.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )
    };
}

/// `ptc run`: the exit code is 0, 1 (bad input), 2 (usage, I/O, device) or
/// 130 (stopped by Ctrl-C after a clean stop: stats and outputs written).
pub fn run(args: RunArgs, render: &dyn Fn(&Report) -> String) -> ExitCode {
    match run_inner(args, render) {
        Ok(()) if INTERRUPTED.load(Ordering::Relaxed) => ExitCode::from(EXIT_INTERRUPTED),
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("ptc: error: {msg}");
            ExitCode::from(code)
        }
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
            return Err(Fail(
                2,
                format!(
                    "{flag} {p}=...: graph `{}` has no {kind} `{p}` ({kind}s: {})",
                    pl.graph,
                    names(pl).join(", ")
                ),
            ));
        }
        let all: Vec<String> = plans
            .iter()
            .flat_map(|pl| names(pl).into_iter().map(|n| format!("{}.{n}", pl.graph)))
            .collect();
        return Err(Fail(
            2,
            format!(
                "{flag} {p}=...: no graph has an {kind} `{p}` ({kind}s: {})",
                all.join(", ")
            ),
        ));
    }
    Ok((hits, f))
}

fn run_inner(args: RunArgs, render: &dyn Fn(&Report) -> String) -> Result<(), Fail> {
    let mut plans = Vec::new();
    for f in &args.files {
        plans.push(load_plan(f, &args.kernel_paths, render)?);
    }
    // --script/--hid apply to the graphs they fit; an error only if none does.
    let mut fitted = 0;
    let mut first_err = None;
    for plan in &mut plans {
        match apply_gesture_flags(plan, &args) {
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
    let mode: SchedMode = args
        .sched
        .mode
        .parse()
        .map_err(|e: ptc_runtime::sched::SchedError| Fail(2, format!("--sched: {e}")))?;
    for spec in &args.sched.priorities {
        let (name, p) = spec
            .split_once('=')
            .ok_or_else(|| Fail(2, format!("--priority expects NAME=P, got `{spec}`")))?;
        let p: u32 = p
            .trim()
            .parse()
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| {
                Fail(
                    2,
                    format!("--priority {spec}: P must be an integer 1..=100"),
                )
            })?;
        let mut found = false;
        for pl in plans.iter_mut().filter(|pl| pl.graph == name) {
            pl.priority = p;
            found = true;
        }
        if !found {
            let names: Vec<&str> = plans.iter().map(|pl| pl.graph.as_str()).collect();
            return Err(Fail(
                2,
                format!(
                    "--priority {spec}: no graph `{name}` (graphs: {})",
                    names.join(", ")
                ),
            ));
        }
    }
    let until = match &args.sched.duration {
        Some(d) => Some(parse_duration(d)?),
        None => None,
    };
    let mut in_over = Vec::new();
    for s in &args.inputs {
        in_over.push(override_targets(&plans, s, "--input", false)?);
    }
    let mut out_over = Vec::new();
    for s in &args.outputs {
        out_over.push(override_targets(&plans, s, "--output", true)?);
    }
    let find = |over: &[(Vec<(usize, String)>, PathBuf)], k: usize, port: &str| {
        over.iter()
            .rev()
            .find(|(hits, _)| hits.iter().any(|(g, p)| *g == k && p == port))
            .map(|(_, f)| f.clone())
    };
    let opts = RuntimeOptions {
        validate: args.validate || RuntimeOptions::from_env().validate,
        device: args.device.clone().or(RuntimeOptions::from_env().device),
        force_staging: args.force_staging || RuntimeOptions::from_env().force_staging,
        global_priority: global_priority(&args.sched.global_priority, &plans)?,
        sched: SchedConfig {
            mode,
            trace_limit: if args.sched.trace.is_some() {
                2_000_000
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
    };
    // Sources and sinks first: bad data is reported before any device work.
    let mut io = Vec::new();
    for (k, (plan, file)) in plans.iter().zip(&args.files).enumerate() {
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let ports = port_infos(plan);
        let mut feeds = Vec::new();
        for gi in &plan.inputs {
            let info = &ports.0[feeds.len()];
            let (src, b) = match find(&in_over, k, &gi.name) {
                Some(f) => (Source::File { path: f }, PathBuf::new()),
                None => (gi.source.clone(), base.clone()),
            };
            match open_source(&src, info, &b).map_err(rt_fail)? {
                Some(source) => feeds.push(Feed {
                    port: gi.name.clone(),
                    source,
                }),
                None => {
                    return Err(Fail(
                        2,
                        format!(
                            "input `{}` has no source: pass --input {}=FILE (.npy or raw){}",
                            gi.name,
                            gi.name,
                            if args.files.len() > 1 {
                                format!(" (graph `{}`)", plan.graph)
                            } else {
                                String::new()
                            }
                        ),
                    ))
                }
            }
        }
        let mut drains = Vec::new();
        for (o, go) in plan.outputs.iter().enumerate() {
            let info = &ports.1[o];
            let (sink, b) = match find(&out_over, k, &go.name) {
                Some(f) => (Sink::File { path: f }, PathBuf::new()),
                None => (go.sink.clone(), base.clone()),
            };
            drains.push(Drain {
                port: go.name.clone(),
                sink: open_sink(&sink, info, &b).map_err(rt_fail)?,
            });
        }
        io.push((feeds, drains));
    }
    let mut rt = Runtime::new(&opts).map_err(rt_fail)?;
    let mut runs = Vec::new();
    for (plan, (feeds, drains)) in plans.iter().zip(io) {
        let g = rt.open_graph(plan).map_err(rt_fail)?;
        runs.push(GraphRun {
            graph: g,
            feeds,
            drains,
        });
    }
    if let Some(ext) = &rt.device().global_priority_ext {
        eprintln!(
            "device queues: global priority {} ({ext})",
            rt.global_priority()
                .map_or("default".to_string(), |g| g.to_string())
        );
    }
    let names: Vec<&str> = plans.iter().map(|p| p.graph.as_str()).collect();
    let bar = if std::io::stderr().is_terminal() {
        let b = match args.frames {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::new_spinner(),
        };
        b.set_message(format!("{} on {}", names.join(" + "), rt.device().name));
        Some(b)
    } else {
        None
    };
    let deadline = until.map(|d| std::time::Instant::now() + d);
    catch_ctrl_c();
    let summaries = driver::run_many(
        &mut rt,
        &mut runs,
        args.frames,
        deadline,
        Some(&INTERRUPTED),
        |n| {
            if let Some(b) = &bar {
                b.set_position(n);
            }
        },
    )
    .map_err(rt_fail)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let log = rt.validation_log();
    if let Some(out) = &args.preview {
        let cam = plans.iter().zip(&runs).zip(&summaries).find(|((p, _), _)| {
            p.inputs
                .iter()
                .any(|gi| matches!(gi.source, Source::Camera { .. }))
        });
        let ((plan, run), summary) = cam.ok_or_else(|| {
            Fail(
                2,
                "--preview needs a graph with a `from camera` input".into(),
            )
        })?;
        write_preview(&mut rt, run.graph, plan, &summary.pushed, out)?;
    }
    if INTERRUPTED.load(Ordering::Relaxed) {
        eprintln!("ptc: interrupted (Ctrl-C): stopped feeding, finished the work in flight");
    }
    for (plan, summary) in plans.iter().zip(&summaries) {
        eprintln!(
            "ran `{}` on {} in {:.3} s: {}",
            plan.graph,
            rt.device().name,
            summary.elapsed.as_secs_f64(),
            summary
                .delivered
                .iter()
                .map(|(p, n)| format!("{p}: {n} frames"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    eprintln!(
        "{:<24} {:>8} {:>14} {:>14} {:>14} {:>14}",
        "ptask", "firings", "ready→sub µs", "p99", "sub→done µs", "p99"
    );
    for s in rt.stats() {
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
    let report = rt.sched_report();
    print_stats(&report);
    if let Some(path) = &args.sched.stats {
        report
            .write(path)
            .map_err(|e| Fail(2, format!("cannot write `{}`: {e}", path.display())))?;
    }
    if let Some(path) = &args.sched.trace {
        let text = rt.trace_json().to_string();
        write_file(path, text.as_bytes())?;
    }
    for r in &runs {
        rt.terminate(r.graph).map_err(rt_fail)?;
    }
    drop(rt);
    let msgs = log.messages();
    if !msgs.is_empty() {
        return Err(Fail(
            2,
            format!("{} validation message(s) were reported", msgs.len()),
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path` via a temporary sibling and a rename.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Fail> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Fail(2, format!("cannot write `{}`: {e}", path.display())))
}

/// The end-of-run table: per graph, then per ptask.
fn print_stats(r: &ptc_runtime::sched::stats::StatsReport) {
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
}

fn port_infos(plan: &Plan) -> (Vec<ptc_runtime::PortInfo>, Vec<ptc_runtime::PortInfo>) {
    let info = |name: &str, b: usize| {
        let pb = &plan.buffers[b];
        ptc_runtime::PortInfo {
            name: name.to_string(),
            ty: pb.ty.clone(),
            bytes: pb.size,
            slots: pb.slots,
            layout: match &pb.ty.elem {
                ptc_plan::types::ElemType::Struct(n) => {
                    plan.structs.iter().find(|s| &s.name == n).cloned()
                }
                _ => None,
            },
        }
    };
    (
        plan.inputs
            .iter()
            .map(|i| info(&i.name, i.buffer))
            .collect(),
        plan.outputs
            .iter()
            .map(|o| info(&o.name, o.buffer))
            .collect(),
    )
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
    for d in &devs {
        println!(
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
        println!("   driver: {}, Vulkan {}", d.driver, d.api_version);
        for f in &d.queue_families {
            println!("   queue family {}: {} x{}", f.index, f.flags, f.count);
        }
        match &d.global_priority_ext {
            Some(ext) => println!(
                "   global priority: {ext} (--global-priority low|medium|high|realtime)"
            ),
            None => println!(
                "   global priority: not offered (graphs are ranked at submission and by queue priority only)"
            ),
        }
        println!(
            "   limits: maxStorageBufferRange {} B, maxPushConstantsSize {} B, maxComputeWorkGroupInvocations {}, maxComputeWorkGroupCount {:?}, maxComputeSharedMemorySize {} B",
            d.max_storage_buffer_range,
            d.max_push_constants_size,
            d.max_workgroup_invocations,
            d.max_workgroup_count,
            d.max_shared_memory
        );
        println!(
            "   features: timelineSemaphore {}, storageBuffer8BitAccess {}, storageBuffer16BitAccess {}, shaderInt16 {}, shaderFloat64 {}, device-local host-visible memory {}",
            yn(d.timeline_semaphore),
            yn(d.storage_8bit),
            yn(d.storage_16bit),
            yn(d.shader_int16),
            yn(d.shader_float64),
            yn(d.device_local_host_visible)
        );
    }
    ExitCode::SUCCESS
}

/// Applies `--script` (camera inputs) and `--hid` (Event outputs).
fn apply_gesture_flags(plan: &mut Plan, args: &RunArgs) -> Result<(), Fail> {
    if let Some(script) = &args.script {
        let mut any = false;
        for gi in &mut plan.inputs {
            if let Source::Camera { script: s, .. } = &mut gi.source {
                // An absolute path: it is relative to the working directory.
                let abs = std::path::absolute(script)
                    .map_err(|e| Fail(2, format!("--script {}: {e}", script.display())))?;
                *s = Some(abs);
                any = true;
            }
        }
        if !any {
            return Err(Fail(
                2,
                format!(
                    "--script: graph `{}` has no `from camera` input",
                    plan.graph
                ),
            ));
        }
    }
    if args.hid {
        let mut any = false;
        for go in &mut plan.outputs {
            let layout = match &plan.buffers[go.buffer].ty.elem {
                ptc_plan::types::ElemType::Struct(n) => plan.structs.iter().find(|s| &s.name == n),
                _ => None,
            };
            if layout.is_some_and(ptc_runtime::io::jsonl::is_gesture_event) {
                go.sink = Sink::Hid;
                any = true;
            }
        }
        if !any {
            return Err(Fail(
                2,
                format!(
                    "--hid: graph `{}` has no output of gesture Event elements",
                    plan.graph
                ),
            ));
        }
    }
    Ok(())
}

/// The buffer `--preview` draws: xform's point cloud.
const PREVIEW_BUFFER: &str = "xform.cloud";

/// `--preview`: the last completed frame as the GPU pipeline saw it, read
/// back from the graph's `xform.cloud` buffer (depth = its z; hand overlay
/// from detect's segmentation rule applied to that cloud).
fn write_preview(
    rt: &mut Runtime,
    graph: ptc_runtime::GraphId,
    plan: &Plan,
    pushed: &[(String, u64)],
    out: &Path,
) -> Result<(), Fail> {
    use ptc_plan::types::{ElemType, Scalar};
    let buf = plan.buffers.iter().find(|b| b.name == PREVIEW_BUFFER);
    let dims = buf.and_then(|b| match (&b.ty.elem, b.ty.shape.as_slice()) {
        (
            ElemType::Vector {
                n: 4,
                scalar: Scalar::F32,
            },
            [h, w],
        ) => Some((*w as usize, *h as usize)),
        _ => None,
    });
    let Some((w, h)) = dims else {
        return Err(Fail(
            2,
            format!("--preview needs a `{PREVIEW_BUFFER}` buffer of type vec4<f32>[h, w] (the gesture graph's point cloud)"),
        ));
    };
    let bytes = rt
        .read_buffer(graph, PREVIEW_BUFFER)
        .map_err(rt_fail)?
        .ok_or_else(|| Fail(2, "--preview: no frame was computed".into()))?;
    ptc_runtime::io::preview::write_cloud_bytes(plan, &bytes, w, h, out)
        .map_err(|e| Fail(2, e.to_string()))?;
    let n: u64 = pushed
        .iter()
        .filter(|(p, _)| {
            plan.inputs
                .iter()
                .any(|gi| &gi.name == p && matches!(gi.source, Source::Camera { .. }))
        })
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0);
    eprintln!(
        "wrote preview of frame {} (read back from the GPU's `{PREVIEW_BUFFER}`) to {}",
        n.saturating_sub(1),
        out.display()
    );
    Ok(())
}
