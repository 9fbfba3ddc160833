//! Big work buffers: zeroed anonymous maps, in huge pages when the kernel
//! has them free.
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

/// Whether work buffers ask for 2 MiB pages ([`Buffer::zeroed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HugePages {
    /// Only when the kernel has the buffer's size free in blocks of 2 MiB
    /// or more ([`free_in_huge_blocks`]), with 256 MiB to spare: then they
    /// cost no compaction.
    #[default]
    Auto,
    /// Always (advice only: the kernel may still give 4 KiB pages).
    On,
    /// Never.
    Off,
}

/// Free memory left over after a buffer, in 2 MiB blocks, for
/// [`HugePages::Auto`] to ask for huge pages.
const SPARE: u64 = 256 << 20;

impl HugePages {
    /// Whether a buffer of `len` bytes asks for huge pages.
    pub fn wanted(self, len: usize) -> bool {
        match self {
            HugePages::On => true,
            HugePages::Off => false,
            HugePages::Auto => fits(len, free_in_huge_blocks()),
        }
    }
}

/// Whether `len` bytes and [`SPARE`] fit in `free` bytes of 2 MiB blocks.
fn fits(len: usize, free: Option<u64>) -> bool {
    free.is_some_and(|free| free >= (len as u64).saturating_add(SPARE))
}

/// Free memory in blocks of 2 MiB or more (orders ≥ 9 of every zone of
/// `/proc/buddyinfo`, 4 KiB pages), bytes; `None` where that cannot be
/// read (not Linux, no /proc).
pub fn free_in_huge_blocks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/buddyinfo").ok()?;
    huge_blocks_in(&text)
}

/// [`free_in_huge_blocks`] of a `/proc/buddyinfo` text: on each line,
/// after "Node N, zone NAME", the free blocks of order 0, 1, …
fn huge_blocks_in(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut lines = 0;
    for line in text.lines() {
        let (_, counts) = line.split_once("zone")?;
        let mut fields = counts.split_whitespace();
        fields.next()?; // the zone's name
        for (order, count) in fields.enumerate() {
            let count: u64 = count.parse().ok()?;
            if order >= 9 {
                total = total.saturating_add(count.saturating_mul(4096 << order));
            }
        }
        lines += 1;
    }
    (lines > 0).then_some(total)
}

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
    /// `len` zero bytes; with `huge`, advised to use 2 MiB pages (Linux;
    /// see [`HugePages::wanted`] to decide).
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
    fn buddyinfo_counts_orders_nine_and_up() {
        let text = "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n\
                    Node 0, zone   Normal   3415   2509   1822   1099    541    244    141     99     90     64   1722 \n";
        // Orders 9 (2 MiB) and 10 (4 MiB): (1 + 64) × 2 + (3 + 1722) × 4 MiB.
        assert_eq!(huge_blocks_in(text), Some((65 * 2 + 1725 * 4) << 20));
        assert_eq!(huge_blocks_in(""), None);
        assert_eq!(huge_blocks_in("Node 0, zone Normal 1 x 3"), None);
    }

    #[test]
    fn auto_asks_for_huge_pages_only_when_they_are_free() {
        assert!(HugePages::On.wanted(usize::MAX));
        assert!(!HugePages::Off.wanted(1));
        // No machine has this much free in 2 MiB blocks.
        assert!(!HugePages::Auto.wanted(usize::MAX / 2));
        let gb = 1usize << 30;
        assert!(fits(gb, Some(2 << 30)));
        assert!(fits(gb, Some(gb as u64 + SPARE)));
        assert!(!fits(gb, Some(gb as u64 + SPARE - 1)));
        assert!(!fits(gb, None));
        assert!(!fits(usize::MAX, Some(u64::MAX - 1)));
    }

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
