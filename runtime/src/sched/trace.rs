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
use std::collections::BTreeMap;
use std::path::Path;

const PID_QUEUES: u64 = 1;
const PID_GRAPHS: u64 = 2;

/// Collects trace events, up to a limit.
pub struct TraceRecorder {
    limit: usize,
    queues: usize,
    graphs: BTreeMap<GraphKey, String>,
    events: Vec<Value>,
    dropped: u64,
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
            events: Vec::new(),
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
        if self.events.len() + 2 > self.limit {
            self.dropped += 1;
            return;
        }
        let (graph, ptask) = names;
        let start = gpu_start
            .unwrap_or(r.submitted)
            .clamp(r.submitted, r.done.max(r.submitted));
        let dur = r.done.saturating_sub(start);
        let args = json!({
            "graph": graph,
            "group": r.group.0,
            "ptask": ptask,
            "queue": r.queue,
            "priority": r.weight,
            "gpu_us": us(r.gpu_ns),
            "wait_us": us(r.submitted.saturating_sub(r.ready)),
        });
        for (pid, tid) in [(PID_QUEUES, r.queue as u64), (PID_GRAPHS, r.graph.0)] {
            self.events.push(json!({
                "name": ptask,
                "cat": graph,
                "ph": "X",
                "ts": us(start),
                "dur": us(dur),
                "pid": pid,
                "tid": tid,
                "args": args,
            }));
        }
    }

    /// Number of job events recorded.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// No job events recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The whole trace document.
    pub fn to_json(&self) -> Value {
        let mut ev = Vec::with_capacity(self.events.len() + self.graphs.len() + self.queues + 2);
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
        ev.extend(self.events.iter().cloned());
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
