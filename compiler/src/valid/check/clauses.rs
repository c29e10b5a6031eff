//! Graph ports and their `from`/`to` clauses (sources and sinks).

use super::errors::ClauseError;
use super::types::{parse_num, NumVal};
use super::{placeholder, Checker};
use crate::front::ast::{self, ClauseKind, Lit};
use crate::ir::{GraphPort, GraphPortDir};
use ptc_plan::{Sink, Source};
use std::collections::HashMap;
use std::path::PathBuf;

/// What an argument of a source or sink must be.
#[derive(Copy, Clone, PartialEq, Eq)]
enum ArgKind {
    Num,
    Str,
}

struct ArgSpec {
    name: &'static str,
    kind: ArgKind,
    required: bool,
    /// May be written without `name:` (only the first such one).
    positional: bool,
}

const fn spec(name: &'static str, kind: ArgKind, required: bool, positional: bool) -> ArgSpec {
    ArgSpec {
        name,
        kind,
        required,
        positional,
    }
}

const SOURCES: &[&str] = &["camera", "file", "random", "zeros", "stdin"];
const SINKS: &[&str] = &["stdout", "file", "null", "hid"];

impl Checker<'_> {
    pub(super) fn graph_port(&mut self, p: &ast::GraphPortDecl) -> GraphPort {
        let what = match p.dir {
            GraphPortDir::Input => format!("input `{}`", p.name.name),
            GraphPortDir::Output => format!("output `{}`", p.name.name),
        };
        let ty = self.port_type(&p.ty, &what);
        let mut source = Source::Host;
        let mut sink = Sink::Host;
        if let Some(c) = &p.clause {
            let (port, kind, endpoint) = (p.name.name.clone(), c.kind_span, c.name.name.clone());
            match (p.dir, c.kind) {
                (GraphPortDir::Input, ClauseKind::From) => {
                    source = self.source(c).unwrap_or(Source::Host)
                }
                (GraphPortDir::Output, ClauseKind::To) => sink = self.sink(c).unwrap_or(Sink::Host),
                (GraphPortDir::Input, ClauseKind::To) => self.emit(ClauseError::InputWithSink {
                    port,
                    kind,
                    endpoint,
                }),
                (GraphPortDir::Output, ClauseKind::From) => {
                    self.emit(ClauseError::OutputWithSource {
                        port,
                        kind,
                        endpoint,
                    })
                }
            }
        }
        GraphPort {
            name: p.name.clone(),
            dir: p.dir,
            ty: ty.unwrap_or_else(|| placeholder(&p.ty)),
            ty_span: p.ty.span,
            source,
            sink,
            span: p.span,
        }
    }

    /// Validates the arguments of a source/sink against `specs`.
    fn args<'c>(
        &mut self,
        c: &'c ast::Clause,
        specs: &[ArgSpec],
    ) -> Option<HashMap<&'static str, &'c Lit>> {
        let mut out: HashMap<&'static str, &Lit> = HashMap::new();
        let mut ok = true;
        let what = &c.name.name;
        let list: &[ast::Arg] = c.args.as_ref().map(|(a, _)| a.as_slice()).unwrap_or(&[]);
        for a in list {
            let spec = match &a.name {
                Some(n) => match specs.iter().find(|s| s.name == n.name) {
                    Some(s) => s,
                    None => {
                        ok = false;
                        let takes: Vec<&'static str> = specs.iter().map(|s| s.name).collect();
                        let hint = self.suggest(&n.name, takes.iter().copied());
                        self.emit(ClauseError::UnknownArg {
                            endpoint: what.clone(),
                            arg: n.name.clone(),
                            span: n.span,
                            hint,
                            takes,
                        });
                        continue;
                    }
                },
                None => match specs.iter().find(|s| s.positional) {
                    Some(s) if !out.contains_key(s.name) => s,
                    _ => {
                        ok = false;
                        self.emit(ClauseError::UnexpectedArg {
                            endpoint: what.clone(),
                            span: a.span,
                            takes_none: specs.is_empty(),
                        });
                        continue;
                    }
                },
            };
            if out.contains_key(spec.name) {
                ok = false;
                self.emit(ClauseError::ArgTwice {
                    arg: spec.name.to_string(),
                    span: a.span,
                });
                continue;
            }
            let kind_ok = matches!(
                (spec.kind, &a.value),
                (ArgKind::Num, Lit::Num(_)) | (ArgKind::Str, Lit::Str(_))
            );
            if !kind_ok {
                ok = false;
                self.emit(ClauseError::ArgKind {
                    arg: spec.name.to_string(),
                    endpoint: what.clone(),
                    want_str: spec.kind == ArgKind::Str,
                    span: a.value.span(),
                });
                continue;
            }
            out.insert(spec.name, &a.value);
        }
        for s in specs.iter().filter(|s| s.required) {
            if !out.contains_key(s.name) && ok {
                ok = false;
                self.emit(ClauseError::MissingArg {
                    endpoint: what.clone(),
                    arg: s.name.to_string(),
                    span: c.name.span,
                });
            }
        }
        ok.then_some(out)
    }

    fn fps(&mut self, lit: Option<&&Lit>) -> Result<Option<f32>, ()> {
        let Some(Lit::Num(n)) = lit.copied() else {
            return Ok(None);
        };
        let v = match parse_num(&n.text) {
            Some(NumVal::Int(i)) => i as f64,
            Some(NumVal::Float(f)) => f,
            None => f64::NAN,
        };
        if v.is_finite() && v > 0.0 && v <= 1.0e6 {
            Ok(Some(v as f32))
        } else {
            self.emit(ClauseError::Fps {
                text: n.text.clone(),
                span: n.span,
            });
            Err(())
        }
    }

    fn source(&mut self, c: &ast::Clause) -> Option<Source> {
        match c.name.name.as_str() {
            "camera" => {
                let a = self.args(
                    c,
                    &[
                        spec("fps", ArgKind::Num, false, false),
                        spec("script", ArgKind::Str, false, false),
                    ],
                )?;
                let fps = self.fps(a.get("fps")).ok()?;
                let script = match a.get("script") {
                    Some(Lit::Str(s)) => Some(PathBuf::from(&s.value)),
                    _ => None,
                };
                Some(Source::Camera { fps, script })
            }
            "file" => {
                let a = self.args(c, &[spec("path", ArgKind::Str, true, true)])?;
                match a.get("path") {
                    Some(Lit::Str(s)) => Some(Source::File {
                        path: PathBuf::from(&s.value),
                    }),
                    _ => None,
                }
            }
            "random" => {
                let a = self.args(
                    c,
                    &[
                        spec("seed", ArgKind::Num, true, true),
                        spec("fps", ArgKind::Num, false, false),
                    ],
                )?;
                let fps = self.fps(a.get("fps")).ok()?;
                let seed = match a.get("seed") {
                    Some(Lit::Num(n)) => match parse_num(&n.text) {
                        Some(NumVal::Int(v)) if u64::try_from(v).is_ok() => v as u64,
                        _ => {
                            self.emit(ClauseError::Seed {
                                text: n.text.clone(),
                                span: n.span,
                            });
                            return None;
                        }
                    },
                    _ => return None,
                };
                Some(Source::Random { seed, fps })
            }
            "zeros" => {
                let a = self.args(c, &[spec("fps", ArgKind::Num, false, false)])?;
                let fps = self.fps(a.get("fps")).ok()?;
                Some(Source::Zeros { fps })
            }
            "stdin" => {
                self.args(c, &[])?;
                Some(Source::Stdin)
            }
            other => {
                let hint = self.suggest(other, SOURCES.iter().copied());
                self.emit(ClauseError::UnknownSource {
                    name: other.to_string(),
                    span: c.name.span,
                    hint,
                    is_sink: SINKS.contains(&other),
                });
                None
            }
        }
    }

    fn sink(&mut self, c: &ast::Clause) -> Option<Sink> {
        match c.name.name.as_str() {
            "stdout" => self.args(c, &[]).map(|_| Sink::Stdout),
            "null" => self.args(c, &[]).map(|_| Sink::Null),
            "hid" => self.args(c, &[]).map(|_| Sink::Hid),
            "file" => {
                let a = self.args(c, &[spec("path", ArgKind::Str, true, true)])?;
                match a.get("path") {
                    Some(Lit::Str(s)) => Some(Sink::File {
                        path: PathBuf::from(&s.value),
                    }),
                    _ => None,
                }
            }
            other => {
                let hint = self.suggest(other, SINKS.iter().copied());
                self.emit(ClauseError::UnknownSink {
                    name: other.to_string(),
                    span: c.name.span,
                    hint,
                    is_source: SOURCES.contains(&other),
                });
                None
            }
        }
    }
}
