//! Validation: name/type/shape checking of the graph, kernel reflection.
//!
//! What validation proves about a module is handed to the back end as a
//! [`ModuleInfo`] (as naga's back ends take its `ModuleInfo`): lowering
//! trusts it and reports anything inconsistent as an [`InternalError`],
//! never as a user-facing diagnostic.

pub mod check;
pub mod kernel;

use kernel::KernelInfo;

/// What validation proved about a checked module: one compiled, reflected
/// kernel per ptask, matching the ptask's ports and params, with its
/// dispatch size within the device limits.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleInfo {
    /// By ptask index.
    pub kernels: Vec<KernelInfo>,
}

impl ModuleInfo {
    /// The module info of a module whose every kernel checked (`None`
    /// entries are kernels that failed, which a clean check never leaves).
    pub fn new(kernels: Vec<Option<KernelInfo>>) -> Result<ModuleInfo, InternalError> {
        let n = kernels.len();
        let kernels: Vec<KernelInfo> = kernels.into_iter().flatten().collect();
        if kernels.len() != n {
            return Err(InternalError::new(format!(
                "{} of {n} kernels did not check, but no error was reported",
                n - kernels.len()
            )));
        }
        Ok(ModuleInfo { kernels })
    }
}

/// An inconsistency inside ptc (a stage broke what an earlier one
/// promised): a bug, never a problem with the user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InternalError {
    /// What was inconsistent.
    pub what: String,
}

impl InternalError {
    pub fn new(what: impl Into<String>) -> InternalError {
        InternalError { what: what.into() }
    }

    /// The diagnostic shown for it (`ptc::internal`).
    pub fn to_diagnostic(&self) -> crate::diag::Diagnostic {
        crate::diag::Diagnostic::new(
            crate::diag::Code::Internal,
            format!("internal error: {}", self.what),
        )
        .help("this is a bug in ptc; please report it with the .pt file and its kernels")
    }
}

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "internal error: {}", self.what)
    }
}

impl std::error::Error for InternalError {}

/// The candidate closest to `name` by edit distance, if it is close enough
/// to be a plausible typo (edit distance, a transposition counting as one edit, at most a third
/// of the name's length rounded up).
/// Used for "did you mean" hints.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    let limit = name.chars().count().div_ceil(3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = strsim::osa_distance(name, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("scael", ["scale", "add"]), Some("scale"));
        assert_eq!(suggest("inptu", ["input", "output"]), Some("input"));
        assert_eq!(suggest("zzz", ["scale", "add"]), None);
        assert_eq!(suggest("add", ["add"]), None);
    }
}
