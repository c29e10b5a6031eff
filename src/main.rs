//! `ptc`: the command-line interface. Thin: parses arguments and calls the
//! compiler and runtime crates.

mod lsp;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Run the language server on stdin/stdout (for editors).
    Lsp,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files } => {
            eprintln!("not yet: {} files", files.len());
            ExitCode::from(2)
        }
        Command::Lsp => ExitCode::from(lsp::run()),
    }
}
