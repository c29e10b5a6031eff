//! Drives one open graph from its sources to its sinks: what `ptc run` does.

use crate::error::{Result, RuntimeError};
use crate::io::{FrameSink, FrameSource};
use crate::runtime::{GraphId, Runtime};
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
    mut progress: impl FnMut(u64),
) -> Result<RunSummary> {
    let start = Instant::now();
    let inputs = rt.inputs(g)?;
    let outputs = rt.outputs(g)?;
    let mut in_bufs: Vec<Vec<u8>> = Vec::new();
    for f in feeds.iter() {
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
    }
    let mut out_bufs: Vec<Vec<u8>> = Vec::new();
    for d in drains.iter() {
        let info = outputs
            .iter()
            .find(|p| p.name == d.port)
            .ok_or_else(|| RuntimeError::InvalidPlan(format!("no output `{}`", d.port)))?;
        out_bufs.push(vec![0u8; info.bytes as usize]);
    }
    let mut pushed = vec![0u64; feeds.len()];
    let mut exhausted = vec![false; feeds.len()];
    let mut delivered = vec![0u64; drains.len()];
    let limit = frames.unwrap_or(u64::MAX);
    let mut last_min = 0u64;
    loop {
        let mut moved = false;
        let mut next_due: Option<Instant> = None;
        for (i, f) in feeds.iter_mut().enumerate() {
            if exhausted[i] || pushed[i] >= limit {
                continue;
            }
            if let Some(fps) = f.source.fps().filter(|v| *v > 0.0) {
                let due = start + Duration::from_secs_f64(pushed[i] as f64 / f64::from(fps));
                if Instant::now() < due {
                    next_due = Some(next_due.map_or(due, |d: Instant| d.min(due)));
                    continue;
                }
            }
            if !rt.can_push(g, &f.port)? {
                continue;
            }
            if !f.source.next_frame(&mut in_bufs[i])? {
                exhausted[i] = true;
                continue;
            }
            rt.push(g, &f.port, &in_bufs[i])?;
            pushed[i] += 1;
            moved = true;
        }
        if rt.step()? > 0 {
            moved = true;
        }
        for (o, d) in drains.iter_mut().enumerate() {
            while delivered[o] < limit && rt.has_output(g, &d.port)? {
                match &mut d.sink {
                    Some(s) if !s.discards() => {
                        rt.pull_into(g, &d.port, &mut out_bufs[o])?;
                        s.write_frame(delivered[o], &out_bufs[o])?;
                    }
                    _ => rt.discard(g, &d.port)?,
                }
                delivered[o] += 1;
                moved = true;
            }
        }
        let done = if drains.is_empty() {
            pushed.iter().copied().min().unwrap_or(0)
        } else {
            delivered.iter().copied().min().unwrap_or(0)
        };
        if done > last_min {
            last_min = done;
            progress(done);
        }
        if frames.is_some() && done >= limit {
            break;
        }
        if !moved {
            if let Some(due) = next_due {
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                continue;
            }
            break;
        }
    }
    rt.run_until_idle()?;
    for d in drains.iter_mut() {
        if let Some(s) = &mut d.sink {
            s.finish()?;
        }
    }
    Ok(RunSummary {
        delivered: drains
            .iter()
            .zip(&delivered)
            .map(|(d, n)| (d.port.clone(), *n))
            .collect(),
        pushed: feeds
            .iter()
            .zip(&pushed)
            .map(|(f, n)| (f.port.clone(), *n))
            .collect(),
        elapsed: start.elapsed(),
    })
}
