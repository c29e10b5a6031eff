//! `ptc run` and `ptc devices`.
//!
//! Exit codes: 0 ok, 1 bad input (the graph/plan or the data: wrong-size or
//! wrong-dtype files, invalid SPIR-V), 2 usage, I/O or device errors.

use ptc_compiler::diag::Code;
use ptc_compiler::plan::{Sink, Source};
use ptc_compiler::{check_file, Options, Plan, Report};
use ptc_runtime::driver::{self, Drain, Feed};
use ptc_runtime::io::{open_sink, open_source};
use ptc_runtime::{Runtime, RuntimeError, RuntimeOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `ptc run`.
pub struct RunArgs {
    pub file: PathBuf,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub frames: Option<u64>,
    pub validate: bool,
    pub device: Option<String>,
    pub force_staging: bool,
    pub kernel_paths: Vec<PathBuf>,
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
pub fn run(args: RunArgs, render: &dyn Fn(&Report) -> String) -> ExitCode {
    match run_inner(args, render) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("ptc: error: {msg}");
            ExitCode::from(code)
        }
    }
}

fn run_inner(args: RunArgs, render: &dyn Fn(&Report) -> String) -> Result<(), Fail> {
    let plan = load_plan(&args.file, &args.kernel_paths, render)?;
    let base = args
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut in_over = Vec::new();
    for s in &args.inputs {
        let (p, f) = split_assign(s, "--input")?;
        if !plan.inputs.iter().any(|i| i.name == p) {
            let names: Vec<&str> = plan.inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(Fail(
                2,
                format!(
                    "--input {p}=...: graph `{}` has no input `{p}` (inputs: {})",
                    plan.graph,
                    names.join(", ")
                ),
            ));
        }
        in_over.push((p, f));
    }
    let mut out_over = Vec::new();
    for s in &args.outputs {
        let (p, f) = split_assign(s, "--output")?;
        if !plan.outputs.iter().any(|o| o.name == p) {
            let names: Vec<&str> = plan.outputs.iter().map(|o| o.name.as_str()).collect();
            return Err(Fail(
                2,
                format!(
                    "--output {p}=...: graph `{}` has no output `{p}` (outputs: {})",
                    plan.graph,
                    names.join(", ")
                ),
            ));
        }
        out_over.push((p, f));
    }
    let opts = RuntimeOptions {
        validate: args.validate || RuntimeOptions::from_env().validate,
        device: args.device.clone().or(RuntimeOptions::from_env().device),
        force_staging: args.force_staging || RuntimeOptions::from_env().force_staging,
        ..Default::default()
    };
    // Sources and sinks first: bad data is reported before any device work.
    let ports = port_infos(&plan);
    let mut feeds = Vec::new();
    for gi in &plan.inputs {
        let info = &ports.0[feeds.len()];
        let over = in_over.iter().rev().find(|(p, _)| *p == gi.name);
        let (src, b) = match over {
            Some((_, f)) => (Source::File { path: f.clone() }, PathBuf::new()),
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
                        "input `{}` has no source: pass --input {}=FILE (.npy or raw)",
                        gi.name, gi.name
                    ),
                ))
            }
        }
    }
    let mut drains = Vec::new();
    for (k, go) in plan.outputs.iter().enumerate() {
        let info = &ports.1[k];
        let over = out_over.iter().rev().find(|(p, _)| *p == go.name);
        let (sink, b) = match over {
            Some((_, f)) => (Sink::File { path: f.clone() }, PathBuf::new()),
            None => (go.sink.clone(), base.clone()),
        };
        drains.push(Drain {
            port: go.name.clone(),
            sink: open_sink(&sink, info, &b).map_err(rt_fail)?,
        });
    }
    let mut rt = Runtime::new(&opts).map_err(rt_fail)?;
    let g = rt.open_graph(&plan).map_err(rt_fail)?;
    let bar = if std::io::stderr().is_terminal() {
        let b = match args.frames {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::new_spinner(),
        };
        b.set_message(format!("{} on {}", plan.graph, rt.device().name));
        Some(b)
    } else {
        None
    };
    let summary = driver::run(&mut rt, g, &mut feeds, &mut drains, args.frames, |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })
    .map_err(rt_fail)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let log = rt.validation_log();
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
    rt.terminate(g).map_err(rt_fail)?;
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

fn port_infos(plan: &Plan) -> (Vec<ptc_runtime::PortInfo>, Vec<ptc_runtime::PortInfo>) {
    let info = |name: &str, b: usize| {
        let pb = &plan.buffers[b];
        ptc_runtime::PortInfo {
            name: name.to_string(),
            ty: pb.ty.clone(),
            bytes: pb.size,
            slots: pb.slots,
            layout: match &pb.ty.elem {
                ptc_compiler::types::ElemType::Struct(n) => {
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
