//! A run session: open graphs driven from their sources to their sinks
//! under the runtime's scheduler — what `ptc run` does, and what the daemon
//! does for its clients.
//!
//! [`Session::add`] attaches a graph's sources ([`Feed`]) and sinks
//! ([`Drain`]) with its [`RunLimits`]; ports are resolved once to handles.
//! [`Session::poll`] makes one non-blocking pass over every run (finished
//! outputs to their sinks, source frames into free input slots, ready work
//! to the scheduler) and [`Session::wait`] blocks until something can move;
//! [`Session::run`] loops the two until every run has ended.
//! [`Session::report`] is the scheduler's `--stats` report with what the
//! host spent: CPU time of the thread in [`Session::run`] and of the
//! process, and per graph the time in its sources and sinks.
//!
//! # When a run ends (nothing lost)
//!
//! A run **stops feeding** when its sources are exhausted, after
//! `frames` frames, at its deadline, or on [`Session::stop`]. It then
//! **drains**: frames already fed still run and reach the sinks. After a
//! limit or a stop, a graph that feeds itself through a seeded cycle is
//! held once every fed frame has been consumed, so it does not run on;
//! after its sources are exhausted it runs on as long as it can fire (so a
//! seeded cycle with `sticky` inputs runs until a limit). It **ends** only when it is
//! quiescent — nothing of it on the GPU, nothing it may still fire, no
//! finished output left for a sink — a state that cannot change by
//! itself, so the check has no race with the GPU. A running graph that
//! reaches that state while a source still has frames (its other input ran
//! out first) ends too; the frames fed but never consumed are reported in
//! [`RunSummary::unconsumed`]. Sinks are finished (files completed and
//! renamed into place) only when a run ends without error.

use crate::error::{Result, RuntimeError};
use crate::io::{FramePoll, FrameSink, FrameSource};
use crate::runtime::{GraphId, InputPort, OutputPort, Runtime};
use crate::sched::arbiter::Pacer;
use crate::sched::stats::{GraphHostReport, HostReport, StatsReport};
use crate::sched::Nanos;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A graph input with the source that feeds it.
pub struct Feed {
    /// Input port name.
    pub port: String,
    /// Its frames.
    pub source: Box<dyn FrameSource>,
}

/// A graph output with the sink that takes it (`None`: pull and drop).
pub struct Drain {
    /// Output port name.
    pub port: String,
    /// Where its frames go.
    pub sink: Option<Box<dyn FrameSink>>,
}

/// When a run stops feeding by itself.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RunLimits {
    /// After this many frames on every output (on every input for a graph
    /// without outputs).
    pub frames: Option<u64>,
    /// At this instant.
    pub deadline: Option<Instant>,
    /// Feed paced sources (`from camera(fps: N)`, `rate: N`) as fast as
    /// the graph takes their frames instead of in real time: no frame is
    /// dropped and none waits for its time (tests, offline processing).
    pub unpaced: bool,
}

/// Why a run stopped feeding.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Its sources were exhausted (or could feed nothing more).
    Exhausted,
    /// It delivered its `frames`.
    Frames,
    /// Its deadline passed.
    Deadline,
    /// [`Session::stop`] (e.g. Ctrl-C, or the daemon's `kill`).
    Stopped,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// The graph.
    pub graph: GraphId,
    /// Frames delivered per output (port, count).
    pub delivered: Vec<(String, u64)>,
    /// Frames pushed per input (port, count).
    pub pushed: Vec<(String, u64)>,
    /// Frames pushed to an input that no ptask consumed before the run
    /// ended (port, count; only nonzero entries): another input ran out
    /// first, or the run was abandoned.
    pub unconsumed: Vec<(String, u64)>,
    /// Wall time from [`Session::add`] to the end.
    pub elapsed: Duration,
    /// Why it stopped feeding.
    pub end: EndReason,
}

/// Identifies a run of a [`Session`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RunId(usize);

impl RunId {
    /// The id as a number.
    pub fn index(self) -> usize {
        self.0
    }
}

struct FeedState {
    port: InputPort,
    name: String,
    source: Box<dyn FrameSource>,
    buf: Vec<u8>,
    pushed: u64,
    exhausted: bool,
    pacer: Option<Pacer>,
}

struct DrainState {
    port: OutputPort,
    name: String,
    sink: Option<Box<dyn FrameSink>>,
    delivered: u64,
}

struct RunState {
    graph: GraphId,
    feeds: Vec<FeedState>,
    drains: Vec<DrainState>,
    limits: RunLimits,
    /// `Some` once the run stopped feeding.
    stopping: Option<EndReason>,
    held: bool,
    started: Instant,
    /// Time in its sources and sinks.
    io: GraphHostReport,
}

impl RunState {
    /// Frames done: delivered on every output, else pushed on every input.
    fn done(&self) -> u64 {
        if self.drains.is_empty() {
            self.feeds.iter().map(|f| f.pushed).min().unwrap_or(0)
        } else {
            self.drains.iter().map(|d| d.delivered).min().unwrap_or(0)
        }
    }

    fn limit(&self) -> u64 {
        self.limits.frames.unwrap_or(u64::MAX)
    }

    fn stop(&mut self, why: EndReason) {
        if self.stopping.is_none() {
            self.stopping = Some(why);
        }
    }
}

/// What one [`Session::poll`] pass saw, for [`Session::wait`].
#[derive(Copy, Clone, Debug, Default)]
pub struct Pass {
    /// Something moved (a frame fed or delivered, work submitted, a run
    /// ended): poll again before waiting.
    pub moved: bool,
    /// When the next paced source frame is due (scheduler clock).
    pub next_due: Option<Nanos>,
    /// The earliest deadline of a run still feeding.
    pub deadline: Option<Instant>,
    /// A sink's thread holds a lent output frame ([`Runtime::lend_port`]):
    /// its return signals nothing, so a waiting caller should look again
    /// within [`Pass::LEND_POLL`].
    pub lending: bool,
}

impl Pass {
    /// How long a caller waits at most while [`Pass::lending`].
    pub const LEND_POLL: Duration = Duration::from_micros(500);
}

/// Open graphs with their sources and sinks, run together. See the module docs.
pub struct Session {
    rt: Runtime,
    runs: Vec<Option<RunState>>,
    ended: Vec<(RunId, Result<RunSummary>)>,
    abandoned: bool,
    /// What [`Session::run`] cost the host so far.
    host: HostReport,
    /// Source and sink costs of ended runs, by graph.
    io_ended: Vec<(GraphId, GraphHostReport)>,
}

impl Session {
    /// A session over `rt` (which may already hold graphs driven by hand).
    pub fn new(rt: Runtime) -> Session {
        Session {
            rt,
            runs: Vec::new(),
            ended: Vec::new(),
            abandoned: false,
            host: HostReport::default(),
            io_ended: Vec::new(),
        }
    }

    /// The runtime (stats, device, buffers).
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// The runtime, mutably (open and terminate graphs, priorities).
    pub fn runtime_mut(&mut self) -> &mut Runtime {
        &mut self.rt
    }

    /// Gives the runtime back.
    pub fn into_runtime(self) -> Runtime {
        self.rt
    }

    /// The scheduler's statistics ([`Runtime::sched_report`]) with what
    /// the host spent: the CPU time of the thread while in
    /// [`Session::run`] and of the whole process meanwhile, frames done,
    /// and per graph of this session the time in its sources and sinks
    /// (schema in [`crate::sched::stats`]).
    pub fn report(&self) -> StatsReport {
        let mut r = self.rt.sched_report();
        let mut frames = 0;
        for g in &mut r.graphs {
            let mine = self
                .runs
                .iter()
                .flatten()
                .filter(|run| run.graph.index() as u64 == g.id)
                .map(|run| {
                    let mut io = run.io.clone();
                    io.frames = run.done();
                    io
                })
                .chain(
                    self.io_ended
                        .iter()
                        .filter(|(id, _)| id.index() as u64 == g.id)
                        .map(|(_, io)| io.clone()),
                )
                .reduce(|mut a, b| {
                    a.frames += b.frames;
                    a.frames_in += b.frames_in;
                    a.source_ns += b.source_ns;
                    a.frames_out += b.frames_out;
                    a.sink_ns += b.sink_ns;
                    a.sink_cpu_ns += b.sink_cpu_ns;
                    a
                });
            if let Some(io) = &mine {
                frames += io.frames;
            }
            g.host = mine;
        }
        let mut host = self.host.clone();
        host.frames = frames;
        host.thread_cpu_ns_per_frame = host.thread_cpu_ns.checked_div(frames).unwrap_or(0);
        r.host = Some(host);
        r
    }

    /// What [`Session::run`] has cost the host so far (see
    /// [`Session::report`]; `frames` is filled in there).
    pub fn host_usage(&self) -> &HostReport {
        &self.host
    }

    /// Attaches open graph `graph`'s sources and sinks: ports resolved and
    /// frame sizes checked now. The run starts with the next [`Session::poll`].
    pub fn add(
        &mut self,
        graph: GraphId,
        feeds: Vec<Feed>,
        drains: Vec<Drain>,
        limits: RunLimits,
    ) -> Result<RunId> {
        if self.runs.iter().flatten().any(|r| r.graph == graph) {
            return Err(RuntimeError::InvalidPlan(format!(
                "graph #{} already has a run",
                graph.index()
            )));
        }
        let t0 = self.rt.clock_ns();
        let mut fs = Vec::with_capacity(feeds.len());
        for f in feeds {
            let port = self.rt.input_port(graph, &f.port)?;
            let info = self.rt.input_info(port)?;
            if f.source.frame_size() != info.bytes {
                return Err(RuntimeError::WrongSize {
                    port: f.port,
                    expected: info.bytes,
                    got: f.source.frame_size(),
                    ty: info.ty.to_string(),
                });
            }
            let pacer = match f.source.fps().filter(|v| *v > 0.0 && !limits.unpaced) {
                Some(fps) => Some(Pacer::new(f64::from(fps), t0)?),
                None => None,
            };
            fs.push(FeedState {
                port,
                buf: vec![0u8; info.bytes as usize],
                name: f.port,
                source: f.source,
                pushed: 0,
                exhausted: false,
                pacer,
            });
        }
        let mut ds = Vec::with_capacity(drains.len());
        for d in drains {
            let port = self.rt.output_port(graph, &d.port)?;
            ds.push(DrainState {
                port,
                name: d.port,
                sink: d.sink,
                delivered: 0,
            });
        }
        self.runs.push(Some(RunState {
            graph,
            feeds: fs,
            drains: ds,
            limits,
            stopping: None,
            held: false,
            started: Instant::now(),
            io: GraphHostReport::default(),
        }));
        Ok(RunId(self.runs.len() - 1))
    }

    /// Stops feeding run `id`: frames already fed still complete and reach
    /// the sinks, then it ends.
    pub fn stop(&mut self, id: RunId) {
        if let Some(Some(r)) = self.runs.get_mut(id.0) {
            r.stop(EndReason::Stopped);
        }
    }

    /// Removes run `id` at once, its sinks unfinished (no new file) and
    /// without a summary; its graph is held (nothing more fires) and stays
    /// open until the caller terminates it. For a client that went away.
    pub fn cancel(&mut self, id: RunId) {
        if let Some(r) = self.runs.get_mut(id.0).and_then(Option::take) {
            let _ = self.rt.set_held(r.graph, true);
        }
    }

    /// [`Session::stop`] for every run.
    pub fn stop_all(&mut self) {
        for r in self.runs.iter_mut().flatten() {
            r.stop(EndReason::Stopped);
        }
    }

    /// The graph of run `id`, while it has not ended.
    pub fn graph_of(&self, id: RunId) -> Option<GraphId> {
        self.runs
            .get(id.0)
            .and_then(|r| r.as_ref())
            .map(|r| r.graph)
    }

    /// Frames done so far by run `id` (see [`RunLimits::frames`]).
    pub fn frames_done(&self, id: RunId) -> Option<u64> {
        self.runs
            .get(id.0)
            .and_then(|r| r.as_ref())
            .map(RunState::done)
    }

    /// True once [`Session::abandon`] gave up on work still on the GPU.
    pub fn abandoned(&self) -> bool {
        self.abandoned
    }

    /// Number of runs that have not ended.
    pub fn live(&self) -> usize {
        self.runs.iter().flatten().count()
    }

    /// Runs that ended since the last call, with what they did (or why
    /// they failed). Their graphs stay open: terminate them with
    /// [`Runtime::terminate`] when done with them.
    pub fn take_ended(&mut self) -> Vec<(RunId, Result<RunSummary>)> {
        std::mem::take(&mut self.ended)
    }

    /// One non-blocking pass over every run (see the module docs). An error
    /// of one run's source or sink ends that run with the error (see
    /// [`Session::take_ended`]); an error of the device is returned.
    pub fn poll(&mut self) -> Result<Pass> {
        let mut pass = Pass::default();
        // Frames that sinks' threads have written free their slots.
        pass.moved |= self.rt.reclaim_lent();
        let now = Instant::now();
        for i in 0..self.runs.len() {
            let Some(r) = self.runs[i].as_mut() else {
                continue;
            };
            if r.stopping.is_none() && r.limits.deadline.is_some_and(|d| now >= d) {
                r.stop(EndReason::Deadline);
            }
            let step = drain_outputs(&mut self.rt, r).and_then(|moved| {
                if r.limits.frames.is_some() && r.done() >= r.limit() {
                    r.stop(EndReason::Frames);
                }
                let fed = if r.stopping.is_none() {
                    feed_inputs(&mut self.rt, r, &mut pass)?
                } else {
                    false
                };
                Ok(moved || fed)
            });
            match step {
                Ok(m) => pass.moved |= m,
                Err(e) => {
                    pass.moved = true;
                    self.end(i, Err(e), false);
                    continue;
                }
            }
            if let Some(Some(r)) = self.runs.get(i) {
                if r.stopping.is_none() {
                    if let Some(d) = r.limits.deadline {
                        pass.deadline = Some(pass.deadline.map_or(d, |p| p.min(d)));
                    }
                }
            }
        }
        if self.rt.step()? > 0 {
            pass.moved = true;
        }
        // End checks after the step: ready work has been offered.
        for r in self.runs.iter().flatten() {
            pass.lending |= self.rt.graph_lending(r.graph)?;
        }
        for i in 0..self.runs.len() {
            let Some(r) = self.runs[i].as_mut() else {
                continue;
            };
            match settle(&mut self.rt, r) {
                Ok(false) => {}
                Ok(true) => {
                    pass.moved = true;
                    self.end(i, Ok(()), false);
                }
                Err(e) => {
                    pass.moved = true;
                    self.end(i, Err(e), false);
                }
            }
        }
        Ok(pass)
    }

    /// Blocks until a paced frame is due, some GPU work completes, a
    /// deadline passes, or `max` elapses (whichever is first).
    pub fn wait(&mut self, pass: &Pass, max: Option<Duration>) -> Result<()> {
        let now = self.rt.clock_ns();
        let mut wake: Option<u64> = pass.next_due.map(|d| d.saturating_sub(now));
        let cap = |w: Option<u64>, d: Duration| {
            let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            Some(w.map_or(d, |w| w.min(d)))
        };
        if let Some(dl) = pass.deadline {
            wake = cap(wake, dl.saturating_duration_since(Instant::now()));
        }
        if let Some(m) = max {
            wake = cap(wake, m);
        }
        if pass.lending {
            wake = cap(wake, Pass::LEND_POLL);
        }
        if self.rt.busy() {
            self.rt.wait_any(wake.unwrap_or(u64::MAX))?;
        } else {
            // Nothing on the GPU: a source is due later, or something the
            // GPU does not signal (a staged upload, a sink's queue) moves
            // soon; nap briefly rather than spin.
            let nap = wake.unwrap_or(200_000).min(200_000_000);
            std::thread::sleep(Duration::from_nanos(nap));
        }
        Ok(())
    }

    /// Runs until every run has ended. `stop` (e.g. set by a signal
    /// handler) stops them all, checked at least every 50 ms; once stopped,
    /// runs get `grace` to drain, after which they are abandoned (see
    /// [`Session::abandon`]). `progress(frames)` is called when the fewest
    /// frames done by any run grows. Returns every run's outcome, in the
    /// order they were added.
    pub fn run(
        &mut self,
        stop: Option<&AtomicBool>,
        grace: Duration,
        mut progress: impl FnMut(u64),
    ) -> Result<Vec<(RunId, Result<RunSummary>)>> {
        let (t0, c0, p0) = (
            Instant::now(),
            crate::cpu::thread_cpu_ns(),
            crate::cpu::process_cpu_ns(),
        );
        let r = self.run_loop(stop, grace, &mut progress);
        self.host.wall_ns += t0.elapsed().as_nanos() as u64;
        self.host.thread_cpu_ns += crate::cpu::thread_cpu_ns().saturating_sub(c0);
        self.host.process_cpu_ns += crate::cpu::process_cpu_ns().saturating_sub(p0);
        r
    }

    fn run_loop(
        &mut self,
        stop: Option<&AtomicBool>,
        grace: Duration,
        progress: &mut impl FnMut(u64),
    ) -> Result<Vec<(RunId, Result<RunSummary>)>> {
        let mut outcomes = Vec::new();
        let mut stop_at: Option<Instant> = None;
        let mut last = 0;
        let poll_every = stop.map(|_| Duration::from_millis(50));
        loop {
            if stop_at.is_none() && stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                self.stop_all();
                stop_at = Some(Instant::now());
            }
            let pass = self.poll()?;
            outcomes.extend(self.take_ended());
            let done = self.runs.iter().flatten().map(RunState::done).min();
            if let Some(d) = done.filter(|d| *d > last) {
                last = d;
                progress(d);
            }
            if self.live() == 0 {
                break;
            }
            if stop_at.is_some_and(|t| t.elapsed() >= grace) {
                outcomes.extend(self.abandon());
                break;
            }
            if !pass.moved {
                self.wait(&pass, poll_every)?;
            }
        }
        outcomes.sort_by_key(|(id, _)| id.0);
        Ok(outcomes)
    }

    /// Ends every run now, without waiting for the GPU: the frames already
    /// delivered are kept (sinks finished); frames fed but not delivered
    /// are lost and counted in [`RunSummary::unconsumed`]. The runtime must then not
    /// wait for its graphs either (a dispatch may still be running): the
    /// caller ends the process (`ptc run` after a stop's grace period).
    pub fn abandon(&mut self) -> Vec<(RunId, Result<RunSummary>)> {
        self.abandoned = true;
        for i in 0..self.runs.len() {
            if let Some(r) = self.runs[i].as_mut() {
                r.stop(EndReason::Stopped);
                self.end(i, Ok(()), true);
            }
        }
        self.take_ended()
    }

    /// Ends run `i`: on success its sinks are finished and its summary
    /// recorded; on error the sinks are dropped unfinished (no new file).
    /// `abandoned`: frames fed but not delivered count as unconsumed.
    fn end(&mut self, i: usize, status: Result<()>, abandoned: bool) {
        let Some(mut r) = self.runs.get_mut(i).and_then(Option::take) else {
            return;
        };
        // A failed run's graph must not fire on (it may feed itself).
        let _ = self.rt.set_held(r.graph, true);
        // Graphs whose statistics were forgotten (a daemon's) go here too.
        let rt = &self.rt;
        self.io_ended.retain(|(g, _)| rt.has_stats(*g));
        let finished = status.and_then(|()| {
            for d in &mut r.drains {
                if let Some(k) = &mut d.sink {
                    k.finish()?;
                }
            }
            Ok(())
        });
        for k in r.drains.iter_mut().filter_map(|d| d.sink.as_mut()) {
            r.io.sink_cpu_ns += k.take_thread_cpu_ns();
        }
        let mut io = r.io.clone();
        io.frames = r.done();
        self.io_ended.push((r.graph, io));
        let outcome = finished.map(|()| {
            let mut unconsumed = Vec::new();
            let delivered = r.drains.iter().map(|d| d.delivered).min();
            for f in &r.feeds {
                let n = match delivered {
                    Some(d) if abandoned => f.pushed.saturating_sub(d),
                    _ => self.rt.unconsumed(f.port).unwrap_or(0),
                };
                if n > 0 {
                    unconsumed.push((f.name.clone(), n));
                }
            }
            RunSummary {
                graph: r.graph,
                delivered: r
                    .drains
                    .iter()
                    .map(|d| (d.name.clone(), d.delivered))
                    .collect(),
                pushed: r.feeds.iter().map(|f| (f.name.clone(), f.pushed)).collect(),
                unconsumed,
                elapsed: r.started.elapsed(),
                end: r.stopping.unwrap_or(EndReason::Exhausted),
            }
        });
        self.ended.push((RunId(i), outcome));
    }
}

/// Hands every finished output frame of run `r` to its sink (or discards
/// it), up to its frame limit; true if any frame moved.
fn drain_outputs(rt: &mut Runtime, r: &mut RunState) -> Result<bool> {
    let limit = r.limit();
    let mut moved = false;
    for d in &mut r.drains {
        while d.delivered < limit && rt.output_port_ready(d.port)? {
            let t = Instant::now();
            match &mut d.sink {
                Some(k) if !k.discards() => {
                    if !k.ready() {
                        break;
                    }
                    // Written from the output slot itself: no copy (lent
                    // to the sink's thread where it has one).
                    let c = crate::cpu::thread_cpu_ns();
                    let n = d.delivered;
                    if k.takes_lent() {
                        let f = rt.lend_port(d.port)?;
                        k.write_lent(n, f)?;
                    } else {
                        rt.pull_port_with(d.port, |bytes| k.write_frame(n, bytes))??;
                    }
                    r.io.sink_cpu_ns +=
                        crate::cpu::thread_cpu_ns().saturating_sub(c) + k.take_thread_cpu_ns();
                }
                _ => rt.discard_port(d.port)?,
            }
            r.io.sink_ns += t.elapsed().as_nanos() as u64;
            r.io.frames_out += 1;
            d.delivered += 1;
            moved = true;
        }
    }
    Ok(moved)
}

/// Feeds run `r`'s inputs where a slot is free (paced sources when due);
/// true if a frame was pushed. Stops feeding when every source is done.
fn feed_inputs(rt: &mut Runtime, r: &mut RunState, pass: &mut Pass) -> Result<bool> {
    let limit = r.limit();
    let mut moved = false;
    for f in &mut r.feeds {
        if f.exhausted || f.pushed >= limit {
            continue;
        }
        if let Some(p) = &mut f.pacer {
            let now = rt.clock_ns();
            let due = p.due(now);
            if due > 0 {
                // Late frames (all due but the newest) and a frame that
                // finds the input full are dropped, like a camera's (they
                // are not generated: the source's next frame simply comes
                // later).
                let deliver = rt.can_push_port(f.port)?;
                let drop_n = if deliver { due - 1 } else { due };
                for _ in 0..drop_n {
                    p.take();
                    rt.frame_dropped(r.graph);
                }
                if deliver {
                    let t = Instant::now();
                    match f.source.poll_frame(&mut f.buf)? {
                        FramePoll::Ready => {
                            p.take();
                            rt.push_port(f.port, &f.buf)?;
                            f.pushed += 1;
                            r.io.frames_in += 1;
                            moved = true;
                        }
                        FramePoll::End => f.exhausted = true,
                        FramePoll::Pending => {}
                    }
                    r.io.source_ns += t.elapsed().as_nanos() as u64;
                }
            }
            let d = p.next_due();
            pass.next_due = Some(pass.next_due.map_or(d, |n| n.min(d)));
            continue;
        }
        // Unpaced: only when the write will not wait for the GPU. A host
        // blocked here cannot submit, and meanwhile this graph's last
        // in-flight frame may finish before its next one was offered to
        // the scheduler (it would look idle and lose its fair share).
        if !rt.can_push_port_now(f.port)? {
            continue;
        }
        let t = Instant::now();
        match f.source.poll_frame(&mut f.buf)? {
            FramePoll::Ready => {
                rt.push_port(f.port, &f.buf)?;
                f.pushed += 1;
                r.io.frames_in += 1;
                moved = true;
            }
            FramePoll::End => f.exhausted = true,
            FramePoll::Pending => {}
        }
        r.io.source_ns += t.elapsed().as_nanos() as u64;
    }
    if !r.feeds.is_empty() && r.feeds.iter().all(|f| f.exhausted || f.pushed >= limit) {
        r.stop(EndReason::Exhausted);
    }
    Ok(moved)
}

/// Decides whether run `r` has ended (see the module docs): true when it is
/// quiescent and either stopped feeding or unable to feed more.
fn settle(rt: &mut Runtime, r: &mut RunState) -> Result<bool> {
    let limited = matches!(
        r.stopping,
        Some(EndReason::Frames | EndReason::Deadline | EndReason::Stopped)
    );
    if limited && !r.held {
        // Hold the graph once every frame fed has been consumed, so a
        // graph that feeds itself does not run on. (Exhausted sources do
        // not hold it: a seeded cycle with sticky inputs runs on until a
        // limit, as it would with no sources at all.)
        let mut consumed = true;
        for f in &r.feeds {
            if rt.unconsumed(f.port)? > 0 {
                consumed = false;
                break;
            }
        }
        if consumed {
            rt.set_held(r.graph, true)?;
            r.held = true;
        }
    }
    if rt.graph_busy(r.graph)? || rt.graph_has_ready_work(r.graph)? || rt.graph_lending(r.graph)? {
        return Ok(false);
    }
    let limit = r.limit();
    for d in &r.drains {
        if d.delivered < limit && rt.output_port_ready(d.port)? {
            return Ok(false);
        }
    }
    if r.stopping.is_some() {
        return Ok(true);
    }
    // Still feeding, but quiescent: it ends if no source can add a frame
    // (each is exhausted, at its limit, or blocked by a full input that
    // nothing will consume).
    for f in &r.feeds {
        if !(f.exhausted || f.pushed >= limit || !rt.can_push_port(f.port)?) {
            return Ok(false);
        }
    }
    if r.feeds.is_empty() {
        // Fed by nothing (a seeded cycle): runs until a limit or a stop.
        return Ok(false);
    }
    r.stop(EndReason::Exhausted);
    Ok(true)
}
