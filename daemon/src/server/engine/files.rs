//! A run's descriptors as the [`PortFiles`] of its sources and sinks.

use super::{bad_input, err};
use crate::proto::{OpenRun, OutputFd, WireError};
use ptc_runtime::io::{InputFile, OutputFile, PortFiles};
use ptc_runtime::plan::{Sink, Source};
use ptc_runtime::Plan;
use std::fs::File;
use std::os::fd::OwnedFd;

/// A run's descriptors as the files of its ports: a source or sink that
/// names a path must come with one (the daemon never opens a path for a
/// client).
pub(super) fn run_files(
    plan: &Plan,
    o: &OpenRun,
    fds: Vec<OwnedFd>,
) -> Result<PortFiles, WireError> {
    if o.inputs.len() != plan.inputs.len() || o.outputs.len() != plan.outputs.len() {
        return Err(bad_input(format!(
            "the run names {} input(s) and {} output(s), the plan has {} and {}",
            o.inputs.len(),
            o.outputs.len(),
            plan.inputs.len(),
            plan.outputs.len()
        )));
    }
    let wanted = o.inputs.iter().filter(|b| **b).count()
        + o.outputs.iter().filter(|f| **f != OutputFd::None).count();
    if wanted != fds.len() {
        return Err(err(format!(
            "the run names {wanted} descriptor(s) but {} came with it",
            fds.len()
        )));
    }
    let mut fds = fds.into_iter();
    let mut files = PortFiles::default();
    for (gi, has) in plan.inputs.iter().zip(&o.inputs) {
        let shown = match &gi.source {
            Source::File { path } => path.clone(),
            Source::Camera {
                script: Some(p), ..
            } => p.clone(),
            Source::Stdin => "<stdin>".into(),
            _ => format!("<input {}>", gi.name).into(),
        };
        let needs = matches!(
            gi.source,
            Source::File { .. }
                | Source::Stdin
                | Source::Camera {
                    script: Some(_),
                    ..
                }
        );
        if needs && !has {
            return Err(err(format!(
                "input `{}` reads `{}`: the client must open it and pass its descriptor",
                gi.name,
                shown.display()
            )));
        }
        if matches!(gi.source, Source::Host) {
            return Err(err(format!(
                "input `{}` has no source: a run needs one (pass --input {}=FILE)",
                gi.name, gi.name
            )));
        }
        let fd = if *has { fds.next() } else { None };
        files.inputs.push(fd.map(|fd| InputFile {
            file: File::from(fd),
            path: shown,
        }));
    }
    for (go, what) in plan.outputs.iter().zip(&o.outputs) {
        let needs = matches!(go.sink, Sink::File { .. } | Sink::Stdout | Sink::Hid);
        if needs && *what == OutputFd::None {
            return Err(err(format!(
                "output `{}` needs a descriptor from the client",
                go.name
            )));
        }
        if *what == OutputFd::Relay && go.sink != Sink::Hid {
            return Err(err(format!(
                "output `{}` is not a `to hid` output",
                go.name
            )));
        }
        let shown = match &go.sink {
            Sink::File { path } => path.clone(),
            Sink::Stdout => "<stdout>".into(),
            _ => format!("<output {}>", go.name).into(),
        };
        files.outputs.push(match what {
            OutputFd::None => None,
            _ => fds
                .next()
                .map(|fd| OutputFile::in_place(File::from(fd), shown)),
        });
    }
    Ok(files)
}
