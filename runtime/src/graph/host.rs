//! The graph's ports as the host sees them: inputs it writes (directly into
//! mapped slots, or through staging buffers and an upload), outputs it
//! reads.

use super::slots::Waits;
use super::GraphRt;
use crate::error::{Result, RuntimeError};

impl GraphRt {
    /// The input named `port`: (index into the inputs, plan buffer).
    pub(crate) fn input(&self, port: &str) -> Result<(usize, usize)> {
        match self.inputs.iter().position(|(p, _)| p.name == port) {
            Some(i) => Ok((i, self.inputs[i].1)),
            None => Err(self.unknown("input", port)),
        }
    }

    /// The output named `port`: (index into the outputs, plan buffer).
    pub(crate) fn output(&self, port: &str) -> Result<(usize, usize)> {
        match self.outputs.iter().position(|(p, _)| p.name == port) {
            Some(i) => Ok((i, self.outputs[i].1)),
            None => Err(self.unknown("output", port)),
        }
    }

    fn unknown(&self, dir: &'static str, port: &str) -> RuntimeError {
        let other = if dir == "input" {
            &self.outputs
        } else {
            &self.inputs
        };
        let hint = if other.iter().any(|(p, _)| p.name == port) {
            format!(
                " (`{port}` is an {})",
                if dir == "input" { "output" } else { "input" }
            )
        } else {
            let list = if dir == "input" {
                &self.inputs
            } else {
                &self.outputs
            };
            let names: Vec<&str> = list.iter().map(|(p, _)| p.name.as_str()).collect();
            format!(" ({dir}s: {})", names.join(", "))
        };
        RuntimeError::UnknownPort {
            graph: self.name.clone(),
            dir,
            port: port.to_string(),
            hint,
        }
    }

    /// True if input buffer `b` can take another version now.
    pub(crate) fn input_has_room(&self, b: usize) -> bool {
        self.slots.input_has_room(b)
    }

    /// True if input buffer `b` can take another version now without the
    /// host waiting for the GPU: it has room, and the GPU work that read
    /// (or uploaded) the version its slot held is complete.
    pub(crate) fn input_writable(&self, b: usize) -> Result<bool> {
        if !self.input_has_room(b) {
            return Ok(false);
        }
        for p in self.slots.input_waits(b).list() {
            if !self.gpu.is_done(*p)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes the next version of input buffer `b` (must have room).
    pub(crate) fn write_input(&mut self, b: usize, bytes: &[u8]) -> Result<()> {
        let v = self.slots.bufs[b].produced;
        let s = self.slots.slot_of(b, v);
        if self.slots.bufs[b].staged {
            // The host must not overwrite the staging slot before the
            // upload that read it is done; the GPU readers of the device
            // slot are waited for by the new upload, on the GPU.
            if let Some(p) = self.slots.previous_upload(b) {
                self.gpu.wait(&[p])?;
            }
            let dst = self.bufs[b].host[s]
                .mapped_mut()
                .ok_or_else(|| RuntimeError::OutOfMemory("staging buffer is not mapped".into()))?;
            dst.copy_from_slice(bytes);
            let mut w = Waits::default();
            self.slots.war_waits(b, v, &mut w);
            let q = self.gpu.queue_for(self.priority);
            let cb = self.bufs[b].upload_cbs[s];
            let p = self.submit(q, &[cb], w.list())?;
            self.slots.input_written(b, Some(p));
        } else {
            self.gpu.wait(self.slots.input_waits(b).list())?;
            let dst = self.bufs[b].dev[s]
                .mapped_mut()
                .ok_or_else(|| RuntimeError::OutOfMemory("input buffer is not mapped".into()))?;
            dst.copy_from_slice(bytes);
            self.slots.input_written(b, None);
        }
        Ok(())
    }

    /// True if output buffer `b` holds a version the host has not read.
    pub(crate) fn output_available(&self, b: usize) -> bool {
        self.slots.output_available(b)
    }

    /// True if the next version of output buffer `b` is produced and the GPU
    /// finished writing it (reading it will not block).
    pub(crate) fn output_complete(&self, b: usize) -> Result<bool> {
        if !self.output_available(b) || self.lent_out(b) {
            return Ok(false);
        }
        let mut w = Waits::default();
        self.slots
            .read_waits(b, self.slots.bufs[b].host_next, &mut w);
        for p in w.list() {
            if !self.gpu.is_done(*p)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads the next version of output buffer `b` into `dst` (must be available).
    pub(crate) fn read_output(&mut self, b: usize, dst: &mut [u8]) -> Result<()> {
        self.read_output_with(b, |src| dst.copy_from_slice(src))
    }

    /// Hands the next version of output buffer `b` (must be available) to
    /// `f` where it lies, in mapped memory (no copy), once the GPU finished
    /// writing it; then counts it read.
    pub(crate) fn read_output_with<R>(
        &mut self,
        b: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        let r = f(self.next_output(b)?);
        self.slots.output_read(b);
        Ok(r)
    }

    /// The next version of output buffer `b` (must be available) where it
    /// lies in mapped memory, once the GPU finished writing it.
    pub(crate) fn next_output(&self, b: usize) -> Result<&[u8]> {
        let v = self.slots.bufs[b].host_next;
        let mut w = Waits::default();
        self.slots.read_waits(b, v, &mut w);
        self.gpu.wait(w.list())?;
        let s = self.slots.slot_of(b, v);
        let mem = &self.bufs[b];
        if mem.host.is_empty() {
            mem.dev[s].mapped()
        } else {
            mem.host[s].mapped()
        }
        .ok_or_else(|| RuntimeError::OutOfMemory("output buffer is not mapped".into()))
    }

    /// Skips the next version of output buffer `b` without reading it.
    pub(crate) fn discard_output(&mut self, b: usize) -> Result<()> {
        let v = self.slots.bufs[b].host_next;
        let mut w = Waits::default();
        self.slots.read_waits(b, v, &mut w);
        self.gpu.wait(w.list())?;
        self.slots.output_read(b);
        Ok(())
    }

    /// Inputs with no data for the frame output buffer `out` needs next.
    pub(crate) fn starved_inputs(&self, out: usize) -> Vec<String> {
        self.slots
            .starved_inputs(out)
            .into_iter()
            .filter_map(|i| self.inputs.get(i).map(|(p, _)| p.name.clone()))
            .collect()
    }

    /// Versions written to input buffer `b` that some `in` reader has not
    /// consumed yet (0 for inputs read only through `sticky` ports).
    pub(crate) fn unconsumed(&self, b: usize) -> u64 {
        self.slots.unconsumed(b)
    }

    /// True if a staged input upload is still running on the GPU.
    pub(crate) fn uploading(&self) -> Result<bool> {
        for p in self.slots.uploads() {
            if !self.gpu.is_done(p)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
