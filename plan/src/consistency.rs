//! Cross-reference checks of a plan, run by [`Plan::validate`] after the
//! per-item checks (indices are known to be in range here): unique names,
//! roles vs bindings and graph ports, alias lists, slots, push-constant
//! values, local sizes, requirements, and a schedule that respects every
//! dependency with the barriers it needs. (The SPIR-V checks, between the
//! two, are in `modules.rs`.)

use crate::types::{Scalar, Value};
use crate::{
    invalid, Access, BufferRole, Hazard, Plan, PlanError, MAX_INVOCATIONS, MAX_LOCAL_SIZE,
};
use std::collections::{HashMap, HashSet};

fn unique<'a>(what: &str, names: impl IntoIterator<Item = &'a str>) -> Result<(), PlanError> {
    let mut seen = HashSet::new();
    for n in names {
        if n.is_empty() {
            return Err(invalid(what, "a name is empty"));
        }
        if !seen.insert(n) {
            return Err(invalid(what, format!("`{n}` appears twice")));
        }
    }
    Ok(())
}

fn value_fits(v: Value, s: Scalar) -> bool {
    matches!(
        (v, s),
        (Value::F32(_), Scalar::F32)
            | (Value::I32(_), Scalar::I32)
            | (Value::U32(_), Scalar::U32)
            | (Value::U32(0..=0xFFFF), Scalar::U16)
            | (Value::U32(0..=0xFF), Scalar::U8)
    )
}

impl Plan {
    pub(crate) fn validate_consistency(&self) -> Result<(), PlanError> {
        unique("structs", self.structs.iter().map(|s| s.name.as_str()))?;
        unique("buffers", self.buffers.iter().map(|b| b.name.as_str()))?;
        unique("ptasks", self.ptasks.iter().map(|p| p.name.as_str()))?;
        unique(
            "graph inputs and outputs",
            self.inputs
                .iter()
                .map(|i| i.name.as_str())
                .chain(self.outputs.iter().map(|o| o.name.as_str())),
        )?;

        // Aliases: each endpoint in exactly one buffer.
        let mut alias_of: HashMap<&str, usize> = HashMap::new();
        for (i, b) in self.buffers.iter().enumerate() {
            let what = format!("buffer #{i} `{}`", b.name);
            if b.aliases.is_empty() {
                return Err(invalid(
                    what,
                    "has no aliases (every buffer has a producer)",
                ));
            }
            for a in &b.aliases {
                if let Some(j) = alias_of.insert(a.as_str(), i) {
                    return Err(invalid(
                        what,
                        format!("alias `{a}` is also an alias of buffer #{j}"),
                    ));
                }
            }
            let slots_ok = match b.role {
                BufferRole::Internal | BufferRole::Constant => b.slots == 1,
                BufferRole::State => b.slots == 2,
                BufferRole::Input | BufferRole::Output => true,
            };
            if !slots_ok {
                return Err(invalid(
                    what,
                    format!("a {:?} buffer cannot have {} slots", b.role, b.slots),
                ));
            }
            if let (Some(v), Some(s)) = (b.init, b.ty.elem.scalar()) {
                if !value_fits(v, s) {
                    return Err(invalid(
                        what,
                        format!("initial value {v:?} does not fit its {s} elements"),
                    ));
                }
            }
            let (s8, s16) = b.ty.elem.small_scalars(&self.structs);
            if (s8 && !self.requirements.storage_8bit) || (s16 && !self.requirements.storage_16bit)
            {
                return Err(invalid(
                    what,
                    "has 8/16-bit elements but requirements.storage_8bit/storage_16bit is not set",
                ));
            }
        }
        let alias_in = |name: &str, buffer: usize| alias_of.get(name) == Some(&buffer);

        // Graph ports.
        let mut input_of = vec![0usize; self.buffers.len()];
        for g in &self.inputs {
            let b = &self.buffers[g.buffer];
            if b.role != BufferRole::Input {
                return Err(invalid(
                    format!("input `{}`", g.name),
                    format!("buffer `{}` is {:?}, not an input buffer", b.name, b.role),
                ));
            }
            if !alias_in(&g.name, g.buffer) {
                return Err(invalid(
                    format!("input `{}`", g.name),
                    format!("is not among the aliases of buffer `{}`", b.name),
                ));
            }
            input_of[g.buffer] += 1;
        }
        for g in &self.outputs {
            let b = &self.buffers[g.buffer];
            if b.role == BufferRole::Internal {
                return Err(invalid(
                    format!("output `{}`", g.name),
                    format!("buffer `{}` is internal (not readable by the host)", b.name),
                ));
            }
            if !alias_in(&g.name, g.buffer) {
                return Err(invalid(
                    format!("output `{}`", g.name),
                    format!("is not among the aliases of buffer `{}`", b.name),
                ));
            }
        }

        // Bindings: one writer per non-input buffer; aliases cover them.
        let mut writer: Vec<Option<usize>> = vec![None; self.buffers.len()];
        for (t, p) in self.ptasks.iter().enumerate() {
            let what = format!("ptask `{}`", p.name);
            unique(
                &format!("{what}: bindings"),
                p.bindings.iter().map(|b| b.port.as_str()),
            )?;
            if p.entry.is_empty() {
                return Err(invalid(what, "entry point name is empty"));
            }
            for b in &p.bindings {
                let endpoint = format!("{}.{}", p.name, b.port);
                if !alias_in(&endpoint, b.buffer) {
                    return Err(invalid(
                        what,
                        format!(
                            "binding `{}` uses buffer `{}` but `{endpoint}` is not among its aliases",
                            b.port, self.buffers[b.buffer].name
                        ),
                    ));
                }
                if b.access == Access::Out {
                    if let Some(prev) = writer[b.buffer].replace(t) {
                        return Err(invalid(
                            what,
                            format!(
                                "buffer `{}` is written by ptask `{}` too (one writer per buffer)",
                                self.buffers[b.buffer].name, self.ptasks[prev].name
                            ),
                        ));
                    }
                }
            }
            let total: u64 = p
                .local_size
                .iter()
                .fold(1u64, |a, &v| a.saturating_mul(u64::from(v)));
            if total > MAX_INVOCATIONS
                || p.local_size.iter().zip(MAX_LOCAL_SIZE).any(|(v, m)| *v > m)
            {
                return Err(invalid(
                    what,
                    format!(
                        "local_size {:?} exceeds 1024 invocations (x, y ≤ 1024, z ≤ 64)",
                        p.local_size
                    ),
                ));
            }
            if let Some(pr) = p.priority {
                if !(1..=100).contains(&pr) {
                    return Err(invalid(what, format!("priority {pr} is outside 1..=100")));
                }
            }
            if p.push_constant_size % 4 != 0 {
                return Err(invalid(what, "push_constant_size is not a multiple of 4"));
            }
            let mut end = 0u32;
            for c in &p.push_constants {
                if c.offset < end {
                    return Err(invalid(
                        what,
                        format!("push constant `{}` overlaps the previous one", c.name),
                    ));
                }
                end = c.offset.saturating_add(c.ty.size());
                if !value_fits(c.value, c.ty) {
                    return Err(invalid(
                        what,
                        format!(
                            "push constant `{}`: value {:?} does not fit type {}",
                            c.name, c.value, c.ty
                        ),
                    ));
                }
            }
            let req = &self.requirements;
            if p.push_constant_size > req.push_constant_bytes
                || p.workgroups
                    .iter()
                    .zip(req.max_workgroups)
                    .any(|(w, m)| *w > m)
            {
                return Err(invalid(
                    what,
                    "needs more push-constant bytes or workgroups than requirements declare",
                ));
            }
        }
        for (i, b) in self.buffers.iter().enumerate() {
            let what = format!("buffer #{i} `{}`", b.name);
            match (b.role, writer[i], input_of[i]) {
                (BufferRole::Input, None, 1) => {}
                (BufferRole::Constant, None, 0) if b.init.is_some() => {}
                (BufferRole::Constant, ..) => {
                    return Err(invalid(
                        what,
                        "a constant buffer has an `init` value and is written by no ptask and no graph input",
                    ))
                }
                (BufferRole::Input, _, n) => {
                    return Err(invalid(
                        what,
                        format!("an input buffer must be fed by exactly one graph input and no ptask (it has {n} inputs)"),
                    ))
                }
                (_, Some(_), 0) => {}
                (_, None, _) => return Err(invalid(what, "no ptask writes it")),
                (_, Some(_), _) => {
                    return Err(invalid(what, "is written by a ptask and fed by a graph input"))
                }
            }
        }

        Ok(())
    }

    /// The schedule check, run last by [`Plan::validate`].
    pub(crate) fn validate_schedule(&self) -> Result<(), PlanError> {
        // Schedule: producers before consumers (state buffers excepted), with
        // a read-after-write barrier on every buffer written earlier in the
        // frame and a write-after-read barrier on every buffer read earlier.
        let mut written = vec![false; self.buffers.len()];
        let mut read = vec![false; self.buffers.len()];
        for d in &self.schedule {
            let p = &self.ptasks[d.ptask];
            let what = format!("schedule: ptask `{}`", p.name);
            let has = |buffer: usize, h: Hazard| {
                d.barriers
                    .iter()
                    .any(|x| x.buffer == buffer && x.hazard == h)
            };
            for x in &d.barriers {
                if !p.bindings.iter().any(|b| b.buffer == x.buffer) {
                    return Err(invalid(
                        what,
                        format!(
                            "has a barrier on buffer #{} which it does not bind",
                            x.buffer
                        ),
                    ));
                }
            }
            for b in &p.bindings {
                let buf = &self.buffers[b.buffer];
                match b.access {
                    Access::In | Access::Sticky => {
                        let needs_writer = !matches!(
                            buf.role,
                            BufferRole::Input | BufferRole::State | BufferRole::Constant
                        );
                        if needs_writer && !written[b.buffer] {
                            return Err(invalid(
                                what,
                                format!(
                                    "reads `{}` before the ptask that writes it is dispatched",
                                    buf.name
                                ),
                            ));
                        }
                        if written[b.buffer] && !has(b.buffer, Hazard::ReadAfterWrite) {
                            return Err(invalid(
                                what,
                                format!("reads `{}` without a read_after_write barrier", buf.name),
                            ));
                        }
                    }
                    Access::Out => {
                        if read[b.buffer] && !has(b.buffer, Hazard::WriteAfterRead) {
                            return Err(invalid(
                                what,
                                format!("writes `{}` without a write_after_read barrier", buf.name),
                            ));
                        }
                    }
                }
            }
            for b in &p.bindings {
                match b.access {
                    Access::In | Access::Sticky => read[b.buffer] = true,
                    Access::Out => {
                        written[b.buffer] = true;
                        read[b.buffer] = false;
                    }
                }
            }
        }
        Ok(())
    }
}
