//! `ptc`: the command-line interface. Thin: parses arguments and calls the
//! compiler and runtime crates.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod compile;

/// Declarative dataflow-graph compiler and launcher for GPU compute.
#[derive(Parser)]
#[command(name = "ptc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check .pt files and report diagnostics.
    Check { files: Vec<std::path::PathBuf> },
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files } => {
            eprintln!("not yet: {} files", files.len());
            ExitCode::from(2)
        }
        Command::Compile {
            file,
            output,
            kernel_paths,
        } => {
            let opts = ptc_compiler::Options {
                kernel_paths,
                skip_kernels: false,
            };
            compile::run(&file, &output, &opts, plain_render)
        }
    }
}

/// Minimal diagnostic text until the shared renderer lands.
fn plain_render(r: &ptc_compiler::Report) -> String {
    let mut s = String::new();
    for d in &r.diagnostics {
        s.push_str(&format!(
            "{}[{}]: {}\n",
            d.severity.as_str(),
            d.code.as_str(),
            d.message
        ));
        if let Some(h) = &d.help {
            s.push_str(&format!("  help: {h}\n"));
        }
    }
    s
}
