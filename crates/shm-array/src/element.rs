//! What may live in a shared array: plain-old-data with a recorded type name.

/// A type that can be stored in shared memory and checked on `open`.
///
/// Any [`bytemuck::Pod`] type qualifies (every bit pattern valid, no
/// padding, no pointers), so writing and reading raw bytes of it across
/// processes is sound. [`DTYPE`](Element::DTYPE) is written into the segment
/// header and compared (with the size and alignment) when another process
/// opens the segment: opening an `f64` segment as `f32` is an
/// [`Error::TypeMismatch`](crate::Error::TypeMismatch), not garbage.
///
/// The primitive numbers implement it, with numpy's array-protocol type
/// strings as `DTYPE` (`f64` is `"<f8"`, `i32` is `"<i4"`, `u8` is `"|u1"`
/// on a little-endian machine), so Python's `shm_array` module sees them as
/// numpy arrays of the same dtype (see SPEC.md). For your own `#[repr(C)]`
/// struct, derive `Pod` and `Zeroable` with bytemuck and name it:
///
/// ```
/// # use bytemuck::{Pod, Zeroable};
/// #[derive(Clone, Copy, Pod, Zeroable)]
/// #[repr(C)]
/// struct Point {
///     x: f64,
///     y: f64,
/// }
/// impl shm_array::Element for Point {
///     const TYPE_NAME: &'static str = "my_crate::Point";
///     // Numpy sees two f64 as one complex128; without this line the
///     // header records "my_crate::Point" and Python sees raw bytes.
///     const DTYPE: &'static str = "<c16";
/// }
/// let mut pts = shm_array::ShmArray::<Point>::anonymous(4).unwrap();
/// pts.as_mut_slice()[1] = Point { x: 1.0, y: 2.0 };
/// assert_eq!(pts.as_slice()[1].y, 2.0);
/// ```
pub trait Element: bytemuck::Pod + Send + Sync {
    /// A name unique to this type's layout (at most 31 bytes are stored).
    const TYPE_NAME: &'static str;
    /// What the header records for this type (at most 31 bytes): numpy's
    /// type string (`"<f8"`) when numpy has one of the same size, else a
    /// name only Rust knows (the default: [`TYPE_NAME`](Element::TYPE_NAME)).
    const DTYPE: &'static str = Self::TYPE_NAME;
}

#[cfg(target_endian = "little")]
macro_rules! order {
    () => {
        "<"
    };
}
#[cfg(target_endian = "big")]
macro_rules! order {
    () => {
        ">"
    };
}

macro_rules! primitive {
    ($($t:ty => $dtype:expr),* $(,)?) => {$(
        impl Element for $t {
            const TYPE_NAME: &'static str = stringify!($t);
            const DTYPE: &'static str = $dtype;
        }
    )*};
}
#[cfg(target_pointer_width = "64")]
primitive!(usize => concat!(order!(), "u8"), isize => concat!(order!(), "i8"));
#[cfg(target_pointer_width = "32")]
primitive!(usize => concat!(order!(), "u4"), isize => concat!(order!(), "i4"));
primitive!(
    u8 => "|u1",
    i8 => "|i1",
    u16 => concat!(order!(), "u2"),
    i16 => concat!(order!(), "i2"),
    u32 => concat!(order!(), "u4"),
    i32 => concat!(order!(), "i4"),
    u64 => concat!(order!(), "u8"),
    i64 => concat!(order!(), "i8"),
    f32 => concat!(order!(), "f4"),
    f64 => concat!(order!(), "f8"),
);

/// The Rust primitive a numpy type string stands for, if any (for messages:
/// `"<f8"` is shown as `"<f8 (f64)"`).
pub(crate) fn rust_name(dtype: &str) -> Option<&'static str> {
    const ALL: [(&str, &str); 10] = [
        (u8::DTYPE, "u8"),
        (i8::DTYPE, "i8"),
        (u16::DTYPE, "u16"),
        (i16::DTYPE, "i16"),
        (u32::DTYPE, "u32"),
        (i32::DTYPE, "i32"),
        (u64::DTYPE, "u64"),
        (i64::DTYPE, "i64"),
        (f32::DTYPE, "f32"),
        (f64::DTYPE, "f64"),
    ];
    ALL.iter().find(|(d, _)| *d == dtype).map(|(_, n)| *n)
}

/// The numpy type string of a primitive's Rust name (reading version-1
/// headers, which recorded `"f64"`), if it is one.
pub(crate) fn dtype_of_rust_name(name: &str) -> Option<&'static str> {
    const ALL: [(&str, &str); 12] = [
        ("u8", u8::DTYPE),
        ("i8", i8::DTYPE),
        ("u16", u16::DTYPE),
        ("i16", i16::DTYPE),
        ("u32", u32::DTYPE),
        ("i32", i32::DTYPE),
        ("u64", u64::DTYPE),
        ("i64", i64::DTYPE),
        ("f32", f32::DTYPE),
        ("f64", f64::DTYPE),
        ("usize", usize::DTYPE),
        ("isize", isize::DTYPE),
    ];
    ALL.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// The tag version-1 headers stored: a hash of the type name, size and
/// alignment (version 2 stores the type string, size and alignment instead).
pub(crate) fn v1_type_tag<T: Element>() -> u64 {
    // FNV-1a over the name, then the layout.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let layout = [
        std::mem::size_of::<T>() as u64,
        std::mem::align_of::<T>() as u64,
    ];
    for b in T::TYPE_NAME
        .bytes()
        .chain(layout.iter().flat_map(|v| v.to_le_bytes()))
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_differ_between_types() {
        assert_ne!(v1_type_tag::<f64>(), v1_type_tag::<f32>());
        assert_ne!(v1_type_tag::<f64>(), v1_type_tag::<u64>());
        assert_eq!(v1_type_tag::<f64>(), v1_type_tag::<f64>());
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn primitives_carry_numpys_type_strings() {
        assert_eq!(f64::DTYPE, "<f8");
        assert_eq!(i32::DTYPE, "<i4");
        assert_eq!(u8::DTYPE, "|u1");
        assert_eq!(rust_name("<f4"), Some("f32"));
        assert_eq!(rust_name("<c16"), None);
        assert_eq!(dtype_of_rust_name("usize"), Some("<u8"));
    }
}
