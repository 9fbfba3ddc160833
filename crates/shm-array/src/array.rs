//! Typed arrays in shared memory: [`Layout`], [`Segment`] and [`ShmArray`].

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::access::{Access, CreateOptions, ReadOnly, ReadWrite};
use crate::element::{Element, v1_type_tag};
use crate::error::{Error, Result};
use crate::header::{self, ARRAY_ALIGN, ArrayInfo, HEADER_BYTES, MAX_ARRAYS, MAX_DIMS};
use crate::mapping::{Create, Mapping};

/// The arrays a new segment will hold: names, element types and shapes.
///
/// # Examples
///
/// ```
/// use shm_array::{Layout, Segment};
/// let layout = Layout::new()
///     .array::<f64>("a", 1000)?
///     .array::<f64>("b", 1000)?
///     .array_nd::<u8>("img", &[4, 3])?;
/// let mut seg = Segment::anonymous(&layout).unwrap();
/// let img = seg.take::<u8>("img").unwrap();
/// assert_eq!(img.shape(), &[4, 3]);
/// # Ok::<(), shm_array::Error>(())
/// ```
///
/// Mistakes are errors, not panics:
///
/// ```
/// use shm_array::{Error, Layout};
/// let too_long = "x".repeat(32);
/// assert!(matches!(Layout::new().array::<u8>(&too_long, 1), Err(Error::BadLayout { .. })));
/// let dup = Layout::new().array::<u8>("a", 1).unwrap().array::<u8>("a", 1);
/// assert!(matches!(dup, Err(Error::BadLayout { .. })));
/// assert!(Layout::new().array::<u64>("big", 1 << 61).is_err());
/// assert!(Layout::new().array_nd::<u8>("m", &[]).is_err());
/// assert!(Layout::new().array_nd::<u8>("m", &[usize::MAX, 2]).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Layout {
    arrays: Vec<ArrayInfo>,
}

impl Layout {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a 1-D array of `len` elements of `T`.
    ///
    /// # Errors
    /// As [`Layout::array_nd`].
    pub fn array<T: Element>(self, name: &str, len: usize) -> Result<Self> {
        self.array_nd::<T>(name, &[len])
    }

    /// Adds an n-D array (row-major) of `T` with `shape` (1 to
    /// [`MAX_DIMS`] dimensions).
    ///
    /// # Errors
    /// [`Error::BadLayout`] when the layout already holds [`MAX_ARRAYS`]
    /// arrays, the name is longer than 31 bytes, contains a NUL or repeats
    /// one already in the layout, the shape has no or too many dimensions,
    /// or the segment's size would exceed `isize::MAX` bytes.
    pub fn array_nd<T: Element>(mut self, name: &str, shape: &[usize]) -> Result<Self> {
        let bad = |reason: String| Error::BadLayout {
            array: name.to_string(),
            reason,
        };
        if self.arrays.len() >= MAX_ARRAYS {
            return Err(bad(format!("the layout already holds {MAX_ARRAYS} arrays")));
        }
        if name.len() > 31 || name.contains('\0') {
            return Err(bad("names are at most 31 bytes, without NUL".to_string()));
        }
        if self.arrays.iter().any(|a| a.name == name) {
            return Err(bad(
                "the layout already has an array of that name".to_string()
            ));
        }
        if !(1..=MAX_DIMS).contains(&shape.len()) {
            return Err(bad(format!("{} dimensions (1 to {MAX_DIMS})", shape.len())));
        }
        let elem_size = std::mem::size_of::<T>();
        if std::mem::align_of::<T>() > ARRAY_ALIGN || elem_size > ARRAY_ALIGN || elem_size == 0 {
            return Err(bad(
                "element size and alignment must be 1 to 4096 bytes".to_string()
            ));
        }
        let dtype = header::stored(T::DTYPE);
        header::check_dtype(dtype, elem_size as u64)
            .map_err(|r| bad(format!("{}'s DTYPE: {r}", T::TYPE_NAME)))?;
        let offset = self.total_bytes();
        let too_big = || {
            bad(format!(
                "shape {shape:?} of {} needs more than isize::MAX bytes",
                T::TYPE_NAME
            ))
        };
        let len = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(too_big)?;
        len.checked_mul(elem_size)
            .and_then(|b| b.checked_add(offset))
            .and_then(|e| e.checked_add(ARRAY_ALIGN))
            .filter(|&e| e <= isize::MAX as usize)
            .ok_or_else(too_big)?;
        self.arrays.push(ArrayInfo {
            name: name.to_string(),
            dtype: dtype.to_string(),
            type_name: header::stored(T::TYPE_NAME).to_string(),
            elem_size,
            elem_align: std::mem::align_of::<T>(),
            offset,
            len,
            shape: shape.to_vec(),
            v1_tag: None,
        });
        Ok(self)
    }

    /// The segment size this layout needs: the header page, then each
    /// array at a page-aligned offset.
    pub fn total_bytes(&self) -> usize {
        let end = self
            .arrays
            .iter()
            .map(|a| a.end().expect("checked when added"))
            .max()
            .unwrap_or(HEADER_BYTES);
        end.div_ceil(ARRAY_ALIGN) * ARRAY_ALIGN
    }

    /// The arrays, with their offsets.
    pub fn arrays(&self) -> &[ArrayInfo] {
        &self.arrays
    }
}

/// One shared memory segment holding one or more typed arrays (the book's
/// numpy example: three arrays at offsets in one `SharedMemory`).
///
/// Take each array out once with [`Segment::take`]; the arrays keep the
/// mapping alive, so dropping the `Segment` early is fine.
///
/// Cleanup: a named segment is unlinked when the last handle of the
/// process that created it is dropped, or earlier with
/// [`Segment::unlink`]. Forked children never unlink it. Anonymous
/// segments have no name and vanish with the last mapping.
///
/// `A` is [`ReadWrite`] (the default) or [`ReadOnly`]
/// ([`Segment::open_read_only`]): the arrays of a read-only segment give
/// `&[T]` only.
pub struct Segment<A: Access = ReadWrite> {
    map: Arc<Mapping>,
    arrays: Vec<ArrayInfo>,
    taken: Vec<bool>,
    /// The process that made this handle: only it may take arrays.
    owner: libc::pid_t,
    _access: PhantomData<A>,
}

impl<A: Access> fmt::Debug for Segment<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.map.display_name())
            .field("read_only", &!A::WRITABLE)
            .field("bytes", &self.map.len())
            .field("arrays", &self.arrays)
            .finish()
    }
}

impl Segment {
    /// Creates the named segment `name` (leading `/` optional) holding
    /// `layout`, mode 0600, failing if the name exists. All its memory is
    /// allocated now, zeroed.
    ///
    /// # Errors
    /// [`Error::Exists`], [`Error::BadName`], [`Error::NoSpace`] (never a
    /// SIGBUS later), [`Error::PermissionDenied`], [`Error::Io`].
    pub fn create(name: &str, layout: &Layout) -> Result<Segment> {
        Self::new(Create::Named(name, &CreateOptions::new()), layout)
    }

    /// Creates an anonymous segment (a sealed memfd mapped shared): no name,
    /// inherited by forked children, freed with the last mapping (Python's
    /// `RawArray`).
    ///
    /// # Errors
    /// [`Error::NoSpace`], [`Error::Io`].
    pub fn anonymous(layout: &Layout) -> Result<Segment> {
        Self::new(Create::Anonymous, layout)
    }

    pub(crate) fn new(how: Create<'_>, layout: &Layout) -> Result<Segment> {
        let total = layout.total_bytes();
        let map = Mapping::create(how, total)?;
        // SAFETY: the mapping is fresh, `total >= HEADER_BYTES`, page-aligned,
        // and nobody else can read it before `ready` is set.
        unsafe { header::write(map.ptr().as_ptr(), total, &layout.arrays) };
        Ok(Segment {
            owner: nix::unistd::getpid().as_raw(),
            taken: vec![false; layout.arrays.len()],
            arrays: layout.arrays.clone(),
            map: Arc::new(map),
            _access: PhantomData,
        })
    }

    /// Opens the named segment another process created, reading its
    /// header.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::PermissionDenied`] (including a segment
    /// owned by another user), [`Error::TooSmall`], [`Error::BadHeader`].
    ///
    /// # Safety
    /// The arrays taken from the returned segment give out `&[T]` and
    /// `&mut [T]`. Rust assumes nobody else writes memory behind a `&[T]`,
    /// nor touches memory behind a `&mut [T]`, while the borrow lasts; but
    /// the creator and any other process that opened the segment can. The
    /// caller promises that the processes sharing the segment coordinate so
    /// that this holds (e.g. one writer at a time per element range, with a
    /// hand-off such as a pipe message or process exit in between), and
    /// that no other process shrinks the segment (a named segment cannot be
    /// sealed; touching pages cut off by `ftruncate` raises SIGBUS).
    /// This is the same contract as `memmap2::MmapMut::map_mut` on a file.
    pub unsafe fn open(name: &str) -> Result<Segment> {
        // SAFETY: forwarded to our caller.
        unsafe { crate::OpenOptions::new().open(name) }
    }

    /// Opens the named segment another process created, read-only: an
    /// `O_RDONLY` descriptor mapped `PROT_READ`, whose arrays give `&[T]`
    /// and never `&mut [T]` (so a segment this user may only read, e.g.
    /// mode 0640 from a colleague, can be opened; see
    /// [`OpenOptions::owner`](crate::OpenOptions::owner)).
    ///
    /// # Errors
    /// As [`Segment::open`].
    ///
    /// # Safety
    /// As [`Segment::open`], for `&[T]`: while this process borrows an
    /// array, no other process writes it, and nobody shrinks the segment.
    pub unsafe fn open_read_only(name: &str) -> Result<Segment<ReadOnly>> {
        // SAFETY: forwarded to our caller.
        unsafe { crate::OpenOptions::new().open_read_only(name) }
    }

    /// Keeps the name after this process exits (the creator will not unlink
    /// it on drop). Someone must [`unlink`](Segment::unlink) it later, or
    /// [`sweep_leaked`](crate::sweep_leaked) will remove it once nobody
    /// holds it.
    ///
    /// # Panics
    /// When array handles were already taken (they share the mapping).
    pub fn persist(&mut self) {
        Arc::get_mut(&mut self.map)
            .expect("persist before taking arrays")
            .disown();
    }
}

impl<A: Access> Segment<A> {
    /// Reads the header of a segment just opened.
    ///
    /// # Safety
    /// As [`Segment::open`] (the caller's promise covers the mapping).
    pub(crate) unsafe fn from_mapping(map: Mapping) -> Result<Segment<A>> {
        // SAFETY: the mapping is at least HEADER_BYTES (Mapping::open checks
        // it), page-aligned, readable, and stays mapped while `map` lives.
        let arrays = unsafe { header::read(map.display_name(), map.ptr().as_ptr(), map.len())? };
        Ok(Segment {
            owner: nix::unistd::getpid().as_raw(),
            taken: vec![false; arrays.len()],
            arrays,
            map: Arc::new(map),
            _access: PhantomData,
        })
    }

    /// Takes the array `array` out of the segment, typed as `T`. Each array
    /// can be taken once per `Segment` handle (so two `&mut` views of the
    /// same memory cannot exist in one process).
    ///
    /// # Errors
    /// [`Error::NoSuchArray`] (unknown or already taken),
    /// [`Error::TypeMismatch`].
    pub fn take<T: Element>(&mut self, array: &str) -> Result<ShmArray<T, A>> {
        let idx = self
            .arrays
            .iter()
            .position(|a| a.name == array)
            .filter(|&i| !self.taken[i])
            .ok_or_else(|| Error::NoSuchArray {
                name: self.map.display_name().to_string(),
                array: array.to_string(),
            })?;
        self.take_index(idx)
    }

    /// As [`Segment::take`], and checks that the array has the shape
    /// `shape` (C order).
    ///
    /// # Errors
    /// As [`Segment::take`], plus [`Error::ShapeMismatch`].
    ///
    /// ```
    /// use shm_array::{Error, Layout, Segment};
    /// let mut seg = Segment::anonymous(&Layout::new().array_nd::<f32>("m", &[3, 4])?)?;
    /// let err = seg.take_shaped::<f32>("m", &[4, 3]).unwrap_err();
    /// assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    /// assert_eq!(seg.take_shaped::<f32>("m", &[3, 4])?.shape(), &[3, 4]);
    /// # Ok::<(), shm_array::Error>(())
    /// ```
    pub fn take_shaped<T: Element>(
        &mut self,
        array: &str,
        shape: &[usize],
    ) -> Result<ShmArray<T, A>> {
        if let Some(a) = self.arrays.iter().find(|a| a.name == array)
            && a.shape != shape
        {
            return Err(Error::ShapeMismatch {
                name: format!("{}:{}", self.map.display_name(), a.name),
                expected: shape.to_vec(),
                found: a.shape.clone(),
            });
        }
        self.take(array)
    }

    fn take_index<T: Element>(&mut self, idx: usize) -> Result<ShmArray<T, A>> {
        let info = &self.arrays[idx];
        let same = match info.v1_tag {
            Some(tag) => tag == v1_type_tag::<T>(),
            None => {
                info.dtype == header::stored(T::DTYPE)
                    && info.elem_align == std::mem::align_of::<T>()
            }
        };
        if !same || info.elem_size != std::mem::size_of::<T>() {
            return Err(Error::TypeMismatch {
                name: format!("{}:{}", self.map.display_name(), info.name),
                expected: describe(T::DTYPE, std::mem::size_of::<T>()),
                found: describe(&info.dtype, info.elem_size),
            });
        }
        if info.offset % std::mem::align_of::<T>() != 0 {
            return Err(Error::BadHeader {
                name: self.map.display_name().to_string(),
                reason: format!("array {:?} is misaligned", info.name),
            });
        }
        if A::WRITABLE {
            in_owner(self.owner, self.map.display_name())?;
        }
        self.taken[idx] = true;
        // SAFETY: header::read/Layout checked offset + len * size_of::<T>()
        // lies inside the mapping, so the offset pointer is in bounds and
        // non-null.
        let ptr = unsafe { self.map.ptr().as_ptr().add(info.offset) };
        Ok(ShmArray {
            map: Arc::clone(&self.map),
            ptr: NonNull::new(ptr.cast::<T>()).expect("inside a mapping"),
            len: info.len,
            shape: info.shape.clone(),
            array: info.name.clone(),
            owner: self.owner,
            _t: PhantomData,
        })
    }

    /// What the header says about each array.
    pub fn arrays(&self) -> &[ArrayInfo] {
        &self.arrays
    }

    /// The segment's name (`None` when anonymous).
    pub fn name(&self) -> Option<&str> {
        self.map.name()
    }

    /// Size of the segment in bytes.
    pub fn bytes(&self) -> usize {
        self.map.len()
    }

    /// Removes the name now (Python's `unlink()`); the memory stays valid
    /// for every existing handle and is freed with the last mapping.
    /// Idempotent; a no-op for anonymous segments.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] or [`Error::Io`] from `shm_unlink`.
    pub fn unlink(&self) -> Result<()> {
        self.map.unlink()
    }
}

/// A typed array in shared memory.
///
/// Dereferences to `[T]`. Safe code reads it through `&[T]` and writes it
/// through `&mut [T]`: within this process the borrow checker keeps those
/// apart, and the crate keeps the processes it forks apart
/// ([`ForkPool`](crate::ForkPool) hands each worker a disjoint chunk and
/// waits for all of them before the parent gets its `&mut` back). Other
/// processes can only reach the memory through the `unsafe`
/// [`ShmArray::open`]/[`Segment::open`], whose callers promise to
/// coordinate.
///
/// # Examples
///
/// ```
/// use shm_array::ShmArray;
/// let mut a = ShmArray::<f64>::anonymous(3).unwrap();
/// a.copy_from_slice(&[1.0, 2.0, 3.0]);
/// assert_eq!(a.iter().sum::<f64>(), 6.0);
/// ```
///
/// `A` is [`ReadWrite`] (the default) or [`ReadOnly`]: a read-only array
/// (from [`Segment::open_read_only`]) dereferences to `&[T]` only.
pub struct ShmArray<T: Element, A: Access = ReadWrite> {
    map: Arc<Mapping>,
    ptr: NonNull<T>,
    len: usize,
    shape: Vec<usize>,
    array: String,
    /// The process that may borrow it mutably (see [`ShmArray::as_mut_slice`]).
    owner: libc::pid_t,
    _t: PhantomData<(T, A)>,
}

// SAFETY: the handle owns a view into a shared mapping kept alive by the
// Arc; moving it to another thread moves the (unique) right to `&mut [T]`,
// which is fine for `T: Send`.
unsafe impl<T: Element, A: Access> Send for ShmArray<T, A> {}
// SAFETY: `&ShmArray` only gives `&[T]`, fine to share for `T: Sync`.
unsafe impl<T: Element, A: Access> Sync for ShmArray<T, A> {}

impl<T: Element, A: Access> fmt::Debug for ShmArray<T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmArray")
            .field("segment", &self.map.display_name())
            .field("array", &self.array)
            .field("type", &T::TYPE_NAME)
            .field("shape", &self.shape)
            .field("read_only", &!A::WRITABLE)
            .finish()
    }
}

impl<T: Element> ShmArray<T> {
    fn single(name: Option<&str>, shape: &[usize]) -> Result<Self> {
        let layout = Layout::new().array_nd::<T>("", shape)?;
        let mut seg = match name {
            Some(n) => Segment::create(n, &layout)?,
            None => Segment::anonymous(&layout)?,
        };
        seg.take_index(0)
    }

    /// A zeroed anonymous shared array (Python's `RawArray`): inherited by
    /// forked children, freed with the last mapping, no name to clean up.
    ///
    /// # Errors
    /// [`Error::NoSpace`], [`Error::Io`].
    pub fn anonymous(len: usize) -> Result<Self> {
        Self::single(None, &[len])
    }

    /// An anonymous shared array holding a copy of `values`.
    ///
    /// # Errors
    /// As [`ShmArray::anonymous`].
    pub fn anonymous_from(values: &[T]) -> Result<Self> {
        let mut a = Self::anonymous(values.len())?;
        a.copy_from_slice(values);
        Ok(a)
    }

    /// A zeroed named shared array (mode 0600, `O_EXCL`), that other
    /// processes can [`open`](ShmArray::open) by name. Unlinked when this
    /// process drops its last handle (or with [`ShmArray::unlink`]).
    ///
    /// # Errors
    /// As [`Segment::create`].
    pub fn create(name: &str, len: usize) -> Result<Self> {
        Self::single(Some(name), &[len])
    }

    /// As [`ShmArray::create`] with an n-D (row-major) shape.
    ///
    /// # Errors
    /// As [`Segment::create`].
    pub fn create_nd(name: &str, shape: &[usize]) -> Result<Self> {
        Self::single(Some(name), shape)
    }

    /// Opens a single-array segment created by [`ShmArray::create`] in
    /// another process.
    ///
    /// # Errors
    /// As [`Segment::open`], plus [`Error::TypeMismatch`] when it holds
    /// another type and [`Error::NoSuchArray`] when it holds several arrays.
    ///
    /// # Safety
    /// As [`Segment::open`]: the processes sharing it coordinate so that no
    /// one writes what another borrows.
    pub unsafe fn open(name: &str) -> Result<Self> {
        // SAFETY: forwarded to our caller.
        let mut seg = unsafe { Segment::open(name)? };
        if seg.arrays.len() != 1 {
            return Err(Error::NoSuchArray {
                name: name.to_string(),
                array: format!("(single array; it holds {})", seg.arrays.len()),
            });
        }
        seg.take_index(0)
    }

    /// Opens a single-array segment read-only (see
    /// [`Segment::open_read_only`]).
    ///
    /// # Errors
    /// As [`ShmArray::open`].
    ///
    /// # Safety
    /// As [`Segment::open_read_only`].
    pub unsafe fn open_read_only(name: &str) -> Result<ShmArray<T, ReadOnly>> {
        // SAFETY: forwarded to our caller.
        let mut seg = unsafe { Segment::open_read_only(name)? };
        if seg.arrays.len() != 1 {
            return Err(Error::NoSuchArray {
                name: name.to_string(),
                array: format!("(single array; it holds {})", seg.arrays.len()),
            });
        }
        seg.take_index(0)
    }
}

impl<T: Element, A: Access> ShmArray<T, A> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The shape (`[len]` for 1-D arrays).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element at an n-D index (row-major), or `None` out of bounds.
    pub fn get_nd(&self, index: &[usize]) -> Option<T> {
        if index.len() != self.shape.len() {
            return None;
        }
        let mut flat = 0usize;
        for (&i, &d) in index.iter().zip(&self.shape) {
            if i >= d {
                return None;
            }
            flat = flat * d + i;
        }
        self.as_slice().get(flat).copied()
    }

    /// The elements as a slice.
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `ptr` is aligned and points to `len` initialised elements
        // (shared memory starts zeroed and T is Pod: any bytes are a valid
        // T) that stay mapped while `self.map` lives. No `&mut` to them
        // exists in this process while `&self` is borrowed; other processes
        // only write them under the contracts documented on the type.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The segment's name (`None` when anonymous).
    pub fn segment_name(&self) -> Option<&str> {
        self.map.name()
    }

    /// Byte offset of this array in its segment.
    pub fn offset(&self) -> usize {
        self.ptr.as_ptr() as usize - self.map.ptr().as_ptr() as usize
    }

    /// Removes the segment's name now (see [`Segment::unlink`]).
    ///
    /// # Errors
    /// As [`Segment::unlink`].
    pub fn unlink(&self) -> Result<()> {
        self.map.unlink()
    }
}

impl<T: Element> ShmArray<T> {
    /// The elements as a mutable slice.
    ///
    /// # Panics
    /// When called from a process other than the one that made this handle
    /// (a forked child reaching its copy of the parent's handle, e.g. through
    /// a `static` or a thread-local): two children could otherwise write
    /// the same shared element at once. [`ShmArray::try_as_mut_slice`]
    /// returns that as [`Error::ForeignProcess`] instead.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match self.try_as_mut_slice() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`ShmArray::as_mut_slice`], with the foreign-process check as an error.
    ///
    /// # Errors
    /// [`Error::ForeignProcess`] outside the owning process.
    pub fn try_as_mut_slice(&mut self) -> Result<&mut [T]> {
        in_owner(self.owner, self.map.display_name())?;
        Ok(self.raw_mut())
    }

    fn raw_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `as_slice`, and `&mut self` makes this the only view
        // in this process (each array is taken once per segment handle); the
        // callers checked that this process owns the handle, so no forked
        // copy of it (in a sibling process) writes through it at once.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Asks the kernel to map every page of this array into this process
    /// now (`MADV_POPULATE_WRITE`), so the first pass does not pay one page
    /// fault per 4 KiB. Errors are reported, never a SIGBUS.
    ///
    /// # Errors
    /// [`Error::Io`] (e.g. `EINVAL` on kernels before 5.14).
    pub fn prefault(&mut self) -> Result<()> {
        crate::pool::populate(
            self.map.display_name(),
            self.ptr.as_ptr().cast(),
            self.len * std::mem::size_of::<T>(),
            true,
        )
    }
}

impl<T: Element, A: Access> Deref for ShmArray<T, A> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Element> DerefMut for ShmArray<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

/// `Ok` in the process that made a handle (`owner`); [`Error::ForeignProcess`]
/// naming segment `name` anywhere else (a forked child reaching the handle
/// through a static or a thread-local).
fn in_owner(owner: libc::pid_t, name: &str) -> Result<()> {
    let pid = nix::unistd::getpid().as_raw();
    if pid == owner {
        Ok(())
    } else {
        Err(Error::ForeignProcess {
            name: name.to_string(),
            owner,
            pid,
        })
    }
}

/// A type for messages: `"<f8 (f64)"`, `"my::Point (16 bytes)"`.
fn describe(dtype: &str, size: usize) -> String {
    match crate::element::rust_name(dtype) {
        Some(rust) => format!("{dtype} ({rust})"),
        None => format!("{dtype} ({size} bytes)"),
    }
}
