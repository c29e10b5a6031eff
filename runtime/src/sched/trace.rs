//! Chrome / Perfetto trace-event JSON (`ptc run --trace trace.json`).
//!
//! The file is `{"traceEvents": [...], "displayTimeUnit": "ms"}` and opens in
//! <https://ui.perfetto.dev> or `chrome://tracing`. Process 1, "GPU queues",
//! has one track (thread) per queue; process 2, "graphs", one track per
//! graph. Every completed job appears on both its queue's track and its
//! graph's track as a complete event (`"ph": "X"`) named after the ptask
//! (`frame` for a whole-frame batch), spanning its execution: from the GPU
//! start timestamp when the runtime supplies it, else from submission, to
//! the completion seen by the host. `args` carry graph, group, ptask, queue,
//! priority, GPU time and the ready→submit wait. Timestamps are microseconds
//! on the scheduler's clock.

use super::stats::JobRecord;
use super::GraphKey;
use crate::io::write_atomic;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const PID_QUEUES: u64 = 1;
const PID_GRAPHS: u64 = 2;

/// Collects trace events, up to a limit.
///
/// A job is kept as a compact `Span` (about 64 bytes) and becomes JSON
/// only in [`TraceRecorder::to_json`]: a daemon records up to its limit of
/// jobs all the time, and JSON values per job cost ~20 times as much.
pub struct TraceRecorder {
    limit: usize,
    queues: usize,
    graphs: BTreeMap<GraphKey, String>,
    /// Distinct (graph, ptask) name pairs, by index.
    names: Vec<(String, String)>,
    name_index: HashMap<(String, String), u32>,
    spans: Vec<Span>,
    dropped: u64,
}

/// One finished job.
struct Span {
    name: u32,
    graph: GraphKey,
    group: u64,
    queue: u32,
    weight: u32,
    start: u64,
    dur: u64,
    gpu_ns: u64,
    wait_ns: u64,
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

impl TraceRecorder {
    /// A recorder keeping at most `limit` job events (0 = record nothing).
    pub fn new(limit: usize, queues: usize) -> Self {
        TraceRecorder {
            limit,
            queues,
            graphs: BTreeMap::new(),
            names: Vec::new(),
            name_index: HashMap::new(),
            spans: Vec::new(),
            dropped: 0,
        }
    }

    /// Names a graph's track.
    pub fn add_graph(&mut self, key: GraphKey, name: &str) {
        self.graphs.insert(key, name.to_string());
    }

    /// True if events are recorded (a limit was set).
    pub fn enabled(&self) -> bool {
        self.limit > 0
    }

    /// Adds one finished job (two events: queue track and graph track).
    pub fn record(&mut self, r: &JobRecord, gpu_start: Option<u64>, names: (String, String)) {
        if self.limit == 0 {
            return;
        }
        if 2 * (self.spans.len() + 1) > self.limit {
            self.dropped += 1;
            return;
        }
        let start = gpu_start
            .unwrap_or(r.submitted)
            .clamp(r.submitted, r.done.max(r.submitted));
        let name = match self.name_index.get(&names) {
            Some(&i) => i,
            None => {
                let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
                self.names.push(names.clone());
                self.name_index.insert(names, i);
                i
            }
        };
        self.spans.push(Span {
            name,
            graph: r.graph,
            group: r.group.0,
            queue: u32::try_from(r.queue).unwrap_or(u32::MAX),
            weight: r.weight,
            start,
            dur: r.done.saturating_sub(start),
            gpu_ns: r.gpu_ns,
            wait_ns: r.submitted.saturating_sub(r.ready),
        });
    }

    /// Number of job events recorded (two per job).
    pub fn len(&self) -> usize {
        2 * self.spans.len()
    }

    /// No job events recorded.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The whole trace document.
    pub fn to_json(&self) -> Value {
        let mut ev = Vec::with_capacity(self.len() + self.graphs.len() + self.queues + 2);
        let meta = |pid: u64, tid: Option<u64>, kind: &str, name: &str| {
            let mut m = json!({"name": kind, "ph": "M", "pid": pid, "args": {"name": name}});
            if let (Some(t), Some(o)) = (tid, m.as_object_mut()) {
                o.insert("tid".into(), json!(t));
            }
            m
        };
        ev.push(meta(PID_QUEUES, None, "process_name", "GPU queues"));
        ev.push(meta(PID_GRAPHS, None, "process_name", "graphs"));
        for q in 0..self.queues {
            ev.push(meta(
                PID_QUEUES,
                Some(q as u64),
                "thread_name",
                &format!("queue {q}"),
            ));
        }
        for (k, name) in &self.graphs {
            ev.push(meta(PID_GRAPHS, Some(k.0), "thread_name", name));
        }
        for sp in &self.spans {
            let Some((graph, ptask)) = self.names.get(sp.name as usize) else {
                continue;
            };
            let args = json!({
                "graph": graph,
                "group": sp.group,
                "ptask": ptask,
                "queue": sp.queue,
                "priority": sp.weight,
                "gpu_us": us(sp.gpu_ns),
                "wait_us": us(sp.wait_ns),
            });
            for (pid, tid) in [(PID_QUEUES, u64::from(sp.queue)), (PID_GRAPHS, sp.graph.0)] {
                ev.push(json!({
                    "name": ptask,
                    "cat": graph,
                    "ph": "X",
                    "ts": us(sp.start),
                    "dur": us(sp.dur),
                    "pid": pid,
                    "tid": tid,
                    "args": args,
                }));
            }
        }
        json!({
            "traceEvents": ev,
            "displayTimeUnit": "ms",
            "otherData": {"producer": "ptc", "jobs_not_recorded": self.dropped},
        })
    }

    /// Writes the trace (temp file + rename).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, self.to_json().to_string().as_bytes())
    }
}
