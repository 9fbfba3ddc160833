//! A fork-based pool: run work over disjoint chunks of an index range in N
//! worker processes; their writes to shared arrays are visible afterwards.
//!
//! Failure is never silent: a worker that panics, is killed by a signal or
//! exits early becomes an [`Error::Worker`], the other workers are stopped
//! and every worker is reaped before the call returns (so no worker can
//! still be writing when the parent gets its `&mut` back). Workers die with
//! their parent (`PR_SET_PDEATHSIG`).

use std::num::NonZeroUsize;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};

use crate::array::ShmArray;
use crate::element::Element;
use crate::error::{Error, Result, WorkerFailure};

/// The code a worker exits with when it finished its work (not 0, so a
/// closure calling `exit(0)` early is told apart from a finished worker).
pub(crate) const EXIT_OK: i32 = 100;
/// The timeout of a pool unless [`ForkPool::timeout`] sets another.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
pub(crate) const EXIT_PANIC: i32 = 101;
const EXIT_ABORTED: i32 = 102;
pub(crate) const EXIT_ORPHAN: i32 = 103;
const MSG_BYTES: usize = 512;
/// How long a worker spins at a barrier before sleeping on the futex.
const SPIN_NS: u64 = 2_000_000;

/// What one worker is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Worker index, `0..workers`.
    pub worker: usize,
    /// Its part of the index range.
    pub range: Range<usize>,
    /// The pass number, `0..passes`.
    pub pass: usize,
}

/// Timings of one pool run (all workers started together at each pass: a
/// process-shared barrier separates the passes).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolStats {
    /// Workers started.
    pub workers: usize,
    /// Seconds from the call to every worker ready at the first barrier
    /// (fork + start-up + optional pre-faulting).
    pub startup_s: f64,
    /// Seconds of each pass, barrier to barrier (the slowest worker).
    pub pass_s: Vec<f64>,
    /// Seconds from the call until every worker was reaped (fork + all
    /// passes + exit + wait): what a one-shot pool pass costs.
    pub total_s: f64,
}

/// Splits `0..len` into `parts` contiguous ranges whose lengths differ by
/// at most one (the book's `(0, 4), (4, 8), (8, 12)`). Empty ranges are
/// left out.
///
/// ```
/// assert_eq!(shm_array::split_range(12, 3), vec![0..4, 4..8, 8..12]);
/// assert_eq!(shm_array::split_range(5, 2), vec![0..3, 3..5]);
/// assert_eq!(shm_array::split_range(1, 4), vec![0..1]);
/// ```
pub fn split_range(len: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    let (q, r) = (len / parts, len % parts);
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 0..parts {
        let n = q + usize::from(i < r);
        if n > 0 {
            out.push(start..start + n);
        }
        start += n;
    }
    out
}

/// Pre-faults `[ptr, ptr + len)` (rounded out to pages) with
/// `MADV_POPULATE_WRITE` or `_READ`.
pub(crate) fn populate(name: &str, ptr: *mut u8, len: usize, write: bool) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let page = 4096usize;
    let start = (ptr as usize) & !(page - 1);
    let end = (ptr as usize + len).div_ceil(page) * page;
    let advice = if write {
        libc::MADV_POPULATE_WRITE
    } else {
        libc::MADV_POPULATE_READ
    };
    loop {
        // SAFETY: the range lies within mappings the caller holds (rounded
        // out to the pages that contain them); populating only faults pages
        // in, it changes no contents.
        let r = unsafe { libc::madvise(start as *mut libc::c_void, end - start, advice) };
        if r == 0 {
            return Ok(());
        }
        match Errno::last() {
            Errno::EINTR => continue,
            Errno::ENOMEM | Errno::EFAULT => {
                return Err(Error::NoSpace {
                    name: name.to_string(),
                    bytes: len as u64,
                });
            }
            e => {
                return Err(Error::from_errno(name, "madvise(MADV_POPULATE)", e));
            }
        }
    }
}

/// Threads of this process, counted in /proc/self/task (the caller included).
///
/// # Errors
/// [`Error::Io`] when /proc/self/task cannot be read.
pub fn thread_count() -> Result<usize> {
    let dir = std::fs::read_dir("/proc/self/task").map_err(|e| Error::Io {
        name: "/proc/self/task".to_string(),
        op: "read_dir",
        source: e,
    })?;
    Ok(dir.count())
}

/// Waits until this process has a single thread (e.g. after dropping a
/// rayon pool, whose threads exit shortly after), at most `timeout`.
///
/// # Errors
/// [`Error::Threads`] with the count still running when the time is up.
pub fn wait_single_threaded(timeout: std::time::Duration) -> Result<()> {
    let end = std::time::Instant::now() + timeout;
    loop {
        let n = thread_count()?;
        if n <= 1 {
            return Ok(());
        }
        if std::time::Instant::now() >= end {
            return Err(Error::Threads { count: n });
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The check made before every fork: refuse when other threads exist.
pub(crate) fn check_single_threaded() -> Result<()> {
    match thread_count()? {
        n if n > 1 => Err(Error::Threads { count: n }),
        _ => Ok(()),
    }
}

pub(crate) fn futex_wait(a: &AtomicU32, expected: u32, timeout: std::time::Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `a` is a live, aligned u32 in a MAP_SHARED mapping (so the
    // shared, non-private futex op is right); the kernel only reads it and
    // `ts`. Spurious or early returns are handled by the callers' loops.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            a.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
}

pub(crate) fn futex_wake(a: &AtomicU32) {
    // SAFETY: as in `futex_wait`; waking has no memory effects.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            a.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        )
    };
}

pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC is the same clock
    // in every process of the machine, so workers and parent can compare.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The pool's own small shared block: a barrier, pass times, and one
/// message slot per worker.
pub(crate) struct Control {
    ptr: NonNull<u8>,
    len: usize,
    passes: usize,
    workers: usize,
}

impl Control {
    pub(crate) fn new(workers: usize, passes: usize) -> Result<Control> {
        let len = 64 + 8 * (passes + 1) + MSG_BYTES * workers + 4 * workers;
        // SAFETY: a fresh anonymous shared mapping chosen by the kernel
        // overlaps nothing; it is zeroed.
        let p = unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                NonZeroUsize::new(len).expect("non-zero"),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(|e| Error::from_errno("(pool control)", "mmap", e))?;
        Ok(Control {
            ptr: p.cast(),
            len,
            passes,
            workers,
        })
    }

    pub(crate) fn u32_at(&self, i: usize) -> &AtomicU32 {
        debug_assert!(i < 16);
        // SAFETY: the first 64 bytes are 16 aligned u32 slots, zeroed, only
        // ever accessed atomically (by every process sharing the mapping).
        unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().cast::<u32>().add(i)) }
    }

    fn time(&self, k: usize) -> &AtomicU64 {
        assert!(k <= self.passes);
        // SAFETY: slots 64.. hold passes+1 aligned u64, only used atomically.
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(64).cast::<u64>().add(k)) }
    }

    fn msg_ptr(&self, worker: usize) -> *mut u8 {
        assert!(worker < self.workers);
        // SAFETY: in bounds: the message area follows the times.
        unsafe {
            self.ptr
                .as_ptr()
                .add(64 + 8 * (self.passes + 1) + MSG_BYTES * worker)
        }
    }

    /// Passes worker `worker` has finished (to name the slow one on a timeout).
    pub(crate) fn progress(&self, worker: usize) -> &AtomicU32 {
        assert!(worker < self.workers);
        // SAFETY: the last 4 * workers bytes are aligned u32 slots (the
        // offset is a multiple of 8), zeroed, only used atomically.
        unsafe {
            AtomicU32::from_ptr(
                self.ptr
                    .as_ptr()
                    .add(64 + 8 * (self.passes + 1) + MSG_BYTES * self.workers)
                    .cast::<u32>()
                    .add(worker),
            )
        }
    }

    fn arrived(&self) -> &AtomicU32 {
        self.u32_at(0)
    }
    fn generation(&self) -> &AtomicU32 {
        self.u32_at(1)
    }
    fn abort_flag(&self) -> &AtomicU32 {
        self.u32_at(2)
    }

    pub(crate) fn abort(&self) {
        self.abort_flag().store(1, Ordering::Release);
        self.generation().fetch_add(0, Ordering::AcqRel);
        futex_wake(self.generation());
    }

    fn aborted(&self) -> bool {
        self.abort_flag().load(Ordering::Acquire) != 0
    }

    /// Waits until `n` workers arrived; the last one stamps the time of
    /// barrier number `generation`. False when the run was aborted.
    fn barrier(&self, n: u32) -> bool {
        let generation = self.generation().load(Ordering::Acquire);
        if self.arrived().fetch_add(1, Ordering::AcqRel) + 1 == n {
            self.arrived().store(0, Ordering::Relaxed);
            self.time(generation as usize)
                .store(now_ns(), Ordering::Relaxed);
            self.generation().fetch_add(1, Ordering::AcqRel);
            futex_wake(self.generation());
            return !self.aborted();
        }
        // Spin for at most SPIN_NS (a pass boundary is usually close), then sleep on a
        // futex: a slow or dead peer costs no CPU. The 10 ms timeout
        // re-checks the abort flag even if a wake-up was missed.
        let spin_until = now_ns() + SPIN_NS;
        let mut spinning = true;
        let mut spins = 0u32;
        while self.generation().load(Ordering::Acquire) == generation {
            if self.aborted() {
                return false;
            }
            spins = spins.wrapping_add(1);
            if spinning && spins % 256 == 0 && now_ns() > spin_until {
                spinning = false;
            }
            if spinning {
                std::hint::spin_loop();
            } else {
                futex_wait(
                    self.generation(),
                    generation,
                    std::time::Duration::from_millis(10),
                );
            }
        }
        !self.aborted()
    }

    pub(crate) fn write_msg(&self, worker: usize, msg: &str) {
        let b = msg.as_bytes();
        let n = b.len().min(MSG_BYTES - 1);
        // SAFETY: the slot of `worker` has MSG_BYTES bytes and only this
        // worker writes it; the parent reads it after reaping the worker.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), self.msg_ptr(worker), n) };
    }

    pub(crate) fn read_msg(&self, worker: usize) -> String {
        let mut buf = vec![0u8; MSG_BYTES];
        // SAFETY: the slot is MSG_BYTES long; its writer has exited.
        unsafe { std::ptr::copy_nonoverlapping(self.msg_ptr(worker), buf.as_mut_ptr(), MSG_BYTES) };
        let end = buf.iter().position(|&c| c == 0).unwrap_or(MSG_BYTES);
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        // SAFETY: exactly the region mapped in `new`; no references remain.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr.cast(), self.len) };
    }
}

/// A pool of forked worker processes (the book's `ProcessPoolExecutor`).
///
/// # Examples
///
/// ```
/// use shm_array::{ForkPool, ShmArray};
/// let a = vec![1u8; 12];
/// let b = vec![3u8; 12];
/// let mut c = ShmArray::<u8>::anonymous(12).unwrap();
/// ForkPool::new(3)
///     .for_each_chunk(&[&a[..], &b[..]], &mut c, |_chunk, ins, out| {
///         for ((o, x), y) in out.iter_mut().zip(ins[0]).zip(ins[1]) {
///             *o = x + y;
///         }
///     })
///     .unwrap();
/// assert_eq!(c.as_slice(), &[4u8; 12]);
/// ```
#[derive(Debug, Clone)]
pub struct ForkPool {
    workers: usize,
    prefault: bool,
    timeout: std::time::Duration,
}

impl ForkPool {
    /// A pool of `workers` processes (at least one).
    pub fn new(workers: usize) -> Self {
        ForkPool {
            workers: workers.max(1),
            prefault: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The longest a call waits for its workers ([`DEFAULT_TIMEOUT`] = 300 s
    /// unless set): past it every worker still running is killed and
    /// reaped, and the call returns [`Error::Worker`] with
    /// [`WorkerFailure::TimedOut`] naming a worker that did not finish (for
    /// [`LiveWorkers`](crate::LiveWorkers) the limit applies per pass, and a
    /// start-up that overruns it is [`Error::Timeout`]).
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The timeout (see [`ForkPool::timeout`]).
    pub fn timeout_value(&self) -> std::time::Duration {
        self.timeout
    }

    /// When true, each worker maps its chunks of the output and inputs in
    /// one `madvise(MADV_POPULATE_*)` call before the first pass, instead
    /// of taking one page fault per 4 KiB during it. A forked child does not
    /// inherit the parent's page tables for shared mappings, so without this
    /// the first pass of fresh workers pays those faults.
    pub fn prefault(mut self, yes: bool) -> Self {
        self.prefault = yes;
        self
    }

    /// True when workers pre-fault their chunks (see [`ForkPool::prefault`]).
    pub fn prefault_enabled(&self) -> bool {
        self.prefault
    }

    /// The number of workers.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Computes `out[range]` from `inputs[k][range]` in the workers, each
    /// worker on its own contiguous chunk (one pass).
    ///
    /// `f` must capture nothing (checked at compile time): everything it
    /// works on comes through its arguments, so the only shared memory it
    /// can write is its own chunk of `out`. (A captured lock would be
    /// copied by `fork`: each worker would lock its private copy, and the
    /// lock would protect nothing.) Inputs may be private memory: each
    /// worker reads its copy-on-write copy.
    ///
    /// A closure that captures something does not compile:
    ///
    /// ```compile_fail,E0080
    /// # use shm_array::{ForkPool, ShmArray};
    /// let mut c = ShmArray::<u8>::anonymous(4).unwrap();
    /// let lock = std::sync::Mutex::new(()); // each worker would lock its own copy
    /// ForkPool::new(2)
    ///     .for_each_chunk(&[&[0u8; 4][..]], &mut c, |_, _, out| {
    ///         let _guard = lock.lock();
    ///         out.fill(1);
    ///     })
    ///     .unwrap();
    /// ```
    ///
    /// Inputs are plain data ([`Element`]): a shared handle smuggled in as
    /// an input (each worker would lock its own copy of the lock and all
    /// would write the same shared element) does not compile:
    ///
    /// ```compile_fail,E0277
    /// # use shm_array::{ForkPool, ShmArray};
    /// # use std::sync::Mutex;
    /// let m = Mutex::new(ShmArray::<u64>::anonymous(1).unwrap());
    /// let r = [&m, &m];
    /// let mut out = ShmArray::<u64>::anonymous(2).unwrap();
    /// ForkPool::new(2).for_each_chunk(&[&r[..]], &mut out, |_, ins, _| {
    ///     ins[0][0].lock().unwrap()[0] += 1;
    /// }).unwrap();
    /// ```
    ///
    /// nor does a reference to an array as an input:
    ///
    /// ```compile_fail,E0277
    /// # use shm_array::{ForkPool, ShmArray};
    /// let a = ShmArray::<u64>::anonymous(1).unwrap();
    /// let r = [&a, &a];
    /// let mut out = ShmArray::<u64>::anonymous(2).unwrap();
    /// ForkPool::new(2).for_each_chunk(&[&r[..]], &mut out, |_, _, _| {}).unwrap();
    /// ```
    ///
    /// A handle reached through a `static` or a thread-local compiles, but
    /// a forked worker cannot write through its copy: mutable access checks
    /// the process ([`ShmArray::as_mut_slice`]), so the worker panics and
    /// the call returns [`Error::Worker`].
    ///
    /// # Errors
    /// [`Error::Threads`] when the process has other threads (fork is only
    /// sound in a single-threaded process: checked before every fork);
    /// [`Error::LengthMismatch`] when an input's length differs from
    /// `out`'s; [`Error::Worker`] when a worker panics, is killed, exits
    /// early (with any status, 0 included) or does not finish within the
    /// [timeout](ForkPool::timeout) (it and the others are then killed and
    /// reaped); [`Error::Io`] when fork fails.
    pub fn for_each_chunk<T, U, F>(
        &self,
        inputs: &[&[T]],
        out: &mut ShmArray<U>,
        f: F,
    ) -> Result<PoolStats>
    where
        T: Element,
        U: Element,
        F: Fn(Chunk, &[&[T]], &mut [U]) + Copy,
    {
        self.for_each_chunk_passes(1, inputs, out, f)
    }

    /// As [`ForkPool::for_each_chunk`], repeated `passes` times by the same
    /// workers (a barrier between passes), to measure warm passes.
    ///
    /// # Errors
    /// As [`ForkPool::for_each_chunk`].
    pub fn for_each_chunk_passes<T, U, F>(
        &self,
        passes: usize,
        inputs: &[&[T]],
        out: &mut ShmArray<U>,
        f: F,
    ) -> Result<PoolStats>
    where
        T: Element,
        U: Element,
        F: Fn(Chunk, &[&[T]], &mut [U]) + Copy,
    {
        const {
            assert!(
                std::mem::size_of::<F>() == 0,
                "the closure given to ForkPool::for_each_chunk must not capture anything"
            )
        };
        let (len, name, out_ptr) = output_target(inputs, out)?;
        let prefault = self.prefault;
        // The inputs' chunks are cut here, before the fork, so a worker
        // allocates nothing before calling `f`.
        let chunks: Vec<Vec<&[T]>> = split_range(len, self.workers)
            .into_iter()
            .map(|r| inputs.iter().map(|s| &s[r.clone()]).collect())
            .collect();
        let work = move |c: Chunk| {
            let r = c.range.clone();
            let ins: &[&[T]] = &chunks[c.worker];
            // SAFETY: `r` is within 0..len (split_range); workers get
            // disjoint ranges; the parent holds `&mut out` and does not
            // return before every worker is reaped; `f` captures nothing, so
            // this is the only shared memory it can write.
            let o = unsafe {
                std::slice::from_raw_parts_mut((out_ptr as *mut U).add(r.start), r.len())
            };
            f(c, ins, o);
        };
        let before = move |c: &Chunk| -> Result<()> {
            if !prefault {
                return Ok(());
            }
            let r = c.range.clone();
            let size = std::mem::size_of::<U>();
            populate(
                &name,
                (out_ptr + r.start * size) as *mut u8,
                r.len() * size,
                true,
            )?;
            for s in inputs {
                let s = &s[r.clone()];
                populate(
                    &name,
                    s.as_ptr() as *mut u8,
                    std::mem::size_of_val(s),
                    false,
                )?;
            }
            Ok(())
        };
        // SAFETY: `work` writes only its own chunk of `out` (disjoint
        // between workers, see above) and reads the inputs, which the parent
        // borrows shared for the whole call.
        unsafe { self.run_inner(len, passes, &before, &work) }
    }

    /// Runs `f` once in each worker with its chunk of `0..len` (one pass).
    ///
    /// # Errors
    /// As [`ForkPool::for_each_chunk`].
    ///
    /// # Safety
    /// `f` runs in forked processes. Its writes to ordinary memory land in
    /// the worker's private copy (the parent never sees them: that is the
    /// book's first, wrong, program). Its writes to shared memory are seen
    /// by everyone, so the caller promises that `f` writes shared memory
    /// only inside its own `chunk.range` of arrays no one else reads during
    /// the run (or through atomics), and does not rely on locks: a lock
    /// captured by `f` is copied by fork and excludes nothing. The usual
    /// fork caveat applies too: if other threads exist, locks they held at
    /// the fork stay locked in the worker, so `f` should compute, not take
    /// process-wide locks (stdout is fine in single-threaded programs).
    pub unsafe fn run<F>(&self, len: usize, f: F) -> Result<PoolStats>
    where
        F: Fn(Chunk),
    {
        // SAFETY: forwarded to our caller.
        unsafe { self.run_inner(len, 1, &|_| Ok(()), &f) }
    }

    /// # Safety
    /// As [`ForkPool::run`], for `before` and `work`.
    unsafe fn run_inner(
        &self,
        len: usize,
        passes: usize,
        before: &dyn Fn(&Chunk) -> Result<()>,
        work: &dyn Fn(Chunk),
    ) -> Result<PoolStats> {
        let t0 = now_ns();
        let ranges = split_range(len, self.workers);
        let n = ranges.len();
        if n == 0 {
            return Ok(PoolStats {
                workers: 0,
                startup_s: 0.0,
                pass_s: vec![0.0; passes],
                total_s: 0.0,
            });
        }
        check_single_threaded()?;
        let ctrl = Control::new(n, passes)?;
        let parent = nix::unistd::getpid();
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let mut pids: Vec<Option<Pid>> = Vec::with_capacity(n);
        let mut fork_error = None;
        for (w, range) in ranges.iter().enumerate() {
            // SAFETY: the child runs only `child_main`, which never returns
            // (it ends in `_exit`); the caller's contract covers what `work`
            // does in it.
            match unsafe { nix::unistd::fork() } {
                Ok(ForkResult::Child) => child_main(
                    &ctrl,
                    parent,
                    n as u32,
                    w,
                    range.clone(),
                    passes,
                    before,
                    work,
                ),
                Ok(ForkResult::Parent { child }) => pids.push(Some(child)),
                Err(e) => {
                    ctrl.abort();
                    fork_error = Some(Error::from_errno("(pool)", "fork", e));
                    break;
                }
            }
        }
        let deadline = std::time::Instant::now() + self.timeout;
        let (outcomes, timed_out) = wait_all(&ctrl, &mut pids, deadline);
        let t_end = now_ns();
        if let Some(e) = fork_error {
            return Err(e);
        }
        if let Some(w) = timed_out {
            return Err(Error::Worker {
                worker: w,
                range: ranges[w].clone(),
                failure: WorkerFailure::TimedOut {
                    millis: self.timeout.as_millis() as u64,
                },
            });
        }
        if let Some(e) = first_failure(&ctrl, &outcomes, &ranges) {
            return Err(e);
        }
        if ctrl.aborted() {
            return Err(Error::Worker {
                worker: 0,
                range: ranges[0].clone(),
                failure: WorkerFailure::Exited(EXIT_ABORTED),
            });
        }
        let times: Vec<u64> = (0..=passes)
            .map(|k| ctrl.time(k).load(Ordering::Relaxed))
            .collect();
        let s = |ns: u64| ns as f64 * 1e-9;
        Ok(PoolStats {
            workers: n,
            startup_s: s(times[0].saturating_sub(t0)),
            pass_s: times
                .windows(2)
                .map(|w| s(w[1].saturating_sub(w[0])))
                .collect(),
            total_s: s(t_end.saturating_sub(t0)),
        })
    }
}

/// The first real failure among the workers' exit statuses (workers that
/// stopped because another failed do not count).
pub(crate) fn first_failure(
    ctrl: &Control,
    outcomes: &[WaitStatus],
    ranges: &[Range<usize>],
) -> Option<Error> {
    for (w, o) in outcomes.iter().enumerate() {
        let f = match *o {
            WaitStatus::Exited(_, EXIT_OK) => continue,
            WaitStatus::Exited(_, EXIT_ABORTED) => continue,
            WaitStatus::Exited(_, EXIT_PANIC) => WorkerFailure::Panicked(ctrl.read_msg(w)),
            WaitStatus::Exited(_, code) => WorkerFailure::Exited(code),
            WaitStatus::Signaled(_, sig, _) => WorkerFailure::Signaled(sig as i32),
            _ => WorkerFailure::Exited(-1),
        };
        return Some(Error::Worker {
            worker: w,
            range: ranges[w].clone(),
            failure: f,
        });
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn child_main(
    ctrl: &Control,
    parent: Pid,
    n: u32,
    worker: usize,
    range: Range<usize>,
    passes: usize,
    before: &dyn Fn(&Chunk) -> Result<()>,
    work: &dyn Fn(Chunk),
) -> ! {
    die_with_parent(parent);
    let result = catch_unwind(AssertUnwindSafe(|| -> std::result::Result<bool, String> {
        let first = Chunk {
            worker,
            range: range.clone(),
            pass: 0,
        };
        before(&first).map_err(|e| e.to_string())?;
        for pass in 0..passes {
            if !ctrl.barrier(n) {
                return Ok(false);
            }
            work(Chunk {
                worker,
                range: range.clone(),
                pass,
            });
            ctrl.progress(worker)
                .store(pass as u32 + 1, Ordering::Release);
        }
        Ok(ctrl.barrier(n))
    }));
    let code = match result {
        Ok(Ok(true)) => EXIT_OK,
        Ok(Ok(false)) => EXIT_ABORTED,
        Ok(Err(msg)) => {
            ctrl.write_msg(worker, &msg);
            ctrl.abort();
            EXIT_PANIC
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".to_string());
            ctrl.write_msg(worker, &msg);
            ctrl.abort();
            EXIT_PANIC
        }
    };
    exit_now(code)
}

/// Checks that every input is as long as the output, and returns the
/// output's length, its segment's name (for error messages) and the address
/// of its first element (handed to the forked workers).
pub(crate) fn output_target<T, U: Element>(
    inputs: &[&[T]],
    out: &mut ShmArray<U>,
) -> Result<(usize, String, usize)> {
    let len = out.len();
    if let Some(bad) = inputs.iter().position(|s| s.len() != len) {
        return Err(Error::LengthMismatch {
            what: format!(
                "input {bad} has {} elements, the output {len}",
                inputs[bad].len()
            ),
        });
    }
    let name = out
        .segment_name()
        .unwrap_or(crate::mapping::ANON)
        .to_string();
    let out_ptr = out.as_mut_slice().as_mut_ptr() as usize;
    Ok((len, name, out_ptr))
}

/// In a forked worker: asks the kernel to kill this process when the parent
/// dies (so workers never outlive it), and exits at once if the parent is
/// already gone (it died before the death signal was armed).
pub(crate) fn die_with_parent(parent: Pid) {
    // SAFETY: prctl with PR_SET_PDEATHSIG and a signal number has no memory
    // effects: the kernel kills us when the parent thread exits.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if nix::unistd::getppid() != parent {
        // The parent died before the death signal was armed.
        exit_now(EXIT_ORPHAN);
    }
}

pub(crate) fn exit_now(code: i32) -> ! {
    // No flush of stdout here: it would take a lock. Rust's stdout is line
    // buffered and the parent flushed before forking, so only a partial
    // line the closure printed without a newline can be lost.
    // SAFETY: `_exit` ends the process at once without running the parent's
    // atexit handlers or destructors in this copy (which would, e.g., unlink
    // segments the parent still uses or flush its buffers twice).
    unsafe { libc::_exit(code) }
}

fn pidfd_open(pid: Pid) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor returned by the kernel, owned by nobody else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Reaps every worker, at most until `deadline`. The moment one fails
/// (any exit but [`EXIT_OK`], or a signal) the others are told to stop
/// (abort flag) and killed, so none waits at a barrier for a dead peer nor
/// computes on for nothing; the ones we killed are recorded as aborted.
/// Past the deadline every worker still running is killed and reaped, and
/// the first of them is returned.
pub(crate) fn wait_all(
    ctrl: &Control,
    pids: &mut [Option<Pid>],
    deadline: std::time::Instant,
) -> (Vec<WaitStatus>, Option<usize>) {
    use std::os::fd::AsRawFd;
    let mut out: Vec<WaitStatus> = pids
        .iter()
        .map(|p| WaitStatus::Exited(p.unwrap_or(Pid::from_raw(0)), EXIT_ABORTED))
        .collect();
    let fds: Vec<Option<std::os::fd::OwnedFd>> =
        pids.iter().map(|p| p.and_then(pidfd_open)).collect();
    let mut killed = vec![false; pids.len()];
    let mut timed_out = None;
    let mut kill_requested = false;
    let kill_rest = |pids: &[Option<Pid>], killed: &mut [bool]| {
        for (i, p) in pids.iter().enumerate() {
            if let Some(pid) = *p {
                if !killed[i] {
                    // The pid is our unreaped child, so it cannot have been
                    // reused by another process.
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                    killed[i] = true;
                }
            }
        }
    };
    loop {
        let mut any_left = false;
        for (i, slot) in pids.iter_mut().enumerate() {
            let Some(pid) = *slot else { continue };
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => any_left = true,
                Ok(st @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    let failed = !matches!(st, WaitStatus::Exited(_, EXIT_OK | EXIT_ABORTED));
                    out[i] = if killed[i] {
                        WaitStatus::Exited(pid, EXIT_ABORTED)
                    } else {
                        st
                    };
                    *slot = None;
                    if failed && !killed[i] {
                        ctrl.abort();
                        kill_requested = true;
                    }
                }
                Ok(_) | Err(Errno::EINTR) => any_left = true,
                Err(_) => {
                    // Not our child any more (cannot happen): give up on it.
                    out[i] = WaitStatus::Exited(pid, -1);
                    *slot = None;
                }
            }
        }
        if kill_requested {
            kill_rest(pids, &mut killed);
        }
        if !any_left {
            return (out, timed_out);
        }
        let now = std::time::Instant::now();
        if now >= deadline && timed_out.is_none() {
            // The culprit: the running worker that finished the fewest passes.
            timed_out = (0..pids.len())
                .filter(|&i| pids[i].is_some())
                .min_by_key(|&i| ctrl.progress(i).load(Ordering::Acquire));
            ctrl.abort();
            kill_requested = true;
            continue;
        }
        let wait_ms = deadline
            .saturating_duration_since(now)
            .as_millis()
            .clamp(1, 100) as i32;
        let mut polls: Vec<libc::pollfd> = pids
            .iter()
            .zip(&fds)
            .filter(|(p, _)| p.is_some())
            .filter_map(|(_, f)| f.as_ref())
            .map(|f| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let alive = pids.iter().filter(|p| p.is_some()).count();
        if polls.len() == alive {
            // SAFETY: `polls` is a valid array of pollfd of that length.
            unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, wait_ms) };
        } else {
            // No pidfd (old kernel): poll the statuses every millisecond.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_everything_once() {
        for len in [0, 1, 5, 12, 1000] {
            for parts in 1..6 {
                let r = split_range(len, parts);
                let total: usize = r.iter().map(|r| r.len()).sum();
                assert_eq!(total, len);
                for w in r.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
            }
        }
    }
}
