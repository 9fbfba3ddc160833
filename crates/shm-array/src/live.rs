//! Workers that stay alive between passes: fork once, then each
//! [`LiveWorkers::pass`] wakes them (a futex in shared memory), lets each
//! compute its chunk, and waits until all are done. A pass then costs the
//! work only: no fork, no page-table rebuild, no exit.

use std::marker::PhantomData;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};

use crate::array::ShmArray;
use crate::element::Element;
use crate::error::{Error, Result, WorkerFailure};
use crate::pool::{
    Chunk, Control, EXIT_OK, EXIT_PANIC, ForkPool, PoolStats, check_single_threaded, exit_now,
    first_failure, futex_wait, futex_wake, now_ns, populate, split_range, wait_all,
};

// Slots of the control block (0–2 are the one-shot pool's barrier).
const CMD: usize = 3;
const DONE: usize = 4;
const QUIT: usize = 5;
const READY: usize = 6;

fn arrive(counter: &AtomicU32, n: u32) {
    if counter.fetch_add(1, Ordering::AcqRel) + 1 == n {
        futex_wake(counter);
    }
}

/// Live worker processes computing `out` from `inputs`, one pass per
/// [`pass`](LiveWorkers::pass). Made by [`ForkPool::start`].
///
/// While it exists it borrows the output mutably and the inputs shared;
/// between passes every worker is idle, so [`output`](LiveWorkers::output)
/// can read the results. Dropping it stops and reaps the workers.
pub struct LiveWorkers<'a, T, U: Element> {
    ctrl: Control,
    pids: Vec<Option<Pid>>,
    statuses: Vec<Option<WaitStatus>>,
    ranges: Vec<Range<usize>>,
    out: &'a mut ShmArray<U>,
    t0: u64,
    startup_s: f64,
    pass_s: Vec<f64>,
    timeout: Duration,
    _inputs: PhantomData<&'a [&'a [T]]>,
}

impl ForkPool {
    /// Forks the workers once and keeps them waiting for
    /// [`LiveWorkers::pass`]. With [`ForkPool::prefault`], each maps its
    /// chunks before it reports ready, so even the first pass runs warm.
    ///
    /// # Errors
    /// As [`ForkPool::for_each_chunk`]; a worker failing during start-up.
    ///
    /// # Examples
    ///
    /// ```
    /// use shm_array::{ForkPool, ShmArray};
    /// let a = vec![2u64; 1000];
    /// let mut c = ShmArray::<u64>::anonymous(1000).unwrap();
    /// let inputs = [&a[..]];
    /// let mut live = ForkPool::new(2)
    ///     .start(&inputs, &mut c, |chunk, ins, out| {
    ///         for (o, x) in out.iter_mut().zip(ins[0]) {
    ///             *o += x; // each pass adds once more
    ///         }
    ///     })
    ///     .unwrap();
    /// live.pass().unwrap();
    /// live.pass().unwrap();
    /// assert!(live.output().iter().all(|&x| x == 4));
    /// let stats = live.finish().unwrap();
    /// assert_eq!(stats.pass_s.len(), 2);
    /// ```
    pub fn start<'a, T, U, F>(
        &self,
        inputs: &'a [&'a [T]],
        out: &'a mut ShmArray<U>,
        f: F,
    ) -> Result<LiveWorkers<'a, T, U>>
    where
        T: Element,
        U: Element,
        F: Fn(Chunk, &[&[T]], &mut [U]) + Copy,
    {
        const {
            assert!(
                std::mem::size_of::<F>() == 0,
                "the closure given to ForkPool::start must not capture anything"
            )
        };
        let t0 = now_ns();
        let (len, name, out_ptr) = crate::pool::output_target(inputs, out)?;
        let ranges = split_range(len, self.workers());
        let n = ranges.len();
        check_single_threaded()?;
        let ctrl = Control::new(n.max(1), 0)?;
        let chunks: Vec<Vec<&[T]>> = ranges
            .iter()
            .map(|r| inputs.iter().map(|s| &s[r.clone()]).collect())
            .collect();
        let timeout = self.timeout_value();
        let parent = nix::unistd::getpid();
        let prefault = self.prefault_enabled();
        {
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
        }
        let mut pids = Vec::with_capacity(n);
        let mut fork_error = None;
        for (w, range) in ranges.iter().enumerate() {
            // SAFETY: the child runs only `live_child`, which ends in
            // `_exit`. It writes shared memory only inside its own `range` of
            // `out` (disjoint between workers; the parent holds `&mut out`
            // until every worker is reaped), `f` captures nothing, and it
            // reads the inputs the parent borrows shared for 'a.
            match unsafe { nix::unistd::fork() } {
                Ok(ForkResult::Child) => {
                    let work = |c: Chunk| {
                        let r = c.range.clone();
                        let ins: &[&[T]] = &chunks[c.worker];
                        // SAFETY: see the fork above: `r` is this worker's
                        // own chunk, inside `out`.
                        let o = unsafe {
                            std::slice::from_raw_parts_mut(
                                (out_ptr as *mut U).add(r.start),
                                r.len(),
                            )
                        };
                        f(c, ins, o);
                    };
                    let before = || -> Result<()> {
                        if !prefault {
                            return Ok(());
                        }
                        let size = std::mem::size_of::<U>();
                        populate(
                            &name,
                            (out_ptr + range.start * size) as *mut u8,
                            range.len() * size,
                            true,
                        )?;
                        for s in inputs {
                            let s = &s[range.clone()];
                            populate(&name, s.as_ptr() as *mut u8, size_of_val(s), false)?;
                        }
                        Ok(())
                    };
                    live_child(&ctrl, parent, n as u32, w, range.clone(), &before, &work)
                }
                Ok(ForkResult::Parent { child }) => pids.push(Some(child)),
                Err(e) => {
                    fork_error = Some(Error::from_errno("(pool)", "fork", e));
                    break;
                }
            }
        }
        let mut live = LiveWorkers {
            statuses: vec![None; pids.len()],
            ctrl,
            pids,
            ranges,
            out,
            t0,
            startup_s: 0.0,
            pass_s: Vec::new(),
            timeout,
            _inputs: PhantomData,
        };
        if let Some(e) = fork_error {
            live.shutdown();
            return Err(e);
        }
        live.wait_for(READY)?;
        live.startup_s = (now_ns() - t0) as f64 * 1e-9;
        Ok(live)
    }
}

impl<T, U: Element> LiveWorkers<'_, T, U> {
    fn n(&self) -> u32 {
        self.pids.len() as u32
    }

    /// Waits until the counter in `slot` reaches the number of workers,
    /// noticing a worker that dies meanwhile.
    fn wait_for(&mut self, slot: usize) -> Result<()> {
        let n = self.n();
        let deadline = std::time::Instant::now() + self.timeout;
        loop {
            let d = self.ctrl.u32_at(slot).load(Ordering::Acquire);
            if d >= n {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                if slot == READY {
                    self.kill_all();
                    return Err(Error::Timeout {
                        what: "live workers' start-up",
                        seconds: self.timeout.as_secs_f64(),
                    });
                }
                // The late worker is one that has not finished this pass.
                let target = self.ctrl.u32_at(CMD).load(Ordering::Acquire);
                let worker = (0..self.pids.len())
                    .find(|&i| self.ctrl.progress(i).load(Ordering::Acquire) < target)
                    .unwrap_or(0);
                self.kill_all();
                return Err(Error::Worker {
                    worker,
                    range: self.ranges[worker].clone(),
                    failure: WorkerFailure::TimedOut {
                        millis: self.timeout.as_millis() as u64,
                    },
                });
            }
            futex_wait(self.ctrl.u32_at(slot), d, Duration::from_millis(10));
            for i in 0..self.pids.len() {
                let Some(pid) = self.pids[i] else { continue };
                if let Ok(st @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) =
                    waitpid(pid, Some(WaitPidFlag::WNOHANG))
                {
                    self.statuses[i] = Some(st);
                    self.pids[i] = None;
                }
            }
            if self.pids.iter().any(Option::is_none) {
                // Someone died mid-pass: stop the rest and report it.
                self.shutdown();
                return Err(self.failure());
            }
        }
    }

    fn failure(&self) -> Error {
        let st: Vec<WaitStatus> = self
            .statuses
            .iter()
            .map(|s| s.unwrap_or(WaitStatus::Exited(Pid::from_raw(0), EXIT_OK)))
            .collect();
        first_failure(&self.ctrl, &st, &self.ranges).unwrap_or(Error::Worker {
            worker: 0,
            range: self.ranges.first().cloned().unwrap_or(0..0),
            failure: WorkerFailure::Exited(-1),
        })
    }

    /// Runs one pass: every worker computes its chunk once. Returns its
    /// wall time in seconds (wake-up to the last worker done).
    ///
    /// # Errors
    /// [`Error::Worker`] when a worker panicked, died, or did not finish
    /// within the pool's timeout (named, with [`WorkerFailure::TimedOut`]);
    /// the others are stopped and reaped; later passes fail the same way.
    pub fn pass(&mut self) -> Result<f64> {
        if self.pids.iter().any(Option::is_none) {
            return Err(self.failure());
        }
        self.ctrl.u32_at(DONE).store(0, Ordering::Release);
        let t = now_ns();
        self.ctrl.u32_at(CMD).fetch_add(1, Ordering::AcqRel);
        futex_wake(self.ctrl.u32_at(CMD));
        self.wait_for(DONE)?;
        let s = (now_ns() - t) as f64 * 1e-9;
        self.pass_s.push(s);
        Ok(s)
    }

    /// The output, read between passes (all workers are idle then).
    pub fn output(&self) -> &[U] {
        self.out.as_slice()
    }

    /// Kills and reaps every worker still running.
    fn kill_all(&mut self) {
        for (i, p) in self.pids.iter_mut().enumerate() {
            if let Some(pid) = p.take() {
                // Our unreaped child: the pid cannot have been reused.
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                // A SIGKILLed child exits at once: this wait is bounded.
                let st = waitpid(pid, None).unwrap_or(WaitStatus::Exited(pid, -1));
                self.statuses[i].get_or_insert(st);
            }
        }
    }

    fn shutdown(&mut self) {
        if self.pids.iter().all(Option::is_none) {
            return;
        }
        self.ctrl.u32_at(QUIT).store(1, Ordering::Release);
        self.ctrl.u32_at(CMD).fetch_add(1, Ordering::AcqRel);
        futex_wake(self.ctrl.u32_at(CMD));
        let deadline = std::time::Instant::now() + self.timeout;
        let (outcomes, _) = wait_all(&self.ctrl, &mut self.pids, deadline);
        for (i, o) in outcomes.into_iter().enumerate() {
            if self.statuses[i].is_none() {
                self.statuses[i] = Some(o);
            }
        }
    }

    /// Stops and reaps the workers; the timings of the passes run.
    ///
    /// # Errors
    /// [`Error::Worker`] when a worker had failed.
    pub fn finish(mut self) -> Result<PoolStats> {
        self.shutdown();
        if let Some(e) = self
            .statuses
            .iter()
            .any(|s| !matches!(s, Some(WaitStatus::Exited(_, EXIT_OK))))
            .then(|| self.failure())
        {
            return Err(e);
        }
        Ok(PoolStats {
            workers: self.pids.len(),
            startup_s: self.startup_s,
            pass_s: self.pass_s.clone(),
            total_s: (now_ns() - self.t0) as f64 * 1e-9,
        })
    }
}

impl<T, U: Element> Drop for LiveWorkers<'_, T, U> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn live_child(
    ctrl: &Control,
    parent: Pid,
    n: u32,
    worker: usize,
    range: Range<usize>,
    before: &dyn Fn() -> Result<()>,
    work: &dyn Fn(Chunk),
) -> ! {
    crate::pool::die_with_parent(parent);
    let result = catch_unwind(AssertUnwindSafe(|| -> std::result::Result<(), String> {
        before().map_err(|e| e.to_string())?;
        arrive(ctrl.u32_at(READY), n);
        let mut seen = 0u32;
        loop {
            loop {
                let c = ctrl.u32_at(CMD).load(Ordering::Acquire);
                if c != seen {
                    seen = c;
                    break;
                }
                futex_wait(ctrl.u32_at(CMD), seen, Duration::from_secs(1));
            }
            if ctrl.u32_at(QUIT).load(Ordering::Acquire) != 0 {
                return Ok(());
            }
            work(Chunk {
                worker,
                range: range.clone(),
                pass: seen as usize - 1,
            });
            // Passes done, so that a timeout can name the worker that is late.
            ctrl.progress(worker).store(seen, Ordering::Release);
            arrive(ctrl.u32_at(DONE), n);
        }
    }));
    let code = match result {
        Ok(Ok(())) => EXIT_OK,
        Ok(Err(msg)) => {
            ctrl.write_msg(worker, &msg);
            EXIT_PANIC
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".to_string());
            ctrl.write_msg(worker, &msg);
            EXIT_PANIC
        }
    };
    exit_now(code)
}
