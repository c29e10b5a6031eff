//! `ptc`: the command-line interface. Thin: parses arguments and calls the
//! compiler and runtime crates.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod compile;
mod run;

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
    /// Run a graph (.pt) or a compiled plan (.yaml) on the GPU.
    ///
    /// Exit code 0 ok, 1 bad input (graph, plan or data), 2 usage, I/O or device errors.
    Run {
        /// The .pt file or plan .yaml.
        file: PathBuf,
        /// Feed input PORT from FILE (.npy checked against the port, else raw
        /// little-endian frames); overrides the graph's `from` clause. Repeatable.
        #[arg(long = "input", value_name = "PORT=FILE")]
        inputs: Vec<String>,
        /// Write output PORT to FILE (.npy, else raw bytes), all frames. Repeatable.
        #[arg(long = "output", value_name = "PORT=FILE")]
        outputs: Vec<String>,
        /// Stop after N frames.
        #[arg(long, value_name = "N")]
        frames: Option<u64>,
        /// Enable the Vulkan validation layer with synchronization validation
        /// (also PTC_VALIDATE=1); any message fails the run.
        #[arg(long)]
        validate: bool,
        /// Device by index or name (see `ptc devices`).
        #[arg(long, value_name = "NAME|INDEX")]
        device: Option<String>,
        /// Copy graph inputs/outputs through staging buffers (also PTC_FORCE_STAGING=1).
        #[arg(long)]
        force_staging: bool,
        /// Extra directory to resolve `kernel "..."` paths against (repeatable).
        #[arg(long = "kernel-path", value_name = "DIR")]
        kernel_paths: Vec<PathBuf>,
    },
    /// List the Vulkan devices ptc can use.
    Devices,
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
        Command::Run {
            file,
            inputs,
            outputs,
            frames,
            validate,
            device,
            force_staging,
            kernel_paths,
        } => run::run(
            run::RunArgs {
                file,
                inputs,
                outputs,
                frames,
                validate,
                device,
                force_staging,
                kernel_paths,
            },
            &plain_render,
        ),
        Command::Devices => run::devices(),
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
