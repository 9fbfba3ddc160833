//! The one error type: every variant names the segment (or worker) it is about.

use std::fmt;
use std::io;

/// Why a worker of a [`ForkPool`](crate::ForkPool) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerFailure {
    /// The closure panicked; the panic message.
    Panicked(String),
    /// The worker was killed by a signal (e.g. 9 = SIGKILL, 11 = SIGSEGV).
    Signaled(i32),
    /// The worker exited with an unexpected code (0 included: a worker
    /// that calls `exit(0)` before finishing its chunk is a failure).
    Exited(i32),
    /// The worker did not finish within the pool's timeout
    /// ([`ForkPool::timeout`](crate::ForkPool::timeout)); it was killed.
    TimedOut {
        /// The timeout, in milliseconds.
        millis: u64,
    },
}

impl fmt::Display for WorkerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerFailure::Panicked(m) => write!(f, "panicked: {m}"),
            WorkerFailure::Signaled(s) => write!(f, "killed by signal {s} ({})", signal_name(*s)),
            WorkerFailure::Exited(0) => write!(f, "exited with code 0 before finishing its work"),
            WorkerFailure::Exited(c) => write!(f, "exited with code {c}"),
            WorkerFailure::TimedOut { millis } => {
                write!(
                    f,
                    "did not finish within {} s (killed)",
                    *millis as f64 / 1000.0
                )
            }
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// Everything that can go wrong, each naming what it is about.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `create` found a segment with that name already (`O_EXCL`).
    Exists {
        /// The segment name.
        name: String,
    },
    /// `open` found no segment with that name.
    NotFound {
        /// The segment name.
        name: String,
    },
    /// The name is not a valid POSIX shared-memory name.
    BadName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A [`Layout`](crate::Layout) that cannot be built: too many arrays,
    /// a bad or repeated name, a bad shape, or a size that does not fit.
    BadLayout {
        /// The array being added.
        array: String,
        /// What is wrong.
        reason: String,
    },
    /// A mode [`CreateOptions`](crate::CreateOptions) refuses.
    BadMode {
        /// The segment name.
        name: String,
        /// The mode asked for.
        mode: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// The OS refused access, or the segment belongs to another user.
    PermissionDenied {
        /// The segment name.
        name: String,
        /// What was refused.
        reason: String,
    },
    /// The segment holds another element type than the one asked for.
    TypeMismatch {
        /// The segment name (and array name, for multi-array segments).
        name: String,
        /// The type asked for.
        expected: String,
        /// The type the header records.
        found: String,
    },
    /// The array has another shape than the one asked for.
    ShapeMismatch {
        /// The segment and array name (`segment:array`).
        name: String,
        /// The shape asked for.
        expected: Vec<usize>,
        /// The shape the header records.
        found: Vec<usize>,
    },
    /// The segment is smaller than its header says (or than a header).
    TooSmall {
        /// The segment name.
        name: String,
        /// Bytes needed.
        needed: u64,
        /// Bytes present.
        actual: u64,
    },
    /// Not a segment of this crate (bad magic or version), or not ready yet.
    BadHeader {
        /// The segment name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// No array with that name (or index) in the segment, or it was already taken.
    NoSuchArray {
        /// The segment name.
        name: String,
        /// The array asked for.
        array: String,
    },
    /// Not enough shared memory for the segment (reported by
    /// `posix_fallocate`, before any page is touched: never a SIGBUS).
    NoSpace {
        /// The segment name.
        name: String,
        /// Bytes asked for.
        bytes: u64,
    },
    /// Lengths that do not fit together (e.g. pool inputs and output).
    LengthMismatch {
        /// What was being checked.
        what: String,
    },
    /// A worker of a fork pool failed; the other workers were stopped and
    /// waited for before this was returned.
    Worker {
        /// The worker index (0-based).
        worker: usize,
        /// Its chunk of the index range.
        range: std::ops::Range<usize>,
        /// How it failed.
        failure: WorkerFailure,
    },
    /// The pool refused to fork because the process has other threads:
    /// a lock one of them held at the fork would stay locked forever in the
    /// child. Fork before starting threads (or after joining them).
    Threads {
        /// Threads of this process (from /proc/self/task), the caller included.
        count: usize,
    },
    /// A mutable borrow of a shared array from a process other than the one
    /// that created the handle (a forked child reaching a copy of the
    /// parent's handle through a static or thread-local).
    ForeignProcess {
        /// The segment name.
        name: String,
        /// The process that owns the handle.
        owner: i32,
        /// The process that tried.
        pid: i32,
    },
    /// Live workers did not answer within the pool's timeout; all were
    /// killed and reaped.
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// The timeout, in seconds.
        seconds: f64,
    },
    /// Any other OS error, with the segment and the operation.
    Io {
        /// The segment name (or `"(anonymous)"`).
        name: String,
        /// The operation that failed.
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Exists { name } => write!(f, "shared memory segment {name:?} already exists"),
            Error::NotFound { name } => write!(f, "shared memory segment {name:?} not found"),
            Error::BadName { name, reason } => {
                write!(f, "bad shared memory name {name:?}: {reason}")
            }
            Error::BadMode { name, mode, reason } => {
                write!(
                    f,
                    "shared memory segment {name:?}: mode {mode:#o} refused: {reason}"
                )
            }
            Error::PermissionDenied { name, reason } => {
                write!(
                    f,
                    "shared memory segment {name:?}: permission denied ({reason})"
                )
            }
            Error::TypeMismatch {
                name,
                expected,
                found,
            } => write!(
                f,
                "shared memory segment {name:?} holds {found}, not {expected}"
            ),
            Error::ShapeMismatch {
                name,
                expected,
                found,
            } => write!(
                f,
                "shared memory segment {name:?} has shape {found:?}, not {expected:?}"
            ),
            Error::TooSmall {
                name,
                needed,
                actual,
            } => write!(
                f,
                "shared memory segment {name:?} is too small: {actual} bytes, needs {needed}"
            ),
            Error::BadHeader { name, reason } => {
                write!(f, "shared memory segment {name:?}: {reason}")
            }
            Error::NoSuchArray { name, array } => write!(
                f,
                "shared memory segment {name:?} has no array {array:?} left to take"
            ),
            Error::NoSpace { name, bytes } => write!(
                f,
                "no space for shared memory segment {name:?} of {bytes} bytes"
            ),
            Error::LengthMismatch { what } => write!(f, "length mismatch: {what}"),
            Error::Worker {
                worker,
                range,
                failure,
            } => write!(
                f,
                "worker {worker} (elements {}..{}) {failure}",
                range.start, range.end
            ),
            Error::BadLayout { array, reason } => {
                write!(f, "cannot add array {array:?} to the layout: {reason}")
            }
            Error::Threads { count } => write!(
                f,
                "refusing to fork: this process has {count} threads (fork is only sound with one; start the pool before any thread, or join them first)"
            ),
            Error::ForeignProcess { name, owner, pid } => write!(
                f,
                "shared memory segment {name:?}: process {pid} tried to borrow an array handle owned by process {owner} (a forked child may not write through its copy of the parent's handle)"
            ),
            Error::Timeout { what, seconds } => {
                write!(
                    f,
                    "{what} did not answer within {seconds} s (workers killed)"
                )
            }
            Error::Io { name, op, source } => {
                write!(f, "shared memory segment {name:?}: {op}: {source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    /// Maps an errno from an operation on segment `name` to the right variant.
    pub(crate) fn from_errno(name: &str, op: &'static str, errno: nix::errno::Errno) -> Error {
        use nix::errno::Errno;
        let name = name.to_string();
        match errno {
            Errno::EEXIST => Error::Exists { name },
            Errno::ENOENT => Error::NotFound { name },
            Errno::EACCES | Errno::EPERM => Error::PermissionDenied {
                name,
                reason: format!("{op}: {}", errno.desc()),
            },
            Errno::ENAMETOOLONG => Error::BadName {
                name,
                reason: "longer than 255 bytes",
            },
            Errno::EINVAL if op == "shm_open" => Error::BadName {
                name,
                reason: "rejected by shm_open",
            },
            _ => Error::Io {
                name,
                op,
                source: io::Error::from_raw_os_error(errno as i32),
            },
        }
    }
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
