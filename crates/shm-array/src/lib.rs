//! Typed arrays in shared memory between processes, with checked headers,
//! cleanup you can reason about, and a fork-based pool (book 1.4.1–1.4.2).
//!
//! Three flavours, as in the book:
//!
//! | book (Python) | here |
//! |---|---|
//! | `RawArray('B', …)`: anonymous, inherited by children | [`ShmArray::anonymous`] (a sealed memfd mapped shared) |
//! | `SharedMemory` / `ShareableList`: named, opened by name | [`ShmArray::create`] + `unsafe` [`ShmArray::open`] |
//! | numpy arrays at offsets in one `SharedMemory` | [`Layout`] + [`Segment`] + [`Segment::take`] |
//!
//! and [`ForkPool`] (the book's `ProcessPoolExecutor`) to compute over
//! disjoint chunks of an array in worker processes: one-shot
//! ([`ForkPool::for_each_chunk`]: fork, compute, exit) or with live workers
//! that stay forked between passes ([`ForkPool::start`] → [`LiveWorkers`]).
//!
//! # What the segment knows
//! Every segment starts with a one-page header: magic, version, a ready
//! flag and, per array, its name, element type ([`Element::TYPE_NAME`],
//! size, alignment), offset and shape. Opening an `f64` array as `f32` is
//! an [`Error::TypeMismatch`]; a segment smaller than its header says is
//! [`Error::TooSmall`].
//!
//! # Failures are errors, named
//! Every [`Error`] names the segment. Memory is allocated with
//! `posix_fallocate` when a segment is created, so a full /dev/shm is
//! [`Error::NoSpace`] at creation — never a SIGBUS when a page is first
//! touched. Anonymous segments are sealed memfds: nobody can shrink them.
//!
//! # Ownership and cleanup
//! - Named segments are created with `O_EXCL` and mode 0600; `open` refuses
//!   a segment owned by another user (names in /dev/shm can be squatted).
//! - The creating process unlinks the name when its last handle drops (or
//!   earlier with [`Segment::unlink`]). Forked children never unlink it, and
//!   there is no tracker process that unlinks what others still use.
//! - Every handle holds a shared `flock` on its segment. The kernel drops
//!   it when the process dies, so [`sweep_leaked`] can tell a segment
//!   leaked by a crashed (even `SIGKILL`ed) creator from a live one.
//!
//! # The safety story
//! - Safe: creating arrays, `&[T]`/`&mut [T]` access ([`ShmArray`]
//!   dereferences to a slice), [`ForkPool::for_each_chunk`]. Within one
//!   process the borrow checker separates readers and writers; each array
//!   of a segment is taken once per handle. The pool hands every worker a
//!   disjoint chunk of the output, accepts only closures that capture
//!   nothing (checked at compile time: a lock copied by `fork` would
//!   protect nothing), and reaps every worker before returning.
//!   [`LiveWorkers`] holds `&mut` of the output and `&` of the inputs for
//!   as long as its workers live, and lets the parent read the output only
//!   between passes, when every worker is idle.
//! - `unsafe`: [`Segment::open`]/[`ShmArray::open`] (another process may
//!   write what we borrow: the caller promises the processes coordinate,
//!   like `memmap2`'s `map` of a file) and [`ForkPool::run`] (an arbitrary
//!   closure in forked workers).
//! - Every `unsafe` block in the crate carries a `// SAFETY:` comment.
//!
//! # Performance: what a pass of forked workers costs
//! A forked child does not inherit the parent's page tables for shared
//! mappings: it maps every 4 KiB page it touches again (a page fault each,
//! or one `MADV_POPULATE_*` call with [`ForkPool::prefault`]) and unmaps
//! them when it exits. On big arrays that page-table work, not the
//! arithmetic, dominates a one-shot pass (fork + work + exit): measured here
//! on c = a + b over 3 × 128 MiB, a one-shot pass costs about 3–5 × a warm
//! pass, and pre-faulting trims it only a little. Huge pages would divide
//! the page count by 512, but they need `shmem_enabled` THP (off on many
//! machines, including ours). Workers that stay alive across passes
//! ([`ForkPool::for_each_chunk_passes`]) pay it once: their later passes
//! run at the memory bandwidth, like threads; so do the passes of
//! [`LiveWorkers`], which are forked and pre-faulted once and then woken by
//! a futex in shared memory for each [`LiveWorkers::pass`]. The lesson `shm` of
//! `cargo xtask run-all` measures all of this against a STREAM-style add.
//!
//! Linux only (memfd, `MADV_POPULATE_*`, `PR_SET_PDEATHSIG`, pidfd).

#![cfg(target_os = "linux")]

mod array;
mod element;
mod error;
mod header;
mod live;
mod mapping;
mod pool;

pub use array::{Layout, Segment, ShmArray};
pub use element::Element;
pub use error::{Error, Result, WorkerFailure};
pub use header::{ArrayInfo, HEADER_BYTES, MAX_ARRAYS, MAX_DIMS};
pub use live::LiveWorkers;
pub use mapping::{SHM_DIR, SegmentStatus, list_segments, sweep_leaked, unique_name};
pub use pool::{
    Chunk, DEFAULT_TIMEOUT, ForkPool, PoolStats, split_range, thread_count, wait_single_threaded,
};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
