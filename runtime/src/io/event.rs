//! The pointer-event protocol of the `to hid` and `to stdout` sinks.
//!
//! A graph output of elements `struct Event { kind: u32, x: f32, y: f32,
//! t: f32 }` (std430, 16 bytes; the field names and types are what is
//! checked, not the struct's name) is a list of pointer events, one frame
//! of them per output frame:
//!
//! | kind | [`EventKind`] | `to hid` | `to stdout` name |
//! |---|---|---|---|
//! | 0 | empty slot | nothing | not written |
//! | 1 | [`EventKind::Move`] | ABS_X/ABS_Y = x, y in [0, 1] | `move` |
//! | 2 | [`EventKind::Press`] | BTN_LEFT down | `press` |
//! | 3 | [`EventKind::Release`] | BTN_LEFT up | `release` |
//! | 4 | [`EventKind::SwipeLeft`] | BTN_BACK click | `swipe_left` |
//! | 5 | [`EventKind::SwipeRight`] | BTN_FORWARD click | `swipe_right` |
//!
//! `x`, `y` are pointer coordinates in [0, 1]² (0, 0 = top left), `t` is
//! the producer's own time stamp. Kinds above 5 are written as numbers by
//! `to stdout` and ignored by `to hid`.
//!
//! The protocol belongs to the runtime because `to hid` and `to stdout`
//! are sinks of the `.pt` language that the runtime builds; any graph may
//! produce it. The gesture pipeline (crate `ptc-gesture`,
//! `graphs/gesture.pt`) is its first producer, and its CPU reference uses
//! these types.

use ptc_plan::types::{ElemType, Scalar, StructLayout};

/// Pointer-event kinds (`Event.kind`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum EventKind {
    /// Empty slot.
    None = 0,
    /// Pointer position.
    Move = 1,
    /// Button down (a push toward the camera, in the gesture pipeline).
    Press = 2,
    /// Button up.
    Release = 3,
    /// Fast motion toward smaller x.
    SwipeLeft = 4,
    /// Fast motion toward larger x.
    SwipeRight = 5,
}

impl EventKind {
    /// Decodes a kind number (`None` for unknown numbers too).
    pub fn from_u32(k: u32) -> EventKind {
        match k {
            1 => EventKind::Move,
            2 => EventKind::Press,
            3 => EventKind::Release,
            4 => EventKind::SwipeLeft,
            5 => EventKind::SwipeRight,
            _ => EventKind::None,
        }
    }

    /// The name used in JSON lines (`"move"`, `"press"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::None => "none",
            EventKind::Move => "move",
            EventKind::Press => "press",
            EventKind::Release => "release",
            EventKind::SwipeLeft => "swipe_left",
            EventKind::SwipeRight => "swipe_right",
        }
    }
}

/// One `Event { kind: u32, x: f32, y: f32, t: f32 }` (std430, 16 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct Event {
    /// An [`EventKind`] number.
    pub kind: u32,
    /// Pointer x in [0, 1] (0 = left).
    pub x: f32,
    /// Pointer y in [0, 1] (0 = top).
    pub y: f32,
    /// The producer's time stamp (the gesture pipeline: frames detect
    /// has seen before this one).
    pub t: f32,
}

impl Event {
    /// Decodes `Event[n]` from std430 bytes (trailing partial element ignored).
    pub fn decode_all(bytes: &[u8]) -> Vec<Event> {
        bytes
            .chunks_exact(16)
            .map(|c| {
                let w = |i: usize| [c[i], c[i + 1], c[i + 2], c[i + 3]];
                Event {
                    kind: u32::from_le_bytes(w(0)),
                    x: f32::from_le_bytes(w(4)),
                    y: f32::from_le_bytes(w(8)),
                    t: f32::from_le_bytes(w(12)),
                }
            })
            .collect()
    }

    /// The decoded kind.
    pub fn kind(&self) -> EventKind {
        EventKind::from_u32(self.kind)
    }
}

/// True if `layout` is the event struct: fields `kind: u32, x: f32, y: f32,
/// t: f32`, in that order (any struct name).
pub fn is_event_layout(layout: &StructLayout) -> bool {
    let want = [
        ("kind", Scalar::U32),
        ("x", Scalar::F32),
        ("y", Scalar::F32),
        ("t", Scalar::F32),
    ];
    layout.fields.len() == want.len()
        && layout
            .fields
            .iter()
            .zip(want)
            .all(|(f, (n, s))| f.name == n && f.ty == ElemType::Scalar(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_events_and_kinds() {
        let mut b = Vec::new();
        for (k, x) in [(2u32, 0.25f32), (9, 0.5)] {
            b.extend(k.to_le_bytes());
            b.extend(x.to_le_bytes());
            b.extend(0.75f32.to_le_bytes());
            b.extend(3.0f32.to_le_bytes());
        }
        b.push(7); // a partial element is ignored
        let ev = Event::decode_all(&b);
        assert_eq!(
            ev,
            [
                Event {
                    kind: 2,
                    x: 0.25,
                    y: 0.75,
                    t: 3.0
                },
                Event {
                    kind: 9,
                    x: 0.5,
                    y: 0.75,
                    t: 3.0
                }
            ]
        );
        assert_eq!(ev[0].kind().name(), "press");
        assert_eq!(ev[1].kind(), EventKind::None);
        let f = |n: &str, s| (n.to_string(), ElemType::Scalar(s));
        let fields = [
            f("kind", Scalar::U32),
            f("x", Scalar::F32),
            f("y", Scalar::F32),
            f("t", Scalar::F32),
        ];
        let l = StructLayout::std430("Anything", &fields).expect("layout");
        assert!(is_event_layout(&l));
        let l = StructLayout::std430("Event", &fields[..3]).expect("layout");
        assert!(!is_event_layout(&l));
    }
}
