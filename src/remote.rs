//! `ptc run` through a daemon: the same preparation as in-process (this
//! process opens every file, with its own permissions), then the plans and
//! the descriptors go to the daemon, which runs the graphs under its
//! device-wide scheduler; this process waits, relays `to hid` frames,
//! reports, and commits the outputs when every run succeeded.

use crate::exit::{Exit, Fail};
use crate::run::{print_stats, progress_bar, report_run, write_reports, Prepared, RunArgs};
use crate::signals;
use ptc_daemon::client::{ClientError, Connection};
use ptc_daemon::proto::{OpenRun, OutputFd, Reply, Request, RunReport, ServerMsg};
use ptc_plan::Sink;
use ptc_runtime::sched::stats::StatsReport;
use ptc_runtime::{EndReason, GraphId, PortInfo, RunSummary};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn client_fail(e: ClientError) -> Fail {
    let code = if e.is_bad_input() {
        Exit::BadInput
    } else {
        Exit::Usage
    };
    Fail(code, e.to_string())
}

/// Flags that configure the device: the daemon owns it, so they cannot
/// apply to one client's run.
fn check_device_flags(args: &RunArgs, conn: &Connection) -> Result<(), Fail> {
    let at = conn.path().display();
    let device_flag = |flag: &str| {
        Fail::usage(format!(
            "{flag} configures the device, which the daemon at `{at}` owns: start the daemon with it (`ptc daemon {flag} ...`), or add --local to run in this process"
        ))
    };
    if args.sched.mode != "priority" && args.sched.mode != conn.sched {
        return Err(device_flag("--sched"));
    }
    if args.sched.max_batch.trim() != "2ms" {
        return Err(device_flag("--max-batch"));
    }
    if args.sched.global_priority != "auto" {
        return Err(device_flag("--global-priority"));
    }
    if args.device.is_some() {
        return Err(device_flag("--device"));
    }
    if args.force_staging {
        return Err(device_flag("--force-staging"));
    }
    if args.validate && !conn.validation {
        return Err(Fail::usage(format!(
            "--validate: the daemon at `{at}` runs without the validation layer; start it with `ptc daemon --validate`, or add --local"
        )));
    }
    if args.preview.is_some() {
        return Err(Fail::usage(
            "--preview reads a GPU buffer back into this process: add --local",
        ));
    }
    if args.detach && (args.sched.stats.is_some() || args.sched.trace.is_some() || args.hid) {
        return Err(Fail::usage(
            "--detach leaves no process to write --stats/--trace or drive --hid: drop them, or run attached",
        ));
    }
    Ok(())
}

/// Copies raw `Event` frames from the daemon's pipe to this process's
/// virtual pointer (`to hid` through a daemon).
fn relay_hid(read: OwnedFd, info: PortInfo) -> Result<std::thread::JoinHandle<()>, Fail> {
    use ptc_runtime::io::FrameSink;
    use std::io::Read;
    let mut sink = ptc_runtime::io::hid::HidPortSink::open(&info)?;
    std::thread::Builder::new()
        .name("ptc-hid-relay".into())
        .spawn(move || {
            let mut pipe = std::fs::File::from(read);
            let mut frame = vec![0u8; info.bytes as usize];
            let mut k = 0;
            while pipe.read_exact(&mut frame).is_ok() {
                if let Err(e) = sink.write_frame(k, &frame) {
                    eprintln!("ptc: warning: {e}");
                }
                k += 1;
            }
        })
        .map_err(|e| Fail::usage(format!("cannot start the hid relay: {e}")))
}

/// One graph sent to the daemon.
struct Remote {
    id: u64,
    name: String,
    report: Option<Result<RunReport, Fail>>,
}

/// Runs prepared graphs in the daemon behind `conn`.
pub fn run_remote(args: &RunArgs, mut p: Prepared, mut conn: Connection) -> Result<(), Fail> {
    check_device_flags(args, &conn)?;
    let mut remotes = Vec::new();
    let mut relays = Vec::new();
    let plans = std::mem::take(&mut p.plans);
    let mut kept = Vec::new();
    for (plan, files) in plans.iter().zip(std::mem::take(&mut p.files)) {
        let yaml = plan
            .to_yaml()
            .map_err(|e| Fail::input(format!("graph `{}`: {e}", plan.graph)))?;
        let mut fds: Vec<OwnedFd> = Vec::new();
        let mut inputs = Vec::new();
        for f in &files.inputs {
            inputs.push(f.is_some());
            if let Some(f) = f {
                fds.push(
                    f.file
                        .as_fd()
                        .try_clone_to_owned()
                        .map_err(|e| Fail::usage(e.to_string()))?,
                );
            }
        }
        let mut outputs = Vec::new();
        let infos = PortInfo::outputs_of(plan);
        for ((go, f), info) in plan.outputs.iter().zip(&files.outputs).zip(infos) {
            if go.sink == Sink::Hid {
                let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                    .map_err(|e| Fail::usage(format!("cannot make a pipe: {e}")))?;
                relays.push(relay_hid(r, info)?);
                fds.push(w);
                outputs.push(OutputFd::Relay);
                continue;
            }
            match f {
                Some(f) => {
                    fds.push(
                        f.try_clone()
                            .map(OwnedFd::from)
                            .map_err(|e| Fail::usage(e.to_string()))?,
                    );
                    outputs.push(OutputFd::File);
                }
                None => outputs.push(OutputFd::None),
            }
        }
        let open = OpenRun {
            plan_yaml: yaml,
            inputs,
            outputs,
            frames: p.frames,
            duration_ms: p.duration.map(|d| d.as_millis() as u64),
            unpaced: args.unpaced,
            detach: args.detach,
            trace: p.trace.is_some(),
        };
        let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
        let (reply, _) = conn
            .request(Request::OpenRun(open), &borrowed)
            .map_err(client_fail)?;
        drop(fds);
        let Reply::Opened { graph, .. } = reply else {
            return Err(Fail::usage("the daemon answered OpenRun oddly"));
        };
        remotes.push(Remote {
            id: graph,
            name: plan.graph.clone(),
            report: None,
        });
        // The daemon has the descriptors; ours close when `files` drops,
        // except the outputs' (kept to commit them).
        kept.extend(files.outputs.into_iter().flatten());
    }
    p.plans = plans;
    for o in kept {
        p.keep_output(o);
    }
    let names: Vec<String> = remotes
        .iter()
        .map(|r| format!("`{}` (graph #{})", r.name, r.id))
        .collect();
    if args.detach {
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for r in &remotes {
                let _ = writeln!(out, "{}", r.id);
            }
        }
        eprintln!(
            "ptc: detached {} in the daemon at {} (see `ptc ps`; `ptc kill ID` ends it)",
            names.join(", "),
            conn.path().display()
        );
        return Ok(());
    }
    eprintln!(
        "ptc: running {} on {} through the daemon at {} (Ctrl-C stops)",
        names.join(" + "),
        conn.device,
        conn.path().display()
    );
    let bar = progress_bar(args.frames, &names.join(" + "));
    let mut progress: BTreeMap<u64, u64> = BTreeMap::new();
    let mut stopped = false;
    while remotes.iter().any(|r| r.report.is_none()) {
        if !stopped && signals::STOP.load(Ordering::Relaxed) {
            stopped = true;
            for r in remotes.iter().filter(|r| r.report.is_none()) {
                conn.send(Request::Stop { graph: r.id }, &[])
                    .map_err(client_fail)?;
            }
        }
        let Some((ev, _)) = conn
            .next_event(Duration::from_millis(100))
            .map_err(client_fail)?
        else {
            continue;
        };
        match ev {
            ServerMsg::Progress { graph, frames } => {
                progress.insert(graph, frames);
                if let (Some(b), Some(min)) = (&bar, progress.values().min()) {
                    b.set_position(*min);
                }
            }
            ServerMsg::RunEnded { graph, outcome } => {
                if let Some(r) = remotes.iter_mut().find(|r| r.id == graph) {
                    r.report = Some(outcome.map_err(|e| {
                        let code = if e.bad_input {
                            Exit::BadInput
                        } else {
                            Exit::Usage
                        };
                        Fail(code, e.message)
                    }));
                }
            }
            _ => {}
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut reports = Vec::new();
    for r in remotes {
        match r.report {
            Some(Ok(rep)) => reports.push((r.id, rep)),
            Some(Err(e)) => return Err(e),
            None => return Err(Fail::usage("a run did not end")),
        }
    }
    let summaries: Vec<RunSummary> = reports
        .iter()
        .map(|(id, r)| RunSummary {
            graph: GraphId::from_index(*id as usize),
            delivered: r.delivered.clone(),
            pushed: r.pushed.clone(),
            unconsumed: r.unconsumed.clone(),
            elapsed: Duration::from_nanos(r.elapsed_ns),
            end: match r.end.as_str() {
                "frames" => EndReason::Frames,
                "deadline" => EndReason::Deadline,
                "stopped" => EndReason::Stopped,
                _ => EndReason::Exhausted,
            },
        })
        .collect();
    let killed = reports
        .iter()
        .find_map(|(id, r)| r.killed_by.map(|uid| (*id, uid)));
    if let Some((id, uid)) = killed {
        eprintln!("ptc: graph #{id} was ended by `ptc kill` (uid {uid})");
        signals::record_external(libc::SIGTERM);
    }
    report_run(&p.plans, &summaries, &conn.device, false);
    // One report with every graph of this run (shares are of the device).
    let mut merged: Option<StatsReport> = None;
    let mut trace = None;
    for (_, r) in &reports {
        let s: StatsReport = serde_json::from_str(&r.stats_json)
            .map_err(|e| Fail::usage(format!("the daemon sent unreadable stats: {e}")))?;
        match &mut merged {
            Some(m) => m.graphs.extend(s.graphs),
            None => merged = Some(s),
        }
        if r.trace_json.is_some() {
            trace = r.trace_json.clone();
        }
    }
    if let Some(m) = &merged {
        print_stats(m);
        write_reports(&mut p, m, || trace.unwrap_or_default())?;
    }
    let msgs: usize = reports.iter().map(|(_, r)| r.validation.len()).sum();
    if msgs > 0 {
        for (_, r) in &reports {
            for m in &r.validation {
                eprintln!("{m}");
            }
        }
        return Err(Fail::usage(format!(
            "{msgs} validation message(s) were reported"
        )));
    }
    for h in relays {
        let _ = h.join();
    }
    p.commit()
}
