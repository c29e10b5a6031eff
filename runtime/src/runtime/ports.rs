//! Graph ports: resolving them, pushing input frames, pulling or
//! discarding output frames, and reading any buffer for debugging.

use super::{GraphId, InputPort, OutputPort, Runtime};
use crate::error::{Result, RuntimeError};
use crate::graph::PortInfo;

impl Runtime {
    /// The graph's input ports.
    pub fn inputs(&self, id: GraphId) -> Result<Vec<PortInfo>> {
        Ok(self
            .graph(id)?
            .inputs
            .iter()
            .map(|(p, _)| p.clone())
            .collect())
    }

    /// The graph's output ports.
    pub fn outputs(&self, id: GraphId) -> Result<Vec<PortInfo>> {
        Ok(self
            .graph(id)?
            .outputs
            .iter()
            .map(|(p, _)| p.clone())
            .collect())
    }

    /// Resolves input `port` of graph `id` once (typed error naming the
    /// graph's inputs if there is none).
    pub fn input_port(&self, id: GraphId, port: &str) -> Result<InputPort> {
        let (index, buffer) = self.graph(id)?.input(port)?;
        Ok(InputPort {
            graph: id,
            index,
            buffer,
        })
    }

    /// Resolves output `port` of graph `id` once.
    pub fn output_port(&self, id: GraphId, port: &str) -> Result<OutputPort> {
        let (index, buffer) = self.graph(id)?.output(port)?;
        Ok(OutputPort {
            graph: id,
            index,
            buffer,
        })
    }

    /// Name, type and size of an input port.
    pub fn input_info(&self, port: InputPort) -> Result<&PortInfo> {
        Ok(&self.graph(port.graph)?.inputs[port.index].0)
    }

    /// Name, type and size of an output port.
    pub fn output_info(&self, port: OutputPort) -> Result<&PortInfo> {
        Ok(&self.graph(port.graph)?.outputs[port.index].0)
    }

    /// Writes one frame to input `port`. Runs ready work first if the
    /// input's slots are full; fails with [`RuntimeError::InputFull`] if
    /// they stay full.
    pub fn push(&mut self, id: GraphId, port: &str, bytes: &[u8]) -> Result<()> {
        let p = self.input_port(id, port)?;
        self.push_port(p, bytes)
    }

    /// [`Runtime::push`] through a resolved port.
    pub fn push_port(&mut self, port: InputPort, bytes: &[u8]) -> Result<()> {
        let id = port.graph;
        let b = port.buffer;
        {
            let info = self.input_info(port)?;
            if bytes.len() as u64 != info.bytes {
                return Err(RuntimeError::WrongSize {
                    port: info.name.clone(),
                    expected: info.bytes,
                    got: bytes.len() as u64,
                    ty: info.ty.to_string(),
                });
            }
        }
        self.progress_until(|rt| Ok(rt.graph(id)?.input_has_room(b)))?;
        let g = self.graph_mut(id)?;
        if !g.input_has_room(b) {
            return Err(RuntimeError::InputFull {
                port: g.inputs[port.index].0.name.clone(),
                slots: g.inputs[port.index].0.slots,
            });
        }
        g.write_input(b, bytes)
    }

    /// True if input `port` can take a frame without running anything.
    pub fn can_push(&self, id: GraphId, port: &str) -> Result<bool> {
        self.can_push_port(self.input_port(id, port)?)
    }

    /// [`Runtime::can_push`] through a resolved port.
    pub fn can_push_port(&self, port: InputPort) -> Result<bool> {
        Ok(self.graph(port.graph)?.input_has_room(port.buffer))
    }

    /// True if input `port` can take a frame now without the host waiting
    /// for the GPU (see [`Runtime::can_push`]; this also needs the GPU work
    /// that used the slot's previous frame to be complete).
    pub fn can_push_now(&self, id: GraphId, port: &str) -> Result<bool> {
        self.can_push_port_now(self.input_port(id, port)?)
    }

    /// [`Runtime::can_push_now`] through a resolved port.
    pub fn can_push_port_now(&self, port: InputPort) -> Result<bool> {
        self.graph(port.graph)?.input_writable(port.buffer)
    }

    /// Frames written to input `port` that a ptask has not consumed yet.
    pub fn unconsumed(&self, port: InputPort) -> Result<u64> {
        Ok(self.graph(port.graph)?.unconsumed(port.buffer))
    }

    /// True if output `port` has a frame produced (submitted) and not yet pulled.
    pub fn has_output(&self, id: GraphId, port: &str) -> Result<bool> {
        let p = self.output_port(id, port)?;
        Ok(self.graph(id)?.output_available(p.buffer))
    }

    /// True if output `port` has a finished frame: pulling it will not wait
    /// for the GPU.
    pub fn output_ready(&self, id: GraphId, port: &str) -> Result<bool> {
        self.output_port_ready(self.output_port(id, port)?)
    }

    /// [`Runtime::output_ready`] through a resolved port.
    pub fn output_port_ready(&self, port: OutputPort) -> Result<bool> {
        self.graph(port.graph)?.output_complete(port.buffer)
    }

    /// Reads the next frame of output `port`, running ready work and waiting
    /// for the GPU as needed.
    pub fn pull(&mut self, id: GraphId, port: &str) -> Result<Vec<u8>> {
        let p = self.output_port(id, port)?;
        let mut v = vec![0u8; self.output_info(p)?.bytes as usize];
        self.pull_port(p, &mut v)?;
        Ok(v)
    }

    /// Like [`Runtime::pull`], into a caller buffer of exactly the port's size.
    pub fn pull_into(&mut self, id: GraphId, port: &str, dst: &mut [u8]) -> Result<()> {
        let p = self.output_port(id, port)?;
        self.pull_port(p, dst)
    }

    /// [`Runtime::pull_into`] through a resolved port.
    pub fn pull_port(&mut self, port: OutputPort, dst: &mut [u8]) -> Result<()> {
        {
            let info = self.output_info(port)?;
            if dst.len() as u64 != info.bytes {
                return Err(RuntimeError::WrongSize {
                    port: info.name.clone(),
                    expected: info.bytes,
                    got: dst.len() as u64,
                    ty: info.ty.to_string(),
                });
            }
        }
        self.ensure_output(port)?;
        let g = self.graph_mut(port.graph)?;
        g.read_output(port.buffer, dst)?;
        g.poll();
        self.reap_known()?;
        Ok(())
    }

    /// Hands the next frame of output `port` to `f` where it lies (mapped
    /// memory, no copy), running ready work and waiting for the GPU as
    /// needed: what a sink writing the frame somewhere uses instead of
    /// [`Runtime::pull_port`]. `f` must not keep the slice.
    pub fn pull_port_with<R>(&mut self, port: OutputPort, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        self.output_info(port)?;
        self.ensure_output(port)?;
        let g = self.graph_mut(port.graph)?;
        let r = g.read_output_with(port.buffer, f)?;
        g.poll();
        self.reap_known()?;
        Ok(r)
    }

    /// Lends the next frame of output `port` where it lies, like
    /// [`Runtime::pull_port_with`], but the frame may go to another thread
    /// and stay out while the run loop goes on: its slot is reused only
    /// once the [`LentFrame`](crate::LentFrame) is dropped (and the next
    /// step sees it). One frame per output is out at a time; until it is
    /// back, [`Runtime::output_port_ready`] is false. What a sink writing
    /// on a thread of its own uses (see `ptc_runtime::io::FileSink`).
    pub fn lend_port(&mut self, port: OutputPort) -> Result<crate::LentFrame> {
        self.output_info(port)?;
        self.ensure_output(port)?;
        let g = self.graph_mut(port.graph)?;
        let f = g.lend_output(port.buffer)?;
        g.poll();
        self.reap_known()?;
        Ok(f)
    }

    /// Gives back the slots of lent frames that were dropped; true if any.
    pub(crate) fn reclaim_lent(&mut self) -> bool {
        let mut any = false;
        for g in self.graphs.iter_mut().flatten() {
            any |= g.reclaim_lent();
        }
        any
    }

    /// Drops the next frame of output `port` (for `to null` sinks).
    pub fn discard(&mut self, id: GraphId, port: &str) -> Result<()> {
        let p = self.output_port(id, port)?;
        self.discard_port(p)
    }

    /// [`Runtime::discard`] through a resolved port.
    pub fn discard_port(&mut self, port: OutputPort) -> Result<()> {
        self.ensure_output(port)?;
        let g = self.graph_mut(port.graph)?;
        g.discard_output(port.buffer)?;
        g.poll();
        self.reap_known()?;
        Ok(())
    }

    fn ensure_output(&mut self, port: OutputPort) -> Result<()> {
        let (id, b) = (port.graph, port.buffer);
        self.reclaim_lent();
        if self.graph(id)?.lent_out(b) {
            return Err(RuntimeError::Io(format!(
                "output `{}`: its last frame is still lent out (drop the LentFrame first)",
                self.graph(id)?.outputs[port.index].0.name
            )));
        }
        self.progress_until(|rt| Ok(rt.graph(id)?.output_available(b)))?;
        let g = self.graph(id)?;
        if !g.output_available(b) {
            let missing = g.starved_inputs(b);
            return Err(RuntimeError::MissingInput {
                port: g.outputs[port.index].0.name.clone(),
                missing: if missing.is_empty() {
                    "(none: a ptask is blocked by an output nobody pulls)".to_string()
                } else {
                    missing.join(", ")
                },
            });
        }
        Ok(())
    }

    /// The latest completed contents of buffer `name` of graph `id` (any
    /// buffer of the plan, e.g. the internal `xform.cloud`; names as in
    /// `Plan::buffers`). A debugging/preview path: it waits until every
    /// submitted firing of the graph is done, then copies the buffer's
    /// newest version through a staging buffer allocated on the first call.
    /// `Ok(None)` if nothing has written the buffer yet.
    pub fn read_buffer(&mut self, id: GraphId, name: &str) -> Result<Option<Vec<u8>>> {
        let g = self.graph_mut(id)?;
        let names = g.buffer_names();
        let Some(b) = names.iter().position(|n| n == name) else {
            return Err(RuntimeError::UnknownBuffer {
                graph: g.name.clone(),
                name: name.to_string(),
                known: names.join(", "),
            });
        };
        g.read_buffer(b)
    }
}
