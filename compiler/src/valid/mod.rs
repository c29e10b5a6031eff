//! Validation: name/type/shape checking of the graph, kernel reflection.

pub mod check;
pub mod kernel;

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
