//! The segment header: magic, version, ready flag and one entry per array
//! (name, element type, offset, length, shape), so `open` can check what a
//! segment holds instead of trusting the caller.
//!
//! The byte layout is specified in SPEC.md (next to Cargo.toml); this module
//! writes version 2 and reads versions 1 and 2. Integers are little-endian
//! and parsed from bytes, so a header written by any program (Python's
//! `shm_array` module included) is read the same way, and any bytes at all
//! are either a checked list of arrays or a named error.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::element::dtype_of_rust_name;
use crate::error::{Error, Result};

/// Bytes reserved for the header at the start of every segment (one page:
/// the arrays start page-aligned).
pub const HEADER_BYTES: usize = 4096;
/// At most this many arrays in one segment.
pub const MAX_ARRAYS: usize = 16;
/// At most this many dimensions in an array's shape (version 2; version-1
/// headers hold at most 4).
pub const MAX_DIMS: usize = 8;
/// The first 8 bytes of every segment made by this crate.
pub const MAGIC: [u8; 8] = *b"SHMARRAY";
/// The header layout version this crate writes.
pub const VERSION: u32 = 2;
/// The oldest header version this crate still reads.
pub const OLDEST_VERSION: u32 = 1;
/// Arrays start at multiples of this many bytes.
pub const ARRAY_ALIGN: usize = 4096;

/// Bytes of the fixed part before the array table.
const FIXED: usize = 32;
/// Bytes of a name or type string field (NUL-terminated: 31 usable).
const TEXT: usize = 32;
/// Offset of the ready flag (a little-endian u32).
pub(crate) const READY_AT: usize = 12;

/// The per-version shape of the array table.
struct Table {
    entry: usize,
    dims: usize,
}

const V1: Table = Table {
    entry: 136,
    dims: 4,
};
const V2: Table = Table {
    entry: 104 + 8 * MAX_DIMS,
    dims: MAX_DIMS,
};

const _: () = assert!(FIXED + MAX_ARRAYS * V2.entry <= HEADER_BYTES);
const _: () = assert!(V2.entry == 168);

/// What the header says about one array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayInfo {
    /// The array's name in the segment.
    pub name: String,
    /// The element type as recorded: numpy's type string (`"<f8"`) for the
    /// primitive numbers, else [`Element::DTYPE`](crate::Element::DTYPE).
    pub dtype: String,
    /// The Rust type name when the type string is a primitive's (`"f64"`
    /// for `"<f8"`), else the type string itself.
    pub type_name: String,
    /// Size of one element in bytes.
    pub elem_size: usize,
    /// Alignment of one element in bytes (0 in version-1 headers, which do
    /// not record it).
    pub elem_align: usize,
    /// Byte offset from the start of the segment.
    pub offset: usize,
    /// Number of elements.
    pub len: usize,
    /// The shape, C order (its product is `len`).
    pub shape: Vec<usize>,
    /// Version-1 headers identify types by this hash of the Rust type name
    /// and layout.
    pub(crate) v1_tag: Option<u64>,
}

/// `s` cut to at most 31 bytes at a character boundary (what a 32-byte
/// NUL-terminated field holds).
pub(crate) fn stored(s: &str) -> &str {
    let mut n = s.len().min(TEXT - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// The Rust type name shown for a recorded type string.
pub(crate) fn shown_type(dtype: &str) -> String {
    crate::element::rust_name(dtype).map_or_else(|| dtype.to_string(), str::to_string)
}

impl ArrayInfo {
    pub(crate) fn end(&self) -> Option<usize> {
        self.len
            .checked_mul(self.elem_size)
            .and_then(|b| b.checked_add(self.offset))
    }
}

/// A numpy array-protocol type string of a fixed-size number (`<f8`,
/// `|u1`, `>i2`, `<c16`, `|b1`): its item size, or `None` for other strings.
pub fn numpy_item_size(dtype: &str) -> Option<u64> {
    let b = dtype.as_bytes();
    if b.len() < 3 || !matches!(b[0], b'<' | b'>' | b'|' | b'=') {
        return None;
    }
    if !matches!(b[1], b'b' | b'i' | b'u' | b'f' | b'c') {
        return None;
    }
    let digits = &dtype[2..];
    if !digits.bytes().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// Checks a type string for the header: 1 to 31 bytes of UTF-8 without
/// control characters, and a numpy type string's size equal to the
/// element size.
pub(crate) fn check_dtype(dtype: &str, elem_size: u64) -> std::result::Result<(), String> {
    if dtype.is_empty() || dtype.len() >= TEXT {
        return Err(format!("type string {dtype:?} is not 1 to 31 bytes"));
    }
    if dtype.chars().any(char::is_control) {
        return Err(format!("type string {dtype:?} has control characters"));
    }
    if let Some(n) = numpy_item_size(dtype)
        && n != elem_size
    {
        return Err(format!(
            "type string {dtype:?} means {n}-byte elements, but the element size is {elem_size}"
        ));
    }
    Ok(())
}

fn put_text(out: &mut [u8], s: &str) {
    let s = stored(s).as_bytes();
    out[..s.len()].copy_from_slice(s);
}

fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The bytes of a version-2 header (with `ready` = 0) for `arrays` in a
/// segment of `total_bytes`, written by process `pid`.
pub(crate) fn encode(
    total_bytes: usize,
    arrays: &[ArrayInfo],
    pid: u32,
) -> Box<[u8; HEADER_BYTES]> {
    debug_assert!(arrays.len() <= MAX_ARRAYS);
    let mut h = Box::new([0u8; HEADER_BYTES]);
    h[..8].copy_from_slice(&MAGIC);
    put_u32(&mut h[..], 8, VERSION);
    put_u32(&mut h[..], READY_AT, 0);
    put_u64(&mut h[..], 16, total_bytes as u64);
    put_u32(&mut h[..], 24, arrays.len() as u32);
    put_u32(&mut h[..], 28, pid);
    for (i, a) in arrays.iter().enumerate() {
        let e = &mut h[FIXED + i * V2.entry..FIXED + (i + 1) * V2.entry];
        put_text(&mut e[..TEXT], &a.name);
        put_text(&mut e[TEXT..2 * TEXT], &a.dtype);
        put_u64(e, 64, a.elem_align as u64);
        put_u64(e, 72, a.elem_size as u64);
        put_u64(e, 80, a.offset as u64);
        put_u64(e, 88, a.len as u64);
        put_u64(e, 96, a.shape.len() as u64);
        for (k, &d) in a.shape.iter().enumerate() {
            put_u64(e, 104 + 8 * k, d as u64);
        }
    }
    h
}

/// The bytes of a version-1 header (what this crate wrote before version 2),
/// for tests of the compatibility rule. `arrays` carry their v1 tags.
#[cfg(test)]
pub(crate) fn encode_v1(total_bytes: usize, arrays: &[ArrayInfo]) -> Box<[u8; HEADER_BYTES]> {
    let mut h = Box::new([0u8; HEADER_BYTES]);
    h[..8].copy_from_slice(&MAGIC);
    put_u32(&mut h[..], 8, 1);
    put_u32(&mut h[..], READY_AT, 1);
    put_u64(&mut h[..], 16, total_bytes as u64);
    put_u32(&mut h[..], 24, arrays.len() as u32);
    for (i, a) in arrays.iter().enumerate() {
        let e = &mut h[FIXED + i * V1.entry..FIXED + (i + 1) * V1.entry];
        put_text(&mut e[..TEXT], &a.name);
        put_text(&mut e[TEXT..2 * TEXT], &a.type_name);
        put_u64(e, 64, a.v1_tag.expect("v1 arrays carry their tag"));
        put_u64(e, 72, a.elem_size as u64);
        put_u64(e, 80, a.offset as u64);
        put_u64(e, 88, a.len as u64);
        put_u64(e, 96, a.shape.len() as u64);
        for (k, &d) in a.shape.iter().enumerate() {
            put_u64(e, 104 + 8 * k, d as u64);
        }
    }
    h
}

/// Writes a complete header at `base` and then publishes it (ready = 1,
/// with release ordering: a reader that sees 1 with acquire sees the rest).
///
/// # Safety
/// `base` points to at least [`HEADER_BYTES`] writable bytes, page-aligned,
/// that no one else reads or writes while this runs except through the
/// `ready` flag.
pub(crate) unsafe fn write(base: *mut u8, total_bytes: usize, arrays: &[ArrayInfo]) {
    let h = encode(total_bytes, arrays, std::process::id());
    // SAFETY: the caller guarantees HEADER_BYTES writable bytes at `base`
    // that nobody else accesses; `h` is a separate heap buffer.
    unsafe { std::ptr::copy_nonoverlapping(h.as_ptr(), base, HEADER_BYTES) };
    // SAFETY: `base + READY_AT` is 4-aligned (base is page-aligned) and
    // inside the header; from now on it is only accessed atomically.
    let ready = unsafe { AtomicU32::from_ptr(base.add(READY_AT).cast::<u32>()) };
    ready.store(1u32.to_le(), Ordering::Release);
}

/// Reads and checks the header of the segment `name` mapped at `base`
/// (`mapped` bytes long, possibly read-only).
///
/// # Safety
/// `base` points to at least [`HEADER_BYTES`] readable, page-aligned bytes
/// that stay mapped during the call.
pub(crate) unsafe fn read(name: &str, base: *const u8, mapped: usize) -> Result<Vec<ArrayInfo>> {
    // SAFETY: 4-aligned u32 inside the mapped header, never written through
    // this pointer: only loaded with `Relaxed`, which `core::sync::atomic`
    // ("Atomic accesses to read-only memory") allows on read-only memory for
    // register-sized values (an `Acquire` load is not covered by that rule).
    let ready = unsafe { AtomicU32::from_ptr(base.add(READY_AT).cast::<u32>().cast_mut()) };
    // A relaxed load then an acquire fence: if the creator's release store
    // of 1 is seen, so is the rest of the header (same as an acquire load).
    let flag = u32::from_le(ready.load(Ordering::Relaxed));
    std::sync::atomic::fence(Ordering::Acquire);
    // SAFETY: HEADER_BYTES readable bytes at `base` (caller), copied as
    // plain bytes (volatile: another process may map the same pages); any
    // bits are valid u8s. A complete header is never written again.
    let mut bytes = unsafe { std::ptr::read_volatile(base.cast::<[u8; HEADER_BYTES]>()) };
    // What the acquire load saw decides readiness, not the later copy.
    bytes[READY_AT..READY_AT + 4].copy_from_slice(&flag.to_le_bytes());
    parse(name, &bytes, mapped)
}

/// Parses and validates the header bytes `b` of the segment `name`, which
/// is `mapped` bytes long: everything a peer could have written is checked
/// (magic, version, readiness, the count, each array's name and type string,
/// dimensions, shape product, element size and alignment, offset — inside
/// the segment, after the header, page-aligned — no overlap, unique names).
pub(crate) fn parse(name: &str, b: &[u8; HEADER_BYTES], mapped: usize) -> Result<Vec<ArrayInfo>> {
    let bad = |reason: String| Error::BadHeader {
        name: name.to_string(),
        reason,
    };
    if b[..8] != MAGIC {
        return Err(bad("not made by shm-array (no header magic)".into()));
    }
    let version = get_u32(b, 8);
    let table = match version {
        1 => V1,
        2 => V2,
        v => {
            return Err(bad(format!(
                "header version {v}, but this library reads versions {OLDEST_VERSION} to {VERSION} (see SPEC.md)"
            )));
        }
    };
    if get_u32(b, READY_AT) != 1 {
        return Err(bad("its creator has not finished writing it".into()));
    }
    let total = get_u64(b, 16);
    if total > mapped as u64 {
        return Err(Error::TooSmall {
            name: name.to_string(),
            needed: total,
            actual: mapped as u64,
        });
    }
    let n = get_u32(b, 24) as usize;
    if n > MAX_ARRAYS {
        return Err(bad(format!("{n} arrays (at most {MAX_ARRAYS})")));
    }
    let mut infos: Vec<ArrayInfo> = Vec::with_capacity(n);
    for i in 0..n {
        let e = &b[FIXED + i * table.entry..FIXED + (i + 1) * table.entry];
        let a = entry(e, &table, version, mapped).map_err(|r| match r {
            Problem::Bad(reason) => bad(format!("array #{i}{reason}")),
            Problem::TooSmall(needed) => Error::TooSmall {
                name: name.to_string(),
                needed,
                actual: mapped as u64,
            },
        })?;
        if infos.iter().any(|b| b.name == a.name) {
            return Err(bad(format!("array {:?} appears twice", a.name)));
        }
        infos.push(a);
    }
    let mut by_offset: Vec<&ArrayInfo> = infos.iter().filter(|a| a.len > 0).collect();
    by_offset.sort_by_key(|a| a.offset);
    for w in by_offset.windows(2) {
        // Ends were checked in `entry` (no overflow).
        if w[0].offset + w[0].len * w[0].elem_size > w[1].offset {
            return Err(bad(format!(
                "arrays {:?} and {:?} overlap",
                w[0].name, w[1].name
            )));
        }
    }
    Ok(infos)
}

enum Problem {
    /// Appended to "array #i".
    Bad(String),
    /// Bytes the array needs.
    TooSmall(u64),
}

fn text(field: &[u8], what: &str) -> std::result::Result<String, Problem> {
    let end = field
        .iter()
        .position(|&c| c == 0)
        .ok_or_else(|| Problem::Bad(format!(": its {what} has no NUL in {TEXT} bytes")))?;
    String::from_utf8(field[..end].to_vec())
        .map_err(|_| Problem::Bad(format!(": its {what} is not UTF-8")))
}

fn entry(
    e: &[u8],
    table: &Table,
    version: u32,
    mapped: usize,
) -> std::result::Result<ArrayInfo, Problem> {
    let name = text(&e[..TEXT], "name")?;
    let what = |s: String| Problem::Bad(format!(" ({name:?}): {s}"));
    let recorded = text(&e[TEXT..2 * TEXT], "type string")?;
    let tag_or_align = get_u64(e, 64);
    let elem_size = get_u64(e, 72);
    let offset = get_u64(e, 80);
    let len = get_u64(e, 88);
    let ndim = get_u64(e, 96);
    if ndim == 0 || ndim > table.dims as u64 {
        return Err(what(format!("{ndim} dimensions (1 to {})", table.dims)));
    }
    let shape: Vec<u64> = (0..ndim as usize)
        .map(|k| get_u64(e, 104 + 8 * k))
        .collect();
    let product = shape.iter().try_fold(1u64, |p, &d| p.checked_mul(d));
    if product != Some(len) {
        return Err(what(format!("shape {shape:?} does not match length {len}")));
    }
    if elem_size == 0 || elem_size > ARRAY_ALIGN as u64 {
        return Err(what(format!("element size {elem_size}")));
    }
    let (dtype, type_name, elem_align, v1_tag) = if version == 1 {
        if recorded.is_empty() || recorded.chars().any(char::is_control) {
            return Err(what(format!("type name {recorded:?}")));
        }
        let dtype = dtype_of_rust_name(&recorded).map_or_else(|| recorded.clone(), str::to_string);
        (dtype, recorded, 0, Some(tag_or_align))
    } else {
        check_dtype(&recorded, elem_size).map_err(what)?;
        let align = tag_or_align;
        if !align.is_power_of_two() || align > ARRAY_ALIGN as u64 || elem_size % align != 0 {
            return Err(what(format!(
                "alignment {align} (a power of two, at most {ARRAY_ALIGN}, dividing the element size {elem_size})"
            )));
        }
        let shown = shown_type(&recorded);
        (recorded, shown, align, None)
    };
    let end = len
        .checked_mul(elem_size)
        .and_then(|b| b.checked_add(offset));
    match end {
        Some(end) if end <= mapped as u64 => {}
        _ => return Err(Problem::TooSmall(end.unwrap_or(u64::MAX))),
    }
    if offset < HEADER_BYTES as u64 {
        return Err(what(format!("offset {offset} inside the header")));
    }
    if offset % ARRAY_ALIGN as u64 != 0 {
        return Err(what(format!("offset {offset} is not page-aligned")));
    }
    // Everything fits in the mapping, hence in usize.
    Ok(ArrayInfo {
        name,
        dtype,
        type_name,
        elem_size: elem_size as usize,
        elem_align: elem_align as usize,
        offset: offset as usize,
        len: len as usize,
        shape: shape.iter().map(|&d| d as usize).collect(),
        v1_tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Layout;
    use crate::element::v1_type_tag;
    use proptest::prelude::*;

    /// A valid header of two u64 arrays "a" (len 10) and "b" (2 x 3), as a
    /// peer would find it in a segment of `total` bytes.
    fn valid() -> (Box<[u8; HEADER_BYTES]>, usize) {
        let layout = Layout::new()
            .array::<u64>("a", 10)
            .unwrap()
            .array_nd::<u64>("b", &[2, 3])
            .unwrap();
        let total = layout.total_bytes();
        let mut h = encode(total, layout.arrays(), 1);
        put_u32(&mut h[..], READY_AT, 1);
        (h, total)
    }

    /// Byte offset of field `at` of entry `i` (version 2).
    fn at(i: usize, field: usize) -> usize {
        FIXED + i * V2.entry + field
    }

    fn reason(h: &[u8; HEADER_BYTES], mapped: usize) -> String {
        match parse("/t", h, mapped) {
            Err(Error::BadHeader { reason, .. }) => reason,
            Err(Error::TooSmall { needed, .. }) => format!("too small, needs {needed}"),
            other => panic!("expected a bad header, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_header_passes() {
        let (h, total) = valid();
        let infos = parse("/t", &h, total).unwrap();
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[1].shape, vec![2, 3]);
        assert_eq!(infos[1].dtype, "<u8");
        assert_eq!(infos[1].type_name, "u64");
        assert_eq!(infos[1].elem_align, 8);
    }

    #[test]
    fn the_previous_version_is_read_and_unknown_ones_refused() {
        let mut arrays = Layout::new()
            .array::<f64>("a", 3)
            .unwrap()
            .arrays()
            .to_vec();
        arrays[0].type_name = "f64".into();
        arrays[0].v1_tag = Some(v1_type_tag::<f64>());
        let h = encode_v1(8192, &arrays);
        let infos = parse("/t", &h, 8192).unwrap();
        assert_eq!(infos[0].dtype, "<f8");
        assert_eq!(infos[0].type_name, "f64");
        assert_eq!(infos[0].v1_tag, Some(v1_type_tag::<f64>()));
        for v in [0u32, 3, 99] {
            let mut h = valid().0;
            put_u32(&mut h[..], 8, v);
            let r = reason(&h, 8192 * 4);
            assert!(r.contains(&format!("header version {v}")), "{r}");
            assert!(r.contains("versions 1 to 2"), "{r}");
        }
    }

    /// A segment written by the previous version of this crate opens, and
    /// its typed checks still apply (through the version-1 tag).
    #[test]
    fn a_version_1_segment_opens_with_typed_checks() {
        let name = crate::unique_name("shmtest-v1-");
        let path = std::path::Path::new(crate::SHM_DIR).join(&name);
        let mut arrays = Layout::new()
            .array::<f64>("a", 3)
            .unwrap()
            .arrays()
            .to_vec();
        arrays[0].type_name = "f64".into();
        arrays[0].v1_tag = Some(v1_type_tag::<f64>());
        let mut bytes = encode_v1(8192, &arrays).to_vec();
        bytes.resize(8192, 0);
        bytes[4096..4096 + 24].copy_from_slice(
            &[1.5f64, 2.5, 3.5]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect::<Vec<u8>>(),
        );
        std::fs::write(&path, &bytes).unwrap();
        // SAFETY: nobody else knows the name.
        let seg = unsafe { crate::Segment::open(&name) };
        let _ = std::fs::remove_file(&path);
        let mut seg = seg.unwrap();
        assert_eq!(seg.arrays()[0].dtype, "<f8");
        assert!(matches!(
            seg.take::<u64>("a"),
            Err(Error::TypeMismatch { .. })
        ));
        assert_eq!(seg.take::<f64>("a").unwrap().as_slice(), &[1.5, 2.5, 3.5]);
    }

    #[test]
    fn hostile_headers_are_named() {
        let (h0, total) = valid();
        let edit = |f: &dyn Fn(&mut [u8])| {
            let mut h = valid().0;
            f(&mut h[..]);
            reason(&h, total)
        };
        assert!(edit(&|h| h[0] = b'X').contains("no header magic"));
        assert!(edit(&|h| put_u32(h, READY_AT, 0)).contains("not finished"));
        assert!(edit(&|h| put_u64(h, 16, total as u64 + 1)).contains("too small"));
        assert!(edit(&|h| put_u32(h, 24, MAX_ARRAYS as u32 + 1)).contains("arrays (at most"));
        assert!(edit(&|h| put_u64(h, at(0, 96), 0)).contains("dimensions"));
        assert!(edit(&|h| put_u64(h, at(0, 96), MAX_DIMS as u64 + 1)).contains("dimensions"));
        assert!(edit(&|h| put_u64(h, at(1, 104), 3)).contains("does not match length"));
        // A shape whose product overflows u64.
        assert!(
            edit(&|h| {
                put_u64(h, at(1, 104), u64::MAX);
                put_u64(h, at(1, 88), u64::MAX - 1);
            })
            .contains("does not match length")
        );
        assert!(edit(&|h| put_u64(h, at(0, 72), 0)).contains("element size"));
        // Length times size overflows.
        assert!(
            edit(&|h| {
                put_u64(h, at(0, 104), u64::MAX / 4);
                put_u64(h, at(0, 88), u64::MAX / 4);
            })
            .contains("too small")
        );
        assert!(edit(&|h| put_u64(h, at(0, 80), total as u64)).contains("too small"));
        assert!(edit(&|h| put_u64(h, at(0, 80), 0)).contains("inside the header"));
        assert!(
            edit(&|h| put_u64(h, at(0, 80), HEADER_BYTES as u64 + 8)).contains("not page-aligned")
        );
        assert!(
            edit(&|h| {
                let o = get_u64(h, at(0, 80));
                put_u64(h, at(1, 80), o);
            })
            .contains("overlap")
        );
        assert!(edit(&|h| h[at(1, 0)] = b'a').contains("appears twice"));
        // Type strings: a numpy one of the wrong size, garbage, no NUL.
        assert!(
            edit(&|h| h[at(0, 32)..at(0, 35)].copy_from_slice(b"<f4")).contains("4-byte elements")
        );
        assert!(edit(&|h| h[at(0, 33)] = b'\n').contains("control characters"));
        assert!(edit(&|h| h[at(0, 32)] = 0).contains("not 1 to 31 bytes"));
        assert!(edit(&|h| h[at(0, 32)..at(0, 64)].fill(b'x')).contains("no NUL"));
        assert!(edit(&|h| h[at(0, 0)] = 0xff).contains("not UTF-8"));
        // Alignment: not a power of two, above a page, not dividing the size.
        assert!(edit(&|h| put_u64(h, at(0, 64), 3)).contains("alignment 3"));
        assert!(edit(&|h| put_u64(h, at(0, 64), 8192)).contains("alignment 8192"));
        assert!(edit(&|h| put_u64(h, at(0, 64), 16)).contains("alignment 16"));
        assert!(parse("/t", &h0, total).is_ok());
    }

    #[test]
    fn numpy_type_strings_are_recognised() {
        assert_eq!(numpy_item_size("<f8"), Some(8));
        assert_eq!(numpy_item_size("|u1"), Some(1));
        assert_eq!(numpy_item_size(">c16"), Some(16));
        assert_eq!(numpy_item_size("f64"), None);
        assert_eq!(numpy_item_size("<f08"), None);
        assert_eq!(numpy_item_size("<U8"), None);
        assert_eq!(numpy_item_size("<f"), None);
        assert_eq!(numpy_item_size("<f99999999999999999999999"), None);
    }

    /// Every accepted array lies inside the mapping, after the header,
    /// page-aligned, with a shape whose product is its length, and no two
    /// overlap: what `take` relies on to build slices.
    fn sound(infos: &[ArrayInfo], mapped: usize) -> std::result::Result<(), TestCaseError> {
        for a in infos {
            let end = a.end().expect("no overflow");
            prop_assert!(end <= mapped && a.offset >= HEADER_BYTES);
            prop_assert_eq!(a.offset % ARRAY_ALIGN, 0);
            prop_assert_eq!(a.shape.iter().product::<usize>(), a.len);
            prop_assert!(a.elem_size > 0);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Random bytes: never a panic, and whatever passes is sound.
        #[test]
        fn random_bytes_never_panic(
            body in proptest::collection::vec(any::<u8>(), HEADER_BYTES - 16),
            version in 0u32..4,
            mapped in 0usize..1 << 20,
            n in 0u32..=MAX_ARRAYS as u32,
        ) {
            let mut h = Box::new([0u8; HEADER_BYTES]);
            h[..8].copy_from_slice(&MAGIC);
            put_u32(&mut h[..], 8, version);
            put_u32(&mut h[..], READY_AT, 1);
            h[16..].copy_from_slice(&body);
            put_u32(&mut h[..], 24, n);
            if let Ok(infos) = parse("/p", &h, mapped) {
                sound(&infos, mapped)?;
            }
        }

        /// A valid header with random fields overwritten by random values
        /// (closer to valid than random bytes, so the checks are reached).
        #[test]
        fn mutated_headers_are_checked(
            edits in proptest::collection::vec((0usize..2, 0usize..21, any::<u64>()), 1..6),
            small in any::<bool>(),
        ) {
            let (mut h, total) = valid();
            for (i, field, v) in edits {
                let v = if small { v % 70_000 } else { v };
                put_u64(&mut h[..], at(i, field * 8), v);
            }
            if let Ok(infos) = parse("/p", &h, total) {
                sound(&infos, total)?;
            }
        }
    }
}
