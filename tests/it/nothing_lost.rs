//! `ptc run` never loses or half-writes data: every frame fed reaches the
//! sinks (also under CPU load), outputs that are not regular files are
//! written in place, conflicting outputs are refused up front, a failed run
//! leaves no new file, signals stop cleanly with 128+N, a second signal
//! kills at once without leftovers, and a stop is honoured within its
//! bound even during a long dispatch.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common;
use common::root;

fn scratch(name: &str) -> PathBuf {
    common::scratch("ptc-lost", name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn entries(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A graph of `n`-element saxpy (`z = 2x + y`) written into `dir`.
fn saxpy_pt(dir: &Path, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(root().join("graphs/saxpy2.pt"))
        .expect("saxpy2.pt")
        .replace("1048576", &n.to_string());
    let p = dir.join("saxpy.pt");
    std::fs::write(&p, text).expect("write graph");
    p
}

/// `frames` frames of `n` f32 each, frame k element i = k * n + i.
fn write_stack(path: &Path, frames: usize, n: usize) -> Vec<f32> {
    use npyz::WriterBuilder;
    let data: Vec<f32> = (0..frames * n).map(|v| (v % 1_000_003) as f32).collect();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[frames as u64, n as u64])
        .writer(std::io::BufWriter::new(
            std::fs::File::create(path).expect("create npy"),
        ))
        .begin_nd()
        .expect("npy header");
    w.extend(data.iter().copied()).expect("npy data");
    w.finish().expect("npy finish");
    data
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let f = npyz::NpyFile::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("output exists"),
    ))
    .expect("valid npy");
    let shape = f.shape().to_vec();
    (shape, f.into_vec::<f32>().expect("f32 data"))
}

fn run(args: &[&str]) -> (i32, String) {
    common::ptc(&[&["run", "--kernel-path", s(&root())], args].concat())
}

/// Two threads spinning for as long as the guard lives (a busy machine).
struct Load(
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    Vec<std::thread::JoinHandle<()>>,
);

impl Load {
    fn start(threads: usize) -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let hs = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Load(stop, hs)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        for h in self.1.drain(..) {
            let _ = h.join();
        }
    }
}

#[test]
fn many_tiny_frames_all_arrive_under_cpu_load() {
    if !common::has_vulkan() {
        return;
    }
    let d = scratch("stress");
    let n = 4;
    let frames = 12_000;
    let pt = saxpy_pt(&d, n);
    let x = write_stack(&d.join("x.npy"), frames, n);
    let y = write_stack(&d.join("y.npy"), frames, n);
    let _load = Load::start(2);
    for round in 0..3 {
        let out = d.join(format!("z{round}.npy"));
        let (c, e) = run(&[
            s(&pt),
            "--input",
            &format!("x={}", s(&d.join("x.npy"))),
            "--input",
            &format!("y={}", s(&d.join("y.npy"))),
            "--output",
            &format!("z={}", s(&out)),
        ]);
        assert_eq!(c, 0, "round {round}: {e}");
        assert!(
            e.contains(&format!("z: {frames} frames")),
            "round {round}: {e}"
        );
        let (shape, z) = read_npy(&out);
        assert_eq!(shape, vec![frames as u64, n as u64], "round {round}");
        for (i, v) in z.iter().enumerate() {
            assert_eq!(*v, 2.0 * x[i] + y[i], "round {round}: z[{i}]");
        }
    }
}

#[test]
fn outputs_that_are_not_regular_files_are_written_in_place() {
    if !common::has_vulkan() {
        return;
    }
    use std::os::unix::fs::FileTypeExt;
    let d = scratch("inplace");
    let n = 16;
    let pt = saxpy_pt(&d, n);
    write_stack(&d.join("x.npy"), 3, n);
    write_stack(&d.join("y.npy"), 3, n);
    let inputs = [
        "--input".to_string(),
        format!("x={}", s(&d.join("x.npy"))),
        "--input".to_string(),
        format!("y={}", s(&d.join("y.npy"))),
    ];
    let go = |out: &Path| {
        let mut a: Vec<&str> = vec![s(&pt)];
        a.extend(inputs.iter().map(String::as_str));
        let o = format!("z={}", s(out));
        a.extend(["--output", &o]);
        run(&a)
    };
    // /dev/null stays the system's null device.
    let (c, e) = go(Path::new("/dev/null"));
    assert_eq!(c, 0, "{e}");
    assert!(std::fs::symlink_metadata("/dev/null")
        .expect("/dev/null")
        .file_type()
        .is_char_device());
    // A device node of our own (root only: mknod), the null device again.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let node = d.join("nulldev");
        let c_node = std::ffi::CString::new(s(&node)).expect("path");
        // SAFETY: a valid path; makedev(1, 3) is /dev/null's number.
        let rc =
            unsafe { libc::mknod(c_node.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        if rc == 0 {
            let (c, e) = go(&node);
            assert_eq!(c, 0, "{e}");
            assert!(std::fs::symlink_metadata(&node)
                .expect("node")
                .file_type()
                .is_char_device());
        }
    }
    // A FIFO: its reader gets every frame, and it stays a FIFO.
    let fifo = d.join("pipe.bin");
    let c_fifo = std::ffi::CString::new(s(&fifo)).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).expect("read fifo"))
    };
    let (c, e) = go(&fifo);
    assert_eq!(c, 0, "{e}");
    assert_eq!(reader.join().expect("reader").len(), 3 * n * 4);
    assert!(std::fs::symlink_metadata(&fifo)
        .expect("fifo")
        .file_type()
        .is_fifo());
    // A symlink: the target is written, the link stays a link.
    let target = d.join("real.bin");
    std::fs::write(&target, b"old").expect("target");
    let link = d.join("link.bin");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let (c, e) = go(&link);
    assert_eq!(c, 0, "{e}");
    assert!(std::fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).expect("target").len(), 3 * n * 4);
}

/// `--output z=/dev/stdout` with standard output redirected to a file:
/// `>>` appends after what the file held (the descriptor the shell set up
/// is used, not the file reopened and truncated), `>` holds exactly the
/// frames; saxpy's large (256 KiB) frames and small ones alike.
#[test]
fn standard_output_redirected_to_a_file_is_appended_to_with_append() {
    if !common::has_vulkan() {
        return;
    }
    let d = scratch("stdout-append");
    for n in [16usize, 65536] {
        let pt = saxpy_pt(&d, n);
        let xs = write_stack(&d.join("x.npy"), 3, n);
        write_stack(&d.join("y.npy"), 3, n);
        // saxpy: z = 2x + y, and here y = x.
        let want: Vec<u8> = xs.iter().flat_map(|x| (3.0 * x).to_le_bytes()).collect();
        for append in [true, false] {
            let out = d.join("out.log");
            std::fs::write(&out, b"earlier output\n").expect("log");
            let file = std::fs::OpenOptions::new()
                .append(append)
                .write(true)
                .truncate(!append)
                .open(&out)
                .expect("open log");
            let o = common::command()
                .args(["run", "--local", "--kernel-path", s(&root()), s(&pt)])
                .arg("--input")
                .arg(format!("x={}", s(&d.join("x.npy"))))
                .arg("--input")
                .arg(format!("y={}", s(&d.join("y.npy"))))
                .args(["--output", "z=/dev/stdout"])
                .stdout(file)
                .output()
                .expect("run");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let got = std::fs::read(&out).expect("log");
            let head: &[u8] = if append { b"earlier output\n" } else { b"" };
            assert_eq!(got.len(), head.len() + want.len(), "n {n}, append {append}");
            assert!(
                got.starts_with(head),
                "n {n}, append {append}: the log's start was lost"
            );
            assert!(
                got[head.len()..] == want[..],
                "n {n}, append {append}: frames"
            );
        }
    }
}

#[test]
fn conflicting_outputs_are_refused_before_the_run() {
    let d = scratch("conflict");
    let n = 16;
    let pt = saxpy_pt(&d, n);
    write_stack(&d.join("x.npy"), 2, n);
    write_stack(&d.join("y.npy"), 2, n);
    let xi = format!("x={}", s(&d.join("x.npy")));
    let yi = format!("y={}", s(&d.join("y.npy")));
    let same = d.join("same.npy");
    // Output and --stats to one file.
    let (c, e) = run(&[
        s(&pt),
        "--input",
        &xi,
        "--input",
        &yi,
        "--output",
        &format!("z={}", s(&same)),
        "--stats",
        &format!("{}/./same.npy", s(&d)),
    ]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("both write"), "{e}");
    // An output over an input.
    let (c, e) = run(&[
        s(&pt),
        "--input",
        &xi,
        "--input",
        &yi,
        "--output",
        &format!("z={}", s(&d.join("x.npy"))),
    ]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("which input `x` reads"), "{e}");
    // Two graphs given the same output path.
    let pt2 = d.join("saxpy_b.pt");
    std::fs::write(
        &pt2,
        std::fs::read_to_string(&pt)
            .expect("graph")
            .replace("graph saxpy2", "graph saxpy_b"),
    )
    .expect("second graph");
    let (c, e) = run(&[
        s(&pt),
        s(&pt2),
        "--input",
        &xi,
        "--input",
        &yi,
        "--output",
        &format!("z={}", s(&same)),
    ]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("both write"), "{e}");
    assert_eq!(
        entries(&d),
        ["saxpy.pt", "saxpy_b.pt", "x.npy", "y.npy"],
        "nothing created"
    );
}

#[test]
fn a_run_that_fails_late_leaves_no_new_file() {
    if !common::has_vulkan() {
        return;
    }
    let d = scratch("late");
    let n = 16;
    let pt = saxpy_pt(&d, n);
    write_stack(&d.join("y.npy"), 100, n);
    let out = d.join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    // x comes from a pipe that ends in the middle of frame 3: the run fails
    // after two good frames went to the sinks.
    let mut child = common::command()
        .args(["run", "--kernel-path", s(&root()), s(&pt)])
        .args(["--input", "x=/dev/stdin"])
        .arg("--input")
        .arg(format!("y={}", s(&d.join("y.npy"))))
        .arg("--output")
        .arg(format!("z={}", s(&out.join("z.npy"))))
        .arg("--stats")
        .arg(out.join("stats.json"))
        .arg("--trace")
        .arg(out.join("trace.json"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ptc");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(&vec![0u8; n * 4 * 2 + 6])
            .expect("write stdin");
    }
    let o = child.wait_with_output().expect("wait");
    let e = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{e}");
    assert!(e.contains("mid-frame"), "{e}");
    assert!(entries(&out).is_empty(), "left behind: {:?}", entries(&out));
}

#[test]
fn truncated_npy_is_refused_at_open_naming_file_and_port() {
    let d = scratch("truncated");
    let n = 16;
    let pt = saxpy_pt(&d, n);
    write_stack(&d.join("x.npy"), 3, n);
    write_stack(&d.join("y.npy"), 3, n);
    let bytes = std::fs::read(d.join("y.npy")).expect("npy");
    std::fs::write(d.join("y.npy"), &bytes[..bytes.len() - 10]).expect("truncate");
    let (c, e) = run(&[
        s(&pt),
        "--input",
        &format!("x={}", s(&d.join("x.npy"))),
        "--input",
        &format!("y={}", s(&d.join("y.npy"))),
        "--output",
        &format!("z={}", s(&d.join("z.npy"))),
    ]);
    assert_eq!(c, 1, "{e}");
    assert!(
        e.contains("port `y`") && e.contains("y.npy") && e.contains("truncated"),
        "{e}"
    );
    assert!(!d.join("z.npy").exists());
}

#[test]
fn user_supplied_sizes_are_bounded() {
    let d = scratch("bounded");
    // A camera script from an endless file.
    let t0 = Instant::now();
    let (c, e) = run(&["graphs/gesture.pt", "--script", "/dev/zero"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("larger than 1024 KiB"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(60));
    // A keyframe far in the future.
    let script = d.join("far.txt");
    std::fs::write(&script, "0 none\n1e308 0.5 0.5 900\n").expect("script");
    let (c, e) = run(&["graphs/gesture.pt", "--script", s(&script)]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("beyond 86400"), "{e}");
    // Durations that would overflow.
    for flag in ["--duration", "--max-batch"] {
        let (c, e) = run(&["graphs/sched/tick120.pt", flag, "1e300s"]);
        assert_eq!(c, 2, "{flag}: {e}");
        assert!(e.contains("longer than a year"), "{flag}: {e}");
    }
}

/// Starts `ptc run ARGS` with stderr piped; returns once it prints its
/// "running" line.
fn start(args: &[&str]) -> (std::process::Child, common::Lines) {
    let mut child = common::command()
        .args(["run", "--kernel-path", s(&root())])
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ptc");
    let stderr = child.stderr.take().expect("stderr");
    let lines = common::wait_for_line(stderr, "ptc: running");
    (child, lines)
}

fn signal(child: &std::process::Child, sig: libc::c_int) {
    // SAFETY: sends a signal to a child this test spawned and still owns.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

#[test]
fn sigterm_and_sighup_stop_cleanly_with_stats() {
    if !common::has_vulkan() {
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    let d = scratch("sigterm");
    for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let stats = d.join(format!("stats{sig}.json"));
        let (mut child, lines) = start(&[
            "graphs/sched/tick120.pt",
            "--duration",
            "120s",
            "--stats",
            s(&stats),
        ]);
        std::thread::sleep(Duration::from_millis(500));
        signal(&child, sig);
        let status = child.wait().expect("wait");
        let e = lines.join();
        assert_eq!(status.code(), Some(code), "{status:?} {e}");
        assert!(status.signal().is_none());
        assert!(e.contains("ptc: stopped by"), "{e}");
        let text = std::fs::read_to_string(&stats).expect("stats written");
        assert!(text.contains("\"tick120\""), "{text}");
    }
}

#[test]
fn a_second_signal_kills_at_once_and_leaves_nothing() {
    if !common::has_vulkan() {
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    let d = scratch("twice");
    let (mut child, _lines) = start(&[
        "graphs/sched/tick120.pt",
        "graphs/sched/matmul_load.pt",
        "--duration",
        "120s",
        "--stats",
        s(&d.join("stats.json")),
        "--output",
        &format!("smooth={}", s(&d.join("smooth.npy"))),
    ]);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGINT);
    signal(&child, libc::SIGINT);
    let status = child.wait().expect("wait");
    // Either the second signal found the default disposition (killed by
    // it), or the first clean stop had already finished (exit 130).
    assert!(
        status.signal() == Some(libc::SIGINT) || status.code() == Some(130),
        "{status:?}"
    );
    if status.signal().is_some() {
        assert!(entries(&d).is_empty(), "left behind: {:?}", entries(&d));
    }
}

/// A graph whose one dispatch runs for about a minute on lavapipe (a huge
/// grid of invocations each looping a little: llvmpipe caps the iterations
/// of a single loop, not the size of a grid).
fn long_dispatch_graph(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("spin.comp"),
        r#"#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) buffer B { float b[]; };
void main() {
    float v = a[0];
    for (uint i = 0u; i < 2000u; i++) { v = v * 0.999 + 1.0; }
    if (gl_GlobalInvocationID.x == 0u && gl_GlobalInvocationID.y == 0u) { b[0] = v; }
}
"#,
    )
    .expect("kernel");
    let pt = dir.join("spin.pt");
    std::fs::write(
        &pt,
        r#"graph spin {
    input  x: f32[1] from zeros;
    output y: f32[1] to null;
    ptask spin {
        kernel "spin.comp";
        in  a: f32[1];
        out b: f32[1];
        grid [65536, 4096];
    }
    x -> spin.a;
    spin.b -> y;
}
"#,
    )
    .expect("graph");
    pt
}

#[test]
fn a_stop_is_honoured_within_its_bound_during_a_long_dispatch() {
    if !common::has_vulkan() {
        return;
    }
    let d = scratch("longdispatch");
    let pt = long_dispatch_graph(&d);
    let stats = d.join("stats.json");
    let (mut child, lines) = start(&[s(&pt), "--stats", s(&stats)]);
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    signal(&child, libc::SIGINT);
    let status = child.wait().expect("wait");
    let took = t0.elapsed();
    let e = lines.join();
    assert_eq!(status.code(), Some(130), "{e}");
    assert!(e.contains("gave up on the work still on the GPU"), "{e}");
    assert!(took < Duration::from_secs(8), "stop took {took:?}: {e}");
    assert!(stats.exists(), "stats written");
}
