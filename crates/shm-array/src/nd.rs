//! `ndarray` views of shared arrays, with the shape the header records
//! (feature `ndarray`, off by default).
//!
//! ```
//! use ndarray::{Ix2, s};
//! use shm_array::{Layout, Segment};
//! let mut seg = Segment::anonymous(&Layout::new().array_nd::<f32>("m", &[3, 4])?)?;
//! let mut m = seg.take::<f32>("m")?;
//! m.view_mut().fill(1.0);
//! m.view_mut().slice_mut(s![1, ..]).fill(7.0);
//! let v = m.view().into_dimensionality::<Ix2>().unwrap();
//! assert_eq!(v.shape(), &[3, 4]);
//! assert_eq!(v[[1, 2]], 7.0);
//! assert_eq!(v.sum(), 8.0 + 28.0);
//! # Ok::<(), shm_array::Error>(())
//! ```
//!
//! A read-only array has no `view_mut`:
//!
//! ```compile_fail
//! use shm_array::{ReadOnly, ShmArray};
//! fn write(a: &mut ShmArray<f32, ReadOnly>) {
//!     a.view_mut().fill(0.0);
//! }
//! ```

use ndarray::{ArrayViewD, ArrayViewMutD, IxDyn};

use crate::access::Access;
use crate::array::ShmArray;
use crate::element::Element;
use crate::error::Result;

impl<T: Element, A: Access> ShmArray<T, A> {
    /// An `ndarray` view with the stored shape (C order). Use
    /// `.into_dimensionality::<Ix2>()` for a fixed number of dimensions.
    pub fn view(&self) -> ArrayViewD<'_, T> {
        ArrayViewD::from_shape(IxDyn(self.shape()), self.as_slice())
            .expect("the shape's product is the length (checked with the header)")
    }
}

impl<T: Element> ShmArray<T> {
    /// A mutable `ndarray` view with the stored shape (C order).
    ///
    /// # Panics
    /// Where [`ShmArray::as_mut_slice`] does (a process other than the one
    /// that made the handle); [`ShmArray::try_view_mut`] returns that as an
    /// error.
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        match self.try_view_mut() {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`ShmArray::view_mut`], with the foreign-process check as an error.
    ///
    /// # Errors
    /// [`Error::ForeignProcess`](crate::Error::ForeignProcess).
    pub fn try_view_mut(&mut self) -> Result<ArrayViewMutD<'_, T>> {
        let shape = self.shape().to_vec();
        let data = self.try_as_mut_slice()?;
        Ok(ArrayViewMutD::from_shape(IxDyn(&shape), data)
            .expect("the shape's product is the length (checked with the header)"))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Layout, Segment};

    #[test]
    fn views_have_the_stored_shape_in_c_order() {
        let layout = Layout::new()
            .array_nd::<i64>("t", &[2, 3, 4])
            .unwrap()
            .array::<u8>("v", 5)
            .unwrap();
        let mut seg = Segment::anonymous(&layout).unwrap();
        let mut t = seg.take::<i64>("t").unwrap();
        for (i, x) in t.iter_mut().enumerate() {
            *x = i as i64;
        }
        let v = t.view();
        assert_eq!(v.shape(), &[2, 3, 4]);
        assert_eq!(v[[1, 2, 3]], 23);
        assert_eq!(v[[0, 1, 0]], 4);
        t.view_mut()[[1, 0, 0]] = -1;
        assert_eq!(t[12], -1);
        let v = seg.take::<u8>("v").unwrap();
        assert_eq!(v.view().shape(), &[5]);
    }
}
