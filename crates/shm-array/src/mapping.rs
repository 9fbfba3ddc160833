//! The OS side: creating, opening, mapping, locking and unlinking segments.
//!
//! Every `unsafe` of the segment code lives here, next to its reason.

use std::ffi::CString;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, SealFlag};
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

/// Where POSIX shared memory objects appear on Linux.
pub const SHM_DIR: &str = "/dev/shm";

/// The name shown for anonymous segments in errors.
pub(crate) const ANON: &str = "(anonymous)";

/// Checks a POSIX shared memory name and returns it without a leading `/`.
pub(crate) fn check_name(name: &str) -> Result<String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let bad = |reason| {
        Err(Error::BadName {
            name: name.to_string(),
            reason,
        })
    };
    if bare.is_empty() {
        return bad("empty");
    }
    if bare.contains('/') {
        return bad("contains '/' after the first character");
    }
    if bare.contains('\0') {
        return bad("contains a NUL byte");
    }
    if bare == "." || bare == ".." {
        return bad("'.' and '..' are not names");
    }
    if bare.len() > 255 {
        return bad("longer than 255 bytes");
    }
    Ok(bare.to_string())
}

fn shm_path(bare: &str) -> CString {
    CString::new(format!("/{bare}")).expect("checked: no NUL")
}

/// A shared mapping of a whole segment; unmapped on drop, and unlinked on
/// drop by the process that created it (never by a forked child).
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    /// `None` for anonymous (memfd) segments.
    name: Option<String>,
    /// The open descriptor holding our `LOCK_SH` (named segments).
    _fd: Option<OwnedFd>,
    /// The pid of the creator, for named segments it created.
    owner_pid: Option<i32>,
    unlinked: AtomicBool,
}

// SAFETY: `Mapping` is a pointer to a MAP_SHARED region that stays mapped
// until drop; it never reads or writes the region itself. Access to the bytes
// is governed by the typed views (`ShmArray`), which carry their own bounds.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only exposes the pointer, length and name.
unsafe impl Sync for Mapping {}

/// How a new segment is created.
pub(crate) enum Create<'a> {
    Named(&'a str, &'a crate::access::CreateOptions),
    Anonymous,
}

fn flock(fd: &OwnedFd, op: libc::c_int) -> std::result::Result<(), Errno> {
    loop {
        // SAFETY: `fd` is an open descriptor we own for the whole call.
        let r = unsafe { libc::flock(fd.as_raw_fd(), op) };
        if r == 0 {
            return Ok(());
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

fn fallocate(fd: &OwnedFd, display: &str, len: usize) -> Result<()> {
    loop {
        match nix::fcntl::posix_fallocate(fd, 0, len as libc::off_t) {
            Ok(()) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(Errno::ENOSPC | Errno::EFBIG | Errno::ENOMEM) => {
                return Err(Error::NoSpace {
                    name: display.to_string(),
                    bytes: len as u64,
                });
            }
            Err(e) => return Err(Error::from_errno(display, "posix_fallocate", e)),
        }
    }
}

fn map_shared(fd: &OwnedFd, display: &str, len: usize, writable: bool) -> Result<NonNull<u8>> {
    let len = NonZeroUsize::new(len).expect("segments hold at least a header");
    let prot = if writable {
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
    } else {
        ProtFlags::PROT_READ
    };
    // SAFETY: a fresh mapping at an address the kernel chooses cannot
    // overlap any Rust object; the file is at least `len` bytes long
    // (allocated by posix_fallocate or checked with fstat by the caller).
    let p = unsafe { nix::sys::mman::mmap(None, len, prot, MapFlags::MAP_SHARED, fd, 0) }
        .map_err(|e| Error::from_errno(display, "mmap", e))?;
    Ok(p.cast())
}

impl Mapping {
    /// Creates a segment of `len` bytes, all its memory allocated up front
    /// (so a full filesystem is `NoSpace` here, not SIGBUS later).
    pub(crate) fn create(how: Create<'_>, len: usize) -> Result<Mapping> {
        match how {
            Create::Named(name, opts) => Self::create_named(name, len, opts),
            Create::Anonymous => Self::create_anonymous(len),
        }
    }

    fn create_named(
        name: &str,
        len: usize,
        opts: &crate::access::CreateOptions,
    ) -> Result<Mapping> {
        let bare = check_name(name)?;
        if AUTO_SWEEP.load(Ordering::Relaxed) {
            // Best effort: a failing sweep must not stop the creation.
            let _ = sweep_leaked(sweep_prefix(&bare));
        }
        let path = shm_path(&bare);
        // Checked by CreateOptions::check: permission bits only.
        let mode = Mode::from_bits_truncate(opts.mode as libc::mode_t);
        let fd = nix::sys::mman::shm_open(
            path.as_c_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR | OFlag::O_CLOEXEC,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )
        .map_err(|e| Error::from_errno(&bare, "shm_open", e))?;
        // From here on, remove the name again if anything fails.
        let undo = |e: Error| {
            let _ = nix::sys::mman::shm_unlink(path.as_c_str());
            e
        };
        // The umask may have cleared bits; set exactly the mode asked for.
        if let Some(gid) = opts.group {
            nix::unistd::fchown(&fd, None, Some(nix::unistd::Gid::from_raw(gid)))
                .map_err(|e| undo(Error::from_errno(&bare, "fchown (group)", e)))?;
        }
        nix::sys::stat::fchmod(&fd, mode)
            .map_err(|e| undo(Error::from_errno(&bare, "fchmod", e)))?;
        // Liveness: every handle holds LOCK_SH until it closes (or its
        // process dies), so a sweeper can tell leaked segments from live ones.
        flock(&fd, libc::LOCK_SH).map_err(|e| undo(Error::from_errno(&bare, "flock", e)))?;
        fallocate(&fd, &bare, len).map_err(undo)?;
        let ptr = map_shared(&fd, &bare, len, true).map_err(undo)?;
        Ok(Mapping {
            ptr,
            len,
            name: Some(bare),
            _fd: Some(fd),
            owner_pid: Some(std::process::id() as i32),
            unlinked: AtomicBool::new(false),
        })
    }

    fn create_anonymous(len: usize) -> Result<Mapping> {
        use nix::sys::memfd::{MFdFlags, memfd_create};
        let fd = memfd_create(
            c"shm-array",
            MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
        )
        .map_err(|e| Error::from_errno(ANON, "memfd_create", e))?;
        fallocate(&fd, ANON, len)?;
        // Nobody can shrink or grow it any more: no truncation SIGBUS.
        let seals = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL;
        nix::fcntl::fcntl(&fd, FcntlArg::F_ADD_SEALS(seals))
            .map_err(|e| Error::from_errno(ANON, "F_ADD_SEALS", e))?;
        let ptr = map_shared(&fd, ANON, len, true)?;
        // The mapping keeps the memory alive; the descriptor is not needed.
        drop(fd);
        Ok(Mapping {
            ptr,
            len,
            name: None,
            _fd: None,
            owner_pid: None,
            unlinked: AtomicBool::new(false),
        })
    }

    /// Opens an existing named segment, read-write or read-only (an
    /// `O_RDONLY` descriptor mapped `PROT_READ`). Checks the owner (a
    /// segment created by a user other than us and `owners` is refused:
    /// names can be squatted) and that it holds at least a header.
    pub(crate) fn open(name: &str, writable: bool, owners: &[u32]) -> Result<Mapping> {
        let min_len = crate::header::HEADER_BYTES;
        let bare = check_name(name)?;
        let path = shm_path(&bare);
        let access = if writable {
            OFlag::O_RDWR
        } else {
            OFlag::O_RDONLY
        };
        let fd =
            nix::sys::mman::shm_open(path.as_c_str(), access | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| Error::from_errno(&bare, "shm_open", e))?;
        flock(&fd, libc::LOCK_SH).map_err(|e| Error::from_errno(&bare, "flock", e))?;
        let st = nix::sys::stat::fstat(&fd).map_err(|e| Error::from_errno(&bare, "fstat", e))?;
        let me = nix::unistd::geteuid().as_raw();
        if st.st_uid != me && !owners.contains(&st.st_uid) {
            return Err(Error::PermissionDenied {
                name: bare,
                reason: format!(
                    "owned by uid {}, not by us (uid {me}); OpenOptions::owner({}) trusts it",
                    st.st_uid, st.st_uid
                ),
            });
        }
        let size = st.st_size.max(0) as u64;
        if size < min_len as u64 {
            return Err(Error::TooSmall {
                name: bare,
                needed: min_len as u64,
                actual: size,
            });
        }
        let len = size as usize;
        let ptr = map_shared(&fd, &bare, len, writable)?;
        Ok(Mapping {
            ptr,
            len,
            name: Some(bare),
            _fd: Some(fd),
            owner_pid: None,
            unlinked: AtomicBool::new(false),
        })
    }

    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub(crate) fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(ANON)
    }

    /// Removes the name now (idempotent). Existing mappings, in this and
    /// other processes, stay valid until they are unmapped.
    pub(crate) fn unlink(&self) -> Result<()> {
        let Some(bare) = &self.name else {
            return Ok(());
        };
        if self.unlinked.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        match nix::sys::mman::shm_unlink(shm_path(bare).as_c_str()) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(Error::from_errno(bare, "shm_unlink", e)),
        }
    }

    /// Forgets ownership: the name is not removed on drop.
    pub(crate) fn disown(&mut self) {
        self.owner_pid = None;
    }

    pub(crate) fn is_owner(&self) -> bool {
        self.owner_pid == Some(std::process::id() as i32)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; every view
        // into the region holds an `Arc<Mapping>`, so none is left.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr.cast(), self.len) };
        // Only the creating process unlinks: a forked child dropping its copy
        // of the handle (it normally never does: workers `_exit`) must not
        // remove the parent's segment.
        if self.is_owner() {
            let _ = self.unlink();
        }
    }
}

/// What [`list_segments`](crate::list_segments) found for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentStatus {
    /// The name (without the leading `/`).
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// True when some process still holds it open (its `LOCK_SH` is held).
    pub alive: bool,
    /// True when its header says it was made by this crate.
    pub ours: bool,
}

/// Looks at one name in /dev/shm; if `remove_if_leaked`, unlinks it when it
/// is ours and no process holds it.
fn inspect(bare: &str, remove_if_leaked: bool) -> Result<Option<SegmentStatus>> {
    let path = shm_path(bare);
    let fd = match nix::sys::mman::shm_open(
        path.as_c_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::EACCES) => return Ok(None),
        Err(e) => return Err(Error::from_errno(bare, "shm_open", e)),
    };
    let st = nix::sys::stat::fstat(&fd).map_err(|e| Error::from_errno(bare, "fstat", e))?;
    let bytes = st.st_size.max(0) as u64;
    // Any live handle holds LOCK_SH: an exclusive lock succeeds only when
    // none is left (the kernel drops locks of killed processes).
    let alive = match flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => false,
        Err(Errno::EWOULDBLOCK) => true,
        Err(e) => return Err(Error::from_errno(bare, "flock", e)),
    };
    let ours = bytes >= crate::header::HEADER_BYTES as u64 && {
        let p = map_shared(&fd, bare, crate::header::HEADER_BYTES, false)?;
        // SAFETY: the mapping is HEADER_BYTES long and readable; we read the
        // 8 magic bytes at its start as plain bytes.
        let magic = unsafe { std::ptr::read_volatile(p.as_ptr().cast::<[u8; 8]>()) };
        // SAFETY: unmapping exactly what we mapped just above.
        let _ = unsafe { nix::sys::mman::munmap(p.cast(), crate::header::HEADER_BYTES) };
        magic == crate::header::MAGIC
    };
    if remove_if_leaked && ours && !alive {
        match nix::sys::mman::shm_unlink(path.as_c_str()) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::from_errno(bare, "shm_unlink", e)),
        }
    }
    Ok(Some(SegmentStatus {
        name: bare.to_string(),
        bytes,
        alive,
        ours,
    }))
}

fn names_with_prefix(prefix: &str) -> Result<Vec<String>> {
    let bare = prefix.strip_prefix('/').unwrap_or(prefix);
    let dir = std::fs::read_dir(SHM_DIR).map_err(|e| Error::Io {
        name: SHM_DIR.to_string(),
        op: "read_dir",
        source: e,
    })?;
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(bare))
        .collect();
    names.sort();
    Ok(names)
}

/// Lists the segments in /dev/shm whose name starts with `prefix`, telling
/// for each whether a process still holds it and whether it is ours.
///
/// # Errors
/// When /dev/shm cannot be read or a segment cannot be inspected.
pub fn list_segments(prefix: &str) -> Result<Vec<SegmentStatus>> {
    let mut out = Vec::new();
    for n in names_with_prefix(prefix)? {
        if let Some(s) = inspect(&n, false)? {
            out.push(s);
        }
    }
    Ok(out)
}

/// What [`sweep_leaked`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Leaked segments removed.
    pub removed: Vec<String>,
    /// Segments that could not be inspected or removed, with the reason
    /// (they were left alone; the sweep went on with the others).
    pub skipped: Vec<(String, String)>,
}

/// Removes segments made by this crate, named `prefix…`, that no process
/// holds any more (their creator crashed or was killed before unlinking).
///
/// Crash-safe: every handle holds a shared `flock` on the segment, which
/// the kernel releases when the process dies, so "nobody holds it" is a
/// fact, not a guess from pids or timestamps. Live segments are never
/// touched; names not made by this crate (no header magic) are left alone;
/// an entry that cannot be inspected is skipped and reported in
/// [`Sweep::skipped`].
///
/// [`Segment::create`](crate::Segment::create) runs this for the new name's
/// prefix (the name without the tail [`unique_name`] adds) unless
/// [`set_auto_sweep`]`(false)`.
///
/// # Errors
/// When /dev/shm cannot be read.
pub fn sweep_leaked(prefix: &str) -> Result<Sweep> {
    let mut out = Sweep::default();
    for n in names_with_prefix(prefix)? {
        match inspect(&n, true) {
            Ok(Some(s)) if s.ours && !s.alive => out.removed.push(s.name),
            Ok(_) => {}
            Err(e) => out.skipped.push((n, e.to_string())),
        }
    }
    Ok(out)
}

static AUTO_SWEEP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Turns off (or on again) the sweep of leaked segments that creating a
/// named segment runs (on by default), for libraries that want to decide
/// themselves when dead segments are removed. Process-wide.
pub fn set_auto_sweep(on: bool) {
    AUTO_SWEEP.store(on, Ordering::Relaxed);
}

/// The prefix a sweep at creation of `bare` covers: the name without the
/// `PID-N-HEX` tail of [`unique_name`] (the whole name otherwise).
pub(crate) fn sweep_prefix(bare: &str) -> &str {
    let mut parts = bare.rsplitn(4, '-');
    let (Some(hex), Some(n), Some(pid), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bare;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && digits(n) && digits(pid) {
        &bare[..rest.len() + 1]
    } else {
        bare
    }
}

/// A name that no other process will pick: `prefix`, this pid, a counter
/// and some clock bits.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}{}-{n}-{t:08x}", std::process::id())
}

#[cfg(test)]
mod sweep_tests {
    #[test]
    fn the_sweep_prefix_drops_the_unique_tail() {
        let n = super::unique_name("shm-lesson-");
        assert_eq!(super::sweep_prefix(&n), "shm-lesson-");
        assert_eq!(super::sweep_prefix("plain"), "plain");
        assert_eq!(super::sweep_prefix("a-b-c-d"), "a-b-c-d");
    }
}
