//! Big work buffers: zeroed anonymous maps, optionally in huge pages.
//!
//! The exact FFT makes passes over two matrices of N/2 complex numbers
//! (2 × 1.07 GB at the book's size). Fresh 4 KiB pages cost a fault each on
//! first touch, and the transposing passes jump between rows ~90 KB apart,
//! so with 4 KiB pages nearly every access misses the TLB. When the caller
//! asks for it (`huge` in [`Buffer::zeroed`]; the exact FFT's
//! `ExactPlan::huge_pages`), the map is advised `MADV_HUGEPAGE` (it is
//! always aligned to 2 MiB) and gets 2 MiB pages where the kernel allows it.
//! The map is zeroed by the kernel, and viewed as `[Complex<f32>]` or
//! `[f32]` through `bytemuck` — no `unsafe` here.

use memmap2::MmapMut;
use rustfft::num_complex::Complex;

const HUGE: usize = 2 << 20;

/// A zeroed, page-aligned buffer of bytes, preferably in huge pages.
pub struct Buffer {
    map: MmapMut,
    offset: usize,
    len: usize,
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buffer({} bytes)", self.len)
    }
}

impl Buffer {
    /// `len` zero bytes; with `huge`, advised to use 2 MiB pages (Linux).
    ///
    /// # Errors
    /// When the system cannot map that much memory.
    pub fn zeroed(len: usize, huge: bool) -> std::io::Result<Buffer> {
        let map = MmapMut::map_anon(len + HUGE)?;
        let addr = map.as_ptr() as usize;
        let offset = addr.next_multiple_of(HUGE) - addr;
        #[cfg(target_os = "linux")]
        if huge {
            // Advice only: without huge pages everything still works.
            let _ = map.advise(memmap2::Advice::HugePage);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = huge;
        Ok(Buffer { map, offset, len })
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map[self.offset..self.offset + self.len]
    }

    /// The bytes, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map[self.offset..self.offset + self.len]
    }

    /// As complex numbers (the length rounded down).
    pub fn complex(&self) -> &[Complex<f32>] {
        let n = self.len / 8 * 8;
        bytemuck::cast_slice(&self.bytes()[..n])
    }

    /// As complex numbers, writable.
    pub fn complex_mut(&mut self) -> &mut [Complex<f32>] {
        let n = self.len / 8 * 8;
        bytemuck::cast_slice_mut(&mut self.bytes_mut()[..n])
    }

    /// As `f32`s.
    pub fn floats(&self) -> &[f32] {
        let n = self.len / 4 * 4;
        bytemuck::cast_slice(&self.bytes()[..n])
    }

    /// As `f32`s, writable.
    pub fn floats_mut(&mut self) -> &mut [f32] {
        let n = self.len / 4 * 4;
        bytemuck::cast_slice_mut(&mut self.bytes_mut()[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_aligned_and_typed() {
        let mut b = Buffer::zeroed(3 << 20, false).unwrap();
        assert_eq!(b.bytes().as_ptr() as usize % HUGE, 0);
        assert!(b.bytes().iter().all(|&x| x == 0));
        b.complex_mut()[5] = Complex::new(1.5, -2.0);
        assert_eq!(b.floats()[10], 1.5);
        assert_eq!(b.floats()[11], -2.0);
        assert_eq!(b.complex().len(), (3 << 20) / 8);
        b.floats_mut()[0] = 3.0;
        assert_eq!(b.complex()[0].re, 3.0);
    }
}
