//! `ptc daemon`: listens on a Unix socket, owns the device, runs clients'
//! graphs under one scheduler.
//!
//! Threads: the caller's thread runs the [`engine`] (the only one touching
//! the device); an acceptor thread takes connections; each connection has a
//! reader and a writer thread ([`conn`]).

pub mod conn;
pub mod engine;

use crate::policy::Config;
use engine::{Command, ConnId, Engine};
use ptc_runtime::{Runtime, RuntimeOptions, Session};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// How to run the daemon.
pub struct DaemonOptions {
    /// Where to listen (ignored under socket activation).
    pub socket: PathBuf,
    /// Socket mode 0666 (any local user may connect) instead of 0600.
    pub public: bool,
    /// The policy.
    pub config: Config,
    /// The device and scheduler (validation, device choice, scheduling mode).
    pub runtime: RuntimeOptions,
    /// Set (by a SIGTERM/SIGINT handler) to stop the daemon cleanly.
    pub stop: Arc<AtomicBool>,
    /// Builds the sources and sinks of clients' runs: the runtime's
    /// built-ins plus the program's factories (`ptc daemon` registers the
    /// gesture pipeline's `from camera(...)`).
    pub io: ptc_runtime::io::IoRegistry,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Socket trouble (already in use, no permission, ...).
    #[error("{0}")]
    Socket(String),
    /// The device could not be opened.
    #[error("{0}")]
    Device(#[from] ptc_runtime::RuntimeError),
}

/// A listening socket and whether this process created its file.
struct Listening {
    listener: UnixListener,
    /// The path to remove at exit (not under socket activation).
    owned: Option<PathBuf>,
    shown: String,
}

/// Takes a socket from systemd (`LISTEN_FDS`/`LISTEN_PID`, fd 3), if any.
fn activated() -> Result<Option<UnixListener>, ServeError> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(None);
    }
    fds.take_unix_listener(0)
        .map_err(|e| ServeError::Socket(format!("socket activation: {e}")))
}

/// Binds `path`: refuses if a daemon already answers there or if the path
/// is something other than a socket; removes a stale socket file.
fn bind(path: &Path, public: bool) -> Result<Listening, ServeError> {
    let shown = path.display().to_string();
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_socket() {
            return Err(ServeError::Socket(format!(
                "`{shown}` exists and is not a socket; remove it or pass another --socket"
            )));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(ServeError::Socket(format!(
                "a daemon already listens at `{shown}` (stop it first, or pass another --socket)"
            )));
        }
        std::fs::remove_file(path)
            .map_err(|e| ServeError::Socket(format!("cannot remove stale `{shown}`: {e}")))?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| {
                ServeError::Socket(format!("cannot create `{}`: {e}", dir.display()))
            })?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| ServeError::Socket(format!("cannot listen at `{shown}`: {e}")))?;
    let mode = if public { 0o666 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| ServeError::Socket(format!("cannot set the mode of `{shown}`: {e}")))?;
    Ok(Listening {
        listener,
        owned: Some(path.to_path_buf()),
        shown,
    })
}

/// Runs the daemon until `opts.stop` is set. Returns after every graph
/// ended and clients were told.
pub fn serve(opts: DaemonOptions) -> Result<(), ServeError> {
    let rt = Runtime::new(&opts.runtime)?;
    let device = rt.device().name.clone();
    let welcome = conn::Welcome {
        device: device.clone(),
        validation: opts.runtime.validate,
        sched: opts.runtime.sched.mode.to_string(),
    };
    let listening = match activated()? {
        Some(listener) => Listening {
            listener,
            owned: None,
            shown: "the socket systemd passed".into(),
        },
        None => bind(&opts.socket, opts.public)?,
    };
    eprintln!(
        "ptc daemon: pid {}, device {device}, listening at {} ({}), scheduling {}",
        std::process::id(),
        listening.shown,
        if opts.public { "public" } else { "owner only" },
        opts.runtime.sched.mode
    );
    let (tx, rx) = std::sync::mpsc::channel::<Command>();
    let engine_tx = tx.clone();
    let listener = listening
        .listener
        .try_clone()
        .map_err(|e| ServeError::Socket(e.to_string()))?;
    std::thread::Builder::new()
        .name("ptc-accept".into())
        .spawn(move || accept(listener, tx, welcome))
        .map_err(|e| ServeError::Socket(e.to_string()))?;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let mut engine = Engine::new(Session::new(rt), opts.config, engine_tx).with_io(opts.io);
    engine.run(&rx, &opts.stop);
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    if let Some(p) = listening.owned {
        let _ = std::fs::remove_file(p);
    }
    let msgs = engine.validation_messages();
    if !msgs.is_empty() {
        eprintln!(
            "ptc daemon: {} validation message(s) were reported",
            msgs.len()
        );
    }
    eprintln!("ptc daemon: stopped");
    Ok(())
}

fn accept(listener: UnixListener, engine: std::sync::mpsc::Sender<Command>, info: conn::Welcome) {
    let mut next = 1u64;
    for stream in listener.incoming() {
        let Ok(sock) = stream else { continue };
        let id = ConnId(next);
        next += 1;
        if let Err(e) = conn::spawn(id, sock, engine.clone(), info.clone()) {
            eprintln!("ptc daemon: client #{}: cannot serve it: {e}", id.0);
        }
    }
}
