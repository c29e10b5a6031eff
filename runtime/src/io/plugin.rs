//! Plugging sources and sinks into the runtime.
//!
//! The runtime builds the sources and sinks of its core itself (`file`,
//! `random`, `zeros`, `stdin`; `file`, `null`, `stdout`, `hid`). Any other
//! `from`/`to` clause of a plan is built by a factory the program registers
//! in an [`IoRegistry`], keyed by the clause's name ([`Source::kind`],
//! [`Sink::kind`]); a registered factory also replaces a built-in of the
//! same name. The `ptc` binary and `ptc daemon` register the synthetic depth
//! camera of crate `ptc-gesture` for `from camera(...)`:
//!
//! ```
//! use ptc_runtime::io::{FrameSource, InputFile, IoRegistry, SourceFactory};
//! use ptc_runtime::plan::Source;
//! use ptc_runtime::PortInfo;
//!
//! /// `from camera(...)` as a source of constant frames.
//! struct Grey;
//!
//! struct GreySource(u64);
//!
//! impl FrameSource for GreySource {
//!     fn frame_size(&self) -> u64 {
//!         self.0
//!     }
//!     fn next_frame(&mut self, dst: &mut [u8]) -> ptc_runtime::Result<bool> {
//!         dst.fill(0x80);
//!         Ok(true)
//!     }
//! }
//!
//! impl SourceFactory for Grey {
//!     fn kind(&self) -> &str {
//!         "camera"
//!     }
//!     fn open(
//!         &self,
//!         _source: &Source,
//!         port: &PortInfo,
//!         _file: Option<InputFile>,
//!     ) -> ptc_runtime::Result<Box<dyn FrameSource>> {
//!         Ok(Box::new(GreySource(port.bytes)))
//!     }
//! }
//!
//! let io = IoRegistry::new().with_source(Grey);
//! assert_eq!(io.source_kinds(), ["camera"]);
//! // then: let (feeds, drains) = io.attach(&plan, files)?;
//! ```
//!
//! A factory gets the plan's clause (its arguments), the port it serves
//! (name, element type, shape, bytes a frame) and the file that
//! [`PortFiles::open`](super::PortFiles::open) opened for it: the path
//! [`Source::file`] names (a camera's script), or the output file of a
//! `to file(...)` sink. Factories run in the process that owns the device
//! (in-process `ptc run`, or the daemon); they must not open paths a client
//! named themselves (the daemon never opens a path for a client).

use super::{FrameSink, FrameSource, InputFile, OutputFile};
use crate::error::{Result, RuntimeError};
use crate::graph::PortInfo;
use ptc_plan::{Plan, Sink, Source};
use std::sync::Arc;

/// Builds the sources of one kind of `from` clause.
pub trait SourceFactory: Send + Sync {
    /// The clause it builds, as [`Source::kind`] names it (`"camera"`).
    fn kind(&self) -> &str;
    /// The source for input `port` (the plan's `source`, whose
    /// [`Source::kind`] is [`SourceFactory::kind`]); `file` is the file
    /// the source reads ([`Source::file`]), opened by the client, if any.
    /// Errors name the port and say what to do.
    fn open(
        &self,
        source: &Source,
        port: &PortInfo,
        file: Option<InputFile>,
    ) -> Result<Box<dyn FrameSource>>;
}

/// Builds the sinks of one kind of `to` clause.
pub trait SinkFactory: Send + Sync {
    /// The clause it builds, as [`Sink::kind`] names it (`"hid"`).
    fn kind(&self) -> &str;
    /// The sink for output `port` (the plan's `sink`, whose [`Sink::kind`]
    /// is [`SinkFactory::kind`]); `file` is what
    /// [`PortFiles::open`](super::PortFiles::open) opened for it (a `file`
    /// sink's output, standard output for `stdout`), if anything.
    fn open(
        &self,
        sink: &Sink,
        port: &PortInfo,
        file: Option<OutputFile>,
    ) -> Result<Box<dyn FrameSink>>;
}

/// The source and sink factories a program adds to the runtime's own
/// (see the [module documentation](self)). Cheap to clone (the factories
/// are shared); [`IoRegistry::new`] has none: only the built-ins.
#[derive(Clone, Default)]
pub struct IoRegistry {
    sources: Vec<Arc<dyn SourceFactory>>,
    sinks: Vec<Arc<dyn SinkFactory>>,
    /// Built-in file sinks write large frames on threads of their own
    /// ([`super::FileSink::threaded`]).
    threaded_files: bool,
}

impl std::fmt::Debug for IoRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoRegistry")
            .field("sources", &self.source_kinds())
            .field("sinks", &self.sink_kinds())
            .field("threaded_files", &self.threaded_files)
            .finish()
    }
}

impl IoRegistry {
    /// The built-in sources and sinks only.
    pub fn new() -> IoRegistry {
        IoRegistry::default()
    }

    /// Adds a source factory; it replaces one registered earlier for the
    /// same kind, and the built-in of that name. `host` cannot be replaced
    /// (a host input has no source: the caller pushes).
    pub fn register_source(&mut self, factory: impl SourceFactory + 'static) -> &mut Self {
        let kind = factory.kind().to_string();
        self.sources.retain(|f| f.kind() != kind);
        self.sources.push(Arc::new(factory));
        self
    }

    /// Adds a sink factory (like [`IoRegistry::register_source`]; `host`
    /// cannot be replaced).
    pub fn register_sink(&mut self, factory: impl SinkFactory + 'static) -> &mut Self {
        let kind = factory.kind().to_string();
        self.sinks.retain(|f| f.kind() != kind);
        self.sinks.push(Arc::new(factory));
        self
    }

    /// Makes the built-in file sinks write frames of 256 KiB or more on a
    /// thread of their own whatever the output is
    /// ([`super::SinkThread::Always`]; by default only regular files get
    /// one): for a program whose run loop serves other graphs too and must
    /// never wait for a pipe's reader (`ptc daemon` sets it).
    pub fn set_threaded_file_sinks(&mut self, on: bool) -> &mut Self {
        self.threaded_files = on;
        self
    }

    /// [`IoRegistry::register_source`], by value.
    pub fn with_source(mut self, factory: impl SourceFactory + 'static) -> IoRegistry {
        self.register_source(factory);
        self
    }

    /// [`IoRegistry::register_sink`], by value.
    pub fn with_sink(mut self, factory: impl SinkFactory + 'static) -> IoRegistry {
        self.register_sink(factory);
        self
    }

    /// The kinds of the registered source factories, in registration order.
    pub fn source_kinds(&self) -> Vec<&str> {
        self.sources.iter().map(|f| f.kind()).collect()
    }

    /// The kinds of the registered sink factories, in registration order.
    pub fn sink_kinds(&self) -> Vec<&str> {
        self.sinks.iter().map(|f| f.kind()).collect()
    }

    /// Builds the source for input `port` from the plan's `source` and the
    /// file [`PortFiles::open`](super::PortFiles::open) opened for it: a
    /// registered factory of its kind, else the built-in. `Ok(None)` for
    /// [`Source::Host`] (the caller pushes).
    pub fn open_source(
        &self,
        source: &Source,
        port: &PortInfo,
        file: Option<InputFile>,
    ) -> Result<Option<Box<dyn FrameSource>>> {
        if *source == Source::Host {
            return Ok(None);
        }
        match self.sources.iter().find(|f| f.kind() == source.kind()) {
            Some(f) => f.open(source, port, file).map(Some),
            None => super::builtin_source(source, port, file).map_err(|e| match e {
                NotBuiltIn::Error(e) => e,
                NotBuiltIn::Kind(kind) => RuntimeError::Io(format!(
                    "input `{}`: `from {kind}(...)` is not built into the runtime and this program \
                     registered no source for it (registered: {}); a program using \
                     ptc-runtime registers one with `IoRegistry::register_source` (the `ptc` \
                     binary and daemon register ptc-gesture's synthetic camera for `camera`)",
                    port.name,
                    list(&self.source_kinds()),
                )),
            }),
        }
    }

    /// Builds the sink for output `port` (like [`IoRegistry::open_source`]).
    /// `Ok(None)` for [`Sink::Host`] (the caller pulls).
    pub fn open_sink(
        &self,
        sink: &Sink,
        port: &PortInfo,
        file: Option<OutputFile>,
    ) -> Result<Option<Box<dyn FrameSink>>> {
        if *sink == Sink::Host {
            return Ok(None);
        }
        match self.sinks.iter().find(|f| f.kind() == sink.kind()) {
            Some(f) => f.open(sink, port, file).map(Some),
            None => super::builtin_sink(sink, port, file, self.threaded_files),
        }
    }

    /// The sources and sinks of `plan`'s ports, built from the files
    /// [`PortFiles::open`](super::PortFiles::open) opened for them (host
    /// ports get none).
    pub fn attach(
        &self,
        plan: &Plan,
        files: super::PortFiles,
    ) -> Result<(Vec<crate::Feed>, Vec<crate::Drain>)> {
        let ins = PortInfo::inputs_of(plan);
        let outs = PortInfo::outputs_of(plan);
        let mut feeds = Vec::new();
        let mut in_files = files.inputs.into_iter();
        for (gi, info) in plan.inputs.iter().zip(&ins) {
            if let Some(source) = self.open_source(&gi.source, info, in_files.next().flatten())? {
                feeds.push(crate::Feed {
                    port: gi.name.clone(),
                    source,
                });
            }
        }
        let mut drains = Vec::new();
        let mut out_files = files.outputs.into_iter();
        for (go, info) in plan.outputs.iter().zip(&outs) {
            drains.push(crate::Drain {
                port: go.name.clone(),
                sink: self.open_sink(&go.sink, info, out_files.next().flatten())?,
            });
        }
        Ok((feeds, drains))
    }
}

/// Why a built-in could not build a source.
pub(super) enum NotBuiltIn {
    /// The clause is not one the runtime builds (a plug-in's).
    Kind(&'static str),
    /// It is, and building it failed.
    Error(RuntimeError),
}

impl From<RuntimeError> for NotBuiltIn {
    fn from(e: RuntimeError) -> NotBuiltIn {
        NotBuiltIn::Error(e)
    }
}

fn list(kinds: &[&str]) -> String {
    if kinds.is_empty() {
        "none".to_string()
    } else {
        kinds.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptc_plan::types::{ElemType, PortType, Scalar};

    fn port() -> PortInfo {
        PortInfo {
            name: "cam".into(),
            ty: PortType {
                elem: ElemType::Scalar(Scalar::U16),
                shape: vec![2, 3],
            },
            bytes: 12,
            slots: 2,
            layout: None,
        }
    }

    struct Fill(&'static str, u8);
    struct FillSource(u64, u8);

    impl FrameSource for FillSource {
        fn frame_size(&self) -> u64 {
            self.0
        }
        fn next_frame(&mut self, dst: &mut [u8]) -> Result<bool> {
            dst.fill(self.1);
            Ok(true)
        }
    }

    impl SourceFactory for Fill {
        fn kind(&self) -> &str {
            self.0
        }
        fn open(
            &self,
            _source: &Source,
            port: &PortInfo,
            _file: Option<InputFile>,
        ) -> Result<Box<dyn FrameSource>> {
            Ok(Box::new(FillSource(port.bytes, self.1)))
        }
    }

    fn camera() -> Source {
        Source::Camera {
            fps: None,
            script: None,
        }
    }

    #[test]
    fn a_camera_needs_a_factory_and_the_error_says_so() {
        let e = IoRegistry::new()
            .open_source(&camera(), &port(), None)
            .err()
            .expect("no camera without a factory")
            .to_string();
        assert!(
            e.starts_with("input `cam`: `from camera(...)` is not built into the runtime"),
            "{e}"
        );
        assert!(e.contains("(registered: none)"), "{e}");
        assert!(e.contains("IoRegistry::register_source"), "{e}");
    }

    #[test]
    fn registered_factories_build_their_kind_and_replace_built_ins() {
        let mut io = IoRegistry::new().with_source(Fill("camera", 7));
        let mut buf = [0u8; 12];
        let mut s = io
            .open_source(&camera(), &port(), None)
            .expect("opens")
            .expect("a source");
        assert!(s.next_frame(&mut buf).expect("frame"));
        assert_eq!(buf, [7; 12]);
        // The built-in `zeros` until a factory replaces it.
        let zeros = Source::Zeros { fps: None };
        let mut z = io.open_source(&zeros, &port(), None).unwrap().unwrap();
        z.next_frame(&mut buf).unwrap();
        assert_eq!(buf, [0; 12]);
        io.register_source(Fill("zeros", 9))
            .register_source(Fill("camera", 8));
        assert_eq!(io.source_kinds(), ["zeros", "camera"]);
        let mut z = io.open_source(&zeros, &port(), None).unwrap().unwrap();
        z.next_frame(&mut buf).unwrap();
        assert_eq!(buf, [9; 12]);
        let mut c = io.open_source(&camera(), &port(), None).unwrap().unwrap();
        c.next_frame(&mut buf).unwrap();
        assert_eq!(buf, [8; 12], "the later camera replaced the first");
        // A host input never has a source.
        let io = io.with_source(Fill("host", 1));
        assert!(io
            .open_source(&Source::Host, &port(), None)
            .unwrap()
            .is_none());
        assert!(format!("{io:?}").contains("camera"));
    }
}
