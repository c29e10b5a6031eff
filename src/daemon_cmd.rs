//! `ptc daemon`, and the commands that talk to it: `ps`, `renice`, `kill`,
//! `top`.

use crate::exit::{Exit, Fail};
use crate::signals;
use ptc_daemon::client::{client_socket, connect_any, Connection};
use ptc_daemon::policy::Config;
use ptc_daemon::proto::{GraphStatus, Reply, Request};
use ptc_daemon::server::{serve, DaemonOptions};
use ptc_runtime::sched::{SchedConfig, SchedMode};
use ptc_runtime::RuntimeOptions;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `ptc daemon`.
#[derive(clap::Args, Debug)]
pub struct DaemonArgs {
    /// Where to listen (default: $PTC_SOCKET, else $XDG_RUNTIME_DIR/ptc.sock,
    /// else /run/ptc/ptc.sock for root). Ignored under systemd socket
    /// activation (LISTEN_FDS).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Let any local user connect (socket mode 0666 instead of 0600); the
    /// policy still applies.
    #[arg(long)]
    pub public: bool,
    /// Policy file (YAML): per-user caps and who may use priorities above 50.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Enable the Vulkan validation layer for every graph; clients see the
    /// messages their runs caused.
    #[arg(long)]
    pub validate: bool,
    /// Device by index or name (see `ptc devices`).
    #[arg(long, value_name = "NAME|INDEX")]
    pub device: Option<String>,
    /// Copy graph inputs/outputs through staging buffers.
    #[arg(long)]
    pub force_staging: bool,
    /// Arbitration: `priority` (default) or `fifo`.
    #[arg(long = "sched", value_name = "MODE", default_value = "priority")]
    pub sched: String,
    /// Split background dispatches longer than this (`off`: never); see `ptc run --help`.
    #[arg(long = "max-batch", value_name = "DURATION", default_value = "2ms")]
    pub max_batch: String,
}

/// `ptc daemon`: exit 0 after a clean stop (SIGTERM/SIGINT), 2 if it
/// cannot start.
pub fn daemon(args: DaemonArgs) -> ExitCode {
    match daemon_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("ptc: error: {msg}");
            code.into()
        }
    }
}

fn daemon_inner(args: DaemonArgs) -> Result<(), Fail> {
    let socket = args
        .socket
        .clone()
        .or_else(ptc_daemon::client::daemon_default_socket)
        .ok_or_else(|| {
            Fail::usage(
                "no socket path: pass --socket PATH, or set XDG_RUNTIME_DIR (a user instance) or PTC_SOCKET",
            )
        })?;
    let config = match &args.config {
        Some(p) => Config::load(p).map_err(Fail::usage)?,
        None => Config::default(),
    };
    let mode: SchedMode = args
        .sched
        .parse()
        .map_err(|e: ptc_runtime::sched::SchedError| Fail::usage(format!("--sched: {e}")))?;
    let max_batch = match args.max_batch.trim() {
        "0" | "off" => 0,
        t => crate::run::parse_duration(t)
            .map_err(|Fail(c, m)| Fail(c, m.replace("--duration", "--max-batch")))?
            .as_nanos() as u64,
    };
    let env = RuntimeOptions::from_env();
    let stop = Arc::new(AtomicBool::new(false));
    signals::catch_stop_signals();
    {
        // The engine polls this; the signal handler sets STOP.
        let stop = stop.clone();
        std::thread::spawn(move || loop {
            if signals::STOP.load(std::sync::atomic::Ordering::Relaxed) {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        });
    }
    serve(DaemonOptions {
        socket,
        public: args.public,
        config,
        runtime: RuntimeOptions {
            validate: args.validate || env.validate,
            device: args.device.or(env.device),
            force_staging: args.force_staging || env.force_staging,
            global_priority: None,
            sched: SchedConfig {
                mode,
                max_batch,
                trace_limit: SchedConfig::TRACE_LIMIT / 20,
                ..SchedConfig::default()
            },
        },
        stop,
        // Clients' camera graphs run here: the same sources as `ptc run`.
        io: ptc_gesture::io_registry(),
    })
    .map_err(|e| Fail::usage(e.to_string()))
}

/// The daemon the commands below talk to (one must listen).
fn connect(socket: Option<&std::path::Path>) -> Result<Connection, Fail> {
    let mut choice = client_socket(socket);
    choice.required = true;
    let tried: Vec<String> = choice
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut last = None;
    for p in &choice.paths {
        match connect_any(&ptc_daemon::client::SocketChoice {
            paths: vec![p.clone()],
            required: true,
        }) {
            Ok(Some(c)) => return Ok(c),
            Ok(None) => {}
            Err(e) => last = Some(e),
        }
    }
    Err(Fail::usage(match last {
        Some(ptc_daemon::client::ClientError::NoDaemon { .. }) | None => format!(
            "no ptc daemon listens (tried {}): start one with `ptc daemon`",
            tried.join(", ")
        ),
        Some(e) => e.to_string(),
    }))
}

fn request(conn: &mut Connection, req: Request) -> Result<Reply, Fail> {
    conn.request(req, &[]).map(|(r, _)| r).map_err(|e| {
        let code = if e.is_bad_input() {
            Exit::BadInput
        } else {
            Exit::Usage
        };
        Fail(code, e.to_string())
    })
}

fn list(conn: &mut Connection) -> Result<Vec<GraphStatus>, Fail> {
    match request(conn, Request::List)? {
        Reply::Graphs(g) => Ok(g),
        _ => Err(Fail::usage("the daemon answered List oddly")),
    }
}

fn finish(r: Result<(), Fail>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("ptc: error: {msg}");
            code.into()
        }
    }
}

/// `ptc ps`: every graph the daemon runs (one JSON object per line with
/// `--format json`).
pub fn ps(socket: Option<PathBuf>, json: bool) -> ExitCode {
    finish((|| {
        let mut c = connect(socket.as_deref())?;
        let graphs = list(&mut c)?;
        let mut text = String::new();
        if json {
            for g in &graphs {
                text.push_str(&ps_json(g).to_string());
                text.push('\n');
            }
        } else {
            text = table(&graphs);
        }
        // A reader that went away (`ptc ps | head -1`) is not an error.
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        Ok(())
    })())
}

/// One `ptc ps --format json` line (stable field names).
fn ps_json(g: &GraphStatus) -> serde_json::Value {
    serde_json::json!({
        "id": g.id,
        "name": g.name,
        "pid": g.pid,
        "uid": g.uid,
        "priority": g.priority,
        "gpu_share": g.gpu_share,
        "gpu_ns": g.gpu_ns,
        "frames": g.frames,
        "memory_bytes": g.memory_bytes,
        "state": g.state,
        "age_s": g.age_s,
    })
}

/// The human `ps`/`top` table.
fn table(graphs: &[GraphStatus]) -> String {
    let mut s = format!(
        "{:>5} {:<20} {:>8} {:>6} {:>4} {:>6} {:>10} {:>9} {:>9} {:<9} {:>8}\n",
        "ID", "NAME", "PID", "UID", "PRI", "GPU%", "GPU s", "FRAMES", "MEM MiB", "STATE", "AGE s"
    );
    for g in graphs {
        s.push_str(&format!(
            "{:>5} {:<20} {:>8} {:>6} {:>4} {:>6.1} {:>10.3} {:>9} {:>9.1} {:<9} {:>8.1}\n",
            g.id,
            g.name,
            g.pid,
            g.uid,
            g.priority,
            g.gpu_share * 100.0,
            g.gpu_ns as f64 / 1e9,
            g.frames,
            g.memory_bytes as f64 / (1u64 << 20) as f64,
            g.state,
            g.age_s
        ));
    }
    s
}

/// `ptc renice ID PRIORITY`.
pub fn renice(socket: Option<PathBuf>, id: u64, priority: u32) -> ExitCode {
    finish((|| {
        let mut c = connect(socket.as_deref())?;
        request(
            &mut c,
            Request::SetPriority {
                graph: id,
                priority,
            },
        )?;
        eprintln!("graph #{id}: priority {priority}");
        Ok(())
    })())
}

/// `ptc kill ID`: a run stops cleanly (its client exits 143); a push/pull
/// graph ends at once.
pub fn kill(socket: Option<PathBuf>, id: u64) -> ExitCode {
    finish((|| {
        let mut c = connect(socket.as_deref())?;
        request(&mut c, Request::Kill { graph: id })?;
        eprintln!("graph #{id}: killed");
        Ok(())
    })())
}

/// `ptc top`: the daemon and its graphs, refreshed every `interval`
/// (`iterations` times, or until Ctrl-C).
pub fn top(socket: Option<PathBuf>, interval: Duration, iterations: Option<u64>) -> ExitCode {
    use std::io::{IsTerminal, Write};
    signals::catch_stop_signals();
    finish((|| {
        let mut c = connect(socket.as_deref())?;
        let tty = std::io::stdout().is_terminal();
        let mut n = 0u64;
        loop {
            let status = match request(&mut c, Request::Status)? {
                Reply::Status(s) => s,
                _ => return Err(Fail::usage("the daemon answered Status oddly")),
            };
            let graphs = list(&mut c)?;
            let mut out = String::new();
            if tty {
                out.push_str("\x1b[H\x1b[2J");
            }
            out.push_str(&format!(
                "ptc daemon pid {} on {} — up {:.0} s, {} client(s), {} graph(s), {:.1} MiB device memory, scheduling {}\n\n",
                status.pid,
                status.device,
                status.uptime_s,
                status.clients,
                status.graphs,
                status.memory_bytes as f64 / (1u64 << 20) as f64,
                status.sched
            ));
            out.push_str(&table(&graphs));
            if !tty {
                out.push('\n');
            }
            let mut so = std::io::stdout().lock();
            let _ = so.write_all(out.as_bytes()).and_then(|_| so.flush());
            n += 1;
            if iterations.is_some_and(|k| n >= k)
                || signals::STOP.load(std::sync::atomic::Ordering::Relaxed)
            {
                return Ok(());
            }
            let until = std::time::Instant::now() + interval;
            while std::time::Instant::now() < until {
                if signals::STOP.load(std::sync::atomic::Ordering::Relaxed) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    })())
}
