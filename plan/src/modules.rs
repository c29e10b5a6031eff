//! What plan validation learns from the SPIR-V modules: each module a
//! ptask uses is decoded and reflected once ([`spirv::reflect`]), checked
//! against every ptask that uses it (entry point, local size, bindings,
//! push constants, requirements covering its capabilities), and its facts
//! are handed back as a [`PlanInfo`].
//!
//! The runtime takes what it needs from there (the words for
//! `vkCreateShaderModule`, whether a dispatch may be sliced) instead of
//! parsing SPIR-V again. [`Plan::validate`] returns the facts rather than
//! caching them in the plan: a plan's fields are public and may change
//! after it was loaded, so whoever is about to trust a plan validates it
//! and uses the facts of that validation (`Runtime::open_graph` does).

use crate::spirv::{
    self, Access as KAccess, BindingInfo, BindingKind, Interface, KernelFeatures, SpecType,
};
use crate::types::{Scalar, Value};
use crate::{invalid, Access, Plan, PlanError};

/// Facts about one SPIR-V module of a validated plan, from its one
/// reflection. Only [`Plan::validate`] makes these (`non_exhaustive`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleInfo {
    /// The decoded SPIR-V words (checked: header, no unknown opcodes,
    /// reflected by spirq), ready for `vkCreateShaderModule`.
    pub words: Vec<u32>,
    /// The GLCompute entry point's name (every ptask using the module names it).
    pub entry: String,
    /// `local_size_{x,y,z}` (every ptask using the module declares it).
    pub local_size: [u32; 3],
    /// The kernel reads `gl_NumWorkGroups`: its dispatches must not be sliced.
    pub reads_num_workgroups: bool,
    /// Device features its capabilities need (covered by the plan's requirements).
    pub features: KernelFeatures,
    /// Its descriptor bindings: set 0, storage buffers, one per ptask binding.
    pub bindings: Vec<BindingInfo>,
    /// Size in bytes of its push-constant block (0 if none).
    pub push_constant_bytes: u32,
    /// Bytes of `shared` memory it declares (spec constants at their defaults).
    pub shared_memory_bytes: u64,
}

/// What [`Plan::validate`] learnt about a plan's modules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanInfo {
    /// By module index; `None` for a module no ptask uses (not inspected).
    modules: Vec<Option<ModuleInfo>>,
    /// Module index of each ptask.
    ptask_module: Vec<usize>,
}

impl PlanInfo {
    /// Module `i` ([`Plan::modules`]), if it exists and a ptask uses it.
    pub fn module(&self, i: usize) -> Option<&ModuleInfo> {
        self.modules.get(i)?.as_ref()
    }

    /// The module ptask `t` ([`Plan::ptasks`]) runs.
    pub fn ptask(&self, t: usize) -> Option<&ModuleInfo> {
        self.module(*self.ptask_module.get(t)?)
    }
}

/// The first capability of a module whose device feature `requirements`
/// does not declare: (capability, requirements field).
fn uncovered(f: KernelFeatures, r: &crate::Requirements) -> Option<(&'static str, &'static str)> {
    [
        (f.int8 && !r.shader_int8, "Int8", "shader_int8"),
        (f.int16 && !r.shader_int16, "Int16", "shader_int16"),
        (f.int64 && !r.shader_int64, "Int64", "shader_int64"),
        (f.float16 && !r.shader_float16, "Float16", "shader_float16"),
        (f.float64 && !r.shader_float64, "Float64", "shader_float64"),
        (
            f.storage_8bit && !r.storage_8bit,
            "StorageBuffer8BitAccess",
            "storage_8bit",
        ),
        (
            f.storage_16bit && !r.storage_16bit,
            "StorageBuffer16BitAccess",
            "storage_16bit",
        ),
    ]
    .into_iter()
    .find_map(|(missing, cap, field)| missing.then_some((cap, field)))
}

impl Plan {
    /// The ptask's specialization values as (id, bits), checked against
    /// the kernel's constants: each id exists once, values fit its type.
    fn check_specialization(
        &self,
        p: &crate::PtaskPlan,
        iface: &Interface,
        what: &str,
    ) -> Result<Vec<(u32, u32)>, PlanError> {
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(p.specialization.len());
        for v in &p.specialization {
            if out.iter().any(|(id, _)| *id == v.id) {
                return Err(invalid(
                    what,
                    format!("specialization constant {} is given twice", v.id),
                ));
            }
            let consts: Vec<_> = iface
                .spec_constants
                .iter()
                .filter(|c| c.id == v.id)
                .collect();
            if consts.is_empty() {
                return Err(invalid(
                    what,
                    format!(
                        "specialization constant {} (`{}`) does not exist in the kernel",
                        v.id, v.name
                    ),
                ));
            }
            for c in consts {
                let fits = matches!(
                    (&c.ty, v.value),
                    (SpecType::Bool, Value::U32(0 | 1))
                        | (SpecType::Scalar(Scalar::U32), Value::U32(_))
                        | (SpecType::Scalar(Scalar::I32), Value::I32(_))
                        | (SpecType::Scalar(Scalar::F32), Value::F32(_))
                );
                if !fits {
                    return Err(invalid(
                        what,
                        format!(
                            "specialization constant {} is {} in the kernel; {:?} does not fit",
                            v.id, c.ty, v.value
                        ),
                    ));
                }
            }
            out.push((v.id, u32::from_le_bytes(v.value.to_le_bytes())));
        }
        Ok(out)
    }

    /// The ptask's uniform-buffer params against the kernel's uniform block
    /// at their binding (and no push constants then).
    fn check_uniform_params(
        &self,
        p: &crate::PtaskPlan,
        iface: &Interface,
        what: &str,
    ) -> Result<(), PlanError> {
        let Some(u) = &p.uniform_params else {
            return Ok(());
        };
        if u.binding as usize != p.bindings.len() {
            return Err(invalid(
                what,
                format!(
                    "uniform_params.binding is {}, but the params block follows the {} storage bindings",
                    u.binding,
                    p.bindings.len()
                ),
            ));
        }
        if !p.push_constants.is_empty() || p.push_constant_size != 0 || iface.push.is_some() {
            return Err(invalid(
                what,
                "params are in a uniform buffer, but push constants are declared too",
            ));
        }
        let Some(block) = iface
            .uniforms
            .iter()
            .find(|b| b.set == 0 && b.binding == u.binding)
        else {
            return Err(invalid(
                what,
                format!(
                    "the kernel has no uniform block at set 0, binding {}",
                    u.binding
                ),
            ));
        };
        let same =
            block.members.len() == u.members.len()
                && block.members.iter().zip(&u.members).all(|(m, c)| {
                    m.offset == c.offset as usize && m.ty.as_ref().ok() == Some(&c.ty)
                });
        if !same {
            return Err(invalid(
                what,
                "the kernel's uniform block does not match uniform_params.members",
            ));
        }
        if u.size < block.bytes || u.size % 16 != 0 || u.size > 65536 {
            return Err(invalid(
                what,
                format!(
                    "uniform_params.size {} must be a multiple of 16 covering the block ({} bytes), at most 65536",
                    u.size, block.bytes
                ),
            ));
        }
        if u.size > self.requirements.uniform_buffer_bytes {
            return Err(invalid(
                what,
                "requirements.uniform_buffer_bytes does not cover uniform_params.size",
            ));
        }
        for c in &u.members {
            if c.offset % c.ty.size() != 0 || c.offset + c.ty.size() > u.size {
                return Err(invalid(
                    what,
                    format!(
                        "uniform param `{}` is misaligned or outside the buffer",
                        c.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Reflects each module a ptask uses (`words`: the decoded modules, by
    /// index, from the per-item checks) and checks it against every ptask
    /// using it: entry point, local size, storage-buffer bindings (set 0,
    /// one per binding, `readonly` for inputs), push-constant members and
    /// the requirements its capabilities need.
    pub(crate) fn inspect_modules(
        &self,
        words: Vec<Option<Vec<u32>>>,
    ) -> Result<PlanInfo, PlanError> {
        let mut reflected: Vec<Option<Result<Interface, String>>> = vec![None; words.len()];
        // Other entry points of a module, reflected at their first user.
        let mut by_entry: std::collections::HashMap<(usize, String), Result<Interface, String>> =
            std::collections::HashMap::new();
        for p in &self.ptasks {
            let what = format!("ptask `{}`: spirv", p.name);
            let module_words = match words.get(p.module) {
                Some(Some(w)) => Some(w.as_slice()),
                _ => None,
            };
            let slot = reflected.get_mut(p.module).ok_or_else(|| {
                invalid(
                    format!("ptask `{}`", p.name),
                    format!("module {} does not exist", p.module),
                )
            })?;
            // Reflect each module once, at its first user (its first
            // compute entry point; others on demand).
            let first = slot.get_or_insert_with(|| match module_words {
                Some(w) => spirv::reflect(w),
                None => Err("the module was not decoded".into()),
            });
            let first = first
                .as_ref()
                .map_err(|e| invalid(what.clone(), e.clone()))?;
            let iface = if first.entry == p.entry {
                first
            } else {
                by_entry
                    .entry((p.module, p.entry.clone()))
                    .or_insert_with(|| match module_words {
                        Some(w) => spirv::reflect_entry(w, Some(&p.entry)),
                        None => Err("the module was not decoded".into()),
                    })
                    .as_ref()
                    .map_err(|_| {
                        invalid(
                            what.clone(),
                            format!(
                                "entry point is `{}`, the plan says `{}`",
                                first.entry, p.entry
                            ),
                        )
                    })?
            };
            if self.version < 3 && (!p.specialization.is_empty() || p.uniform_params.is_some()) {
                return Err(invalid(
                    what,
                    "specialization and uniform_params need plan version 3",
                ));
            }
            if iface.entry != p.entry {
                return Err(invalid(
                    what,
                    format!(
                        "entry point is `{}`, the plan says `{}`",
                        iface.entry, p.entry
                    ),
                ));
            }
            let values = self.check_specialization(p, iface, &what)?;
            let spec = match module_words {
                Some(w) if !values.is_empty() => {
                    spirv::specialize_entry(w, Some(&p.entry), &values)
                        .map_err(|e| invalid(what.clone(), e))?
                }
                _ => spirv::Specialized {
                    local_size: iface.local_size.clone(),
                    local_size_ids: iface.local_size_ids,
                    shared_memory_bytes: iface.shared_memory_bytes,
                },
            };
            match &spec.local_size {
                Ok(ls) if *ls == p.local_size => {}
                Ok(ls) => {
                    return Err(invalid(
                        what,
                        format!(
                            "local size is {ls:?}{}, the plan says {:?}",
                            if values.is_empty() {
                                ""
                            } else {
                                " as specialized"
                            },
                            p.local_size
                        ),
                    ))
                }
                Err(e) => return Err(invalid(what, e.clone())),
            }
            let n = p.bindings.len();
            let uniform_binding = p.uniform_params.as_ref().map(|u| u.binding as usize);
            for b in &iface.bindings {
                let is_params = b.set == 0 && Some(b.binding as usize) == uniform_binding;
                if !is_params && (b.set != 0 || b.binding as usize >= n) {
                    return Err(invalid(
                        what,
                        format!(
                            "the kernel uses set {}, binding {} which the plan does not bind",
                            b.set, b.binding
                        ),
                    ));
                }
            }
            for (i, pb) in p.bindings.iter().enumerate() {
                let found: Vec<_> = iface
                    .bindings
                    .iter()
                    .filter(|b| b.set == 0 && b.binding as usize == i)
                    .collect();
                let [kb] = found.as_slice() else {
                    return Err(invalid(
                        what,
                        format!(
                            "binding {i} (`{}`) is declared {} times by the kernel",
                            pb.port,
                            found.len()
                        ),
                    ));
                };
                match (&kb.kind, pb.access) {
                    (BindingKind::Storage(KAccess::ReadOnly), _)
                    | (BindingKind::Storage(_), Access::Out) => {}
                    (BindingKind::Storage(_), _) => {
                        return Err(invalid(
                            what,
                            format!(
                                "input binding {i} (`{}`) is writable in the kernel",
                                pb.port
                            ),
                        ))
                    }
                    (BindingKind::Other(k), _) => {
                        return Err(invalid(
                            what,
                            format!("binding {i} (`{}`) is {k}, not a storage buffer", pb.port),
                        ))
                    }
                }
            }
            let members = iface.push.as_deref().unwrap_or(&[]);
            let same = members.len() == p.push_constants.len()
                && members.iter().zip(&p.push_constants).all(|(m, c)| {
                    m.offset == c.offset as usize && m.ty.as_ref().ok() == Some(&c.ty)
                });
            if !same {
                return Err(invalid(
                    what,
                    "the kernel's push-constant block does not match push_constants",
                ));
            }
            self.check_uniform_params(p, iface, &what)?;
            if self.version >= 3
                && spec.shared_memory_bytes > u64::from(self.requirements.shared_memory_bytes)
            {
                return Err(invalid(
                    what,
                    format!(
                        "the kernel declares {} bytes of shared memory as specialized but requirements.shared_memory_bytes is {}",
                        spec.shared_memory_bytes, self.requirements.shared_memory_bytes
                    ),
                ));
            }
            if let Some((cap, field)) = uncovered(iface.features, &self.requirements) {
                return Err(invalid(
                    what,
                    format!(
                        "the kernel declares capability {cap} but requirements.{field} is not set"
                    ),
                ));
            }
            let missing = iface.features.subgroup & !self.requirements.subgroup_operations;
            if missing != 0 {
                return Err(invalid(
                    what,
                    format!(
                        "the kernel uses subgroup operations ({}) that requirements.subgroup_operations ({}) does not list",
                        crate::spirv::subgroup_names(missing),
                        self.requirements.subgroup_operations
                    ),
                ));
            }
        }
        let modules = words
            .into_iter()
            .zip(reflected)
            .map(|(w, r)| match (w, r) {
                (Some(words), Some(Ok(i))) => Ok(Some(ModuleInfo {
                    words,
                    // Compared with its ptasks' local size above, so `Ok`;
                    // passed on with `?` rather than unwrapped all the same.
                    local_size: i.local_size.map_err(|e| invalid("spirv", e))?,
                    entry: i.entry,
                    reads_num_workgroups: i.reads_num_workgroups,
                    features: i.features,
                    bindings: i.bindings,
                    push_constant_bytes: i.push_constant_bytes,
                    shared_memory_bytes: i.shared_memory_bytes,
                })),
                _ => Ok(None),
            })
            .collect::<Result<_, PlanError>>()?;
        Ok(PlanInfo {
            modules,
            ptask_module: self.ptasks.iter().map(|p| p.module).collect(),
        })
    }
}
