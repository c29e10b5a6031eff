//! Plan YAML is bounded before it is parsed: size, nesting depth, aliases.
//! Each case used to cost time or memory superlinear in the text.

use ptc_plan::{Plan, PlanError, MAX_PLAN_BYTES, MAX_YAML_DEPTH};
use std::time::{Duration, Instant};

/// `version: 2` and a `graph` field holding `depth` nested flow sequences.
fn nested(depth: usize) -> String {
    format!(
        "version: 2\ngraph: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[test]
fn deep_flow_nesting_is_refused_in_linear_time() {
    // 200 000 levels: the scanner's per-token walk over every open level
    // made this ~10^10 steps (a 40 000-deep line took 12 s in a release
    // build). Now the check stops at level MAX_YAML_DEPTH + 1.
    for text in [
        nested(200_000),
        format!("version: 2\ngraph: {}x\n", "{a: ".repeat(200_000)),
    ] {
        let t = Instant::now();
        let e = Plan::from_yaml(&text).expect_err("too deep");
        assert_eq!(
            e,
            PlanError::TooDeep {
                line: 2,
                limit: MAX_YAML_DEPTH
            }
        );
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    assert_eq!(
        Plan::from_yaml(&nested(100)).unwrap_err().to_string(),
        "line 2: YAML flow collections (`[`, `{`) nested more than 32 deep (plans written by `ptc compile` use one level)"
    );
}

#[test]
fn the_depth_limit_counts_flow_collections() {
    // MAX_YAML_DEPTH flow levels load as YAML (and then fail as a plan),
    // one more does not; with few brackets the check is a byte count, with
    // many it follows the parser (`[]` pairs side by side are one level).
    let ok = Plan::from_yaml(&nested(MAX_YAML_DEPTH)).unwrap_err();
    assert!(matches!(ok, PlanError::Syntax(_)), "{ok}");
    let deep = Plan::from_yaml(&nested(MAX_YAML_DEPTH + 1)).unwrap_err();
    assert!(matches!(deep, PlanError::TooDeep { .. }), "{deep}");
    let wide = format!("version: 2\ngraph: [{}]\n", "[], ".repeat(1000));
    let e = Plan::from_yaml(&wide).unwrap_err();
    assert!(matches!(e, PlanError::Syntax(_)), "{e}");
    // Brackets inside quoted or plain scalars are not collections.
    let quoted = format!("version: 2\ngraph: '{}'\n", "[".repeat(1000));
    let e = Plan::from_yaml(&quoted).unwrap_err();
    assert!(!matches!(e, PlanError::TooDeep { .. }), "{e}");
    // Block nesting costs nothing per level: serde_yaml_ng's recursion
    // limit refuses it, quickly.
    let t = Instant::now();
    let block = format!("version: 2\ngraph:\n{}x\n", "- ".repeat(100_000));
    let e = Plan::from_yaml(&block).unwrap_err();
    assert!(matches!(e, PlanError::Syntax(_)), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // Unclosed brackets count as they open; another syntax error is left
    // to serde_yaml_ng, which names the field.
    let e = Plan::from_yaml(&format!("version: 2\ngraph: {}\n", "[".repeat(40))).unwrap_err();
    assert!(matches!(e, PlanError::TooDeep { .. }), "{e}");
    let e = Plan::from_yaml("version: 2\ngraph: [\n").unwrap_err();
    assert!(matches!(e, PlanError::Syntax(_)), "{e}");
}

#[test]
fn aliases_are_refused() {
    // Each `*a` replays the anchored list: 16 lists of 2^16 strings from a
    // few hundred bytes, the shape of a "billion laughs".
    let mut text = String::from("version: 2\ngraph: g\nx0: &a0 [y, y]\n");
    for i in 1..16 {
        text.push_str(&format!("x{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
    }
    assert_eq!(
        Plan::from_yaml(&text).unwrap_err(),
        PlanError::Alias { line: 4 }
    );
}

#[test]
fn plans_over_the_size_limit_are_refused() {
    let mut text = nested(1);
    text.push_str(&"#".repeat(MAX_PLAN_BYTES + 1 - text.len()));
    let e = Plan::from_yaml(&text).unwrap_err();
    assert_eq!(
        e,
        PlanError::TooLarge {
            bytes: MAX_PLAN_BYTES + 1,
            limit: MAX_PLAN_BYTES
        }
    );
    assert!(e.to_string().contains("larger than 64 MiB"), "{e}");
}

#[cfg(unix)]
#[test]
fn reading_a_plan_stops_past_the_limit() {
    // /dev/zero never ends: the reader stops one byte past the limit.
    let text = ptc_plan::read_plan_file(std::path::Path::new("/dev/zero")).expect("read");
    assert_eq!(text.len(), MAX_PLAN_BYTES + 1);
    assert!(matches!(
        Plan::from_yaml(&text),
        Err(PlanError::TooLarge { .. })
    ));
    let missing = ptc_plan::read_plan_file(std::path::Path::new("/nonexistent/p.yaml"));
    assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
}
