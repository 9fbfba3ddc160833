//! Who may do what with a segment: read-write or read-only handles, the
//! mode a named segment is created with, and whose segments `open` trusts.

use crate::array::{Layout, Segment};
use crate::error::{Error, Result};
use crate::mapping::{Create, Mapping};

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ReadWrite {}
    impl Sealed for super::ReadOnly {}
}

/// Whether a handle may write: [`ReadWrite`] (the default) or [`ReadOnly`].
pub trait Access: sealed::Sealed + Send + Sync + 'static {
    /// True for [`ReadWrite`].
    const WRITABLE: bool;
}

/// A handle that reads and writes (mapped `PROT_READ | PROT_WRITE`).
#[derive(Debug)]
pub enum ReadWrite {}

/// A handle that only reads: mapped `PROT_READ` from an `O_RDONLY`
/// descriptor, it gives `&[T]` and never `&mut [T]`.
///
/// ```compile_fail
/// use shm_array::{ReadOnly, ShmArray};
/// fn write(a: &mut ShmArray<f64, ReadOnly>) {
///     a[0] = 1.0; // no DerefMut for read-only arrays
/// }
/// ```
///
/// ```compile_fail
/// use shm_array::{ReadOnly, ShmArray};
/// fn write(a: &mut ShmArray<f64, ReadOnly>) {
///     a.as_mut_slice()[0] = 1.0; // no as_mut_slice either
/// }
/// ```
///
/// ```compile_fail
/// use shm_array::{ForkPool, ReadOnly, ShmArray};
/// fn into_pool(out: &mut ShmArray<u64, ReadOnly>) {
///     // A pool's output must be writable.
///     ForkPool::new(2).for_each_chunk(&[&[1u64][..]], out, |_, _, _| {});
/// }
/// ```
///
/// Reading works as for any array:
///
/// ```
/// use shm_array::{Layout, Segment};
/// let name = shm_array::unique_name("doc-ro-");
/// let mut seg = Segment::create(&name, &Layout::new().array::<f64>("a", 3)?)?;
/// seg.take::<f64>("a")?.copy_from_slice(&[1.0, 2.0, 3.0]);
/// // SAFETY: nobody writes the segment while we read it.
/// let mut ro = unsafe { Segment::open_read_only(&name) }?;
/// let a = ro.take::<f64>("a")?;
/// assert_eq!(a.iter().sum::<f64>(), 6.0);
/// # Ok::<(), shm_array::Error>(())
/// ```
#[derive(Debug)]
pub enum ReadOnly {}

impl Access for ReadWrite {
    const WRITABLE: bool = true;
}
impl Access for ReadOnly {
    const WRITABLE: bool = false;
}

/// How a named segment is created: its mode (0600 by default) and group.
///
/// Group and other users may be given **read** access (e.g. 0640 and a
/// lab's group for shared data): they can map it `PROT_READ` only, and
/// can neither write it nor shrink it. Write access for them is
/// [`CreateOptions::mode_writable_by_others`], which is `unsafe`.
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use shm_array::{CreateOptions, Layout, Segment};
/// let name = shm_array::unique_name("doc-mode-");
/// let opts = CreateOptions::new().mode(0o640).group(nix::unistd::getgid().as_raw());
/// let seg = Segment::create_with(&name, &Layout::new().array::<u8>("x", 1)?, &opts)?;
/// let meta = std::fs::metadata(format!("/dev/shm/{name}")).unwrap();
/// assert_eq!(meta.permissions().mode() & 0o777, 0o640);
/// // Write bits for others are refused by the safe API:
/// let bad = Segment::create_with(&name, &Layout::new(), &CreateOptions::new().mode(0o660));
/// assert!(matches!(bad, Err(shm_array::Error::BadMode { .. })));
/// # Ok::<(), shm_array::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    pub(crate) mode: u32,
    pub(crate) group: Option<u32>,
    pub(crate) writable_by_others: bool,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            mode: 0o600,
            group: None,
            writable_by_others: false,
        }
    }
}

impl CreateOptions {
    /// Mode 0600, the creator's group.
    pub fn new() -> Self {
        Self::default()
    }

    /// The mode: the owner must have read and write (0600); group and
    /// others may have read (0040, 0004); no execute bits. Checked by
    /// [`Segment::create_with`] ([`Error::BadMode`]).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self.writable_by_others = false;
        self
    }

    /// Sets the segment's group (`fchown`; the creator must belong to it,
    /// unless root).
    pub fn group(mut self, gid: u32) -> Self {
        self.group = Some(gid);
        self
    }

    /// As [`CreateOptions::mode`], also allowing group and other write bits
    /// (e.g. 0660).
    ///
    /// # Safety
    /// Every process that can open the segment for writing coordinates with
    /// this one as [`Segment::open`] requires (nobody writes memory this
    /// process borrows, nobody shrinks the segment): the creator's safe
    /// `&mut [T]` views rely on it, and so does the absence of SIGBUS.
    pub unsafe fn mode_writable_by_others(mut self, mode: u32) -> Self {
        self.mode = mode;
        self.writable_by_others = true;
        self
    }

    pub(crate) fn check(&self, name: &str) -> Result<()> {
        let bad = |reason: &str| {
            Err(Error::BadMode {
                name: name.to_string(),
                mode: self.mode,
                reason: reason.to_string(),
            })
        };
        if self.mode > 0o777 {
            return bad("only permission bits (at most 0o777)");
        }
        if self.mode & 0o600 != 0o600 {
            return bad("the owner needs read and write (0o600)");
        }
        if self.mode & 0o111 != 0 {
            return bad("no execute bits");
        }
        if self.mode & 0o022 != 0 && !self.writable_by_others {
            return bad(
                "group or other write bits let others write and shrink it (see CreateOptions::mode_writable_by_others)",
            );
        }
        Ok(())
    }
}

/// How a named segment is opened: whose segments to trust (by default only
/// this user's: names in /dev/shm can be squatted by anyone).
///
/// ```
/// use shm_array::{Layout, OpenOptions, Segment};
/// let name = shm_array::unique_name("doc-open-");
/// let _seg = Segment::create(&name, &Layout::new().array::<i32>("b", 2)?)?;
/// // A lab member's segment would be trusted with `.owner(their_uid)`.
/// let opts = OpenOptions::new().owner(nix::unistd::getuid().as_raw());
/// // SAFETY: nobody writes the segment while we read it.
/// let mut ro = unsafe { opts.open_read_only(&name) }?;
/// assert_eq!(ro.take::<i32>("b")?.len(), 2);
/// # Ok::<(), shm_array::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    pub(crate) owners: Vec<u32>,
}

impl OpenOptions {
    /// Trusts segments of this user only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts segments owned by user `uid` (e.g. a colleague who
    /// created it with mode 0640 and your group).
    pub fn owner(mut self, uid: u32) -> Self {
        self.owners.push(uid);
        self
    }

    /// Opens the named segment read-write (see [`Segment::open`]).
    ///
    /// # Errors
    /// As [`Segment::open`].
    ///
    /// # Safety
    /// As [`Segment::open`].
    pub unsafe fn open(&self, name: &str) -> Result<Segment> {
        let map = Mapping::open(name, true, &self.owners)?;
        // SAFETY: forwarded to our caller.
        unsafe { Segment::from_mapping(map) }
    }

    /// Opens the named segment read-only (see [`Segment::open_read_only`]).
    ///
    /// # Errors
    /// As [`Segment::open`].
    ///
    /// # Safety
    /// As [`Segment::open_read_only`].
    pub unsafe fn open_read_only(&self, name: &str) -> Result<Segment<ReadOnly>> {
        let map = Mapping::open(name, false, &self.owners)?;
        // SAFETY: forwarded to our caller.
        unsafe { Segment::from_mapping(map) }
    }
}

impl Segment {
    /// As [`Segment::create`], with a mode and group ([`CreateOptions`]).
    ///
    /// # Errors
    /// As [`Segment::create`], plus [`Error::BadMode`] for a mode the
    /// options refuse, and [`Error::PermissionDenied`] for a group this
    /// user may not give it.
    pub fn create_with(name: &str, layout: &Layout, opts: &CreateOptions) -> Result<Segment> {
        opts.check(name)?;
        Self::new(Create::Named(name, opts), layout)
    }
}
