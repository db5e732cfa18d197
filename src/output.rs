//! What an output location is, how it is checked before a run and how it is written after it:
//! nothing is ever destroyed, nothing is left behind. Every writer (`--json`, `--csv`, the chart
//! PNGs) goes through [`OutputFile`]; the human report goes through [`say!`](crate::say).
//!
//! - `-` is standard output. The report then goes to standard error, so that standard output
//!   carries only the document.
//! - A regular file, or a name not there yet, is replaced atomically: a temporary file
//!   `.hpXXXXXX.tmp` (13 bytes, so that any name up to NAME_MAX fits) is written next to it,
//!   flushed and renamed over it. A new file gets the umask's mode (0666 & !umask); an existing
//!   one keeps its mode and, where the process may (root), its owner. A failed write
//!   (a full disk, a file-size limit: `ulimit -f` is EFBIG here, see [`crate::signals`]) removes
//!   the temporary file and leaves the target as it was. A SIGINT, SIGTERM or SIGHUP while the
//!   temporary files are written removes them and leaves every target as it was; one that comes
//!   once the renames have begun waits for them to end (each file is written and flushed before
//!   the first rename, so they take milliseconds), and the outputs are then all new. Just before
//!   the renames each target is looked at again: one that became something else than a regular
//!   file since the check (a FIFO made there meanwhile) is not renamed over.
//! - A symbolic link is written through: its chain is resolved and the file it ends at is
//!   replaced as above (a dangling link creates its target); the link stays a link.
//! - A name of an open descriptor (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`,
//!   or a link to one) is written through that descriptor, never replaced: `/dev/stdout` is
//!   standard output exactly as `-` is, any other descriptor is written at its own offset (so
//!   `2>>log` appends). Resolved as a link, `/proc/self/fd/1` would lead to the file the shell
//!   opened (`>> run.log`), and the rename would replace that file: its earlier lines and the
//!   report with it.
//! - A character device (`/dev/null`) or a FIFO is written in place, not atomically: it holds no
//!   content to protect, and a rename would destroy it. Each is opened when checked, without
//!   blocking, and kept open until written: a FIFO nobody reads when the command starts is
//!   refused, so the command never hangs on it. Block devices and sockets are refused.
//! - Every location is checked before the run, so that a bad one is bad input (exit 2, one line),
//!   found before minutes of work: a missing directory, a directory, a name too long, a place
//!   where no file can be created (tried by creating and removing a temporary file there: as root
//!   permission bits pass, and only trying finds a read-only file system or /proc), and two
//!   outputs naming the same file.

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use tempfile::NamedTempFile;

/// An output location that cannot be used (exit 2), or a write that failed (exit 1). One line,
/// naming the location.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Found by [`OutputFile::check`], before anything runs.
    #[error("cannot write {path}: {why}")]
    Location { path: String, why: String },
    /// Found while writing.
    #[error("cannot write {path}: {why}")]
    Write { path: String, why: String },
}

/// An output location, checked; [`OutputFile::commit`] writes it.
#[derive(Debug)]
pub struct OutputFile {
    /// As given, for messages.
    shown: String,
    place: Place,
    id: Identity,
}

#[derive(Debug)]
enum Place {
    Stdout,
    /// A regular file or no file yet, at the end of any link chain: replaced by a rename.
    Replace {
        path: PathBuf,
        dir: PathBuf,
    },
    /// A character device or a FIFO, opened by the check and written in place.
    Direct(File),
}

/// What two outputs are compared by: two names of one file are the same output.
#[derive(Debug, PartialEq)]
enum Identity {
    Stdout,
    Inode(u64, u64),
    /// A file not there yet: its directory, canonical, and its name.
    Name(PathBuf),
}

impl OutputFile {
    /// Checks `path` as an output location (see the module's documentation), before the run.
    pub fn check(path: &Path) -> Result<OutputFile, OutputError> {
        let shown = path.display().to_string();
        let bad = |why: String| OutputError::Location {
            path: shown.clone(),
            why,
        };
        let raw = path.as_os_str();
        if raw == "-" {
            return Ok(Self::stdout());
        }
        if raw.is_empty() {
            return Err(bad("an empty path names no file".to_string()));
        }
        if raw.as_bytes().ends_with(b"/") || path.file_name().is_none() {
            return Err(bad("the path names a directory, not a file".to_string()));
        }
        // Before any link is followed: a descriptor's name leads to the file behind it, which a
        // rename would replace.
        let target = match resolve_links(path).map_err(|e| bad(format!("resolving links: {e}")))? {
            End::Descriptor(fd) => return Self::descriptor(fd, shown.clone()).map_err(bad),
            End::File(target) => target,
        };
        // What the path leads to as the kernel sees it.
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => return Err(bad("it is a directory".to_string())),
            Ok(m) if m.is_file() => {}
            Ok(m) => return Self::in_place(path, &m, shown.clone()).map_err(bad),
            // Nothing there yet, or a dangling link: the file is created where the chain ends.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(bad(e.to_string())),
        }
        let dir = parent(&target);
        match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(bad(format!("{} is not a directory", dir.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(bad(format!("directory {} does not exist", dir.display())));
            }
            Err(e) => return Err(bad(format!("{}: {e}", dir.display()))),
        }
        let id = match fs::symlink_metadata(&target) {
            Ok(m) if m.is_file() => Identity::Inode(m.dev(), m.ino()),
            Ok(_) => return Err(bad(format!("{} is not a regular file", target.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Identity::Name(
                fs::canonicalize(&dir)
                    .unwrap_or_else(|_| dir.clone())
                    .join(target.file_name().unwrap_or_default()),
            ),
            Err(e) => return Err(bad(e.to_string())),
        };
        // Permission bits do not stop root, and say nothing of read-only file systems or /proc:
        // only creating a file there shows that the commit will be able to.
        probe(&dir).map_err(|e| bad(format!("cannot create a file in {}: {e}", dir.display())))?;
        Ok(OutputFile {
            shown,
            place: Place::Replace { path: target, dir },
            id,
        })
    }

    /// Standard output (`-`, `/dev/stdout`): the report then goes to standard error.
    fn stdout() -> OutputFile {
        REPORT_TO_STDERR.store(true, Ordering::Relaxed);
        OutputFile {
            shown: "standard output".to_string(),
            place: Place::Stdout,
            id: Identity::Stdout,
        }
    }

    /// Open descriptor `fd` of this process, named by a path: standard output as `-` is, any
    /// other written in place through a duplicate, at the descriptor's own offset and with its
    /// own flags (`O_APPEND` from `>>` included).
    fn descriptor(fd: RawFd, shown: String) -> Result<OutputFile, String> {
        if fd == libc::STDOUT_FILENO {
            return Ok(Self::stdout());
        }
        // SAFETY: F_GETFL only reads the flags; a number that is no open descriptor is EBADF.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(format!("descriptor {fd} is not open"));
        }
        if flags & libc::O_ACCMODE == libc::O_RDONLY {
            return Err(format!("descriptor {fd} is open for reading only"));
        }
        // SAFETY: `fd` is open (checked above); the duplicate is a new descriptor, owned below.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(io::Error::last_os_error().to_string());
        }
        // SAFETY: `dup` was just created and nothing else owns it.
        let file = unsafe { File::from_raw_fd(dup) };
        let m = file.metadata().map_err(|e| e.to_string())?;
        Ok(OutputFile {
            shown,
            place: Place::Direct(file),
            id: Identity::Inode(m.dev(), m.ino()),
        })
    }

    /// Refuses an output that is one of the run's `inputs` (the same file under any name or
    /// link): writing it would destroy what the run was made from.
    pub fn refuse_inputs<'a>(
        &self,
        inputs: impl IntoIterator<Item = &'a Path>,
    ) -> Result<(), OutputError> {
        for input in inputs {
            if let Ok(m) = fs::metadata(input)
                && self.id == Identity::Inode(m.dev(), m.ino())
            {
                return Err(OutputError::Location {
                    path: self.shown.clone(),
                    why: format!(
                        "it is {}, an input of this run, which writing it would destroy",
                        input.display()
                    ),
                });
            }
        }
        Ok(())
    }

    /// A character device or FIFO: opened now, so that a FIFO without a reader fails at once.
    fn in_place(path: &Path, m: &fs::Metadata, shown: String) -> Result<OutputFile, String> {
        let kind = m.file_type();
        if kind.is_block_device() {
            return Err("it is a block device; results are never written over one".to_string());
        }
        if kind.is_socket() {
            return Err("it is a socket".to_string());
        }
        if !kind.is_char_device() && !kind.is_fifo() {
            return Err("it is neither a file, a FIFO nor a character device".to_string());
        }
        // O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader forever; with
        // it, no reader is ENXIO. O_NOCTTY: a terminal named here must not become ours.
        let file = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENXIO) if kind.is_fifo() => {
                    "it is a FIFO that nobody reads (start its reader first)".to_string()
                }
                _ => e.to_string(),
            })?;
        // Blocking again, so that the document is written whole however slowly it is read.
        clear_nonblocking(&file).map_err(|e| e.to_string())?;
        Ok(OutputFile {
            shown,
            place: Place::Direct(file),
            id: Identity::Inode(m.dev(), m.ino()),
        })
    }

    /// Whether the two outputs would write the same file (or both standard output).
    pub fn same_place(&self, other: &OutputFile) -> bool {
        self.id == other.id
    }

    /// The location as given.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Writes `bytes` here: atomically for a file, in place for a device or FIFO.
    pub fn commit(self, bytes: &[u8]) -> Result<(), OutputError> {
        commit_all(vec![(self, bytes.to_vec())])
    }
}

/// Writes every output or, as far as files go, none: each file's temporary file is written and
/// flushed first, then devices, FIFOs and descriptors, and only then is every temporary file
/// renamed over its target; a failure before the renames removes the temporary files and leaves
/// every target as it was. Standard output comes last. Nothing before the renames holds the
/// commit lock, so that a signal meanwhile (a slow FIFO reader, a hung disk) ends the run at
/// once with every target as it was.
pub fn commit_all(outputs: Vec<(OutputFile, Vec<u8>)>) -> Result<(), OutputError> {
    let failed = |o: &OutputFile, why: String| OutputError::Write {
        path: o.shown.clone(),
        why,
    };
    let mut staged = Vec::new();
    for (out, bytes) in &outputs {
        if let Place::Replace { path, dir } = &out.place {
            let temp = stage(path, dir, bytes).map_err(|e| failed(out, e.to_string()))?;
            staged.push((temp, out, path, dir));
        }
    }
    for (out, bytes) in &outputs {
        if let Place::Direct(file) = &out.place {
            (&*file)
                .write_all(bytes)
                .and_then(|()| (&*file).flush())
                .map_err(|e| failed(out, e.to_string()))?;
        }
    }
    {
        // Held through the last rename: a signal from here on waits for the renames to end
        // (crate::signals), so that the outputs are either all old or all new.
        let _renames = lock(&COMMIT);
        for (_, out, path, _) in &staged {
            still_replaceable(path).map_err(|why| failed(out, why))?;
        }
        for (temp, out, path, dir) in staged {
            let Temp { file, _registered } = temp;
            file.persist(path).map_err(|e| {
                failed(
                    out,
                    format!("renaming the finished file into place: {}", e.error),
                )
            })?;
            // The rename is durable once the directory is; a failure here loses nothing written.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
    }
    for (out, bytes) in &outputs {
        if let Place::Stdout = out.place {
            to_stdout(bytes);
        }
    }
    Ok(())
}

/// Looks at a target again just before its rename: still a regular file, or still absent. One
/// that became something else since the check (a FIFO or device made there meanwhile, a link)
/// is left as it is, and the commit fails.
fn still_replaceable(path: &Path) -> Result<(), String> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Ok(m) => Err(format!(
            "{} became {} since the run started; it is left as it is",
            path.display(),
            crate::input::kind_of(&m)
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Checks a folder that files will be written into (`chart --out`): it is a folder, or it can be
/// created (the nearest existing ancestor is a folder). Nothing is created here.
pub fn check_dir(dir: &Path) -> io::Result<()> {
    let mut at = dir;
    loop {
        match fs::metadata(if at.as_os_str().is_empty() {
            Path::new(".")
        } else {
            at
        }) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a directory", at.display()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match at.parent() {
                Some(up) => at = up,
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

/// Where a chain of symbolic links ends.
enum End {
    /// A file (the path itself when it is no link), which need not exist.
    File(PathBuf),
    /// An open descriptor of this process.
    Descriptor(RawFd),
}

fn resolve_links(path: &Path) -> io::Result<End> {
    let mut at = path.to_path_buf();
    // Linux's own limit on links followed in one lookup.
    for _ in 0..40 {
        if let Some(fd) = descriptor_named(&at) {
            return Ok(End::Descriptor(fd));
        }
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = fs::read_link(&at)?;
                at = if next.is_absolute() {
                    next
                } else {
                    parent(&at).join(next)
                };
            }
            _ => return Ok(End::File(at)),
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// The descriptor `path` names, when it is an entry of this process's descriptor folder: a
/// number in a folder that resolves to /proc/self/fd or /proc/thread-self/fd, whatever the path
/// calls it (/dev/fd is a link to the first; /dev/stdout, /dev/stderr link into it).
fn descriptor_named(path: &Path) -> Option<RawFd> {
    let name = path.file_name()?.to_str()?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fd: RawFd = name.parse().ok()?;
    let dir = fs::canonicalize(parent(path)).ok()?;
    ["/proc/self/fd", "/proc/thread-self/fd"]
        .into_iter()
        .any(|d| fs::canonicalize(d).is_ok_and(|c| c == dir))
        .then_some(fd)
}

/// The folder a path's file is in ("." for a bare name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn clear_nonblocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open (owned by `file`, borrowed for the call); F_GETFL reads its flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above; F_SETFL changes only the file status flags of this descriptor.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// ---- temporary files, and what a signal does with them ----

/// Held while a temporary file is created and registered, and from the check before the first
/// rename to the last rename: what a signal waits for ([`abandon`]).
static COMMIT: Mutex<()> = Mutex::new(());
/// The temporary files that exist now, for a signal that cannot wait for the commit to end.
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A poisoned lock guards nothing that could be inconsistent here: take it anyway.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A temporary file next to its target; removed when dropped unless persisted.
struct Temp {
    // Declared first, dropped first: the file is removed before its registration ends.
    file: NamedTempFile,
    _registered: Registered,
}

struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&TEMPS).retain(|p| *p != self.0);
    }
}

impl Temp {
    /// Takes `COMMIT` while it creates and registers the file: once a signal has taken it, no
    /// new temporary file appears.
    fn create(dir: &Path) -> io::Result<Temp> {
        let _commit = lock(&COMMIT);
        let file = tempfile::Builder::new()
            .prefix(".hp")
            .suffix(".tmp")
            .rand_bytes(6)
            // The mode a new file gets (the kernel applies the umask), not tempfile's 0600.
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)?;
        lock(&TEMPS).push(file.path().to_path_buf());
        Ok(Temp {
            _registered: Registered(file.path().to_path_buf()),
            file,
        })
    }
}

/// Tries creating a file in `dir` (and removes it at once).
fn probe(dir: &Path) -> io::Result<()> {
    Temp::create(dir).map(drop)
}

/// The temporary file for `path`, written and flushed. An existing file's mode and owner carry
/// over to its replacement.
fn stage(path: &Path, dir: &Path, bytes: &[u8]) -> io::Result<Temp> {
    let temp = Temp::create(dir)?;
    if let Some(old) = fs::symlink_metadata(path).ok().filter(|m| m.is_file()) {
        let f = temp.file.as_file();
        if (old.uid(), old.gid()) != (f.metadata()?.uid(), f.metadata()?.gid()) {
            // Only root may give a file away; anyone else keeps the new file as their own. Before
            // the mode: a change of owner clears the set-id bits.
            let _ = std::os::unix::fs::fchown(f, Some(old.uid()), Some(old.gid()));
        }
        f.set_permissions(Permissions::from_mode(old.mode() & 0o7777))?;
    }
    // Through the plain file: tempfile's own writer names the temporary file in its errors, a
    // file the error's reader will never see.
    temp.file.as_file().write_all(bytes)?;
    temp.file.as_file().sync_all()?;
    Ok(temp)
}

/// Called by the signal thread before the process exits: waits (a bounded time) for renames in
/// progress to end, then removes every temporary file still there (those being written: their
/// targets stay as they were). The commit lock stays taken, so that no new temporary file
/// appears and no rename starts before the exit.
pub(crate) fn abandon() {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match COMMIT.try_lock() {
            Ok(guard) => {
                std::mem::forget(guard);
                break;
            }
            Err(TryLockError::Poisoned(e)) => {
                std::mem::forget(e.into_inner());
                break;
            }
            // A rename stuck for seconds (a hung file system): give up on it.
            Err(TryLockError::WouldBlock) if Instant::now() >= deadline => break,
            Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    for temp in lock(&TEMPS).iter() {
        let _ = fs::remove_file(temp);
    }
}

/// After an allocation failed (`crate::alloc`): removes the temporary files, without waiting
/// for any lock (the failed allocation may have been made under one) and without allocating.
pub(crate) fn remove_temps_now() {
    if let Ok(temps) = TEMPS.try_lock() {
        for temp in temps.iter() {
            let _ = fs::remove_file(temp);
        }
    }
}

// ---- standard output ----
//
// Memory ordering: the flags are single values that guard no other data (the bytes go through
// the locked stdout/stderr handles, which order themselves), and every reader acts on the value
// alone, so `Relaxed` suffices; a racing print at worst writes one line more before it sees a
// broken pipe.

/// Set when a document goes to standard output: the report then goes to standard error.
static REPORT_TO_STDERR: AtomicBool = AtomicBool::new(false);
/// Whether this process prints the report at all ([`report_here`]).
static REPORTS: AtomicBool = AtomicBool::new(true);

/// Whether this process prints the report: under MPI rank 0 reports for the job and the other
/// ranks stay silent (their failures still go to stderr, through [`tell`]). Set once, when the
/// job is joined.
pub fn report_here(reports: bool) {
    REPORTS.store(reports, Ordering::Relaxed);
}
const STDOUT_OPEN: u8 = 0;
/// The reader went away (`| head`): nothing more is printed, and the exit status is the run's.
const STDOUT_BROKEN: u8 = 1;
/// Any other write error, reported once on stderr: the command exits 1.
const STDOUT_FAILED: u8 = 2;
static STDOUT: AtomicU8 = AtomicU8::new(STDOUT_OPEN);

/// Prints one line of the human report (on standard output, or on standard error when standard
/// output carries a document). Never panics: see [`say`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::say(format_args!($($arg)*))
    };
}

/// One line of the report (rank 0's only, under MPI). A write error does not panic (as `println!` would) and does not stop
/// the run, so that the results files are still written: a broken pipe silently ends the
/// printing, any other error is reported once on stderr and makes the command exit 1.
pub fn say(args: fmt::Arguments<'_>) {
    if !REPORTS.load(Ordering::Relaxed) {
        return;
    }
    let line = format!("{args}\n");
    let line = printable(&line);
    if REPORT_TO_STDERR.load(Ordering::Relaxed) {
        // Nowhere is left to report a failing stderr on.
        let _ = io::stderr().lock().write_all(line.as_bytes());
    } else {
        to_stdout(line.as_bytes());
    }
}

/// Prints one line on standard error (errors, `FAILED:` lines), on any rank. Never panics: see
/// [`tell`].
#[macro_export]
macro_rules! tell {
    ($($arg:tt)*) => {
        $crate::output::tell(format_args!($($arg)*))
    };
}

/// One line on standard error, fit for a terminal ([`printable`]); a failing stderr is ignored,
/// since nowhere is left to report it on.
pub fn tell(args: fmt::Arguments<'_>) {
    let line = format!("{args}\n");
    let _ = io::stderr().lock().write_all(printable(&line).as_bytes());
}

/// `text` fit for a terminal: every control character but line breaks and tabs is written as an
/// escape (`\u{1b}`), so that text read from a file (a hostname, a label, a check) can neither
/// move the cursor, recolour nor retitle the terminal it is printed on.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

fn to_stdout(bytes: &[u8]) {
    if STDOUT.load(Ordering::Relaxed) != STDOUT_OPEN {
        return;
    }
    let mut out = io::stdout().lock();
    // Flushed each time, so that an error shows here and not at exit, where it would be lost.
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            STDOUT.store(STDOUT_BROKEN, Ordering::Relaxed);
        } else {
            STDOUT.store(STDOUT_FAILED, Ordering::Relaxed);
            let _ = writeln!(
                io::stderr().lock(),
                "error: cannot write to standard output: {e}"
            );
        }
    }
}

/// False when writing to standard output failed (other than a broken pipe): exit 1.
pub fn stdout_ok() -> bool {
    STDOUT.load(Ordering::Relaxed) != STDOUT_FAILED
}
