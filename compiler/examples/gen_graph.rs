//! Prints a generated graph of N ptasks (a chain of fan-out/fan-in blocks):
//! `cargo run --example gen_graph -- 10000 > big.pt`, then
//! `ptc check big.pt --kernel-path .` from the project root.

#[path = "../benches/gen/mod.rs"]
mod gen;

fn main() -> std::process::ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "10000".into());
    let Ok(n) = arg.parse::<usize>() else {
        eprintln!("usage: gen_graph N   (N = number of ptasks, e.g. 10000)");
        return std::process::ExitCode::from(2);
    };
    print!("{}", gen::graph(n));
    std::process::ExitCode::SUCCESS
}
