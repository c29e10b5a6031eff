//! Output files that are never half-written and never replace what is not
//! a regular file.
//!
//! [`OutputFile::create`] decides how a path is written:
//!
//! * a **regular file** (or a path that does not exist yet) is written to a
//!   temporary file in the same directory — an unnamed `O_TMPFILE` where the
//!   file system supports it, else a hidden `.NAME.ptc-PID-N.tmp` — which
//!   [`OutputFile::commit`] flushes, `fsync`s and renames over the target
//!   (then `fsync`s the directory). An output that is dropped without
//!   `commit` (a failed run) leaves nothing behind; a replaced file keeps its
//!   permission bits.
//! * anything else — a character device such as `/dev/null`, a FIFO, a
//!   symlink (its target), `/dev/stdout` — is opened and written **in
//!   place**, never replaced.
//!
//! Hidden temporaries left by a process that was killed (only where
//! `O_TMPFILE` is unavailable) are removed the next time an output of the
//! same name is created, if the process that made them is gone.
//!
//! [`OutputFile::create`] opens or creates everything at once, so an
//! unwritable location fails before a run starts. [`same_target`] tells
//! whether two outputs (or an output and an input) are the same file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How an [`OutputFile`] reaches its path.
#[derive(Debug)]
enum Mode {
    /// A temporary in the target's directory, renamed over it on commit.
    /// `named` is the temporary's path when it has one (no `O_TMPFILE`).
    Atomic {
        target: PathBuf,
        named: Option<PathBuf>,
        /// Permission bits to give the file (those of the file it replaces).
        mode: Option<u32>,
    },
    /// Written where it is: a device, FIFO, symlink target or a descriptor
    /// someone else opened (and commits).
    InPlace,
}

/// A file a run writes its results to. See the module docs.
#[derive(Debug)]
pub struct OutputFile {
    file: File,
    shown: PathBuf,
    mode: Mode,
    seekable: bool,
    committed: bool,
    /// Where [`OutputFile::commit`] parks the file instead of committing it.
    deferred: Option<Deferred>,
}

/// Outputs whose commit waits for the whole run to succeed: an
/// [`OutputFile`] given to [`OutputFile::defer_to`] is only flushed by its
/// `commit` and parked here; [`Deferred::commit_all`] commits them all, and
/// dropping the `Deferred` instead (the run failed late, e.g. a validation
/// message) leaves no new file behind.
#[derive(Clone, Debug, Default)]
pub struct Deferred(std::sync::Arc<std::sync::Mutex<Vec<OutputFile>>>);

impl Deferred {
    /// An empty set.
    pub fn new() -> Deferred {
        Deferred::default()
    }

    /// Commits every parked output (the first error is returned; the rest
    /// are still attempted).
    pub fn commit_all(&self) -> io::Result<()> {
        let files = match self.0.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        let mut first = Ok(());
        for f in files {
            let shown = f.path().to_path_buf();
            if let Err(e) = f.commit() {
                if first.is_ok() {
                    first = Err(io::Error::new(
                        e.kind(),
                        format!("`{}`: {e}", shown.display()),
                    ));
                }
            }
        }
        first
    }

    /// Drops every parked output uncommitted.
    pub fn discard_all(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.clear();
        }
    }
}

/// Counter making temporary names unique within a process.
static TEMP_SERIAL: AtomicU64 = AtomicU64::new(0);

impl OutputFile {
    /// Opens `path` for writing as described in the module docs. Fails now
    /// (not after a run) if the location cannot be written.
    pub fn create(path: &Path) -> io::Result<OutputFile> {
        if let Some(file) = own_stdio(path) {
            return Ok(OutputFile::in_place(file?, path));
        }
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::atomic(path, None),
            Err(e) => Err(e),
            Ok(m) if m.file_type().is_symlink() => {
                // Write the link's target in place; never replace the link.
                let target = std::fs::metadata(path);
                let regular = target.as_ref().is_ok_and(|t| t.is_file());
                let file = OpenOptions::new()
                    .write(true)
                    .create(target.is_err())
                    .truncate(regular || target.is_err())
                    .open(path)?;
                let seekable = writable_from_start(&file);
                Ok(Self::in_place_inner(file, path, seekable))
            }
            Ok(m) if m.is_file() => {
                #[cfg(unix)]
                let mode = {
                    use std::os::unix::fs::PermissionsExt;
                    Some(m.permissions().mode() & 0o7777)
                };
                #[cfg(not(unix))]
                let mode = None;
                Self::atomic(path, mode)
            }
            Ok(m) if m.is_dir() => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            )),
            Ok(_) => {
                // Device, FIFO or socket: write into it, do not replace it.
                let file = OpenOptions::new().write(true).open(path)?;
                Ok(Self::in_place_inner(file, path, false))
            }
        }
    }

    /// Opens `path` to be written in place: created or truncated now,
    /// visible while it is written (for a run no process will commit).
    /// Devices, FIFOs and symlinks are treated as by [`OutputFile::create`].
    pub fn create_in_place(path: &Path) -> io::Result<OutputFile> {
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.is_file() => Self::create(path),
            _ => {
                let file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(path)?;
                Ok(Self::in_place_inner(file, path, true))
            }
        }
    }

    /// Wraps a descriptor opened elsewhere (e.g. passed by a client): written
    /// in place; [`OutputFile::commit`] only flushes and syncs it.
    pub fn in_place(file: File, shown: impl Into<PathBuf>) -> OutputFile {
        let seekable = writable_from_start(&file);
        OutputFile {
            file,
            shown: shown.into(),
            mode: Mode::InPlace,
            seekable,
            committed: false,
            deferred: None,
        }
    }

    fn in_place_inner(file: File, path: &Path, seekable: bool) -> OutputFile {
        OutputFile {
            file,
            shown: path.to_path_buf(),
            mode: Mode::InPlace,
            seekable,
            committed: false,
            deferred: None,
        }
    }

    fn atomic(path: &Path, mode: Option<u32>) -> io::Result<OutputFile> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "names a directory, not a file")
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (file, named) = match unnamed_temp(&dir) {
            Some(f) => (f, None),
            None => {
                remove_stale_temps(&dir, name);
                let tmp = dir.join(temp_name(name));
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&tmp)?;
                (f, Some(tmp))
            }
        };
        Ok(OutputFile {
            file,
            shown: path.to_path_buf(),
            mode: Mode::Atomic {
                target: path.to_path_buf(),
                named,
                mode,
            },
            seekable: true,
            committed: false,
            deferred: None,
        })
    }

    /// Makes [`OutputFile::commit`] park the file in `deferred` (see
    /// [`Deferred`]).
    pub fn defer_to(&mut self, deferred: &Deferred) {
        self.deferred = Some(deferred.clone());
    }

    /// The path as the user gave it (for messages).
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// The open file to write to.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// A second handle on the same open file (e.g. to pass to a daemon).
    pub fn try_clone(&self) -> io::Result<File> {
        self.file.try_clone()
    }

    /// True if the file can seek (a regular file written from its start,
    /// not in append mode), so a header can be rewritten at the end.
    pub fn seekable(&self) -> bool {
        self.seekable
    }

    /// True if the output replaces its path atomically on commit (false:
    /// written in place).
    pub fn is_atomic(&self) -> bool {
        matches!(self.mode, Mode::Atomic { .. })
    }

    /// Makes the output final: flushes and syncs it and, for a regular
    /// file, renames the temporary over the path.
    pub fn commit(mut self) -> io::Result<()> {
        self.file.flush()?;
        if let Some(d) = self.deferred.take() {
            match d.0.lock() {
                Ok(mut v) => v.push(self),
                Err(p) => p.into_inner().push(self),
            }
            return Ok(());
        }
        let regular = self.file.metadata().is_ok_and(|m| m.is_file());
        if regular {
            self.file.sync_all()?;
        }
        if let Mode::Atomic {
            target,
            named,
            mode,
        } = &self.mode
        {
            #[cfg(unix)]
            if let Some(m) = mode {
                use std::os::unix::fs::PermissionsExt;
                self.file
                    .set_permissions(std::fs::Permissions::from_mode(*m))?;
            }
            #[cfg(not(unix))]
            let _ = mode;
            let dir = match target.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let tmp = match named {
                Some(t) => t.clone(),
                None => link_unnamed(&self.file, &dir, target)?,
            };
            if let Err(e) = std::fs::rename(&tmp, target) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            // The rename is durable once the directory is synced.
            if let Ok(d) = File::open(&dir) {
                let _ = d.sync_all();
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if !self.committed {
            if let Mode::Atomic {
                named: Some(tmp), ..
            } = &self.mode
            {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

/// The process's own standard output or error when `path` names it
/// (`/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`; the same for 2): the
/// descriptor as the shell set it up, duplicated, not the file reopened —
/// reopening would truncate a file redirected with `>>` and write it from
/// the start.
fn own_stdio(path: &Path) -> Option<io::Result<File>> {
    use std::os::fd::AsFd;
    let fd = match path.to_str()? {
        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => 1,
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => 2,
        _ => return None,
    };
    let dup = if fd == 1 {
        io::stdout().as_fd().try_clone_to_owned()
    } else {
        io::stderr().as_fd().try_clone_to_owned()
    };
    Some(dup.map(File::from))
}

/// True if `file` is a regular file positioned at its start and not in
/// append mode: one a writer may seek in (to rewrite an `.npy` header) and
/// write at absolute offsets. A descriptor inherited from a shell's `>>`
/// (append) or one already written to is not: it is written sequentially.
fn writable_from_start(file: &File) -> bool {
    use std::io::Seek;
    let mut f = file;
    file.metadata().is_ok_and(|m| m.is_file())
        && f.stream_position().is_ok_and(|p| p == 0)
        && rustix::fs::fcntl_getfl(file).is_ok_and(|fl| !fl.contains(rustix::fs::OFlags::APPEND))
}

/// Writes `bytes` to `path` as one [`OutputFile`]: atomically for regular
/// files, in place for anything else.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OutputFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// `.NAME.ptc-PID-N.tmp`.
fn temp_name(name: &std::ffi::OsStr) -> std::ffi::OsString {
    let mut s = std::ffi::OsString::from(".");
    s.push(name);
    s.push(format!(
        ".ptc-{}-{}.tmp",
        std::process::id(),
        TEMP_SERIAL.fetch_add(1, Ordering::Relaxed)
    ));
    s
}

/// Removes `.NAME.ptc-PID-N.tmp` files in `dir` whose process is gone.
fn remove_stale_temps(dir: &Path, name: &std::ffi::OsStr) {
    let Some(name) = name.to_str() else { return };
    let prefix = format!(".{name}.ptc-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let f = e.file_name();
        let Some(f) = f.to_str() else { continue };
        let Some(rest) = f.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// An unnamed temporary file in `dir` (`O_TMPFILE`), if the file system
/// supports it.
#[cfg(target_os = "linux")]
fn unnamed_temp(dir: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o666)
        .open(dir)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn unnamed_temp(_dir: &Path) -> Option<File> {
    None
}

/// Gives an `O_TMPFILE` file a hidden name in `dir` (then renamed over
/// `target`).
#[cfg(target_os = "linux")]
fn link_unnamed(file: &File, dir: &Path, target: &Path) -> io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(temp_name(name));
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        proc_path.as_str(),
        rustix::fs::CWD,
        &tmp,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )?;
    Ok(tmp)
}

#[cfg(not(target_os = "linux"))]
fn link_unnamed(_file: &File, _dir: &Path, _target: &Path) -> io::Result<PathBuf> {
    Err(io::Error::other("unnamed temporary files are Linux-only"))
}

/// The identity of a file a run reads or writes: device and inode for an
/// existing file (symlinks followed), else the absolute path with its
/// directory resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FileIdentity {
    /// An existing file.
    Inode(u64, u64),
    /// A file still to be created.
    Path(PathBuf),
}

/// What [`FileIdentity::of`] found at a path, for deciding conflicts.
impl FileIdentity {
    /// The identity of `path`, and whether it is a character device
    /// (`/dev/null`, a terminal: several outputs may share one).
    pub fn of(path: &Path) -> (FileIdentity, bool) {
        #[cfg(unix)]
        if let Ok(m) = std::fs::metadata(path) {
            use std::os::unix::fs::{FileTypeExt, MetadataExt};
            return (
                FileIdentity::Inode(m.dev(), m.ino()),
                m.file_type().is_char_device(),
            );
        }
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let resolved = match (abs.parent(), abs.file_name()) {
            (Some(dir), Some(name)) => std::fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or(abs.clone()),
            _ => abs.clone(),
        };
        (FileIdentity::Path(resolved), false)
    }
}

/// True if `a` and `b` name the same file, so writing both (or reading one
/// while writing the other) would mix or destroy data. Character devices
/// (`/dev/null`, a terminal) may be shared and are never "the same".
pub fn same_target(a: &Path, b: &Path) -> bool {
    let (ia, ca) = FileIdentity::of(a);
    let (ib, cb) = FileIdentity::of(b);
    !(ca || cb) && ia == ib
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ptc-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn regular_files_appear_only_on_commit() {
        let d = scratch("regular");
        let p = d.join("out.bin");
        std::fs::write(&p, b"old").unwrap();
        let mut f = OutputFile::create(&p).unwrap();
        f.write_all(b"new contents").unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"old",
            "not replaced before commit"
        );
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        assert_eq!(entries(&d), ["out.bin"], "no temporary left");
    }

    #[test]
    fn deferred_outputs_wait_for_commit_all() {
        let d = scratch("deferred");
        let later = Deferred::new();
        let p = d.join("out.bin");
        let mut f = OutputFile::create(&p).unwrap();
        f.defer_to(&later);
        f.write_all(b"x").unwrap();
        f.commit().unwrap();
        assert!(!p.exists(), "parked, not committed");
        later.commit_all().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
        let q = d.join("other.bin");
        let mut g = OutputFile::create(&q).unwrap();
        g.defer_to(&later);
        g.commit().unwrap();
        later.discard_all();
        assert_eq!(entries(&d), ["out.bin"]);
    }

    #[test]
    fn a_dropped_output_leaves_nothing() {
        let d = scratch("dropped");
        let p = d.join("out.npy");
        let mut f = OutputFile::create(&p).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert!(entries(&d).is_empty(), "{:?}", entries(&d));
    }

    #[cfg(unix)]
    #[test]
    fn replaced_files_keep_their_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let d = scratch("perms");
        let p = d.join("out.txt");
        std::fs::write(&p, b"x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"y").unwrap();
        let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_written_through_not_replaced() {
        let d = scratch("symlink");
        let target = d.join("real.bin");
        std::fs::write(&target, b"old old old").unwrap();
        let link = d.join("link.bin");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place() {
        let mut f = OutputFile::create(Path::new("/dev/null")).unwrap();
        assert!(!f.is_atomic());
        f.write_all(b"discarded").unwrap();
        f.commit().unwrap();
        let m = std::fs::symlink_metadata("/dev/null").unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(
            m.file_type().is_char_device(),
            "/dev/null is still a device"
        );
    }

    #[cfg(unix)]
    #[test]
    fn fifos_are_written_in_place() {
        let d = scratch("fifo");
        let p = d.join("pipe");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let p = p.clone();
            std::thread::spawn(move || std::fs::read(p).unwrap())
        };
        write_atomic(&p, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&p).unwrap().file_type().is_fifo());
    }

    #[test]
    fn an_unwritable_directory_fails_at_create() {
        let e = OutputFile::create(Path::new("/nonexistent-dir/x.npy")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let d = scratch("isdir");
        assert!(OutputFile::create(&d).is_err());
    }

    #[test]
    fn stale_named_temporaries_of_dead_processes_are_removed() {
        let d = scratch("stale");
        // pid 0x7fffffff does not exist.
        let stale = d.join(".out.bin.ptc-2147483646-0.tmp");
        std::fs::write(&stale, b"junk").unwrap();
        remove_stale_temps(&d, std::ffi::OsStr::new("out.bin"));
        assert!(!stale.exists());
    }

    #[test]
    fn same_target_sees_through_spellings() {
        let d = scratch("same");
        let a = d.join("a.npy");
        assert!(same_target(&a, &d.join(".").join("a.npy")));
        std::fs::write(&a, b"").unwrap();
        #[cfg(unix)]
        {
            let l = d.join("l.npy");
            std::os::unix::fs::symlink(&a, &l).unwrap();
            assert!(same_target(&a, &l));
        }
        assert!(!same_target(&a, &d.join("b.npy")));
        assert!(!same_target(Path::new("/dev/null"), Path::new("/dev/null")));
    }
}
