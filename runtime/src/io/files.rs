//! Opening the files a graph's sources and sinks name — the one step that
//! touches paths, done by the process whose permissions apply (`ptc run`,
//! in-process or as a daemon's client).

use super::output::{same_target, OutputFile};
use crate::error::{Result, RuntimeError};
use ptc_plan::Plan;
use ptc_plan::{Sink, Source};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file a run reads or writes, with what uses it (e.g. "output `z`").
pub type Labelled = (String, PathBuf);

/// A file opened for a source, with the path shown in messages.
#[derive(Debug)]
pub struct InputFile {
    /// The open file (a descriptor a client may pass to the daemon).
    pub file: File,
    /// The path as resolved (or `<stdin>`).
    pub path: PathBuf,
}

/// The files of one graph's ports, in plan order: `inputs[i]` for
/// `plan.inputs[i]`, `outputs[o]` for `plan.outputs[o]`; `None` where the
/// source or sink needs no file.
#[derive(Debug, Default)]
pub struct PortFiles {
    /// Input files (what [`Source::file`] names: a `file` input, a camera
    /// script) and standard input.
    pub inputs: Vec<Option<InputFile>>,
    /// Output files (see [`OutputFile`]) and standard output.
    pub outputs: Vec<Option<OutputFile>>,
}

/// Reads at most `limit` bytes of text from `file` (a source's small text
/// input, e.g. a camera script); more is an error naming `path` (a script
/// from `/dev/zero` must not fill the memory).
pub fn read_limited(file: File, limit: u64, path: &Path) -> Result<String> {
    let mut text = String::new();
    let mut r = file.take(limit + 1);
    r.read_to_string(&mut text)
        .map_err(|e| RuntimeError::Io(format!("cannot read `{}`: {e}", path.display())))?;
    if text.len() as u64 > limit {
        return Err(RuntimeError::Io(format!(
            "`{}` is larger than {} KiB, the most read here; give a smaller file",
            path.display(),
            limit / 1024
        )));
    }
    Ok(text)
}

fn dup_stdio(fd: std::os::fd::BorrowedFd<'_>, what: &str) -> Result<File> {
    fd.try_clone_to_owned()
        .map(File::from)
        .map_err(|e| RuntimeError::Io(format!("cannot use {what}: {e}")))
}

impl PortFiles {
    /// Opens what `plan`'s sources and sinks name, relative paths against
    /// `base`: the file each source reads ([`Source::file`]: input files,
    /// camera scripts), standard input/output, and output files, created now (see
    /// [`OutputFile::create`]) so an unwritable location fails before any
    /// frame runs. `to hid` opens nothing here (the sink opens the device).
    /// `in_place`: regular output files are opened and truncated where they
    /// are instead of written atomically (for a run no process will commit:
    /// `ptc run --detach`).
    pub fn open(plan: &Plan, base: &Path, in_place: bool) -> Result<PortFiles> {
        use std::os::fd::AsFd;
        let mut files = PortFiles::default();
        for gi in &plan.inputs {
            let open = |p: &Path| -> Result<InputFile> {
                let path = base.join(p);
                let file = File::open(&path).map_err(|e| {
                    RuntimeError::Io(format!(
                        "cannot open input `{}` file `{}`: {e}",
                        gi.name,
                        path.display()
                    ))
                })?;
                Ok(InputFile { file, path })
            };
            files.inputs.push(match &gi.source {
                Source::Stdin => Some(InputFile {
                    file: dup_stdio(std::io::stdin().as_fd(), "standard input")?,
                    path: PathBuf::from("<stdin>"),
                }),
                source => source.file().map(open).transpose()?,
            });
        }
        for go in &plan.outputs {
            files.outputs.push(match &go.sink {
                Sink::File { path } => {
                    let path = base.join(path);
                    let made = if in_place {
                        OutputFile::create_in_place(&path)
                    } else {
                        OutputFile::create(&path)
                    };
                    Some(made.map_err(|e| {
                        RuntimeError::Io(format!(
                            "output `{}`: cannot write `{}`: {e}",
                            go.name,
                            path.display()
                        ))
                    })?)
                }
                Sink::Stdout => Some(OutputFile::in_place(
                    dup_stdio(std::io::stdout().as_fd(), "standard output")?,
                    "<stdout>",
                )),
                Sink::Host | Sink::Null | Sink::Hid => None,
            });
        }
        Ok(files)
    }

    /// The files read and written, as `(what, path)` pairs for
    /// [`check_conflicts`] (`what` names the port, and the graph when
    /// `graph` is given). Standard input/output are not files here.
    pub fn labelled_paths(
        &self,
        plan: &Plan,
        graph: Option<&str>,
    ) -> (Vec<Labelled>, Vec<Labelled>) {
        let of = |port: &str| match graph {
            Some(g) => format!("`{g}.{port}`"),
            None => format!("`{port}`"),
        };
        let reads = plan
            .inputs
            .iter()
            .zip(&self.inputs)
            .filter_map(|(gi, f)| f.as_ref().map(|f| (gi, f)))
            .filter(|(gi, _)| !matches!(gi.source, Source::Stdin))
            .map(|(gi, f)| (format!("input {}", of(&gi.name)), f.path.clone()))
            .collect();
        let writes = plan
            .outputs
            .iter()
            .zip(&self.outputs)
            .filter_map(|(go, f)| f.as_ref().map(|f| (go, f)))
            .filter(|(go, _)| !matches!(go.sink, Sink::Stdout))
            .map(|(go, f)| (format!("output {}", of(&go.name)), f.path().to_path_buf()))
            .collect();
        (reads, writes)
    }
}

/// Refuses two writes to the same file, and a write to a file that is also
/// read (both would mix or destroy data). `reads`/`writes` are (what, path)
/// pairs such as `("output `z`", path)`; character devices may be shared.
pub fn check_conflicts(reads: &[Labelled], writes: &[Labelled]) -> Result<()> {
    for (i, (wa, pa)) in writes.iter().enumerate() {
        for (wb, pb) in &writes[i + 1..] {
            if same_target(pa, pb) {
                return Err(RuntimeError::Io(format!(
                    "{wa} and {wb} both write `{}`{}: give each its own file",
                    pa.display(),
                    if pa == pb {
                        String::new()
                    } else {
                        format!(" (as `{}`)", pb.display())
                    }
                )));
            }
        }
        for (r, pr) in reads {
            if same_target(pa, pr) {
                return Err(RuntimeError::Io(format!(
                    "{wa} would overwrite `{}`, which {r} reads: write to another file",
                    pa.display()
                )));
            }
        }
    }
    Ok(())
}
