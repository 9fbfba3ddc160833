//! What may live in a shared array: plain-old-data with a recorded type name.

/// A type that can be stored in shared memory and checked on `open`.
///
/// Any [`bytemuck::Pod`] type qualifies (every bit pattern valid, no
/// padding, no pointers), so writing and reading raw bytes of it across
/// processes is sound. `TYPE_NAME` is written into the segment header and
/// compared (with the size and alignment) when another process opens the
/// segment: opening an `f64` segment as `f32` is an
/// [`Error::TypeMismatch`](crate::Error::TypeMismatch), not garbage.
///
/// The primitive numbers implement it. For your own `#[repr(C)]` struct,
/// derive `Pod` and `Zeroable` with bytemuck and name it:
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
/// }
/// let mut pts = shm_array::ShmArray::<Point>::anonymous(4).unwrap();
/// pts.as_mut_slice()[1] = Point { x: 1.0, y: 2.0 };
/// assert_eq!(pts.as_slice()[1].y, 2.0);
/// ```
pub trait Element: bytemuck::Pod + Send + Sync {
    /// A name unique to this type's layout (at most 31 bytes are stored).
    const TYPE_NAME: &'static str;
}

macro_rules! primitive {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const TYPE_NAME: &'static str = stringify!($t);
        }
    )*};
}
primitive!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, usize, isize);

/// The tag stored in headers: a hash of the type name, size and alignment.
pub(crate) fn type_tag<T: Element>() -> u64 {
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
        assert_ne!(type_tag::<f64>(), type_tag::<f32>());
        assert_ne!(type_tag::<f64>(), type_tag::<u64>());
        assert_eq!(type_tag::<f64>(), type_tag::<f64>());
    }
}
