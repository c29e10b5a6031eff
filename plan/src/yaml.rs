//! Bounds on plan YAML, checked before serde sees the text: its size, how
//! deeply its flow collections nest, and no aliases.
//!
//! Why a separate pass: serde_yaml_ng loads a whole document into events
//! before deserialising it, and its scanner (unsafe-libyaml, a translation of
//! libyaml) checks every open flow collection (`[`, `{`) for a pending simple
//! key at each token, so `[[[[...` of depth `d` costs `O(d)` per token and
//! `O(n²)` in all (a 40 000-deep line took 12 s; 64 MiB of them, days). The
//! deserialiser's own recursion limit (128) acts only after the whole text
//! was scanned. Block collections (indentation, `- `) cost nothing per level
//! and are left to that limit. Aliases (`*a`) replay the anchored events
//! wherever they appear, so a few KiB can expand to gigabytes of plan (the
//! deserialiser allows 100 replays per event).
//!
//! Flow depth cannot exceed the number of `[` and `{` bytes, and an alias
//! needs a `*`: a text with at most [`MAX_YAML_DEPTH`] of the former and
//! none of the latter (every plan ptc writes: it uses a `[]` here and there)
//! needs nothing more. Otherwise the same parser is driven event by event
//! and stopped at the first flow collection deeper than [`MAX_YAML_DEPTH`]
//! or the first alias: the scanner looks ahead at most 1024 characters for
//! a simple key, so it never gets more than about a thousand levels deep,
//! and the pass is linear.

use crate::{PlanError, MAX_PLAN_BYTES, MAX_YAML_DEPTH};
use std::io::Read;
use std::mem::MaybeUninit;
use std::path::Path;

/// Reads a plan file's text, at most one byte more than [`MAX_PLAN_BYTES`]
/// (so a huge file, or a device such as `/dev/zero`, costs no more than
/// that); [`Plan::from_yaml`](crate::Plan::from_yaml) then refuses a text
/// over the limit. Errors are I/O errors (including text that is not
/// UTF-8).
pub fn read_plan_file(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_PLAN_BYTES as u64 + 1)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// Checks `text` against the size, flow-depth and alias bounds. A YAML
/// syntax error is not reported here: serde_yaml_ng reports it better
/// (with the field it was reading).
pub(crate) fn check_bounds(text: &str) -> Result<(), PlanError> {
    if text.len() > MAX_PLAN_BYTES {
        return Err(PlanError::TooLarge {
            bytes: text.len(),
            limit: MAX_PLAN_BYTES,
        });
    }
    let b = text.as_bytes();
    let openers = b.iter().filter(|&&c| c == b'[' || c == b'{').count();
    if openers <= MAX_YAML_DEPTH && !b.contains(&b'*') {
        return Ok(());
    }
    let mut parser = Parser::new(text)?;
    // For each open collection, whether it is a flow one; how many are.
    let mut open: Vec<bool> = Vec::new();
    let mut flow = 0usize;
    while let Some(e) = parser.next() {
        match e.kind {
            Kind::Start { flow: is_flow } => {
                open.push(is_flow);
                if is_flow {
                    flow += 1;
                    if flow > MAX_YAML_DEPTH {
                        return Err(PlanError::TooDeep {
                            line: e.line,
                            limit: MAX_YAML_DEPTH,
                        });
                    }
                }
            }
            Kind::End => {
                if open.pop() == Some(true) {
                    flow -= 1;
                }
            }
            Kind::Alias => return Err(PlanError::Alias { line: e.line }),
            Kind::StreamEnd => break,
            Kind::Other => {}
        }
    }
    Ok(())
}

/// What the bounds pass needs to know of an event.
enum Kind {
    /// A sequence or mapping starts; `flow`: in `[...]` / `{...}` style.
    Start { flow: bool },
    /// A sequence or mapping ends.
    End,
    /// `*name`.
    Alias,
    /// The end of the text.
    StreamEnd,
    /// Anything else (scalars, documents).
    Other,
}

/// One event: its kind and 1-based line.
struct Event {
    kind: Kind,
    line: usize,
}

/// An unsafe-libyaml parser over a borrowed text, freed on drop.
struct Parser<'t> {
    raw: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>>,
    _text: std::marker::PhantomData<&'t str>,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Result<Parser<'t>, PlanError> {
        let mut raw = Box::new(MaybeUninit::<unsafe_libyaml::yaml_parser_t>::uninit());
        // SAFETY: `yaml_parser_initialize` initialises the struct it is given
        // (it fails only when it cannot allocate its buffers); the input is
        // borrowed for 't, which outlives the parser (freed in `drop`).
        unsafe {
            if unsafe_libyaml::yaml_parser_initialize(raw.as_mut_ptr()).fail {
                return Err(PlanError::Syntax(
                    "cannot start the YAML parser (out of memory)".into(),
                ));
            }
            unsafe_libyaml::yaml_parser_set_input_string(
                raw.as_mut_ptr(),
                text.as_ptr(),
                text.len() as u64,
            );
        }
        Ok(Parser {
            raw,
            _text: std::marker::PhantomData,
        })
    }

    /// The next event, or `None` after a syntax error.
    fn next(&mut self) -> Option<Event> {
        let mut event = MaybeUninit::<unsafe_libyaml::yaml_event_t>::uninit();
        // SAFETY: the parser was initialised in `new`; a successful
        // `yaml_parser_parse` initialises `event`, which is read (the union
        // member its type names) and then freed with `yaml_event_delete`
        // exactly once. After a failure the event is not touched (libyaml
        // leaves it zeroed, nothing to free).
        unsafe {
            if unsafe_libyaml::yaml_parser_parse(self.raw.as_mut_ptr(), event.as_mut_ptr()).fail {
                return None;
            }
            let e = event.as_mut_ptr();
            let kind = match (*e).type_ {
                unsafe_libyaml::YAML_SEQUENCE_START_EVENT => Kind::Start {
                    flow: (*e).data.sequence_start.style
                        == unsafe_libyaml::YAML_FLOW_SEQUENCE_STYLE,
                },
                unsafe_libyaml::YAML_MAPPING_START_EVENT => Kind::Start {
                    flow: (*e).data.mapping_start.style == unsafe_libyaml::YAML_FLOW_MAPPING_STYLE,
                },
                unsafe_libyaml::YAML_SEQUENCE_END_EVENT
                | unsafe_libyaml::YAML_MAPPING_END_EVENT => Kind::End,
                unsafe_libyaml::YAML_ALIAS_EVENT => Kind::Alias,
                unsafe_libyaml::YAML_STREAM_END_EVENT => Kind::StreamEnd,
                _ => Kind::Other,
            };
            let line = (*e).start_mark.line as usize + 1;
            unsafe_libyaml::yaml_event_delete(e);
            Some(Event { kind, line })
        }
    }
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new` (a failed initialisation never builds
        // a `Parser`), deleted once.
        unsafe { unsafe_libyaml::yaml_parser_delete(self.raw.as_mut_ptr()) }
    }
}
