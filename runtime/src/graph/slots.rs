//! Version and slot bookkeeping of one graph: pure state, no Vulkan calls
//! (unit-tested without a device).
//!
//! # Versions and slots
//! Each buffer holds a sequence of *versions* (datablocks): version `v` lives
//! in slot `v % slots`. A seeded buffer (role `State`) starts with version 0
//! = its `init` value. A ptask's `n`-th firing reads version `n` of each `in`
//! buffer, the latest version of each `sticky` buffer (such buffers use one
//! slot), and writes version `n + init` of each `out` buffer. A version may
//! be written once every consumer has consumed the version that occupied its
//! slot before; that is all the bookkeeping "outputs have room" needs.
//! Since a firing's slots depend only on `n % P` (P = lcm of slot counts,
//! [`Slots::phases`]), descriptor sets and command buffers exist per
//! (ptask, phase) and per (graph, phase) and are recorded at open time.
//!
//! # Completion points
//! Every submission is a [`Point`] on its queue's timeline (see
//! `crate::vk::queue`). A ptask remembers the points of its recent firings
//! (its *carriers*), a staged input the point of each slot's upload; a
//! firing waits on the points of the producers of what it reads and of the
//! readers of the slots it overwrites ([`Slots::firing_waits`]) — at most
//! one value per queue — so the host never waits for the device on the
//! frame path except when it reads an output or reuses an input slot.

use crate::error::{Result, RuntimeError};
use crate::vk::{QueuePoint, Small};
use ptc_plan::{Access, BufferRole, Plan};
use std::collections::VecDeque;

/// Where a submission signals completion: its point on its queue's timeline.
pub(crate) type Point = QueuePoint;

/// Recent firings per ptask whose completion point is remembered (more
/// than the deepest slot ring plus one, so every wait finds its firing).
pub(crate) const CARRIERS: usize = 32;

/// Most command-buffer phases a graph may need (lcm of its slot counts).
pub(crate) const MAX_PHASES: u64 = 8;

/// One buffer's versions.
pub(crate) struct BufSlots {
    pub(crate) name: String,
    /// Ring size: versions `v` and `v + slots` share a slot.
    pub(crate) slots: u32,
    /// 1 for a seeded buffer (version 0 is its initial value), else 0.
    pub(crate) init_versions: u64,
    /// The ptask writing it (`None`: a graph input, or only its seed).
    pub(crate) producer: Option<usize>,
    /// Ptasks reading it through `in` ports.
    pub(crate) in_readers: Vec<usize>,
    /// Ptasks reading it through `sticky` ports.
    pub(crate) sticky_readers: Vec<usize>,
    /// A graph output reads it.
    pub(crate) host_reader: bool,
    /// A graph input writes it.
    pub(crate) host_writer: bool,
    /// Versions available (including the initial one).
    pub(crate) produced: u64,
    /// Next version the host reads (outputs).
    pub(crate) host_next: u64,
    /// Inputs on the staging path: the host writes staging buffers and an
    /// upload copies them to the device.
    pub(crate) staged: bool,
    /// Staged inputs: per slot, the point of the upload of the version it
    /// holds.
    uploads: Vec<Option<Point>>,
}

/// One ptask's firings.
pub(crate) struct TaskSlots {
    /// Firings submitted (a sliced firing counts once its last slice is).
    pub(crate) fired: u64,
    /// Its bindings in order: (buffer, access).
    pub(crate) bindings: Vec<(usize, Access)>,
    /// Slices of the firing in progress already submitted (0: none in
    /// progress), and how many each job of it covers.
    pub(crate) slice_next: u32,
    pub(crate) slice_step: u32,
    /// Where recent firings signal completion: (firing, point).
    carriers: VecDeque<(u64, Point)>,
}

/// Points to wait for, deduplicated: the highest value per queue (a
/// queue's points complete in order).
#[derive(Clone, Default)]
pub(crate) struct Waits(Small<Point>);

impl Waits {
    pub(crate) fn add(&mut self, p: Point) {
        match self.0.iter_mut().find(|w| w.queue == p.queue) {
            Some(w) => w.value = w.value.max(p.value),
            None => self.0.push(p),
        }
    }

    pub(crate) fn list(&self) -> &[Point] {
        &self.0
    }
}

/// The version state of every buffer and ptask of one graph.
pub(crate) struct Slots {
    pub(crate) bufs: Vec<BufSlots>,
    pub(crate) tasks: Vec<TaskSlots>,
    /// Command-buffer phases: lcm of the slot counts.
    pub(crate) phases: u64,
    /// Buffers of the graph's outputs, in plan order.
    outputs: Vec<usize>,
    /// Buffers of the graph's inputs, in plan order.
    inputs: Vec<usize>,
    /// The last read-back copy's point: later writers of any slot wait on it.
    pub(crate) readback: Option<Point>,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Slots {
    /// The topology of `plan` (which must be valid): producers, readers,
    /// host ends, slot counts as the runtime uses them (a host-read output
    /// gets 2 slots, a buffer read by a `sticky` port 1), and the phases.
    pub(crate) fn from_plan(plan: &Plan) -> Result<Slots> {
        let mut bufs: Vec<BufSlots> = plan
            .buffers
            .iter()
            .map(|b| {
                // State and constant buffers start with one version, their `init`.
                let init_versions =
                    u64::from(matches!(b.role, BufferRole::State | BufferRole::Constant));
                BufSlots {
                    name: b.name.clone(),
                    slots: b.slots,
                    init_versions,
                    producer: None,
                    in_readers: Vec::new(),
                    sticky_readers: Vec::new(),
                    host_reader: false,
                    host_writer: false,
                    produced: init_versions,
                    host_next: init_versions,
                    staged: false,
                    uploads: Vec::new(),
                }
            })
            .collect();
        let invalid = |m: String| RuntimeError::InvalidPlan(m);
        for (t, p) in plan.ptasks.iter().enumerate() {
            for bd in &p.bindings {
                let buf = bufs.get_mut(bd.buffer).ok_or_else(|| {
                    invalid(format!("ptask `{}`: no buffer #{}", p.name, bd.buffer))
                })?;
                match bd.access {
                    Access::In => buf.in_readers.push(t),
                    Access::Sticky => buf.sticky_readers.push(t),
                    Access::Out => {
                        if let Some(other) = buf.producer {
                            if other != t {
                                return Err(invalid(format!(
                                    "buffer `{}` is written by two ptasks (`{}` and `{}`)",
                                    buf.name, plan.ptasks[other].name, p.name
                                )));
                            }
                        }
                        buf.producer = Some(t);
                    }
                }
            }
        }
        let port_buffer = |b: usize| {
            if b < bufs.len() {
                Ok(b)
            } else {
                Err(invalid(format!("a graph port names no buffer #{b}")))
            }
        };
        let inputs = plan
            .inputs
            .iter()
            .map(|i| port_buffer(i.buffer))
            .collect::<Result<Vec<_>>>()?;
        let outputs = plan
            .outputs
            .iter()
            .map(|o| port_buffer(o.buffer))
            .collect::<Result<Vec<_>>>()?;
        for &b in &inputs {
            bufs[b].host_writer = true;
        }
        for &b in &outputs {
            bufs[b].host_reader = true;
        }
        let mut phases = 1u64;
        for (b, pb) in bufs.iter_mut().zip(&plan.buffers) {
            if b.host_writer && b.producer.is_some() {
                return Err(invalid(format!(
                    "buffer `{}` is both a graph input and written by a ptask",
                    b.name
                )));
            }
            if pb.role == BufferRole::State && b.slots < 2 {
                return Err(invalid(format!(
                    "state buffer `{}` needs 2 slots, has {}",
                    b.name, b.slots
                )));
            }
            if b.slots == 0 {
                return Err(invalid(format!("buffer `{}` has no slots", b.name)));
            }
            if b.host_reader && b.slots < 2 {
                // Reading frame n on the host overlaps computing frame n+1.
                b.slots = 2;
            }
            if !b.sticky_readers.is_empty() {
                if pb.role == BufferRole::State {
                    return Err(invalid(format!(
                        "state buffer `{}` cannot be read by a sticky port",
                        b.name
                    )));
                }
                // A sticky reader always sees the latest value: one slot.
                b.slots = 1;
            }
            phases = phases / gcd(phases, u64::from(b.slots)) * u64::from(b.slots);
            if phases > MAX_PHASES {
                break;
            }
        }
        if phases > MAX_PHASES {
            return Err(invalid(format!(
                "slot counts need {phases} or more command-buffer phases (at most {MAX_PHASES} supported)"
            )));
        }
        let tasks = plan
            .ptasks
            .iter()
            .map(|p| TaskSlots {
                fired: 0,
                bindings: p.bindings.iter().map(|b| (b.buffer, b.access)).collect(),
                slice_next: 0,
                slice_step: 0,
                carriers: VecDeque::new(),
            })
            .collect();
        Ok(Slots {
            bufs,
            tasks,
            phases,
            outputs,
            inputs,
            readback: None,
        })
    }

    /// The slot of `buffer` a binding with `access` uses in phase `ph`.
    pub(crate) fn slot_for(&self, buffer: usize, access: Access, ph: u64) -> usize {
        let b = &self.bufs[buffer];
        let v = match access {
            Access::In => ph,
            Access::Sticky => 0,
            Access::Out => ph + b.init_versions,
        };
        self.slot_of(buffer, v)
    }

    /// The slot version `v` of buffer `b` lives in.
    pub(crate) fn slot_of(&self, b: usize, v: u64) -> usize {
        (v % u64::from(self.bufs[b].slots)) as usize
    }

    /// The phase of the next firing of ptask `t`.
    pub(crate) fn phase(&self, t: usize) -> usize {
        (self.tasks[t].fired % self.phases) as usize
    }

    /// True if version `v` of buffer `b` may be written: every consumer has
    /// consumed the version that occupied its slot.
    pub(crate) fn room(&self, b: usize, v: u64) -> bool {
        let buf = &self.bufs[b];
        let slots = u64::from(buf.slots);
        if v < slots {
            return true;
        }
        let old = v - slots;
        if buf.in_readers.iter().any(|&c| self.tasks[c].fired <= old) {
            return false;
        }
        !(buf.host_reader && buf.host_next <= old)
    }

    /// True if ptask `t` can fire now.
    pub(crate) fn ptask_ready(&self, t: usize) -> bool {
        let pt = &self.tasks[t];
        if pt.slice_next > 0 {
            // The rest of a sliced firing: its dependencies were met when
            // its first slice was submitted.
            return true;
        }
        let n = pt.fired;
        pt.bindings.iter().all(|&(b, acc)| match acc {
            Access::In => self.bufs[b].produced > n,
            Access::Sticky => self.bufs[b].produced > 0,
            Access::Out => self.room(b, n + self.bufs[b].init_versions),
        })
    }

    /// True if every ptask can fire once more, together, as one frame (no
    /// sliced firing in progress, all at the same firing count).
    pub(crate) fn frame_ready(&self) -> bool {
        let Some(first) = self.tasks.first() else {
            return false;
        };
        let n = first.fired;
        if self.tasks.iter().any(|p| p.fired != n || p.slice_next > 0) {
            return false;
        }
        self.bufs.iter().enumerate().all(|(i, b)| {
            if b.producer.is_none() {
                let need_in = !b.in_readers.is_empty() && b.produced <= n;
                let need_sticky = !b.sticky_readers.is_empty() && b.produced == 0;
                !(need_in || need_sticky)
            } else {
                self.room(i, n + b.init_versions)
            }
        })
    }

    /// True if some ptask (or the whole frame) could be submitted now.
    pub(crate) fn has_ready_work(&self, frame_path: bool) -> bool {
        (frame_path && self.frame_ready()) || (0..self.tasks.len()).any(|t| self.ptask_ready(t))
    }

    /// True if firing ptask `t` delivers a graph output.
    pub(crate) fn ptask_ends_frame(&self, t: usize) -> bool {
        self.tasks.get(t).is_some_and(|p| {
            p.bindings
                .iter()
                .any(|&(b, acc)| acc == Access::Out && self.outputs.contains(&b))
        })
    }

    /// Adds the wait for firing `k` of ptask `t` (already submitted). A
    /// ptask's firings complete in order (each waits on the previous), so a
    /// firing older than the carrier window is done once the oldest kept is.
    pub(crate) fn wait_firing(&self, t: usize, k: u64, w: &mut Waits) {
        let c = &self.tasks[t].carriers;
        let hit = c
            .iter()
            .rev()
            .find(|(f, _)| *f == k)
            .or_else(|| c.front().filter(|(f, _)| *f > k));
        if let Some(&(_, p)) = hit {
            w.add(p);
        }
    }

    /// The waits a read of version `v` of buffer `b` needs.
    pub(crate) fn read_waits(&self, b: usize, v: u64, w: &mut Waits) {
        let buf = &self.bufs[b];
        if v < buf.init_versions {
            return;
        }
        if let Some(p) = buf.producer {
            self.wait_firing(p, v - buf.init_versions, w);
        } else if let Some(Some(p)) = buf.uploads.get(self.slot_of(b, v)) {
            // Version v is the slot's latest: nothing overwrites a version
            // before its readers consumed it.
            w.add(*p);
        }
    }

    /// The waits before overwriting the slot of version `v` of buffer `b`
    /// (the GPU readers of the previous occupant must be done).
    pub(crate) fn war_waits(&self, b: usize, v: u64, w: &mut Waits) {
        let buf = &self.bufs[b];
        let slots = u64::from(buf.slots);
        if v >= slots {
            let old = v - slots;
            for &c in &buf.in_readers {
                self.wait_firing(c, old, w);
            }
        }
        for &c in &buf.sticky_readers {
            let f = self.tasks[c].fired;
            if f > 0 {
                self.wait_firing(c, f - 1, w);
            }
        }
        // A read-back copy may have read the slot: overwrite after it.
        if let Some(p) = self.readback {
            w.add(p);
        }
    }

    /// The waits of firing `n` of ptask `t`: its previous firing, the
    /// producers of what it reads, the readers of the slots it overwrites.
    pub(crate) fn firing_waits(&self, t: usize, n: u64) -> Waits {
        let mut w = Waits::default();
        if n > 0 {
            self.wait_firing(t, n - 1, &mut w);
        }
        for &(b, acc) in &self.tasks[t].bindings {
            match acc {
                Access::In => self.read_waits(b, n, &mut w),
                Access::Sticky => self.read_waits(b, self.bufs[b].produced - 1, &mut w),
                Access::Out => self.war_waits(b, n + self.bufs[b].init_versions, &mut w),
            }
        }
        w
    }

    /// The waits of a whole frame (must be [`Slots::frame_ready`]): every
    /// ptask's previous firing (which covers every slot the frame reuses:
    /// all ptasks fire once per frame, in order), and staged uploads of the
    /// inputs it reads.
    pub(crate) fn frame_waits(&self) -> Waits {
        let n = self.tasks.first().map_or(0, |t| t.fired);
        let mut w = Waits::default();
        if n > 0 {
            for t in 0..self.tasks.len() {
                self.wait_firing(t, n - 1, &mut w);
            }
        }
        for (i, b) in self.bufs.iter().enumerate() {
            if b.producer.is_none() && b.staged {
                if !b.in_readers.is_empty() {
                    self.read_waits(i, n, &mut w);
                }
                if !b.sticky_readers.is_empty() {
                    self.read_waits(i, b.produced - 1, &mut w);
                }
            }
        }
        w
    }

    /// Firing `n` of ptask `t` is fully submitted and signals `done`: its
    /// outputs' next versions exist.
    pub(crate) fn fired(&mut self, t: usize, done: Point) {
        let pt = &mut self.tasks[t];
        let n = pt.fired;
        pt.fired += 1;
        pt.carriers.push_back((n, done));
        if pt.carriers.len() > CARRIERS {
            pt.carriers.pop_front();
        }
        for i in 0..self.tasks[t].bindings.len() {
            let (b, a) = self.tasks[t].bindings[i];
            if a == Access::Out {
                self.bufs[b].produced += 1;
            }
        }
    }

    /// A whole frame is submitted and signals `done`: every ptask fired
    /// once.
    pub(crate) fn frame_fired(&mut self, done: Point) {
        for pt in &mut self.tasks {
            let n = pt.fired;
            pt.fired += 1;
            pt.carriers.push_back((n, done));
            if pt.carriers.len() > CARRIERS {
                pt.carriers.pop_front();
            }
        }
        for b in &mut self.bufs {
            if b.producer.is_some() {
                b.produced += 1;
            }
        }
    }

    /// Puts input buffer `b` on the staging path (its versions are
    /// uploaded; see [`Slots::input_written`]).
    pub(crate) fn set_staged(&mut self, b: usize) {
        let buf = &mut self.bufs[b];
        buf.staged = true;
        buf.uploads = vec![None; buf.slots as usize];
    }

    /// True if input buffer `b` can take another version now.
    pub(crate) fn input_has_room(&self, b: usize) -> bool {
        self.room(b, self.bufs[b].produced)
    }

    /// The waits before the host overwrites the slot of input buffer `b`'s
    /// next version: its GPU readers, and (staging) the upload that read
    /// the staging slot before.
    pub(crate) fn input_waits(&self, b: usize) -> Waits {
        let mut w = Waits::default();
        self.war_waits(b, self.bufs[b].produced, &mut w);
        if let Some(p) = self.previous_upload(b) {
            w.add(p);
        }
        w
    }

    /// Staged input `b`: the upload of the version the next one replaces
    /// in its slot, if any.
    pub(crate) fn previous_upload(&self, b: usize) -> Option<Point> {
        let buf = &self.bufs[b];
        buf.uploads
            .get(self.slot_of(b, buf.produced))
            .copied()
            .flatten()
    }

    /// The host wrote the next version of input buffer `b`; `upload` is
    /// the point of its upload (staged inputs).
    pub(crate) fn input_written(&mut self, b: usize, upload: Option<Point>) {
        let s = self.slot_of(b, self.bufs[b].produced);
        let buf = &mut self.bufs[b];
        if let Some(u) = buf.uploads.get_mut(s) {
            *u = upload;
        }
        buf.produced += 1;
    }

    /// The points of every staged upload (the latest per slot).
    pub(crate) fn uploads(&self) -> impl Iterator<Item = Point> + '_ {
        self.bufs
            .iter()
            .flat_map(|b| b.uploads.iter().flatten().copied())
    }

    /// True if output buffer `b` holds a version the host has not read.
    pub(crate) fn output_available(&self, b: usize) -> bool {
        self.bufs[b].produced > self.bufs[b].host_next
    }

    /// The host read (or skipped) the next version of output buffer `b`.
    pub(crate) fn output_read(&mut self, b: usize) {
        self.bufs[b].host_next += 1;
    }

    /// Versions written to input buffer `b` that some `in` reader has not
    /// consumed yet (0 for inputs read only through `sticky` ports).
    pub(crate) fn unconsumed(&self, b: usize) -> u64 {
        let buf = &self.bufs[b];
        buf.in_readers
            .iter()
            .map(|&c| buf.produced.saturating_sub(self.tasks[c].fired))
            .max()
            .unwrap_or(0)
    }

    /// The graph inputs (indices into the plan's inputs) with no data for
    /// the frame output buffer `out` needs next.
    pub(crate) fn starved_inputs(&self, out: usize) -> Vec<usize> {
        let ob = &self.bufs[out];
        let frame = ob.host_next.saturating_sub(ob.init_versions);
        self.inputs
            .iter()
            .enumerate()
            .filter(|(_, &b)| {
                let buf = &self.bufs[b];
                if buf.in_readers.is_empty() {
                    buf.produced == 0
                } else {
                    buf.produced <= frame
                }
            })
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptc_plan::types::{ElemType, PortType, Scalar, Value};
    use ptc_plan::{
        Binding, Buffer, GraphInput, GraphOutput, PtaskPlan, Requirements, Sink, Source,
    };

    /// Point `value` of queue `queue`.
    fn pt(queue: usize, value: u64) -> Point {
        Point { queue, value }
    }

    /// A plan skeleton: only what the bookkeeping reads (no modules, no
    /// schedule; never validated).
    struct Builder(Plan);

    impl Builder {
        fn new() -> Builder {
            Builder(Plan {
                version: ptc_plan::PLAN_VERSION,
                graph: "g".into(),
                priority: 50,
                source: None,
                requirements: Requirements::default(),
                structs: Vec::new(),
                buffers: Vec::new(),
                inputs: Vec::new(),
                outputs: Vec::new(),
                modules: Vec::new(),
                ptasks: Vec::new(),
                schedule: Vec::new(),
            })
        }

        fn buffer(&mut self, name: &str, role: BufferRole, slots: u32) -> usize {
            self.0.buffers.push(Buffer {
                name: name.into(),
                ty: PortType {
                    elem: ElemType::Scalar(Scalar::F32),
                    shape: vec![1],
                },
                size: 4,
                role,
                slots,
                aliases: Vec::new(),
                init: (role == BufferRole::State).then_some(Value::F32(0.0)),
            });
            self.0.buffers.len() - 1
        }

        fn ptask(&mut self, name: &str, bindings: &[(usize, Access)]) -> usize {
            self.0.ptasks.push(PtaskPlan {
                name: name.into(),
                kernel: "k.comp".into(),
                module: 0,
                entry: "main".into(),
                bindings: bindings
                    .iter()
                    .enumerate()
                    .map(|(i, &(buffer, access))| Binding {
                        port: format!("p{i}"),
                        access,
                        buffer,
                    })
                    .collect(),
                push_constants: Vec::new(),
                push_constant_size: 0,
                local_size: [1, 1, 1],
                workgroups: [1, 1, 1],
                priority: None,
                specialization: Vec::new(),
                uniform_params: None,
            });
            self.0.ptasks.len() - 1
        }

        fn input(&mut self, buffer: usize) {
            self.0.inputs.push(GraphInput {
                name: format!("in{buffer}"),
                buffer,
                source: Source::Host,
            });
        }

        fn output(&mut self, buffer: usize) {
            self.0.outputs.push(GraphOutput {
                name: format!("out{buffer}"),
                buffer,
                sink: Sink::Host,
            });
        }

        fn slots(&self) -> Slots {
            Slots::from_plan(&self.0).expect("valid topology")
        }

        fn error(&self) -> String {
            match Slots::from_plan(&self.0) {
                Ok(_) => panic!("expected an error"),
                Err(e) => e.to_string(),
            }
        }
    }

    /// `x -> a -> mid -> b -> y`: a two-stage pipeline with a host input
    /// (2 slots), an internal buffer (1 slot) and a host output.
    fn pipeline() -> (Slots, [usize; 3], [usize; 2]) {
        let mut g = Builder::new();
        let x = g.buffer("x", BufferRole::Input, 2);
        let mid = g.buffer("a.mid", BufferRole::Internal, 1);
        let y = g.buffer("b.y", BufferRole::Output, 1);
        let a = g.ptask("a", &[(x, Access::In), (mid, Access::Out)]);
        let b = g.ptask("b", &[(mid, Access::In), (y, Access::Out)]);
        g.input(x);
        g.output(y);
        (g.slots(), [x, mid, y], [a, b])
    }

    #[test]
    fn a_pipeline_fires_as_data_arrives_and_room_frees() {
        let (mut s, [x, mid, y], [a, b]) = pipeline();
        // The output is read by the host: 2 slots, so phases = 2.
        assert_eq!(s.bufs[y].slots, 2);
        assert_eq!(s.phases, 2);
        assert!(!s.ptask_ready(a) && !s.ptask_ready(b) && !s.frame_ready());
        assert!(!s.has_ready_work(true));
        assert!(s.input_has_room(x));
        s.input_written(x, None);
        assert!(s.ptask_ready(a) && !s.ptask_ready(b));
        assert!(s.frame_ready(), "a frame needs only the graph's inputs");
        assert!(!s.ptask_ends_frame(a) && s.ptask_ends_frame(b));
        s.fired(a, pt(1, 1));
        assert_eq!(s.bufs[mid].produced, 1);
        assert!(!s.ptask_ready(a), "its input's next version is not there");
        assert!(s.ptask_ready(b));
        assert!(!s.frame_ready(), "ptasks are at different firings");
        // Two input slots: versions 1 and 2 fit (a consumed version 0)...
        s.input_written(x, None);
        assert!(s.input_has_room(x));
        s.input_written(x, None);
        // ... version 3 would overwrite version 1, not consumed yet.
        assert!(!s.input_has_room(x));
        assert_eq!(s.unconsumed(x), 2);
        // `a` may not overwrite the one-slot `mid` before `b` read it.
        assert!(!s.ptask_ready(a));
        s.fired(b, pt(1, 2));
        assert!(s.ptask_ready(a));
        assert!(s.output_available(y));
        s.fired(a, pt(1, 3));
        s.fired(b, pt(1, 4));
        // Two unread outputs fill both slots: b must wait for the host.
        s.fired(a, pt(1, 5));
        assert!(!s.ptask_ready(b));
        s.output_read(y);
        assert!(s.ptask_ready(b));
        assert!(s.input_has_room(x));
        assert_eq!(s.unconsumed(x), 0);
    }

    #[test]
    fn slots_of_phases_follow_versions() {
        let (s, [x, mid, y], _) = pipeline();
        for ph in 0..s.phases {
            assert_eq!(s.slot_for(x, Access::In, ph), ph as usize);
            assert_eq!(s.slot_for(mid, Access::Out, ph), 0);
            assert_eq!(s.slot_for(y, Access::Out, ph), ph as usize);
        }
        assert_eq!(s.slot_of(x, 5), 1);
    }

    #[test]
    fn a_seeded_cycle_reads_its_seed_and_writes_the_other_slot() {
        let mut g = Builder::new();
        let st = g.buffer("s.next", BufferRole::State, 2);
        let t = g.ptask("s", &[(st, Access::In), (st, Access::Out)]);
        let mut s = g.slots();
        assert_eq!(s.bufs[st].produced, 1, "version 0 is the seed");
        assert_eq!(s.slot_for(st, Access::In, 0), 0);
        assert_eq!(s.slot_for(st, Access::Out, 0), 1);
        assert_eq!(s.slot_for(st, Access::In, 1), 1);
        assert_eq!(s.slot_for(st, Access::Out, 1), 0);
        for k in 0..10u64 {
            assert!(s.ptask_ready(t) && s.frame_ready(), "firing {k}");
            let w = s.firing_waits(t, k);
            if k == 0 {
                assert!(w.list().is_empty(), "the seed needs no wait");
            } else {
                // Its previous firing produced what it reads.
                assert_eq!(w.list(), &[pt(7, k)]);
            }
            s.fired(t, pt(7, k + 1));
        }
        assert_eq!(s.tasks[t].fired, 10);
        assert_eq!(s.bufs[st].produced, 11);
    }

    #[test]
    fn waits_name_producers_and_the_readers_of_overwritten_slots() {
        let (mut s, [x, mid, _], [a, b]) = pipeline();
        s.set_staged(x);
        s.input_written(x, Some(pt(9, 1)));
        s.input_written(x, Some(pt(9, 2)));
        // a's firing 0 reads x version 0 (uploaded: queue 9, value 1).
        assert_eq!(s.firing_waits(a, 0).list(), &[pt(9, 1)]);
        s.fired(a, pt(2, 10));
        // b's firing 0 reads a's firing 0.
        assert_eq!(s.firing_waits(b, 0).list(), &[pt(2, 10)]);
        s.fired(b, pt(3, 20));
        // a's firing 1: its previous firing, upload of version 1, and b's
        // firing 0, which read the slot of `mid` it overwrites.
        let w = s.firing_waits(a, 1);
        let mut got = w.list().to_vec();
        got.sort_by_key(|p| p.queue);
        assert_eq!(got, vec![pt(2, 10), pt(3, 20), pt(9, 2)]);
        // Host writes of x version 2 reuse version 0's slot: a's firing 0
        // and the upload that used the staging slot.
        let mut got = s.input_waits(x).list().to_vec();
        got.sort_by_key(|p| p.queue);
        assert_eq!(got, vec![pt(2, 10), pt(9, 1)]);
        // A read-back copy is waited on by every later writer.
        s.readback = Some(pt(5, 3));
        assert!(s.firing_waits(a, 1).list().contains(&pt(5, 3)));
        let _ = mid;
    }

    #[test]
    fn frames_advance_every_ptask_and_wait_on_the_previous_frame() {
        let (mut s, [x, mid, y], [a, b]) = pipeline();
        s.input_written(x, None);
        assert!(s.frame_waits().list().is_empty());
        s.frame_fired(pt(4, 1));
        assert_eq!((s.tasks[a].fired, s.tasks[b].fired), (1, 1));
        assert_eq!((s.bufs[mid].produced, s.bufs[y].produced), (1, 1));
        assert_eq!(s.bufs[x].produced, 1, "inputs are produced by the host");
        s.input_written(x, None);
        assert!(s.frame_ready());
        assert_eq!(s.frame_waits().list(), &[pt(4, 1)]);
    }

    #[test]
    fn waits_keep_the_highest_value_per_queue() {
        let mut w = Waits::default();
        w.add(pt(1, 3));
        w.add(pt(2, 1));
        w.add(pt(1, 2));
        w.add(pt(1, 5));
        assert_eq!(w.list(), &[pt(1, 5), pt(2, 1)]);
    }

    #[test]
    fn firings_older_than_the_carrier_window_wait_on_the_oldest_kept() {
        let mut g = Builder::new();
        let st = g.buffer("s.next", BufferRole::State, 2);
        let t = g.ptask("s", &[(st, Access::In), (st, Access::Out)]);
        let mut s = g.slots();
        for k in 0..(CARRIERS as u64 + 8) {
            s.fired(t, pt(1, k + 1));
        }
        let mut w = Waits::default();
        s.wait_firing(t, 0, &mut w);
        assert_eq!(w.list(), &[pt(1, 9)], "firing 8 is the oldest kept");
        let mut w = Waits::default();
        s.wait_firing(t, 20, &mut w);
        assert_eq!(w.list(), &[pt(1, 21)]);
    }

    #[test]
    fn sticky_inputs_use_one_slot_and_need_one_version() {
        let mut g = Builder::new();
        let x = g.buffer("x", BufferRole::Input, 2);
        let k = g.buffer("calib", BufferRole::Input, 2);
        let y = g.buffer("t.y", BufferRole::Output, 2);
        let t = g.ptask(
            "t",
            &[(x, Access::In), (k, Access::Sticky), (y, Access::Out)],
        );
        g.input(x);
        g.input(k);
        g.output(y);
        let mut s = g.slots();
        assert_eq!(s.bufs[k].slots, 1);
        s.input_written(x, None);
        assert!(!s.ptask_ready(t), "the sticky input has no value yet");
        assert_eq!(s.starved_inputs(y), vec![1]);
        s.input_written(k, None);
        assert!(s.ptask_ready(t));
        assert_eq!(s.unconsumed(k), 0, "sticky inputs are never consumed");
        s.fired(t, pt(1, 1));
        s.input_written(x, None);
        assert!(s.ptask_ready(t), "the sticky value is read again");
        assert_eq!(s.starved_inputs(y), Vec::<usize>::new());
        // Overwriting the sticky value waits for its last reader.
        assert_eq!(s.input_waits(k).list(), &[pt(1, 1)]);
    }

    #[test]
    fn inconsistent_topologies_are_errors() {
        let mut g = Builder::new();
        let b = g.buffer("b", BufferRole::Internal, 1);
        g.ptask("p", &[(b, Access::Out)]);
        g.ptask("q", &[(b, Access::Out)]);
        assert!(g.error().contains("written by two ptasks"), "{}", g.error());

        let mut g = Builder::new();
        let b = g.buffer("s", BufferRole::State, 1);
        g.ptask("p", &[(b, Access::In), (b, Access::Out)]);
        assert!(g.error().contains("needs 2 slots"), "{}", g.error());

        let mut g = Builder::new();
        let b = g.buffer("s", BufferRole::State, 2);
        g.ptask("p", &[(b, Access::Sticky), (b, Access::Out)]);
        assert!(g.error().contains("sticky"), "{}", g.error());

        let mut g = Builder::new();
        let x = g.buffer("x", BufferRole::Input, 2);
        g.ptask("p", &[(x, Access::Out)]);
        g.input(x);
        assert!(g.error().contains("both a graph input"), "{}", g.error());

        let mut g = Builder::new();
        let x = g.buffer("x", BufferRole::Input, 3);
        let y = g.buffer("y", BufferRole::Input, 5);
        let o = g.buffer("o", BufferRole::Internal, 1);
        g.ptask("p", &[(x, Access::In), (y, Access::In), (o, Access::Out)]);
        assert!(g.error().contains("phases"), "{}", g.error());
    }
}
