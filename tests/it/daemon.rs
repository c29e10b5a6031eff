//! `ptc daemon` end to end: each test starts its own daemon on a temporary
//! socket (validation on) and drives it with the real `ptc` binary —
//! fairness between processes, outputs identical to in-process runs,
//! clients that die or misbehave, the daemon dying, the policy, the
//! library client (shared-memory push/pull), detach/ps/renice/kill.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use common::root;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A daemon on a socket of its own, stopped (SIGTERM) when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
    dir: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn start(name: &str, extra: &[&str]) -> Daemon {
        let dir = common::scratch("ptc-daemon", name);
        // World-traversable, so a second user can reach the socket.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let socket = dir.join("ptc.sock");
        let log = dir.join("daemon.log");
        let child = Command::new(env!("CARGO_BIN_EXE_ptc"))
            .current_dir(root())
            .args(["daemon", "--socket", s(&socket), "--validate"])
            .args(extra)
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start the daemon");
        let d = Daemon {
            child,
            socket,
            dir,
            log,
        };
        let t0 = Instant::now();
        while UnixStream::connect(&d.socket).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the daemon did not start: {}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `ptc SUB --socket S` (run/ps/kill/renice/top); add the rest.
    fn cmd(&self, sub: &str) -> Command {
        let mut c = common::command();
        c.args([sub, "--socket", s(&self.socket)]);
        c
    }

    /// `ptc ARGS[0] --socket S ARGS[1..]`.
    fn ptc(&self, args: &[&str]) -> (i32, String, String) {
        let o = self
            .cmd(args[0])
            .args(&args[1..])
            .output()
            .expect("run ptc");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// `ptc ps --format json`, parsed.
    fn ps(&self) -> Vec<serde_json::Value> {
        let (c, out, e) = self.ptc(&["ps", "--format", "json"]);
        assert_eq!(c, 0, "{e}");
        out.lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: signals the daemon this test started and still owns.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        self.child.wait().expect("wait for the daemon")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.stop();
        }
    }
}

fn have_vulkan() -> bool {
    common::has_vulkan()
}

/// Writes `frames` frames of `n` f32 (deterministic) as a `.npy` stack.
fn write_stack(path: &Path, frames: usize, n: usize, seed: u32) {
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[frames as u64, n as u64])
        .writer(std::io::BufWriter::new(
            std::fs::File::create(path).expect("create"),
        ))
        .begin_nd()
        .expect("header");
    let data = (0..frames * n).map(|i| ((i as u32).wrapping_mul(2654435761) ^ seed) as f32 / 4e9);
    w.extend(data).expect("data");
    w.finish().expect("finish");
}

/// A copy of the saturating matmul load named `name`, in `dir`.
fn matmul_graph(dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("graphs/sched/matmul_load.pt"))
        .expect("graph")
        .replace("graph matmul_load", &format!("graph {name}"))
        .replace(
            "\"kernels/sched_matmul.comp\"",
            &format!("{:?}", s(&root().join("kernels/sched_matmul.comp"))),
        );
    let p = dir.join(format!("{name}.pt"));
    std::fs::write(&p, text).expect("write graph");
    p
}

/// Two `ptc run` processes at priorities 20 and 10 through one daemon:
/// while both run, their GPU time grows 2:1 (within 10 % with
/// `PTC_STRICT_SHARES=1`, else 30 %). The share is
/// measured over the window where both are running (from `ptc ps`), so a
/// process that starts first and runs alone for a moment does not skew it.
#[test]
fn two_processes_share_the_gpu_by_priority_through_the_daemon() {
    if !have_vulkan() {
        return;
    }
    let d = Daemon::start("fair", &[]);
    let a = matmul_graph(&d.dir, "mm_hi");
    let b = matmul_graph(&d.dir, "mm_lo");
    let spawn = |g: &Path, pri: &str| {
        d.cmd("run")
            .args([s(g), "--priority", pri, "--duration", "30s"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("run")
    };
    let mut ca = spawn(&a, "mm_hi=20");
    let mut cb = spawn(&b, "mm_lo=10");
    let gpu = |name: &str, ps: &[serde_json::Value]| {
        ps.iter()
            .find(|g| g["name"] == name)
            .and_then(|g| g["gpu_ns"].as_f64())
    };
    // Both running and past their first frames.
    let t0 = Instant::now();
    let first = loop {
        let ps = d.ps();
        if let (Some(x), Some(y)) = (gpu("mm_hi", &ps), gpu("mm_lo", &ps)) {
            if x > 0.0 && y > 0.0 {
                std::thread::sleep(Duration::from_millis(500));
                break d.ps();
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the runs did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_secs(3));
    let last = d.ps();
    let delta = |n: &str| gpu(n, &last).unwrap_or(0.0) - gpu(n, &first).unwrap_or(0.0);
    let ratio = delta("mm_hi") / delta("mm_lo");
    for c in [&mut ca, &mut cb] {
        // SAFETY: stops the clients this test started (a clean stop).
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGINT) };
    }
    for c in [ca, cb] {
        let o = c.wait_with_output().expect("wait");
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{e}");
        assert!(e.contains("through the daemon"), "{e}");
    }
    println!("20:10 across two processes through the daemon: GPU time {ratio:.3}:1");
    let tol = common::share_tolerance(0.10, 0.30);
    assert!(
        (ratio / 2.0 - 1.0).abs() <= tol,
        "ratio {ratio:.3} (±{tol})"
    );
}

/// The same run in-process and through the daemon writes the same bytes.
#[test]
fn outputs_through_the_daemon_equal_in_process_outputs() {
    if !have_vulkan() {
        return;
    }
    let d = Daemon::start("same", &[]);
    let n = 1 << 16;
    write_stack(&d.dir.join("x.npy"), 4, n, 1);
    write_stack(&d.dir.join("y.npy"), 4, n, 2);
    let pt = d.dir.join("saxpy.pt");
    std::fs::write(
        &pt,
        std::fs::read_to_string(root().join("graphs/saxpy2.pt"))
            .expect("graph")
            .replace("1048576", &n.to_string()),
    )
    .expect("graph");
    let kp = root();
    let saxpy = |out: &Path, local: bool| {
        let mut c = if local {
            let mut c = common::command();
            c.arg("run");
            c
        } else {
            d.cmd("run")
        };
        c.args([s(&pt), "--kernel-path", s(&kp), "--validate"])
            .arg("--input")
            .arg(format!("x={}", s(&d.dir.join("x.npy"))))
            .arg("--input")
            .arg(format!("y={}", s(&d.dir.join("y.npy"))))
            .arg("--output")
            .arg(format!("z={}", s(out)));
        let o = c.output().expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(out).expect("output")
    };
    assert_eq!(
        saxpy(&d.dir.join("z_local.npy"), true),
        saxpy(&d.dir.join("z_daemon.npy"), false),
        "saxpy2"
    );
    // A seeded cycle (jacobi, 25 sweeps).
    let f = d.dir.join("f.npy");
    write_stack(&f, 1, 1000, 3);
    let f1 = d.dir.join("f1.npy");
    {
        // jacobi's input is one frame f32[1000].
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[1000])
            .writer(std::io::BufWriter::new(
                std::fs::File::create(&f1).expect("f1"),
            ))
            .begin_nd()
            .expect("header");
        w.extend((0..1000).map(|i| 1.0f32 + (i % 7) as f32))
            .expect("data");
        w.finish().expect("finish");
    }
    let jacobi = |out: &Path, local: bool| {
        let mut c = if local {
            let mut c = common::command();
            c.arg("run");
            c
        } else {
            d.cmd("run")
        };
        c.args(["graphs/jacobi.pt", "--frames", "25", "--validate"])
            .arg("--input")
            .arg(format!("f={}", s(&f1)))
            .arg("--output")
            .arg(format!("x={}", s(out)));
        let o = c.output().expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(out).expect("output")
    };
    assert_eq!(
        jacobi(&d.dir.join("x_local.npy"), true),
        jacobi(&d.dir.join("x_daemon.npy"), false),
        "jacobi"
    );
    // Gesture events on standard output (t_ms is wall-clock time: dropped).
    let events = |local: bool| {
        let mut c = if local {
            let mut c = common::command();
            c.arg("run");
            c
        } else {
            d.cmd("run")
        };
        c.args(["graphs/gesture.pt", "--frames", "30", "--unpaced"]);
        let o = c.output().expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
                v.as_object_mut().expect("object").remove("t_ms");
                v.to_string()
            })
            .collect::<Vec<_>>()
    };
    let (local, daemon) = (events(true), events(false));
    assert!(!local.is_empty(), "the hand is in view from frame 15");
    assert_eq!(local, daemon, "gesture events");
}

#[test]
fn a_killed_client_is_cleaned_up_and_others_finish() {
    if !have_vulkan() {
        return;
    }
    let d = Daemon::start("sigkill", &[]);
    let a = matmul_graph(&d.dir, "victim");
    let mut victim = d
        .cmd("run")
        .args([s(&a), "--duration", "60s"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let stderr = victim.stderr.take().expect("stderr");
    let _lines = common::wait_for_line(stderr, "through the daemon");
    let b = matmul_graph(&d.dir, "survivor");
    let survivor = d
        .cmd("run")
        .args([s(&b), "--frames", "200"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let before: Vec<_> = d.ps();
    assert!(before.iter().any(|g| g["name"] == "victim"), "{before:?}");
    // SAFETY: kills the client this test started.
    unsafe { libc::kill(victim.id() as libc::pid_t, libc::SIGKILL) };
    let _ = victim.wait();
    let t0 = Instant::now();
    loop {
        let now = d.ps();
        if !now.iter().any(|g| g["name"] == "victim") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "still listed after {:?}: {now:?}",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = survivor.wait_with_output().expect("wait");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("c: 200 frames"), "{e}");
    // Device memory back to nothing: no graph holds any.
    let t0 = Instant::now();
    loop {
        let (c, out, e) = d.ptc(&["top", "-n", "1"]);
        assert_eq!(c, 0, "{e}");
        if out.contains("0 graph(s), 0.0 MiB device memory") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{out}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn garbage_and_truncated_messages_drop_only_the_offender() {
    if !have_vulkan() {
        return;
    }
    let d = Daemon::start("garbage", &[]);
    let read_all = |mut c: UnixStream| {
        use std::io::Read;
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut v = Vec::new();
        let _ = c.read_to_end(&mut v);
        v
    };
    // Not a ptc hello at all.
    let mut c = UnixStream::connect(&d.socket).expect("connect");
    c.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("write");
    read_all(c);
    // An oversized length.
    let mut c = UnixStream::connect(&d.socket).expect("connect");
    c.write_all(&u32::MAX.to_le_bytes()).expect("write");
    read_all(c);
    // A truncated message, then the client vanishes.
    let mut c = UnixStream::connect(&d.socket).expect("connect");
    c.write_all(&[200, 0, 0, 0, 1, 2, 3]).expect("write");
    drop(c);
    // A protocol version from the future: refused with a reason.
    let c = UnixStream::connect(&d.socket).expect("connect");
    ptc_daemon::proto::send(
        &c,
        &ptc_daemon::proto::ClientMsg::Hello {
            magic: ptc_daemon::proto::MAGIC,
            version: 999,
            client: "test".into(),
        },
        &[],
    )
    .expect("send");
    let (m, _): (ptc_daemon::proto::ServerMsg, _) = ptc_daemon::proto::recv(&c).expect("an answer");
    match m {
        ptc_daemon::proto::ServerMsg::Refused { reason, .. } => {
            assert!(
                reason.contains("protocol 1") && reason.contains("999"),
                "{reason}"
            )
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    // Everyone else carries on.
    let (c, _, e) = d.ptc(&["run", "graphs/sched/tick120.pt", "--frames", "10"]);
    assert_eq!(c, 0, "{e}");
    let log = d.log_text();
    assert!(log.contains("disconnected"), "{log}");
}

#[test]
fn the_daemon_dying_fails_its_clients_clearly() {
    if !have_vulkan() {
        return;
    }
    let mut d = Daemon::start("dies", &[]);
    let a = matmul_graph(&d.dir, "orphan");
    let out = d.dir.join("c.npy");
    let mut client = d
        .cmd("run")
        .args([s(&a), "--duration", "60s", "--output"])
        .arg(format!("c={}", s(&out)))
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let stderr = client.stderr.take().expect("stderr");
    let lines = common::wait_for_line(stderr, "through the daemon");
    // SAFETY: kills the daemon this test started.
    unsafe { libc::kill(d.child.id() as libc::pid_t, libc::SIGKILL) };
    let _ = d.child.wait();
    let t0 = Instant::now();
    let status = client.wait().expect("wait");
    assert!(t0.elapsed() < Duration::from_secs(10), "no hang");
    let e = lines.join();
    assert_eq!(status.code(), Some(2), "{e}");
    assert!(e.contains("closed the connection"), "{e}");
    assert!(!out.exists(), "no output committed");
}

#[test]
fn sigterm_stops_the_daemon_and_tells_its_clients() {
    if !have_vulkan() {
        return;
    }
    let mut d = Daemon::start("sigterm", &[]);
    let a = matmul_graph(&d.dir, "busy");
    let mut client = d
        .cmd("run")
        .args([s(&a), "--duration", "60s"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let stderr = client.stderr.take().expect("stderr");
    let lines = common::wait_for_line(stderr, "through the daemon");
    let st = d.stop();
    assert_eq!(st.code(), Some(0), "{}", d.log_text());
    assert!(!d.socket.exists(), "socket removed");
    let status = client.wait().expect("wait");
    let e = lines.join();
    assert_eq!(status.code(), Some(2), "{e}");
    assert!(e.contains("shutting down"), "{e}");
}

#[test]
fn detach_ps_renice_and_kill() {
    if !have_vulkan() {
        return;
    }
    let d = Daemon::start("detach", &[]);
    let (c, out, e) = d.ptc(&["run", "graphs/sched/tick120.pt", "--detach"]);
    assert_eq!(c, 0, "{e}");
    let id: u64 = out.trim().parse().expect("the graph id on stdout");
    let g = d.ps().into_iter().find(|g| g["id"] == id).expect("listed");
    for field in [
        "id",
        "name",
        "pid",
        "uid",
        "priority",
        "gpu_share",
        "gpu_ns",
        "frames",
        "memory_bytes",
    ] {
        assert!(g.get(field).is_some(), "{field} missing: {g}");
    }
    assert_eq!(g["name"], "tick120");
    assert_eq!(g["state"], "detached");
    assert!(g["memory_bytes"].as_u64().unwrap_or(0) > 0, "{g}");
    let (c, _, e) = d.ptc(&["renice", &id.to_string(), "30"]);
    assert_eq!(c, 0, "{e}");
    let g = d.ps().into_iter().find(|g| g["id"] == id).expect("listed");
    assert_eq!(g["priority"], 30);
    // It keeps running with no client: frames grow.
    std::thread::sleep(Duration::from_millis(500));
    let later = d.ps().into_iter().find(|g| g["id"] == id).expect("listed");
    assert!(
        later["frames"].as_u64() > g["frames"].as_u64(),
        "{g} then {later}"
    );
    let (c, _, e) = d.ptc(&["kill", &id.to_string()]);
    assert_eq!(c, 0, "{e}");
    let t0 = Instant::now();
    while d.ps().iter().any(|g| g["id"] == id) {
        assert!(t0.elapsed() < Duration::from_secs(5), "still listed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (c, _, e) = d.ptc(&["kill", "999999"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("no graph #999999"), "{e}");
}

/// A detached graph's sources run in the daemon: `from camera` (crate
/// ptc-gesture, registered by `ptc daemon`) with the client's `--script`,
/// and its events equal an in-process run's.
#[test]
fn a_detached_camera_graph_runs_in_the_daemon() {
    if !have_vulkan() {
        return;
    }
    let d = Daemon::start("camera", &[]);
    let script = d.dir.join("sweep.txt");
    std::fs::write(&script, "0 0.3 0.5 900\n0.5 0.6 0.5 900\n").expect("script");
    let (detached, local) = (d.dir.join("detached.bin"), d.dir.join("local.bin"));
    let hid = |p: &Path| format!("hid={}", s(p));
    let (c, out, e) = d.ptc(&[
        "run",
        "graphs/gesture.pt",
        "--detach",
        "--script",
        s(&script),
        "--output",
        &hid(&detached),
    ]);
    assert_eq!(c, 0, "{e}");
    let id: u64 = out.trim().parse().expect("the graph id on stdout");
    // 0.5 s of script at 30 fps: 16 frames, then the graph ends.
    let t0 = Instant::now();
    while d.ps().iter().any(|g| g["id"] == id) {
        assert!(t0.elapsed() < Duration::from_secs(60), "still running");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = common::command()
        .args([
            "run",
            "--local",
            "graphs/gesture.pt",
            "--script",
            s(&script),
        ])
        .args(["--output", &hid(&local)])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (
        std::fs::read(&detached).expect("detached output"),
        std::fs::read(&local).expect("local output"),
    );
    assert_eq!(a.len(), 16 * 16 * 16, "16 frames of Event[16]");
    assert!(a.chunks_exact(16).any(|e| e[0] == 1), "a move event");
    assert!(a == b, "detached and in-process events differ");
}

#[test]
fn killing_an_attached_run_ends_its_client_like_sigterm() {
    if !have_vulkan() {
        return;
    }
    let d = Daemon::start("killrun", &[]);
    let stats = d.dir.join("stats.json");
    let mut client = d
        .cmd("run")
        .args(["graphs/sched/tick120.pt", "--duration", "60s", "--stats"])
        .arg(&stats)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let stderr = client.stderr.take().expect("stderr");
    let lines = common::wait_for_line(stderr, "through the daemon");
    let id = d.ps()[0]["id"].as_u64().expect("id");
    let (c, _, e) = d.ptc(&["kill", &id.to_string()]);
    assert_eq!(c, 0, "{e}");
    let status = client.wait().expect("wait");
    let e = lines.join();
    assert_eq!(status.code(), Some(143), "{e}");
    assert!(e.contains("ended by `ptc kill`"), "{e}");
    assert!(stats.exists(), "stats written");
}

/// The policy with a real second user (root only: `setpriv`): priorities
/// above 50 are refused, up to 50 run, another user's graphs cannot be
/// killed or reniced. Without root, the policy is tested at the API level
/// (`ptc_daemon::policy` unit tests) and this test says so.
#[test]
fn an_unprivileged_user_is_held_to_the_policy() {
    if !have_vulkan() {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/setpriv").exists() {
        println!("not root or no setpriv: policy covered by ptc_daemon::policy unit tests only");
        return;
    }
    let d = Daemon::start("policy", &["--public"]);
    let nobody = |args: &[&str]| {
        let o = Command::new("/usr/bin/setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_ptc"))
            .args(args)
            .args(["--socket", s(&d.socket)])
            .current_dir(root())
            .env("PTC_SOCKET", "/nonexistent")
            .output()
            .expect("setpriv");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (c, _, e) = nobody(&[
        "run",
        "graphs/sched/tick120.pt",
        "--frames",
        "5",
        "--priority",
        "tick120=60",
    ]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("priority 60 is above 50"), "{e}");
    let (c, _, e) = nobody(&[
        "run",
        "graphs/sched/tick120.pt",
        "--frames",
        "5",
        "--priority",
        "tick120=50",
    ]);
    assert_eq!(c, 0, "{e}");
    // Root's graph: nobody may see it but not touch it.
    let (c, out, e) = d.ptc(&["run", "graphs/sched/tick120.pt", "--detach"]);
    assert_eq!(c, 0, "{e}");
    let id = out.trim().to_string();
    let (c, out, e) = nobody(&["ps", "--format", "json"]);
    assert_eq!(c, 0, "{e}");
    assert!(out.contains("tick120"), "{out}");
    for args in [vec!["kill", id.as_str()], vec!["renice", id.as_str(), "10"]] {
        let (c, _, e) = nobody(&args);
        assert_eq!(c, 2, "{args:?}: {e}");
        assert!(e.contains("belongs to uid 0"), "{e}");
    }
    let (c, _, e) = d.ptc(&["kill", &id]);
    assert_eq!(c, 0, "{e}");
}

#[test]
fn per_user_caps_are_refused_clearly() {
    if !have_vulkan() {
        return;
    }
    let dir = common::scratch("ptc-daemon", "caps-config");
    let cfg = dir.join("daemon.yaml");
    std::fs::write(&cfg, "limits: { graphs: 1 }\n").expect("config");
    let d = Daemon::start("caps", &["--config", s(&cfg)]);
    let (c, _, e) = d.ptc(&["run", "graphs/sched/tick120.pt", "--detach"]);
    assert_eq!(c, 0, "{e}");
    let (c, _, e) = d.ptc(&["run", "graphs/sched/tick120.pt", "--frames", "3"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("limits.graphs"), "{e}");
    drop(d);
    std::fs::write(&cfg, "limits: { memory: 1MiB, frames_in_flight: 1 }\n").expect("config");
    let d = Daemon::start("caps-memory", &["--config", s(&cfg)]);
    let (c, _, e) = d.ptc(&["run", "graphs/sched/tick120.pt", "--frames", "3"]);
    assert_eq!(c, 2, "{e}");
    assert!(
        e.contains("limits.memory") && e.contains("1048576-byte limit"),
        "{e}"
    );
    // A graph within the caps runs, one job in flight at a time.
    let n = 1024;
    write_stack(&d.dir.join("x.npy"), 20, n, 1);
    write_stack(&d.dir.join("y.npy"), 20, n, 2);
    let pt = d.dir.join("small.pt");
    std::fs::write(
        &pt,
        std::fs::read_to_string(root().join("graphs/saxpy2.pt"))
            .expect("graph")
            .replace("1048576", &n.to_string()),
    )
    .expect("graph");
    let (x, y) = (
        format!("x={}", s(&d.dir.join("x.npy"))),
        format!("y={}", s(&d.dir.join("y.npy"))),
    );
    let (c, _, e) = d.ptc(&[
        "run",
        s(&pt),
        "--kernel-path",
        s(&root()),
        "--input",
        &x,
        "--input",
        &y,
    ]);
    assert_eq!(c, 0, "{e}");
    assert!(e.contains("z: 20 frames"), "{e}");
}

/// The library client: push/pull through shared memory, the same verbs as
/// the in-process runtime, chosen at run time behind `GraphHost`.
#[test]
fn the_library_client_pushes_and_pulls_through_shared_memory() {
    if !have_vulkan() {
        return;
    }
    use ptc_runtime::GraphHost;
    let d = Daemon::start("library", &[]);
    let n = 4096usize;
    let text = std::fs::read_to_string(root().join("graphs/saxpy2.pt"))
        .expect("graph")
        .replace("1048576", &n.to_string());
    let pt = root().join("graphs/saxpy2.pt");
    let report = ptc_compiler::check_source(&pt, text, &ptc_compiler::Options::default());
    let plan = report.plan.expect("saxpy compiles");
    let choice = ptc_daemon::client::client_socket(Some(&d.socket));
    let mut host: Box<dyn GraphHost> =
        ptc_daemon::client::connect_or_local(&choice, &Default::default()).expect("connect");
    let g = host.open_graph(&plan).expect("open");
    let bytes = |v: &[f32]| v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
    for frame in 0..6 {
        let x: Vec<f32> = (0..n).map(|i| (i + frame) as f32 * 0.5).collect();
        let y: Vec<f32> = (0..n).map(|i| 1.0 - i as f32).collect();
        host.push(g, "x", &bytes(&x)).expect("push x");
        host.push(g, "y", &bytes(&y)).expect("push y");
        let z = host.pull(g, "z").expect("pull z");
        for (i, c) in z.chunks_exact(4).enumerate() {
            let got = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            assert_eq!(got, 2.0 * x[i] + y[i], "frame {frame} z[{i}]");
        }
    }
    // Typed errors come back as in-process.
    let e = host.push(g, "x", &[0u8; 3]).unwrap_err().to_string();
    assert!(e.contains("takes 16384 bytes"), "{e}");
    let e = host.pull(g, "nope").unwrap_err().to_string();
    assert!(e.contains("no output port `nope`"), "{e}");
    let e = host.pull(g, "z").unwrap_err().to_string();
    assert!(e.contains("has no data"), "{e}");
    host.set_priority(g, 40).expect("renice");
    host.terminate(g).expect("terminate");
    assert!(d.ps().is_empty());
}

/// systemd socket activation: the daemon takes the listening socket it is
/// given as fd 3 (`LISTEN_FDS=1`, `LISTEN_PID` = its pid) instead of
/// binding one, and serves clients on it.
#[test]
fn socket_activation_serves_on_the_passed_socket() {
    if !have_vulkan() {
        return;
    }
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let dir = common::scratch("ptc-daemon", "activation");
    let path = dir.join("activated.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let fd = listener.as_raw_fd();
    let log = dir.join("daemon.log");
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!(
            "LISTEN_PID=$$ LISTEN_FDS=1 exec {} daemon --socket {}",
            env!("CARGO_BIN_EXE_ptc"),
            s(&dir.join("unused.sock"))
        ))
        .current_dir(root())
        .stderr(std::fs::File::create(&log).expect("log"));
    // SAFETY: between fork and exec only async-signal-safe calls: dup2 of
    // an fd this process owns onto fd 3 (the LISTEN_FDS convention).
    unsafe {
        cmd.pre_exec(move || {
            let r = if fd == 3 {
                // Already fd 3: just let it survive exec.
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("start the daemon");
    drop(listener);
    let t0 = Instant::now();
    let ok = loop {
        let (c, _, _) = {
            let o = common::command()
                .args(["ps", "--socket", s(&path)])
                .output()
                .expect("ps");
            (o.status.code().unwrap_or(-1), (), ())
        };
        if c == 0 {
            break true;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // SAFETY: stops the daemon this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(ok, "no answer on the activated socket: {text}");
    assert!(text.contains("the socket systemd passed"), "{text}");
    assert!(!dir.join("unused.sock").exists(), "it did not bind its own");
}

/// Hierarchical fair share: user A (root) runs four saturating graphs,
/// user B (uid 65534, via setpriv) one, all at the same priority: while
/// all run, each user gets half of the GPU, not 4:1. Root only (a second
/// uid is needed). Measured from `ptc ps` over the window where all run.
#[test]
fn users_share_the_gpu_equally_whatever_their_graph_counts() {
    if !have_vulkan() {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/setpriv").exists() {
        println!("not root or no setpriv: group shares covered by the scheduler's simulated tests");
        return;
    }
    let d = Daemon::start("users", &["--public"]);
    let a: Vec<PathBuf> = (0..4)
        .map(|i| matmul_graph(&d.dir, &format!("a{i}")))
        .collect();
    let b = matmul_graph(&d.dir, "b0");
    let mut ca = d.cmd("run");
    ca.args(a.iter().map(|p| s(p))).args(["--duration", "30s"]);
    let cb = Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_ptc"))
        .args(["run", "--socket", s(&d.socket), s(&b), "--duration", "30s"])
        .current_dir(root())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setpriv");
    let ca = ca.stderr(Stdio::piped()).spawn().expect("run");
    let by_uid = |ps: &[serde_json::Value], uid: u64| -> f64 {
        ps.iter()
            .filter(|g| g["uid"].as_u64() == Some(uid))
            .map(|g| g["gpu_ns"].as_f64().unwrap_or(0.0))
            .sum()
    };
    let t0 = Instant::now();
    let first = loop {
        let ps = d.ps();
        let running = ps
            .iter()
            .filter(|g| g["gpu_ns"].as_f64().unwrap_or(0.0) > 0.0)
            .count();
        if running == 5 {
            std::thread::sleep(Duration::from_millis(500));
            break d.ps();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the runs did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_secs(3));
    let last = d.ps();
    let ga = by_uid(&last, 0) - by_uid(&first, 0);
    let gb = by_uid(&last, 65534) - by_uid(&first, 65534);
    for c in [&ca, &cb] {
        // SAFETY: stops the clients this test started (a clean stop).
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGINT) };
    }
    for c in [ca, cb] {
        let o = c.wait_with_output().expect("wait");
        assert_eq!(
            o.status.code(),
            Some(130),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let share_a = ga / (ga + gb);
    println!(
        "user A (4 graphs) {:.1} %, user B (1 graph) {:.1} %",
        share_a * 100.0,
        (1.0 - share_a) * 100.0
    );
    // Per graph instead of per user would give A 0.8.
    let tol = common::share_tolerance(0.05, 0.15);
    assert!(
        (share_a - 0.5).abs() <= tol,
        "A's share {share_a:.3} (±{tol})"
    );
}

/// Ctrl-C of a `ptc run` attached to the daemon stops its graph cleanly:
/// the work in flight completes, stats are written, exit 130.
#[test]
fn ctrl_c_stops_a_run_in_the_daemon_cleanly() {
    if !have_vulkan() {
        return;
    }
    let d = Daemon::start("ctrlc", &[]);
    let stats = d.dir.join("stats.json");
    let mut client = d
        .cmd("run")
        .args(["graphs/sched/tick120.pt", "--duration", "60s", "--stats"])
        .arg(&stats)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let stderr = client.stderr.take().expect("stderr");
    let lines = common::wait_for_line(stderr, "through the daemon");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signals the client this test started.
    unsafe { libc::kill(client.id() as libc::pid_t, libc::SIGINT) };
    let status = client.wait().expect("wait");
    let e = lines.join();
    assert_eq!(status.code(), Some(130), "{e}");
    assert!(e.contains("stopped by Ctrl-C"), "{e}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).expect("stats")).expect("json");
    assert!(s["graphs"][0]["frames"].as_u64().unwrap_or(0) > 0, "{s}");
    assert!(d.ps().is_empty(), "the graph is gone");
}
