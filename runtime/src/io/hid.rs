//! The `to hid` sink: pointer events ([`super::event`]) drive a virtual
//! pointer through Linux uinput (crate `evdev`).
//!
//! The device is an absolute pointer ("ptc gesture pointer"): `move` sets
//! ABS_X/ABS_Y (0..=65535 across the image), `press`/`release` are BTN_LEFT
//! down/up, `swipe_left`/`swipe_right` click BTN_BACK/BTN_FORWARD (the
//! browser back/forward buttons of a mouse). It needs write access to
//! `/dev/uinput`; without it, opening fails with [`HidError::Open`], which
//! says what to do.

use super::event::{is_event_layout, Event, EventKind};
use std::io;
use std::path::Path;

/// The uinput device node.
pub const UINPUT_PATH: &str = "/dev/uinput";
/// Full scale of the absolute axes.
pub const ABS_MAX: i32 = 65535;

/// Why the virtual pointer could not be created or driven.
#[derive(Debug, thiserror::Error)]
pub enum HidError {
    /// `/dev/uinput` could not be opened (missing module or no permission).
    #[error("cannot create the virtual pointer for `to hid`: {path}: {source}\n  help: {help}")]
    Open {
        path: String,
        help: &'static str,
        #[source]
        source: io::Error,
    },
    /// Creating or writing the device failed after opening.
    #[error("virtual pointer: {0}")]
    Device(#[source] io::Error),
    /// Not Linux.
    #[error("`to hid` needs Linux uinput; this platform has none (use `to stdout`)")]
    Unsupported,
}

/// Builds the error for a failed open of `path`, with advice for the cause.
pub fn open_error(path: &Path, source: io::Error) -> HidError {
    let help = match source.kind() {
        io::ErrorKind::PermissionDenied => {
            "you lack write access to it: add a udev rule or your user to the group that owns it \
             (often `input`), or run as root; or send events elsewhere with `to stdout`"
        }
        io::ErrorKind::NotFound => {
            "the uinput module is not loaded (`sudo modprobe uinput`) or this machine has no \
             uinput (e.g. a container); or send events elsewhere with `to stdout`"
        }
        _ => "check that uinput works here, or send events elsewhere with `to stdout`",
    };
    HidError::Open {
        path: path.display().to_string(),
        help,
        source,
    }
}

/// Maps pointer events to pointer input (stateless; used by [`HidSink`]).
/// Returns (type, code, value) triples as evdev defines them, SYN excluded.
pub fn translate(ev: &Event) -> Vec<(u16, u16, i32)> {
    const EV_KEY: u16 = 0x01;
    const EV_ABS: u16 = 0x03;
    const ABS_X: u16 = 0x00;
    const ABS_Y: u16 = 0x01;
    const BTN_LEFT: u16 = 0x110;
    const BTN_FORWARD: u16 = 0x115;
    const BTN_BACK: u16 = 0x116;
    let axis = |v: f32| (v.clamp(0.0, 1.0) * ABS_MAX as f32).round() as i32;
    match ev.kind() {
        EventKind::None => vec![],
        EventKind::Move => vec![(EV_ABS, ABS_X, axis(ev.x)), (EV_ABS, ABS_Y, axis(ev.y))],
        EventKind::Press => vec![(EV_KEY, BTN_LEFT, 1)],
        EventKind::Release => vec![(EV_KEY, BTN_LEFT, 0)],
        EventKind::SwipeLeft => vec![(EV_KEY, BTN_BACK, 1), (EV_KEY, BTN_BACK, 0)],
        EventKind::SwipeRight => vec![(EV_KEY, BTN_FORWARD, 1), (EV_KEY, BTN_FORWARD, 0)],
    }
}

/// A virtual pointer driven by pointer events.
pub struct HidSink {
    #[cfg(target_os = "linux")]
    dev: evdev::uinput::VirtualDevice,
}

impl std::fmt::Debug for HidSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HidSink")
    }
}

impl HidSink {
    /// Creates the virtual pointer.
    #[cfg(target_os = "linux")]
    pub fn open() -> Result<HidSink, HidError> {
        use evdev::{
            uinput::VirtualDevice, AbsInfo, AbsoluteAxisCode, AttributeSet, KeyCode, UinputAbsSetup,
        };
        // Open it ourselves first: evdev's builder would report a bare
        // "permission denied" without saying which file or what to do.
        let path = Path::new(UINPUT_PATH);
        if let Err(e) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        {
            return Err(open_error(path, e));
        }
        let abs = |code| UinputAbsSetup::new(code, AbsInfo::new(0, 0, ABS_MAX, 0, 0, 0));
        let keys =
            AttributeSet::from_iter([KeyCode::BTN_LEFT, KeyCode::BTN_BACK, KeyCode::BTN_FORWARD]);
        let dev = VirtualDevice::builder()
            .map_err(|e| open_error(path, e))?
            .name("ptc gesture pointer")
            .with_keys(&keys)
            .and_then(|b| b.with_absolute_axis(&abs(AbsoluteAxisCode::ABS_X)))
            .and_then(|b| b.with_absolute_axis(&abs(AbsoluteAxisCode::ABS_Y)))
            .and_then(|b| b.build())
            .map_err(HidError::Device)?;
        Ok(HidSink { dev })
    }

    /// Creates the virtual pointer (unsupported off Linux).
    #[cfg(not(target_os = "linux"))]
    pub fn open() -> Result<HidSink, HidError> {
        Err(HidError::Unsupported)
    }

    /// Sends one frame's events (empty slots skipped), then a SYN_REPORT.
    pub fn emit(&mut self, events: &[Event]) -> Result<(), HidError> {
        let triples: Vec<_> = events.iter().flat_map(translate).collect();
        if triples.is_empty() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            let evs: Vec<evdev::InputEvent> = triples
                .into_iter()
                .map(|(t, c, v)| evdev::InputEvent::new(t, c, v))
                .collect();
            // VirtualDevice::emit appends the SYN_REPORT.
            self.dev.emit(&evs).map_err(HidError::Device)?;
        }
        Ok(())
    }
}

/// The `to hid` sink for the runtime: decodes `Event[N]` frames and drives
/// a [`HidSink`].
pub struct HidPortSink {
    sink: HidSink,
}

impl HidPortSink {
    /// Opens the virtual pointer for output `port` (must hold events).
    pub fn open(port: &crate::PortInfo) -> crate::Result<HidPortSink> {
        if !port.layout.as_ref().is_some_and(is_event_layout) {
            return Err(crate::RuntimeError::WrongType {
                port: port.name.clone(),
                why: format!(
                    "`to hid` needs elements of struct Event {{ kind: u32, x: f32, y: f32, t: f32 }}, not {}",
                    port.ty
                ),
            });
        }
        let sink = HidSink::open()
            .map_err(|e| crate::RuntimeError::Io(format!("output `{}`: {e}", port.name)))?;
        Ok(HidPortSink { sink })
    }
}

impl super::FrameSink for HidPortSink {
    fn write_frame(&mut self, _frame_index: u64, bytes: &[u8]) -> crate::Result<()> {
        self.sink
            .emit(&Event::decode_all(bytes))
            .map_err(|e| crate::RuntimeError::Io(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_error_says_what_to_do() {
        let e = open_error(
            Path::new("/dev/uinput"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        let text = e.to_string();
        assert!(
            text.starts_with(
                "cannot create the virtual pointer for `to hid`: /dev/uinput: permission denied"
            ),
            "{text}"
        );
        assert!(text.contains("help: you lack write access"), "{text}");
    }

    #[test]
    fn open_either_works_or_explains() {
        match HidSink::open() {
            Ok(mut s) => {
                let ev = Event {
                    kind: 1,
                    x: 0.5,
                    y: 0.5,
                    t: 0.0,
                };
                s.emit(&[ev]).unwrap();
            }
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("cannot create the virtual pointer"), "{text}");
                assert!(text.contains("help: "), "{text}");
            }
        }
    }

    #[test]
    fn events_map_to_pointer_input() {
        let e = |kind, x, y| Event { kind, x, y, t: 0.0 };
        assert_eq!(
            translate(&e(1, 0.5, 1.2)),
            vec![(3, 0, 32768), (3, 1, 65535)]
        );
        assert_eq!(translate(&e(2, 0.0, 0.0)), vec![(1, 0x110, 1)]);
        assert_eq!(translate(&e(3, 0.0, 0.0)), vec![(1, 0x110, 0)]);
        assert_eq!(translate(&e(4, 0.0, 0.0)).len(), 2);
        assert!(translate(&e(0, 0.3, 0.3)).is_empty());
    }
}
