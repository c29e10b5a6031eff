//! Matching the ptask's `spec`s with the kernel's specialization constants.

use super::SpecConstant;
use crate::diag::{Code, Diagnostic};
use crate::ir::{self, SpecTy};
use ptc_plan::spirv::{Interface, SpecType};
use ptc_plan::types::Scalar;
use ptc_plan::SpecValue;
use std::collections::HashMap;

/// The kernel's specialization constants in words: `` `N` (id 0, uint = 64) ``.
fn describe_spec(c: &SpecConstant) -> String {
    let default = match &c.ty {
        SpecType::Scalar(Scalar::F32) => format!("{}", f32::from_bits(c.default)),
        SpecType::Scalar(Scalar::I32) => format!("{}", c.default as i32),
        SpecType::Bool => (if c.default != 0 { "true" } else { "false" }).to_string(),
        _ => c.default.to_string(),
    };
    match &c.name {
        Some(n) => format!("`{n}` (id {}, {} = {default})", c.id, c.ty),
        None => format!("id {} ({} = {default}, unnamed)", c.id, c.ty),
    }
}

/// Matches each `spec` with the kernel's constant of that name; returns
/// the values to specialize with.
pub(super) fn check_specs(
    pt: &ir::Ptask,
    iface: &Interface,
    d: &mut Vec<Diagnostic>,
) -> Vec<SpecValue> {
    let kernel = &pt.kernel;
    let mut out: Vec<SpecValue> = Vec::with_capacity(pt.specs.len());
    // Constant id → the spec that set it.
    let mut by_id: HashMap<u32, &ir::Spec> = HashMap::new();
    for s in &pt.specs {
        let name = s.name.name.as_str();
        let mut matched: Vec<&SpecConstant> = iface
            .spec_constants
            .iter()
            .filter(|c| c.name.as_deref() == Some(name))
            .collect();
        // `local_size_x/y/z` name the workgroup-size constants, which
        // glslang leaves unnamed.
        let axis = ["local_size_x", "local_size_y", "local_size_z"]
            .iter()
            .position(|a| *a == name);
        let mut ids: Vec<u32> = matched.iter().map(|c| c.id).collect();
        if let (true, Some(i)) = (matched.is_empty(), axis) {
            if let Some(id) = iface.local_size_ids[i] {
                ids.push(id);
                matched = iface.spec_constants.iter().filter(|c| c.id == id).collect();
            }
        }
        if matched.is_empty() {
            let known: Vec<String> = iface.spec_constants.iter().map(describe_spec).collect();
            let help = if known.is_empty() {
                format!(
                    "the kernel declares no specialization constants; declare one, e.g. `layout(constant_id = 0) const uint {name} = 1;`"
                )
            } else {
                format!("its specialization constants are {}", known.join(", "))
            };
            d.push(
                Diagnostic::new(
                    Code::SpecMismatch,
                    format!("kernel `{kernel}` has no specialization constant `{name}`"),
                )
                .primary(s.name.span, "no such constant in the kernel")
                .help(help),
            );
            continue;
        }
        let ok_type = |c: &SpecConstant| match (&c.ty, s.ty) {
            (SpecType::Bool, SpecTy::Bool) => true,
            (SpecType::Scalar(k), SpecTy::Scalar(t)) => *k == t,
            _ => false,
        };
        if let Some(bad) = matched.iter().find(|c| !ok_type(c)) {
            let want = match &bad.ty {
                SpecType::Bool => Some("bool"),
                SpecType::Scalar(Scalar::U32) => Some("u32"),
                SpecType::Scalar(Scalar::I32) => Some("i32"),
                SpecType::Scalar(Scalar::F32) => Some("f32"),
                _ => None,
            };
            let help = match want {
                Some(t) => format!("declare it with the kernel's type: `spec {name}: {t} = ...;`"),
                None => format!(
                    "ptc sets bool, u32, i32 and f32 constants; `{}` cannot be set",
                    bad.ty
                ),
            };
            d.push(
                Diagnostic::new(
                    Code::SpecMismatch,
                    format!(
                        "spec `{name}` is {}, but kernel `{kernel}` declares {}",
                        s.ty,
                        describe_spec(bad)
                    ),
                )
                .primary(s.ty_span, format!("{} here", s.ty))
                .help(help),
            );
            continue;
        }
        ids.sort_unstable();
        ids.dedup();
        // Other constants on the same id (the workgroup size, say) get the
        // same value: their types must agree too.
        let shared = iface
            .spec_constants
            .iter()
            .find(|c| ids.contains(&c.id) && c.name.as_deref() != Some(name) && !ok_type(c));
        if let Some(other) = shared {
            let what = if iface.local_size_ids.contains(&Some(other.id)) {
                format!("the workgroup size ({})", other.ty)
            } else {
                describe_spec(other)
            };
            d.push(
                Diagnostic::new(
                    Code::SpecMismatch,
                    format!(
                        "constant_id {} of kernel `{kernel}` is both `{name}` ({}) and {what}: one value cannot set both",
                        other.id,
                        s.ty
                    ),
                )
                .primary(s.span, format!("sets constant_id {}", other.id))
                .help("give the kernel's constants distinct ids (`constant_id`, `local_size_x_id`)"),
            );
            continue;
        }
        let mut clash = false;
        for id in &ids {
            if let Some(first) = by_id.get(id) {
                clash = true;
                d.push(
                    Diagnostic::new(
                        Code::SpecMismatch,
                        format!(
                            "spec `{name}` and spec `{}` both set constant_id {id} of kernel `{kernel}`",
                            first.name.name
                        ),
                    )
                    .primary(s.span, format!("constant_id {id} again"))
                    .secondary(first.span, format!("constant_id {id} first set here"))
                    .help("one id has one value: give the kernel's constants distinct `constant_id`s, or set it once"),
                );
            }
        }
        if clash {
            continue;
        }
        for id in ids {
            by_id.insert(id, s);
            out.push(SpecValue {
                id,
                name: name.to_string(),
                value: s.value,
            });
        }
    }
    out.sort_by_key(|v| v.id);
    out
}
