//! What a frame costs through the daemon against in-process, for the
//! library's push/pull API (`GraphHost`): `saxpy2` (two 4 MiB inputs, one
//! 4 MiB output per frame) and a chain of 64 dispatches on 4 KiB frames.
//! In-process and daemon rounds alternate in one run; the table gives the
//! median ms per frame of each and their ratio.
//!
//! ```text
//! cargo build --release && target/release/ptc daemon --socket /tmp/ptc-bench.sock &
//! cargo run --release --example daemon_cost -- /tmp/ptc-bench.sock [FRAMES] [ROUNDS]
//! ```

use ptc_daemon::client::{client_socket, Client, Connection};
use ptc_runtime::{GraphHost, Runtime, RuntimeOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

type R<T> = Result<T, Box<dyn std::error::Error>>;

/// A benchmark case: name, plan, input frames by port, the output port.
type Case<'a> = (
    &'a str,
    &'a ptc_plan::Plan,
    Vec<(&'a str, Vec<u8>)>,
    &'a str,
);

fn compile(name: &str, text: String) -> R<ptc_plan::Plan> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("graphs").join(name);
    let r = ptc_compiler::check_source(&path, text, &ptc_compiler::Options::default());
    r.plan
        .ok_or_else(|| format!("{name}: {:?}", r.diagnostics).into())
}

/// `n` ptasks `s0 -> s1 -> ... ` each scaling a f32[1024] by 1.0001.
fn chain(n: usize) -> String {
    let mut t =
        String::from("graph chain64 {\n    input x: f32[1024];\n    output y: f32[1024];\n");
    for i in 0..n {
        t += &format!(
            "    ptask s{i} {{ kernel \"kernels/scale.comp\"; in a: f32[1024]; param k: f32 = 1.0001; out b: f32[1024]; }}\n"
        );
    }
    t += "    x -> s0.a;\n";
    for i in 1..n {
        t += &format!("    s{}.b -> s{i}.a;\n", i - 1);
    }
    t += &format!("    s{}.b -> y;\n}}\n", n - 1);
    t
}

/// Runs `frames` frames through `host`; ms per frame.
fn frames(
    host: &mut dyn GraphHost,
    plan: &ptc_plan::Plan,
    inputs: &[(&str, Vec<u8>)],
    output: &str,
    frames: usize,
) -> R<f64> {
    let g = host.open_graph(plan)?;
    // One warm-up frame (pipelines, first-touch of memory).
    for (p, b) in inputs {
        host.push(g, p, b)?;
    }
    host.pull(g, output)?;
    let t0 = Instant::now();
    for _ in 0..frames {
        for (p, b) in inputs {
            host.push(g, p, b)?;
        }
        let out = host.pull(g, output)?;
        std::hint::black_box(out);
    }
    let ms = t0.elapsed().as_secs_f64() * 1e3 / frames as f64;
    host.terminate(g)?;
    Ok(ms)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().collect();
    let socket = PathBuf::from(
        args.get(1)
            .ok_or("usage: daemon_cost SOCKET [FRAMES] [ROUNDS]")?,
    );
    let n_frames: usize = args.get(2).map_or(Ok(30), |s| s.parse())?;
    let rounds: usize = args.get(3).map_or(Ok(5), |s| s.parse())?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let saxpy = compile(
        "saxpy2.pt",
        std::fs::read_to_string(root.join("graphs/saxpy2.pt"))?,
    )?;
    let chain = compile("chain64.pt", chain(64))?;
    let f32s = |n: usize| {
        (0..n)
            .flat_map(|i| (i as f32).to_le_bytes())
            .collect::<Vec<u8>>()
    };
    let cases: Vec<Case> = vec![
        (
            "saxpy2 (2 x 4 MiB in, 4 MiB out)",
            &saxpy,
            vec![("x", f32s(1 << 20)), ("y", f32s(1 << 20))],
            "z",
        ),
        (
            "chain of 64 dispatches (4 KiB)",
            &chain,
            vec![("x", f32s(1024))],
            "y",
        ),
    ];
    let mut local: Box<dyn GraphHost> = Box::new(Runtime::new(&RuntimeOptions::default())?);
    let conn = Connection::connect(&client_socket(Some(&socket)).paths[0])?;
    println!("daemon at {} on {}", socket.display(), conn.device);
    let mut remote: Box<dyn GraphHost> = Box::new(Client::new(conn));
    println!("| graph | in-process ms/frame | daemon ms/frame | daemon / in-process |");
    println!("|---|---|---|---|");
    for (name, plan, inputs, out) in &cases {
        let (mut l, mut d) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            l.push(frames(local.as_mut(), plan, inputs, out, n_frames)?);
            d.push(frames(remote.as_mut(), plan, inputs, out, n_frames)?);
        }
        let (l, d) = (median(&mut l), median(&mut d));
        println!("| {name} | {l:.3} | {d:.3} | {:.3} |", d / l);
    }
    Ok(())
}
