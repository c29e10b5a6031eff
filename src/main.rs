//! `ptc`: the command-line interface. Thin: parses arguments and calls the
//! compiler and runtime crates.
//!
//! Exit codes: 0 clean (warnings allowed), 1 errors in the input (or
//! warnings with `--deny-warnings`), 2 usage or I/O errors.

mod lsp;

use clap::{Parser, Subcommand, ValueEnum};
use ptc_compiler::diag::{render, sarif, Code, Severity};
use ptc_compiler::{check_file, Options, Report};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

mod compile;
mod daemon_cmd;
mod exit;
mod remote;
mod run;
mod signals;

/// Declarative dataflow-graph compiler and launcher for GPU compute.
#[derive(Parser)]
#[command(name = "ptc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Diagnostic output formats.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Graphical reports with source snippets (colour on a terminal).
    Human,
    /// One JSON object per diagnostic, one per line (schema in docs/cli.md).
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// One SARIF 2.1.0 log for all files (GitHub code scanning, IDEs).
    Sarif,
}

#[derive(Subcommand)]
// Parsed once per process: the size of the `Run` variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Check .pt files and report diagnostics.
    Check {
        /// The .pt files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Treat warnings as errors (exit code 1).
        #[arg(long)]
        deny_warnings: bool,
        /// Extra directory to resolve `kernel "..."` paths against (repeatable).
        #[arg(long = "kernel-path", value_name = "DIR")]
        kernel_paths: Vec<PathBuf>,
        /// Only check the graph, not the kernels (no GLSL compilation).
        #[arg(long)]
        skip_kernels: bool,
        /// Override a `const` of the file (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        sets: Vec<(String, String)>,
    },
    /// Print a picture of a graph.
    Graph {
        /// The .pt file.
        file: PathBuf,
        /// Graphviz `dot` output (the only format for now).
        #[arg(long, required = true)]
        dot: bool,
        /// Extra directory to resolve `kernel "..."` paths against (repeatable).
        #[arg(long = "kernel-path", value_name = "DIR")]
        kernel_paths: Vec<PathBuf>,
        /// Override a `const` of the file (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        sets: Vec<(String, String)>,
    },
    /// Check a .pt file and write its plan (YAML, SPIR-V embedded).
    Compile {
        /// The .pt file.
        file: PathBuf,
        /// Where to write the plan (`-` for standard output).
        #[arg(short, long, value_name = "PLAN")]
        output: PathBuf,
        /// Extra directory to resolve `kernel "..."` paths against (repeatable).
        #[arg(long = "kernel-path", value_name = "DIR")]
        kernel_paths: Vec<PathBuf>,
        /// Override a `const` of the file (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        sets: Vec<(String, String)>,
    },
    /// Run graphs (.pt) or compiled plans (.yaml) on the GPU; several at
    /// once share it by priority.
    ///
    /// Exit code 0 ok, 1 bad input (graph, plan or data), 2 usage, I/O or device
    /// errors, 130 stopped by Ctrl-C (cleanly: outputs and stats written).
    Run(run::RunArgs),
    /// List the Vulkan devices ptc can use.
    Devices,
    /// Run the system service: own the device and run every program's
    /// graphs under one scheduler (priorities hold between programs).
    ///
    /// Stops cleanly on SIGTERM/SIGINT (graphs are terminated, clients told).
    Daemon(daemon_cmd::DaemonArgs),
    /// List the graphs the daemon runs.
    Ps {
        /// `human` (a table) or `json` (one object per graph per line).
        #[arg(long, default_value = "human", value_parser = ["human", "json"])]
        format: String,
        /// The daemon's socket (default: $PTC_SOCKET, the user's, the system's).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// Change a daemon graph's priority (your own graphs; root: any).
    Renice {
        /// Graph id (see `ptc ps`).
        id: u64,
        /// New priority, 1..=100 (above 50 needs privilege or a config rule).
        priority: u32,
        /// The daemon's socket.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// End a daemon graph (your own graphs; root: any).
    Kill {
        /// Graph id (see `ptc ps`).
        id: u64,
        /// The daemon's socket.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// A live view of the daemon and its graphs.
    Top {
        /// The daemon's socket.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Refresh interval (e.g. `1s`, `500ms`).
        #[arg(long, default_value = "1s")]
        interval: String,
        /// Stop after this many refreshes (default: until Ctrl-C).
        #[arg(short = 'n', long)]
        iterations: Option<u64>,
    },
    /// Run the language server on stdin/stdout (for editors).
    Lsp,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            files,
            format,
            deny_warnings,
            kernel_paths,
            skip_kernels,
            sets,
        } => {
            let opts = Options {
                kernel_paths,
                skip_kernels,
                sets,
            };
            check(&files, format, deny_warnings, &opts)
        }
        Command::Graph {
            file,
            dot: _,
            kernel_paths,
            sets,
        } => {
            let opts = Options {
                kernel_paths,
                skip_kernels: true,
                sets,
            };
            graph_dot(&file, &opts)
        }
        Command::Compile {
            file,
            output,
            kernel_paths,
            sets,
        } => {
            let opts = ptc_compiler::Options {
                kernel_paths,
                skip_kernels: false,
                sets,
            };
            compile::run(&file, &output, &opts, plain_render)
        }
        Command::Run(args) => run::run(args, &plain_render),
        Command::Devices => run::devices(),
        Command::Daemon(args) => daemon_cmd::daemon(args),
        Command::Ps { format, socket } => daemon_cmd::ps(socket, format == "json"),
        Command::Renice {
            id,
            priority,
            socket,
        } => daemon_cmd::renice(socket, id, priority),
        Command::Kill { id, socket } => daemon_cmd::kill(socket, id),
        Command::Top {
            socket,
            interval,
            iterations,
        } => match run::parse_duration(&interval) {
            Ok(d) => daemon_cmd::top(socket, d, iterations),
            Err(exit::Fail(code, msg)) => {
                eprintln!("ptc: error: {}", msg.replace("--duration", "--interval"));
                code.into()
            }
        },
        Command::Lsp => ExitCode::from(lsp::run()),
    }
}

/// `NAME=VALUE` of `--set` (the value is checked against the const later).
pub fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() && !v.trim().is_empty() => {
            Ok((n.trim().to_string(), v.trim().to_string()))
        }
        _ => Err(format!(
            "expected NAME=VALUE (a const and a number), got `{s}`"
        )),
    }
}

fn render(report: &Report, format: Format, color: bool) -> String {
    let (p, s, d) = (&report.path, &report.source, &report.diagnostics);
    match format {
        Format::Human => render::human(
            p,
            s,
            d,
            &render::HumanStyle {
                color,
                width: terminal_width(),
            },
        ),
        Format::Json => render::json(p, s, d),
        Format::Github => render::github(p, s, d),
        Format::Sarif => sarif::render(&[(p.as_path(), s.as_str(), d.as_slice())]),
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(100)
}

fn check(files: &[PathBuf], format: Format, deny_warnings: bool, opts: &Options) -> ExitCode {
    let color = format == Format::Human && std::io::stdout().is_terminal();
    let mut stdout = std::io::stdout().lock();
    let (mut errors, mut warnings, mut io) = (0usize, 0usize, false);
    let mut reports = Vec::new();
    for f in files {
        let report = check_file(f, opts);
        for d in &report.diagnostics {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            if d.code == Code::Io {
                io = true;
            }
        }
        if format == Format::Sarif {
            // One log for all files, written at the end.
            reports.push(report);
            continue;
        }
        // A closed pipe (`ptc check ... | head`) is not an error worth a panic.
        let _ = stdout.write_all(render(&report, format, color).as_bytes());
    }
    if format == Format::Sarif {
        let entries: Vec<_> = reports
            .iter()
            .map(|r| {
                (
                    r.path.as_path(),
                    r.source.as_str(),
                    r.diagnostics.as_slice(),
                )
            })
            .collect();
        let _ = writeln!(stdout, "{}", sarif::render(&entries));
    }
    let _ = stdout.flush();
    if format == Format::Human {
        eprintln!(
            "checked {} file{}: {errors} error{}, {warnings} warning{}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
        );
    }
    if io {
        ExitCode::from(2)
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn graph_dot(file: &std::path::Path, opts: &Options) -> ExitCode {
    let report = check_file(file, opts);
    let Some(module) = report.module.as_ref().filter(|_| !report.has_errors()) else {
        let color = std::io::stderr().is_terminal();
        eprint!("{}", render(&report, Format::Human, color));
        let io = report.diagnostics.iter().any(|d| d.code == Code::Io);
        return ExitCode::from(if io { 2 } else { 1 });
    };
    // A reader that went away (`ptc graph --dot | head`) is not an error.
    let _ = std::io::stdout()
        .lock()
        .write_all(ptc_compiler::dot::to_dot(module).as_bytes());
    ExitCode::SUCCESS
}

/// Human-readable diagnostics for commands that write them to stderr.
fn plain_render(r: &ptc_compiler::Report) -> String {
    render(r, Format::Human, std::io::stderr().is_terminal())
}
