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
//! flag and, per array, its name, element type (numpy's type string, e.g.
//! `"<f8"` for `f64`: [`Element::DTYPE`]), size, alignment, offset and
//! C-order shape. Opening an `f64` array as `f32` is an
//! [`Error::TypeMismatch`]; asking for another shape
//! ([`Segment::take_shaped`]) an [`Error::ShapeMismatch`]; a segment
//! smaller than its header says is [`Error::TooSmall`]. The byte layout,
//! the checks every reader makes and the compatibility rule between
//! versions are in `SPEC.md` (version 2 is written; version 1 is still read).
//!
//! # Numpy
//! `python/shm_array.py` (shipped with the crate, numpy its only
//! dependency) reads and writes the same segments: `shm_array.open(name)`
//! gives zero-copy numpy views of every array of a segment made here, and
//! `shm_array.create(name, {"a": array})` makes one that [`Segment::open`]
//! opens, with the same typed checks, liveness lock and cleanup rules.
//!
//! # ndarray
//! With the cargo feature `ndarray` (off by default), `ShmArray::view`
//! and `ShmArray::view_mut` (read-write handles only) give
//! `ndarray::ArrayViewD` / `ArrayViewMutD` with the stored shape.
//!
//! # Failures are errors, named
//! Every [`Error`] names the segment. Memory is allocated with
//! `posix_fallocate` when a segment is created, so a full /dev/shm is
//! [`Error::NoSpace`] at creation — never a SIGBUS when a page is first
//! touched. Anonymous segments are sealed memfds: nobody can shrink them.
//!
//! # Ownership and cleanup
//! - Named segments are created with `O_EXCL` and mode 0600 (or the mode
//!   and group of [`CreateOptions`]); `open` refuses a segment owned by
//!   another user (names in /dev/shm can be squatted) unless
//!   [`OpenOptions::owner`] trusts them.
//! - The creating process unlinks the name when its last handle drops (or
//!   earlier with [`Segment::unlink`]). Forked children never unlink it, and
//!   there is no tracker process that unlinks what others still use.
//! - Every handle holds a shared `flock` on its segment. The kernel drops
//!   it when the process dies, so [`sweep_leaked`] can tell a segment
//!   leaked by a crashed (even `SIGKILL`ed) creator from a live one.
//!
//! # Safety model
//! The promise: no sequence of safe calls causes undefined behaviour. Each
//! hazard, and what stops it:
//!
//! - **Aliasing within a process.** [`ShmArray`] hands out `&[T]` and
//!   `&mut [T]` under the borrow checker; each array of a segment is taken
//!   once per handle; the pool holds `&mut` of its output (and `&` of its
//!   inputs) until every worker is reaped. [`LiveWorkers`] lets the parent
//!   read the output only between passes, when every worker is idle.
//! - **Fork copies what it should not.** A closure given to the pool must
//!   capture nothing (checked at compile time: a captured lock would be
//!   copied, each worker would lock its own copy); its inputs must be plain
//!   data ([`Element`], i.e. `bytemuck::Pod`), so no handle, lock or
//!   reference to shared memory can ride in as an input. A handle reached
//!   through a `static` or thread-local is still copied by fork, so every
//!   mutable borrow ([`ShmArray::as_mut_slice`], `DerefMut`) and every
//!   [`Segment::take`] checks that the calling process is the one that made
//!   the handle: in a worker it panics (the call returns [`Error::Worker`])
//!   or returns [`Error::ForeignProcess`]. Shared (read) borrows need no
//!   check: the only writers are the workers, each on its own chunk of the
//!   output, which the parent has borrowed mutably.
//! - **Fork in a multithreaded process.** A lock held by another thread at
//!   the fork (the allocator's, stdout's) stays locked forever in the
//!   child. The safe pool counts this process's threads (/proc/self/task)
//!   before every fork and refuses with [`Error::Threads`] when there is
//!   more than one; fork is then sound and the child may allocate. (Before
//!   calling the closure a worker allocates nothing anyway: input chunks
//!   are cut in the parent; it exits with `_exit` without flushing.) Start
//!   the pool before any thread, or join them first
//!   ([`wait_single_threaded`] waits for a dropped rayon pool's threads).
//! - **Workers that die or hang.** Every wait has a bound: a worker that
//!   panics, is killed, exits early (even with status 0: a finished worker
//!   exits with a private code) or outlives [`ForkPool::timeout`] makes the
//!   call return [`Error::Worker`] naming it; the others are killed and
//!   reaped before it returns; waiting workers sleep on a futex (after at
//!   most 2 ms of spinning), so a dead peer costs no CPU. Workers die with
//!   their parent (`PR_SET_PDEATHSIG`).
//! - **Peers.** Another process that opened the segment by name can write
//!   anything, anytime: [`Segment::open`]/[`ShmArray::open`] are `unsafe`
//!   (the caller promises the processes coordinate, as with `memmap2`'s
//!   file maps). The header a peer wrote (in Rust, Python or anything
//!   else) is untrusted: magic, version, readiness, counts, names and type
//!   strings (NUL-terminated UTF-8, a numpy type string's size), dimensions,
//!   shape products (overflow), element sizes and alignments, offsets
//!   (inside the segment, after the header, page-aligned) and overlap are
//!   all checked, each failure a named [`Error::BadHeader`] or
//!   [`Error::TooSmall`]; the parser is property-tested on random bytes.
//! - **Truncation.** A named segment cannot be sealed: a process of the same
//!   user that `ftruncate`s it makes touching the cut-off pages raise
//!   SIGBUS, in the creator too. That is a crash, not silent corruption;
//!   creating a named segment stays safe because only the creating user
//!   can write it (mode 0600 by default; [`CreateOptions::mode`] may let a
//!   group or others *read* it, e.g. 0640, and such readers can only map
//!   it `PROT_READ`; write bits for them need the `unsafe`
//!   [`CreateOptions::mode_writable_by_others`]) and opening it is
//!   `unsafe`, whose contract includes "nobody shrinks it". Anonymous
//!   segments are sealed memfds: nobody can shrink them.
//! - **Read-only peers.** [`Segment::open_read_only`] maps `PROT_READ`
//!   from an `O_RDONLY` descriptor; its handles are `Segment<ReadOnly>` /
//!   `ShmArray<T, ReadOnly>`, which give `&[T]` and have no `&mut` path
//!   (no `DerefMut`, no `as_mut_slice`: a compile error, see [`ReadOnly`]).
//!   `open` refuses a segment of another user unless
//!   [`OpenOptions::owner`] trusts that user.
//! - **Python peers.** A numpy view written by a Python process is the
//!   same cross-process situation as another Rust process: covered by the
//!   `unsafe` open's contract (SPEC.md, "What each side may assume"). A
//!   header written by Python is untrusted like any other.
//! - **Signals.** A worker killed by a signal is an error (above); a
//!   creator killed by SIGKILL leaves its named segment, which
//!   [`sweep_leaked`] removes once no process holds its `flock`.
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

#[cfg(not(target_os = "linux"))]
compile_error!("shm-array is Linux-only (memfd, MADV_POPULATE_*, PR_SET_PDEATHSIG, pidfd, /proc)");

mod access;
mod array;
mod element;
mod error;
mod header;
mod live;
mod mapping;
#[cfg(feature = "ndarray")]
mod nd;
mod pool;

pub use access::{Access, CreateOptions, OpenOptions, ReadOnly, ReadWrite};
pub use array::{Layout, Segment, ShmArray};
pub use element::Element;
pub use error::{Error, Result, WorkerFailure};
pub use header::{ArrayInfo, HEADER_BYTES, MAX_ARRAYS, MAX_DIMS};
pub use live::LiveWorkers;
pub use mapping::{
    SHM_DIR, SegmentStatus, Sweep, list_segments, set_auto_sweep, sweep_leaked, unique_name,
};
pub use pool::{
    Chunk, DEFAULT_TIMEOUT, ForkPool, PoolStats, split_range, thread_count, wait_single_threaded,
};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
