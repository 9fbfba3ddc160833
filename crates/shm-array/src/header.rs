//! The segment header: magic, version, ready flag and one entry per array
//! (name, element type, offset, length, shape), so `open` can check what a
//! segment holds instead of trusting the caller.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};

/// Bytes reserved for the header at the start of every segment (one page:
/// the arrays start page-aligned).
pub const HEADER_BYTES: usize = 4096;
/// At most this many arrays in one segment.
pub const MAX_ARRAYS: usize = 16;
/// At most this many dimensions in an array's shape.
pub const MAX_DIMS: usize = 4;
/// The first 8 bytes of every segment made by this crate.
pub const MAGIC: [u8; 8] = *b"SHMARRAY";
/// The header layout version.
pub const VERSION: u32 = 1;
/// Arrays start at multiples of this many bytes.
pub const ARRAY_ALIGN: usize = 4096;

/// One array in the header (136 bytes, no padding).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawEntry {
    pub name: [u8; 32],
    pub type_name: [u8; 32],
    pub type_tag: u64,
    pub elem_size: u64,
    pub offset: u64,
    pub len: u64,
    pub ndim: u64,
    pub shape: [u64; MAX_DIMS],
}

#[repr(C)]
pub(crate) struct RawHeader {
    pub magic: [u8; 8],
    pub version: u32,
    /// 0 while the creator writes the header, 1 once it is complete.
    pub ready: u32,
    pub total_bytes: u64,
    pub n_arrays: u32,
    pub creator_pid: u32,
    pub arrays: [RawEntry; MAX_ARRAYS],
}

const _: () = assert!(std::mem::size_of::<RawHeader>() <= HEADER_BYTES);
const _: () = assert!(std::mem::size_of::<RawEntry>() == 136);

/// What the header says about one array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayInfo {
    /// The array's name in the segment.
    pub name: String,
    /// The element type's `TYPE_NAME`.
    pub type_name: String,
    /// Size of one element in bytes.
    pub elem_size: usize,
    /// Byte offset from the start of the segment.
    pub offset: usize,
    /// Number of elements.
    pub len: usize,
    /// The shape (its product is `len`).
    pub shape: Vec<usize>,
    pub(crate) type_tag: u64,
}

pub(crate) fn fixed<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let b = s.as_bytes();
    let n = b.len().min(N - 1);
    out[..n].copy_from_slice(&b[..n]);
    out
}

fn unfixed(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl ArrayInfo {
    pub(crate) fn to_raw(&self) -> RawEntry {
        let mut shape = [0u64; MAX_DIMS];
        for (s, d) in shape.iter_mut().zip(&self.shape) {
            *s = *d as u64;
        }
        RawEntry {
            name: fixed(&self.name),
            type_name: fixed(&self.type_name),
            type_tag: self.type_tag,
            elem_size: self.elem_size as u64,
            offset: self.offset as u64,
            len: self.len as u64,
            ndim: self.shape.len() as u64,
            shape,
        }
    }

    fn from_raw(r: &RawEntry) -> ArrayInfo {
        let ndim = (r.ndim as usize).min(MAX_DIMS);
        ArrayInfo {
            name: unfixed(&r.name),
            type_name: unfixed(&r.type_name),
            elem_size: r.elem_size as usize,
            offset: r.offset as usize,
            len: r.len as usize,
            shape: r.shape[..ndim].iter().map(|&d| d as usize).collect(),
            type_tag: r.type_tag,
        }
    }

    pub(crate) fn end(&self) -> Option<usize> {
        self.len
            .checked_mul(self.elem_size)
            .and_then(|b| b.checked_add(self.offset))
    }
}

/// Writes a complete header at `base` and then publishes it (ready = 1).
///
/// # Safety
/// `base` points to at least [`HEADER_BYTES`] writable bytes, page-aligned,
/// that no one else reads or writes while this runs except through the
/// `ready` flag.
pub(crate) unsafe fn write(base: *mut u8, total_bytes: usize, arrays: &[ArrayInfo]) {
    debug_assert!(arrays.len() <= MAX_ARRAYS);
    let mut entries = [RawEntry {
        name: [0; 32],
        type_name: [0; 32],
        type_tag: 0,
        elem_size: 0,
        offset: 0,
        len: 0,
        ndim: 0,
        shape: [0; MAX_DIMS],
    }; MAX_ARRAYS];
    for (e, a) in entries.iter_mut().zip(arrays) {
        *e = a.to_raw();
    }
    let h = RawHeader {
        magic: MAGIC,
        version: VERSION,
        ready: 0,
        total_bytes: total_bytes as u64,
        n_arrays: arrays.len() as u32,
        creator_pid: std::process::id(),
        arrays: entries,
    };
    let hp = base.cast::<RawHeader>();
    // SAFETY: the caller guarantees HEADER_BYTES writable, page-aligned
    // (so aligned for RawHeader) bytes that nobody else accesses.
    unsafe { hp.write(h) };
    // SAFETY: `ready` is a 4-aligned u32 inside the header just written;
    // from now on it is only accessed atomically.
    let ready = unsafe { AtomicU32::from_ptr(&raw mut (*hp).ready) };
    ready.store(1, Ordering::Release);
}

/// Reads and checks the header of the segment `name` mapped at `base`
/// (`mapped` bytes long).
///
/// # Safety
/// `base` points to at least [`HEADER_BYTES`] readable, page-aligned bytes
/// that stay mapped during the call.
pub(crate) unsafe fn read(name: &str, base: *mut u8, mapped: usize) -> Result<Vec<ArrayInfo>> {
    let bad = |reason: String| Error::BadHeader {
        name: name.to_string(),
        reason,
    };
    let hp = base.cast::<RawHeader>();
    // SAFETY: in bounds and aligned (caller); the magic bytes are plain
    // data, read volatile because another process may be writing them.
    let magic = unsafe { std::ptr::read_volatile(&raw const (*hp).magic) };
    if magic != MAGIC {
        return Err(bad("not made by shm-array (no header magic)".into()));
    }
    // SAFETY: 4-aligned u32 inside the mapped header; only used atomically.
    let ready = unsafe { AtomicU32::from_ptr(&raw mut (*hp).ready) };
    if ready.load(Ordering::Acquire) != 1 {
        return Err(bad("its creator has not finished writing it".into()));
    }
    // SAFETY: the header is complete (ready observed with Acquire) and is
    // never written again; RawHeader is plain integers, any bits are valid.
    // The `ready` field is read too, but it no longer changes.
    let h = unsafe { std::ptr::read_volatile(hp.cast_const()) };
    if h.version != VERSION {
        return Err(bad(format!(
            "header version {} (this library reads {VERSION})",
            h.version
        )));
    }
    check(name, &h, mapped)
}

/// Validates everything a peer could have written in the header `h` of a
/// segment of `mapped` bytes (the magic, readiness and version were checked
/// by the caller): the count, each array's dimensions, shape product,
/// element size, offset (inside the segment, after the header, aligned),
/// that no two arrays overlap, and that names are unique.
pub(crate) fn check(name: &str, h: &RawHeader, mapped: usize) -> Result<Vec<ArrayInfo>> {
    let bad = |reason: String| Error::BadHeader {
        name: name.to_string(),
        reason,
    };
    if h.total_bytes > mapped as u64 {
        return Err(Error::TooSmall {
            name: name.to_string(),
            needed: h.total_bytes,
            actual: mapped as u64,
        });
    }
    let n = h.n_arrays as usize;
    if n > MAX_ARRAYS {
        return Err(bad(format!("{n} arrays (at most {MAX_ARRAYS})")));
    }
    let mut infos = Vec::with_capacity(n);
    for r in &h.arrays[..n] {
        let a = ArrayInfo::from_raw(r);
        let what = format!("array {:?}", a.name);
        if r.ndim == 0 || r.ndim > MAX_DIMS as u64 {
            return Err(bad(format!(
                "{what}: {} dimensions (1 to {MAX_DIMS})",
                r.ndim
            )));
        }
        let product = r.shape[..r.ndim as usize]
            .iter()
            .try_fold(1u64, |p, &d| p.checked_mul(d));
        if product != Some(r.len) {
            return Err(bad(format!(
                "{what}: shape {:?} does not match length {}",
                &r.shape[..r.ndim as usize],
                r.len
            )));
        }
        if r.elem_size == 0 || r.elem_size > ARRAY_ALIGN as u64 {
            return Err(bad(format!("{what}: element size {}", r.elem_size)));
        }
        let end = r
            .len
            .checked_mul(r.elem_size)
            .and_then(|b| b.checked_add(r.offset));
        let Some(end) = end.filter(|&e| e <= mapped as u64) else {
            return Err(Error::TooSmall {
                name: name.to_string(),
                needed: end.unwrap_or(u64::MAX),
                actual: mapped as u64,
            });
        };
        let _ = end;
        if r.offset < HEADER_BYTES as u64 {
            return Err(bad(format!(
                "{what}: offset {} inside the header",
                r.offset
            )));
        }
        if r.offset % ARRAY_ALIGN as u64 != 0 {
            return Err(bad(format!(
                "{what}: offset {} is not page-aligned",
                r.offset
            )));
        }
        if infos.iter().any(|b: &ArrayInfo| b.name == a.name) {
            return Err(bad(format!("{what} appears twice")));
        }
        infos.push(a);
    }
    let mut by_offset: Vec<&ArrayInfo> = infos.iter().filter(|a| a.len > 0).collect();
    by_offset.sort_by_key(|a| a.offset);
    for w in by_offset.windows(2) {
        // Ends were checked above (no overflow).
        if w[0].offset + w[0].len * w[0].elem_size > w[1].offset {
            return Err(bad(format!(
                "arrays {:?} and {:?} overlap",
                w[0].name, w[1].name
            )));
        }
    }
    Ok(infos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Layout;

    /// A valid header of two u64 arrays "a" (len 10) and "b" (2 x 3), as a
    /// peer would find it in a segment of `total` bytes.
    fn valid() -> (RawHeader, usize) {
        let layout = Layout::new()
            .array::<u64>("a", 10)
            .unwrap()
            .array_nd::<u64>("b", &[2, 3])
            .unwrap();
        let total = layout.total_bytes();
        let mut buf = vec![0u64; HEADER_BYTES / 8];
        // SAFETY: `buf` is HEADER_BYTES long and 8-aligned (RawHeader's
        // alignment); `write` only writes the header there.
        unsafe { write(buf.as_mut_ptr().cast(), total, layout.arrays()) };
        // SAFETY: `write` initialised a RawHeader at the start of `buf`.
        let h = unsafe { std::ptr::read(buf.as_ptr().cast::<RawHeader>()) };
        (h, total)
    }

    fn reason(h: &RawHeader, mapped: usize) -> String {
        match check("/t", h, mapped) {
            Err(Error::BadHeader { reason, .. }) => reason,
            Err(Error::TooSmall { needed, .. }) => format!("too small, needs {needed}"),
            other => panic!("expected a bad header, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_header_passes() {
        let (h, total) = valid();
        let infos = check("/t", &h, total).unwrap();
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[1].shape, vec![2, 3]);
    }

    #[test]
    fn hostile_headers_are_named() {
        let (h0, total) = valid();
        let mut h = valid().0;
        h.total_bytes = total as u64 + 1;
        assert!(reason(&h, total).contains("too small"));
        let mut h = valid().0;
        h.n_arrays = MAX_ARRAYS as u32 + 1;
        assert!(reason(&h, total).contains("arrays (at most"));
        let mut h = valid().0;
        h.arrays[0].ndim = 0;
        assert!(reason(&h, total).contains("dimensions"));
        let mut h = valid().0;
        h.arrays[0].ndim = MAX_DIMS as u64 + 1;
        assert!(reason(&h, total).contains("dimensions"));
        let mut h = valid().0;
        h.arrays[1].shape[0] = 3;
        assert!(reason(&h, total).contains("does not match length"));
        // A shape whose product overflows u64.
        let mut h = valid().0;
        h.arrays[1].shape = [u64::MAX, 2, 0, 0];
        h.arrays[1].len = u64::MAX - 1;
        assert!(reason(&h, total).contains("does not match length"));
        let mut h = valid().0;
        h.arrays[0].elem_size = 0;
        assert!(reason(&h, total).contains("element size"));
        // Length times size overflows.
        let mut h = valid().0;
        h.arrays[0].shape[0] = u64::MAX / 4;
        h.arrays[0].len = u64::MAX / 4;
        assert!(reason(&h, total).contains("too small"));
        let mut h = valid().0;
        h.arrays[0].offset = total as u64;
        assert!(reason(&h, total).contains("too small"));
        let mut h = valid().0;
        h.arrays[0].offset = 0;
        assert!(reason(&h, total).contains("inside the header"));
        let mut h = valid().0;
        h.arrays[0].offset = HEADER_BYTES as u64 + 8;
        assert!(reason(&h, total).contains("not page-aligned"));
        let mut h = valid().0;
        h.arrays[1].offset = h.arrays[0].offset;
        assert!(reason(&h, total).contains("overlap"));
        let mut h = valid().0;
        h.arrays[1].name = h.arrays[0].name;
        assert!(reason(&h, total).contains("appears twice"));
        assert!(check("/t", &h0, total).is_ok());
    }
}
