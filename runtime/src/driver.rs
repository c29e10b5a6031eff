//! Drives open graphs from their sources to their sinks: what `ptc run` does.

use crate::error::{Result, RuntimeError};
use crate::io::{FrameSink, FrameSource};
use crate::runtime::{GraphId, Runtime};
use crate::sched::arbiter::Pacer;
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

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// Frames delivered per output (port, count).
    pub delivered: Vec<(String, u64)>,
    /// Frames pushed per input (port, count).
    pub pushed: Vec<(String, u64)>,
    /// Wall time.
    pub elapsed: Duration,
}

/// One graph of a multi-graph run: its id, sources and sinks.
pub struct GraphRun {
    /// The open graph.
    pub graph: GraphId,
    /// Its inputs with their sources.
    pub feeds: Vec<Feed>,
    /// Its outputs with their sinks.
    pub drains: Vec<Drain>,
}

/// Runs graph `g`: pushes source frames as input slots free up, fires
/// ready work, pulls finished frames into the sinks. Stops after `frames`
/// frames on every output (or pushed on every input, for graphs without
/// outputs), or when the sources are exhausted and nothing can run. Calls
/// `progress(frames_done)` after each delivered frame. Sinks are finished
/// (files renamed into place) only if the run succeeds.
pub fn run(
    rt: &mut Runtime,
    g: GraphId,
    feeds: &mut [Feed],
    drains: &mut [Drain],
    frames: Option<u64>,
    progress: impl FnMut(u64),
) -> Result<RunSummary> {
    let mut runs = [GraphRun {
        graph: g,
        feeds: feeds.iter_mut().map(take_feed).collect(),
        drains: drains.iter_mut().map(take_drain).collect(),
    }];
    let r = run_many(rt, &mut runs, frames, None, None, progress);
    // Hand the sources and sinks back to the caller.
    let [run] = runs;
    for (f, back) in feeds.iter_mut().zip(run.feeds) {
        *f = back;
    }
    for (d, back) in drains.iter_mut().zip(run.drains) {
        *d = back;
    }
    let mut v = r?;
    v.pop()
        .ok_or_else(|| RuntimeError::InvalidPlan("no graph was run".into()))
}

/// Placeholder for a source lent to [`run_many`] (never read).
struct Spent;

impl FrameSource for Spent {
    fn frame_size(&self) -> u64 {
        0
    }
    fn next_frame(&mut self, _dst: &mut [u8]) -> Result<bool> {
        Ok(false)
    }
}

fn take_feed(f: &mut Feed) -> Feed {
    Feed {
        port: f.port.clone(),
        source: std::mem::replace(&mut f.source, Box::new(Spent)),
    }
}

fn take_drain(d: &mut Drain) -> Drain {
    Drain {
        port: d.port.clone(),
        sink: d.sink.take(),
    }
}

/// Per-graph state of [`run_many`].
struct Progress {
    in_bufs: Vec<Vec<u8>>,
    out_bufs: Vec<Vec<u8>>,
    pushed: Vec<u64>,
    exhausted: Vec<bool>,
    delivered: Vec<u64>,
    pacers: Vec<Option<Pacer>>,
    finished: bool,
}

/// Hands every finished output frame of one graph to its sink (or discards
/// it), up to `limit` frames per output; true if any frame moved.
fn drain_outputs(rt: &mut Runtime, r: &mut GraphRun, s: &mut Progress, limit: u64) -> Result<bool> {
    let g = r.graph;
    let mut moved = false;
    for (o, d) in r.drains.iter_mut().enumerate() {
        while s.delivered[o] < limit && rt.output_ready(g, &d.port)? {
            match &mut d.sink {
                Some(k) if !k.discards() => {
                    rt.pull_into(g, &d.port, &mut s.out_bufs[o])?;
                    k.write_frame(s.delivered[o], &s.out_bufs[o])?;
                }
                _ => rt.discard(g, &d.port)?,
            }
            s.delivered[o] += 1;
            moved = true;
        }
    }
    Ok(moved)
}

/// Runs several open graphs at once (each with its sources and sinks)
/// under the runtime's scheduler: `ptc run a.pt b.pt ...`.
///
/// Paced sources (`fps`) deliver frame k at `start + k/fps`; a frame that
/// finds its graph's input full is dropped and counted (as a camera
/// would), so a slow graph does not slip its schedule. Unpaced sources push
/// whenever there is room the host can write without waiting for the GPU.
/// Only finished outputs are pulled, so one graph's queued work never
/// blocks another's feeding. A graph stops after `frames` frames (on every
/// output, or pushed on every input without outputs) or when its sources
/// are exhausted; everything stops at `until`, or soon after `stop` is set
/// (e.g. from a Ctrl-C handler; checked at least once per paced frame
/// period or GPU completion): no new frames are fed, the work in flight
/// completes and its frames reach the sinks. Sinks are finished (files
/// renamed into place) only if the run succeeds.
pub fn run_many(
    rt: &mut Runtime,
    runs: &mut [GraphRun],
    frames: Option<u64>,
    until: Option<Instant>,
    stop: Option<&AtomicBool>,
    mut progress: impl FnMut(u64),
) -> Result<Vec<RunSummary>> {
    let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
    let start = Instant::now();
    let t0 = rt.clock_ns();
    let mut st = Vec::with_capacity(runs.len());
    for r in runs.iter() {
        let inputs = rt.inputs(r.graph)?;
        let outputs = rt.outputs(r.graph)?;
        let mut in_bufs = Vec::new();
        let mut pacers = Vec::new();
        for f in &r.feeds {
            let info = inputs
                .iter()
                .find(|p| p.name == f.port)
                .ok_or_else(|| RuntimeError::InvalidPlan(format!("no input `{}`", f.port)))?;
            if f.source.frame_size() != info.bytes {
                return Err(RuntimeError::WrongSize {
                    port: f.port.clone(),
                    expected: info.bytes,
                    got: f.source.frame_size(),
                    ty: info.ty.to_string(),
                });
            }
            in_bufs.push(vec![0u8; info.bytes as usize]);
            pacers.push(match f.source.fps().filter(|v| *v > 0.0) {
                Some(fps) => Some(Pacer::new(f64::from(fps), t0)?),
                None => None,
            });
        }
        let mut out_bufs = Vec::new();
        for d in &r.drains {
            let info = outputs
                .iter()
                .find(|p| p.name == d.port)
                .ok_or_else(|| RuntimeError::InvalidPlan(format!("no output `{}`", d.port)))?;
            out_bufs.push(vec![0u8; info.bytes as usize]);
        }
        st.push(Progress {
            pushed: vec![0; r.feeds.len()],
            exhausted: vec![false; r.feeds.len()],
            delivered: vec![0; r.drains.len()],
            in_bufs,
            out_bufs,
            pacers,
            finished: false,
        });
    }
    let limit = frames.unwrap_or(u64::MAX);
    let mut last_min = 0u64;
    loop {
        if until.is_some_and(|u| Instant::now() >= u) || stopped() {
            break;
        }
        let mut moved = false;
        let mut next_due: Option<u64> = None;
        // Finished outputs first: pulling them frees output slots, so the
        // step below sees every graph's next frame that can be ready.
        for (r, s) in runs.iter_mut().zip(st.iter_mut()) {
            if s.finished {
                continue;
            }
            if drain_outputs(rt, r, s, limit)? {
                moved = true;
            }
            let done = if r.drains.is_empty() {
                s.pushed.iter().copied().min().unwrap_or(0)
            } else {
                s.delivered.iter().copied().min().unwrap_or(0)
            };
            if frames.is_some() && done >= limit {
                s.finished = true;
            }
        }
        for (r, s) in runs.iter_mut().zip(st.iter_mut()) {
            if s.finished {
                continue;
            }
            let g = r.graph;
            for (i, f) in r.feeds.iter_mut().enumerate() {
                if s.exhausted[i] || s.pushed[i] >= limit {
                    continue;
                }
                if let Some(p) = &mut s.pacers[i] {
                    let now = rt.clock_ns();
                    let due = p.due(now);
                    if due == 0 {
                        next_due = Some(next_due.map_or(p.next_due(), |d| d.min(p.next_due())));
                        continue;
                    }
                    // Late frames (all due but the newest) and a frame that
                    // finds the input full are dropped, like a camera's.
                    let deliver = rt.can_push(g, &f.port)?;
                    let drop_n = if deliver { due - 1 } else { due };
                    // (Dropped frames are not generated: the source's next
                    // frame is simply delivered later.)
                    for _ in 0..drop_n {
                        p.take();
                        rt.frame_dropped(g);
                    }
                    if deliver && !s.exhausted[i] {
                        if f.source.next_frame(&mut s.in_bufs[i])? {
                            p.take();
                        } else {
                            s.exhausted[i] = true;
                        }
                    }
                    next_due = Some(next_due.map_or(p.next_due(), |d| d.min(p.next_due())));
                    if !deliver || s.exhausted[i] {
                        continue;
                    }
                } else {
                    // Only when the write will not wait for the GPU: a host
                    // blocked here cannot submit, and meanwhile this graph's
                    // last in-flight frame may finish before its next one
                    // was offered to the scheduler (it would look idle and
                    // lose its place in the fair share).
                    if !rt.can_push_now(g, &f.port)? {
                        continue;
                    }
                    if !f.source.next_frame(&mut s.in_bufs[i])? {
                        s.exhausted[i] = true;
                        continue;
                    }
                }
                rt.push(g, &f.port, &s.in_bufs[i])?;
                s.pushed[i] += 1;
                moved = true;
            }
        }
        if rt.step()? > 0 {
            moved = true;
        }
        let done_min = st
            .iter()
            .map(|s| {
                if s.delivered.is_empty() {
                    s.pushed.iter().copied().min().unwrap_or(0)
                } else {
                    s.delivered.iter().copied().min().unwrap_or(0)
                }
            })
            .min()
            .unwrap_or(0);
        if done_min > last_min {
            last_min = done_min;
            progress(done_min);
        }
        if st.iter().all(|s| s.finished) {
            break;
        }
        if !moved {
            // Sleep until a source is due, something completes, or `until`.
            let now = rt.clock_ns();
            let mut wake = next_due.map(|d| d.saturating_sub(now));
            if let Some(u) = until {
                let left = u.saturating_duration_since(Instant::now()).as_nanos() as u64;
                wake = Some(wake.map_or(left, |w| w.min(left)));
            }
            if rt.busy() {
                rt.wait_any(wake.unwrap_or(u64::MAX))?;
                continue;
            }
            match wake {
                Some(w) => {
                    std::thread::sleep(Duration::from_nanos(w));
                    continue;
                }
                None => break,
            }
        }
    }
    rt.run_until_idle()?;
    // Finished frames left in the outputs go to the sinks too.
    for (r, s) in runs.iter_mut().zip(st.iter_mut()) {
        drain_outputs(rt, r, s, limit)?;
    }
    for r in runs.iter_mut() {
        for d in r.drains.iter_mut() {
            if let Some(k) = &mut d.sink {
                k.finish()?;
            }
        }
    }
    Ok(runs
        .iter()
        .zip(&st)
        .map(|(r, s)| RunSummary {
            delivered: r
                .drains
                .iter()
                .zip(&s.delivered)
                .map(|(d, n)| (d.port.clone(), *n))
                .collect(),
            pushed: r
                .feeds
                .iter()
                .zip(&s.pushed)
                .map(|(f, n)| (f.port.clone(), *n))
                .collect(),
            elapsed: start.elapsed(),
        })
        .collect())
}
