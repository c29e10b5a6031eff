//! Clean stops: the first SIGINT, SIGTERM or SIGHUP asks the running
//! command to stop (it finishes the work in flight, writes its outputs and
//! statistics, and exits 128 + the signal's number); a second one of any of
//! them kills the process at once (it then dies *by* that signal, which a
//! parent tells apart from the clean exit with `WIFSIGNALED`).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by the first stop signal.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// The first stop signal's number (0: none yet).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    if SIGNAL
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        STOP.store(true, Ordering::SeqCst);
    }
    for s in STOP_SIGNALS {
        // SAFETY: `signal` is async-signal-safe on Linux (glibc implements
        // it with `sigaction`); restoring the default makes the next stop
        // signal end the process at once.
        unsafe { libc::signal(s, libc::SIG_DFL) };
    }
}

/// Installs the handlers (once per process).
pub fn catch_stop_signals() {
    #[cfg(unix)]
    for s in STOP_SIGNALS {
        // SAFETY: the handler only touches atomics and resets dispositions,
        // all async-signal-safe; `on_signal` has the C ABI and signature
        // `signal` expects.
        unsafe {
            libc::signal(
                s,
                on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
}

/// The stop signal received, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Records a stop as if signal `sig` had arrived (a run that the daemon's
/// `ptc kill` ended exits like one stopped by SIGTERM).
pub fn record_external(sig: i32) {
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
}

/// A short name for a stop signal (`Ctrl-C`, `SIGTERM`, `SIGHUP`).
pub fn describe(sig: i32) -> &'static str {
    #[cfg(unix)]
    match sig {
        libc::SIGINT => return "Ctrl-C (SIGINT)",
        libc::SIGTERM => return "SIGTERM",
        libc::SIGHUP => return "SIGHUP",
        _ => {}
    }
    let _ = sig;
    "a signal"
}
