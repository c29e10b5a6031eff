//! ptc's exit codes, in one place (the manual's CLI page lists them).

use std::process::ExitCode;

/// How a `ptc` command ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done, no errors (warnings allowed).
    Success,
    /// 1: errors in the input — the graph, plan or data (diagnostics, an
    /// invalid plan or SPIR-V, a wrong-size or wrong-dtype file), or
    /// warnings with `--deny-warnings`.
    BadInput,
    /// 2: usage, I/O, device or daemon errors (a bad flag, an unreadable or
    /// unwritable file, no Vulkan, a refused request, validation messages).
    Usage,
    /// 128 + N: stopped cleanly by signal N (SIGINT 130, SIGTERM 143,
    /// SIGHUP 129; also `ptc kill` of a graph run through the daemon: 143);
    /// outputs and stats were written.
    Signal(i32),
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::BadInput => 1,
            Exit::Usage => 2,
            Exit::Signal(n) => u8::try_from(128 + n.clamp(1, 127)).unwrap_or(255),
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// A failure with its exit code and the one-line message printed after
/// `ptc: error: `.
#[derive(Debug)]
pub struct Fail(pub Exit, pub String);

impl Fail {
    /// A usage, I/O or device failure (exit 2).
    pub fn usage(msg: impl Into<String>) -> Fail {
        Fail(Exit::Usage, msg.into())
    }

    /// A bad-input failure (exit 1).
    pub fn input(msg: impl Into<String>) -> Fail {
        Fail(Exit::BadInput, msg.into())
    }
}

impl From<ptc_runtime::RuntimeError> for Fail {
    fn from(e: ptc_runtime::RuntimeError) -> Fail {
        let code = if e.is_bad_input() {
            Exit::BadInput
        } else {
            Exit::Usage
        };
        Fail(code, e.to_string())
    }
}
