//! Beyond one machine: the process pool as an MPI job (feature `mpi`).
//!
//! `mpirun -n N cluster-01-pool …` starts N copies of the program, the
//! *ranks* 0 … N−1, on one machine or on many. Rank 0 **deals**: it holds
//! the list, hands one item to each rank that asks, and collects the
//! answers; every other rank **serves**: it says it is ready, then
//! factors whatever it is given until it is told to stop. Like the book's
//! `executor.map`, the dealing is dynamic — a rank asks for its next item
//! only when it has finished the last one, so a rank that drew a slow item
//! is not given more while the others empty the queue.
//!
//! ```text
//!  rank 0 ─ main thread (the dealer, the only one calling MPI)
//!    │   └─ compute thread: rank 0 factors too (items over a channel)
//!    │
//!    │ ◄── READY "pid host" ───────── rank 1     (once, at the start)
//!    │ ─── TASK  "T 3 naive n -" ───► rank 1     (an item)
//!    │ ◄── RESULT "R 3 … factors" ─── rank 1     (its answer = its next request)
//!    │ ─── TASK  "T 5 …" ───────────► rank 1
//!    │       …  the same with rank 2, 3, … at their own pace
//!    │ ─── STOP ────────────────────► rank 1     (the queue is empty)
//! ```
//!
//! Rank 0 computes too, on a second thread: with `-n 1` the job is one
//! process factoring everything, with `-n 2` on a 2-core machine both cores
//! factor (a dealer that only dealt would leave one of them idle).
//! `--dealer-only` (`rank0_computes == false`) makes rank 0 only deal —
//! `-n 2` is then one worker behind an MPI round trip, the same shape as
//! `pool-01 --workers 1`, which is how the lesson measures what a round
//! trip costs. The
//! dealer thread mostly sleeps (it polls with `MPI_Improbe`, spinning for
//! half a millisecond after each message as MPI's own waits do, then
//! backing off to pauses of up to a millisecond, waking at once when its
//! own compute thread answers), so it costs the compute thread little; MPI is initialised with `Threading::Funneled`
//! because only this thread calls it. The messages are the text lines of
//! the process pool's protocol ([`crate::worker`]), sent as MPI messages
//! instead of written to pipes.
//!
//! # What MPI gives up: a dead rank ends the job
//!
//! The process pool replaces a worker that dies and fails only its item.
//! An MPI job cannot: when a rank dies, `mpirun` ends all of them. So here
//! a `crash` fault prints one line naming the item and the rank, then the
//! rank kills itself (`SIGKILL`) and `mpirun` ends the job. A `panic` is caught (the item fails, the
//! rank lives on, as in the thread pool). A rank that stays silent past an
//! item's deadline (`--timeout`, or [`default_item_limit`]) makes rank 0
//! return [`ClusterError::NoAnswer`], and the program calls `MPI_Abort`,
//! which ends every rank: no wait without a bound, on either side.

use std::collections::VecDeque;
use std::fmt;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use serde_json::{Value, json};

use crate::RunOptions;
use crate::factor::{Algorithm, predicted_iterations};
use crate::task::{ItemReport, RunSummary, Task};
use crate::thread_pool::panic_message;
use crate::worker::{self, Answer};

/// A rank reports for work: `"<pid> <host>"`.
const TAG_READY: mpi::Tag = 1;
/// A rank's answer to its item: a worker answer line (`R …`, `E …`, `P …`).
const TAG_RESULT: mpi::Tag = 2;
/// Rank 0 hands out an item: a task line (`T …`).
const TAG_TASK: mpi::Tag = 3;
/// Rank 0 has nothing more: the rank returns from [`serve`].
const TAG_STOP: mpi::Tag = 4;

/// How long rank 0 waits for every rank to report for work.
pub const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// How long a serving rank waits for rank 0 to answer its request (rank 0
/// answers at once; only a dead or stuck rank 0 takes longer).
pub const DEALER_SILENCE_LIMIT: Duration = Duration::from_secs(120);

/// The deadline of one item when no `--timeout` is given: a minute, plus
/// what the book's trial division would take at ten million iterations a
/// second (the speed of the book's Python, many times slower than this
/// crate's loop even in a debug build).
pub fn default_item_limit(task: &Task, algorithm: Algorithm) -> Duration {
    let base = Duration::from_secs(60);
    match algorithm {
        Algorithm::Naive => {
            base + Duration::from_secs_f64(predicted_iterations(task.number) as f64 / 1e7)
        }
        Algorithm::Fast => base,
    }
}

/// Who a rank is: its number, the host it runs on, its process id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankInfo {
    /// The rank in `MPI_COMM_WORLD`.
    pub rank: usize,
    /// The host (`MPI_Get_processor_name`).
    pub host: String,
    /// The process id on that host.
    pub pid: u32,
}

impl RankInfo {
    /// This process, as rank `rank`.
    pub fn here(rank: usize) -> Self {
        RankInfo {
            rank,
            host: mpi::environment::processor_name().unwrap_or_else(|_| "unknown-host".into()),
            pid: std::process::id(),
        }
    }

    /// `host:rank`, the name of its row in the Gantt chart.
    pub fn label(&self) -> String {
        format!("{}:{}", self.host, self.rank)
    }
}

/// Why a run on the cluster stopped before its end. The program answers
/// each by calling `MPI_Abort`, which ends every rank.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClusterError {
    /// A rank did not answer its item before the item's deadline.
    NoAnswer {
        /// The silent rank.
        rank: usize,
        /// Its host.
        host: String,
        /// The item it was given.
        index: usize,
        /// The item's number.
        number: u64,
        /// How long rank 0 waited.
        waited: Duration,
    },
    /// A rank never reported for work.
    NotStarted {
        /// The rank.
        rank: usize,
        /// How long rank 0 waited.
        waited: Duration,
    },
    /// Rank 0 did not answer a serving rank's request.
    DealerSilent {
        /// The rank that waited.
        rank: usize,
        /// Its host.
        host: String,
        /// How long it waited.
        waited: Duration,
    },
    /// A message that does not belong to the protocol.
    Protocol {
        /// The rank that sent it (or received it).
        rank: usize,
        /// What was wrong.
        message: String,
    },
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::NoAnswer {
                rank,
                host,
                index,
                number,
                waited,
            } => write!(
                f,
                "rank {rank} on {host} did not answer item {index} ({number}) within {:.2}s",
                waited.as_secs_f64()
            ),
            ClusterError::NotStarted { rank, waited } => write!(
                f,
                "rank {rank} did not report for work within {:.0}s of the start",
                waited.as_secs_f64()
            ),
            ClusterError::DealerSilent { rank, host, waited } => write!(
                f,
                "rank {rank} on {host}: rank 0 did not answer for {:.0}s",
                waited.as_secs_f64()
            ),
            ClusterError::Protocol { rank, message } => write!(f, "rank {rank}: {message}"),
        }
    }
}

impl std::error::Error for ClusterError {}

/// A finished run: the items as every pool reports them (`kind` is `mpi`,
/// `worker` is the rank) and who the ranks were.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRun {
    /// The items in input order, with wall time; `workers` is the number
    /// of ranks, `startup` the time until the last rank reported.
    pub summary: RunSummary,
    /// Every rank, in rank order.
    pub ranks: Vec<RankInfo>,
}

impl ClusterRun {
    /// `host:rank` for each rank: the Gantt chart's rows.
    pub fn row_labels(&self) -> Vec<String> {
        self.ranks.iter().map(RankInfo::label).collect()
    }

    /// How many items each rank computed.
    pub fn items_per_rank(&self) -> Vec<usize> {
        let mut n = vec![0; self.ranks.len()];
        for i in &self.summary.items {
            if let Some(c) = n.get_mut(i.worker) {
                *c += 1;
            }
        }
        n
    }

    /// The mean time per successful item outside the computation (hand-out
    /// to result minus compute), over the items of rank 0's own thread
    /// (`remote == false`) or of the other ranks (an MPI round trip).
    pub fn overhead_per_item(&self, remote: bool) -> Option<Duration> {
        let picked: Vec<Duration> = self
            .summary
            .items
            .iter()
            .filter(|i| i.outcome.is_ok() && (i.worker != 0) == remote)
            .map(|i| i.end.saturating_sub(i.start).saturating_sub(i.compute))
            .collect();
        (!picked.is_empty()).then(|| picked.iter().sum::<Duration>() / picked.len() as u32)
    }

    /// The line printed when an item finishes: its time, rank and host.
    pub fn progress_line(item: &ItemReport, rank: &RankInfo) -> String {
        match &item.outcome {
            Ok(_) => format!(
                "{:16}: {:7.2}s  (rank {} on {}, pid {})",
                item.number,
                item.compute.as_secs_f64(),
                rank.rank,
                rank.host,
                rank.pid
            ),
            Err(e) => format!(
                "{:16}: failed after {:.2}s (rank {} on {}, pid {}): {e}",
                item.number,
                item.end.saturating_sub(item.start).as_secs_f64(),
                rank.rank,
                rank.host,
                rank.pid
            ),
        }
    }

    /// What the cluster adds to [`crate::cli::record_metrics`]: ranks,
    /// hosts, items per rank, and the overhead per item on rank 0's thread
    /// and on the other ranks.
    pub fn record_metrics(&self, rec: &mut common::Record) {
        let us = |d: Option<Duration>| d.map_or(Value::Null, |d| json!(d.as_secs_f64() * 1e6));
        let mut hosts: Vec<&str> = self.ranks.iter().map(|r| r.host.as_str()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        rec.set("ranks", self.ranks.len());
        rec.set("hosts", hosts);
        rec.set("rank_labels", self.row_labels());
        rec.set("items_per_rank", self.items_per_rank());
        rec.set("overhead_local_us", us(self.overhead_per_item(false)));
        rec.set("overhead_remote_us", us(self.overhead_per_item(true)));
    }
}

/// How long a waiting rank spins after its last message before it starts
/// yielding the core (a reply comes within microseconds when both ranks
/// have a core; on a busy machine a yield can cost a whole time slice).
const SPIN_FOR: Duration = Duration::from_micros(500);
/// How long it then yields before it starts sleeping.
const YIELD_FOR: Duration = Duration::from_micros(500);

/// Polls the way MPI itself waits, but boundedly: spins for [`SPIN_FOR`]
/// without news, yields for [`YIELD_FOR`], then sleeps, longer and longer
/// up to 1 ms.
struct Backoff {
    since: Instant,
}

impl Backoff {
    fn new() -> Self {
        Backoff {
            since: Instant::now(),
        }
    }

    fn reset(&mut self) {
        self.since = Instant::now();
    }

    /// How long to sleep now (zero: spin or yield, see [`Backoff::short`]).
    fn length(&self) -> Duration {
        let idle = self.since.elapsed();
        if idle < SPIN_FOR + YIELD_FOR {
            Duration::ZERO
        } else {
            (idle / 4).min(Duration::from_millis(1))
        }
    }

    /// The pause without sleeping: a spin at first, then a yield.
    fn short(&self) {
        if self.since.elapsed() < SPIN_FOR {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }

    fn pause(&self) {
        match self.length() {
            Duration::ZERO => self.short(),
            d => std::thread::sleep(d),
        }
    }
}

/// Runs one task line here and returns the answer line: what a serving
/// rank (and rank 0's compute thread) does with each item. A panic is
/// caught and answered with `P <message>`; before a `crash` fault aborts
/// the process, one line on stderr names the item and the rank.
fn answer(line: &str, me: &RankInfo) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() == 5 && words[4] == "crash" {
        eprintln!(
            "error: item {} ({}) crashed rank {} on {} (pid {}): an MPI job cannot replace a \
             dead rank, so mpirun ends the whole job (the process pool would fail only this item)",
            words[1], words[3], me.rank, me.host, me.pid
        );
        // Die at once, as a rank does when its node fails or the OOM killer
        // takes it. (`abort` would do too, but Open MPI's SIGABRT handler
        // then prints a backtrace of frames without names.)
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    let mut out = Vec::new();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        worker::serve(line.as_bytes(), &mut out)
    })) {
        Ok(Ok(())) => String::from_utf8_lossy(&out).trim().to_string(),
        Ok(Err(e)) => format!("E {} {e}", words.get(1).unwrap_or(&"?")),
        Err(p) => format!("P {}", panic_message(p.as_ref()).replace('\n', " ")),
    }
}

/// Rank 0's own compute thread: task lines in, answer lines out.
struct LocalWorker {
    tasks: Option<Sender<String>>,
    answers: Receiver<String>,
    thread: Option<JoinHandle<()>>,
}

impl LocalWorker {
    fn start(me: RankInfo) -> Self {
        let (task_tx, task_rx) = mpsc::channel::<String>();
        let (ans_tx, ans_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("rank0-compute".into())
            .spawn(move || {
                for line in task_rx {
                    if ans_tx.send(answer(&line, &me)).is_err() {
                        return;
                    }
                }
            })
            .ok();
        LocalWorker {
            tasks: thread.as_ref().map(|_| task_tx),
            answers: ans_rx,
            thread,
        }
    }

    /// True when the thread could be started.
    fn available(&self) -> bool {
        self.tasks.is_some()
    }

    fn send(&self, line: String) {
        if let Some(tx) = &self.tasks {
            // The thread ends only when `tasks` is dropped (or it panics
            // outside `catch_unwind`, which cannot happen): ignore.
            let _ = tx.send(line);
        }
    }

    fn try_recv(&self) -> Option<String> {
        self.answers.try_recv().ok()
    }

    /// Pauses the dealer as `backoff` says, waking at once if the thread
    /// answers meanwhile (so rank 0's own items pay no polling delay).
    fn wait(&self, backoff: &Backoff) -> Option<String> {
        match backoff.length() {
            Duration::ZERO => {
                backoff.short();
                self.try_recv()
            }
            pause => self.wait_at_most(pause),
        }
    }

    /// Waits up to `pause` for the thread's answer.
    fn wait_at_most(&self, pause: Duration) -> Option<String> {
        self.answers.recv_timeout(pause).ok()
    }

    /// Closes the thread's input and joins it (call only when it is idle;
    /// a thread stuck in a `hang` fault is left to `MPI_Abort`).
    fn stop(mut self) {
        self.tasks = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Rank 0's record of the items: one slot per item, filled as answers
/// arrive.
struct Collector<'a> {
    tasks: &'a [Task],
    t0: Instant,
    results: Vec<Option<ItemReport>>,
    done: usize,
    on_done: &'a mut dyn FnMut(&ItemReport, &RankInfo),
}

impl Collector<'_> {
    /// Marks the item of rank `r` (in state `peer`) done with the answer
    /// `line`.
    fn complete(
        &mut self,
        r: usize,
        peer: Peer,
        line: &str,
        ranks: &[Option<RankInfo>],
    ) -> Result<(), ClusterError> {
        let Peer::Busy { index, started } = peer else {
            return Err(ClusterError::Protocol {
                rank: r,
                message: format!("answered {line:?} without being given an item"),
            });
        };
        let info = ranks[r].clone().unwrap_or_else(|| RankInfo {
            rank: r,
            host: "?".into(),
            pid: 0,
        });
        let (outcome, compute) = match worker::parse_answer(line) {
            Ok(Answer::Result {
                id,
                compute_ns,
                factorization,
                ..
            }) if id == index => (Ok(factorization), Duration::from_nanos(compute_ns)),
            Ok(Answer::Result { id, .. }) => (
                Err(format!("rank {r} answered item {id}, not item {index}")),
                Duration::ZERO,
            ),
            Ok(Answer::Error { message, .. }) => (Err(message), Duration::ZERO),
            Ok(Answer::Panic(msg)) => (Err(format!("panicked on rank {r}: {msg}")), Duration::ZERO),
            Err(e) => (Err(e), Duration::ZERO),
        };
        let item = ItemReport {
            index,
            number: self.tasks[index].number,
            outcome,
            worker: r,
            pid: info.pid,
            start: started.saturating_duration_since(self.t0),
            end: self.t0.elapsed(),
            compute,
        };
        (self.on_done)(&item, &info);
        if self.results[index].replace(item).is_none() {
            self.done += 1;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Peer {
    Starting,
    Idle,
    Busy { index: usize, started: Instant },
    Stopped,
}

/// Rank 0's side: deals `tasks` to every rank of `world` (itself included,
/// on a second thread, when `rank0_computes`) one at a time, calls
/// `on_done` as each item finishes, tells every rank to stop, and returns
/// the items in input order. With one rank, `rank0_computes` must be true
/// (the program refuses `--dealer-only -n 1`), or no item would be done
/// and `deal` would wait for a rank that does not exist until an item's
/// deadline.
///
/// With no tasks it only tells every rank to stop (what the program does
/// after refusing bad input, so that no rank waits in vain).
///
/// # Errors
/// A rank that does not report for work within [`STARTUP_LIMIT`], or does
/// not answer an item within `opts.timeout` (default
/// [`default_item_limit`]), or sends a message outside the protocol. The
/// other ranks are still waiting then: the caller must call
/// `world.abort(…)`.
pub fn deal(
    world: &SimpleCommunicator,
    tasks: &[Task],
    opts: &RunOptions,
    rank0_computes: bool,
    on_done: &mut dyn FnMut(&ItemReport, &RankInfo),
) -> Result<ClusterRun, ClusterError> {
    let size = world.size().max(1) as usize;
    let t0 = Instant::now();
    let me = RankInfo::here(0);
    let mut ranks: Vec<Option<RankInfo>> = vec![None; size];
    ranks[0] = Some(me.clone());
    let mut peers: Vec<Peer> = (0..size)
        .map(|r| if r == 0 { Peer::Idle } else { Peer::Starting })
        .collect();
    let mut queue: VecDeque<usize> = opts.order.arrange(tasks).into();
    let mut col = Collector {
        tasks,
        t0,
        results: vec![None; tasks.len()],
        done: 0,
        on_done,
    };
    let mut startup = Duration::ZERO;
    let local = LocalWorker::start(me);
    let limit = |index: usize| {
        opts.timeout
            .unwrap_or_else(|| default_item_limit(&tasks[index], opts.algorithm))
    };
    let mut backoff = Backoff::new();
    let mut pending = None;
    loop {
        let mut progressed = false;
        // Rank 0's own thread.
        if let Some(line) = pending.take().or_else(|| local.try_recv()) {
            col.complete(0, peers[0], &line, &ranks)?;
            peers[0] = Peer::Idle;
            progressed = true;
        }
        if rank0_computes && matches!(peers[0], Peer::Idle) && local.available() {
            if let Some(index) = queue.pop_front() {
                local.send(worker::task_line(index, opts.algorithm, &tasks[index]));
                peers[0] = Peer::Busy {
                    index,
                    started: Instant::now(),
                };
            }
        }
        // Every message that has arrived from the other ranks.
        while let Some(probed) = world.any_process().immediate_matched_probe() {
            let (bytes, status) = probed.matched_receive_vec::<u8>();
            let r = status.source_rank().max(0) as usize;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            match (status.tag(), peers.get(r).copied()) {
                (TAG_READY, Some(Peer::Starting)) => {
                    let (pid, host) = text.split_once(' ').unwrap_or(("0", "?"));
                    ranks[r] = Some(RankInfo {
                        rank: r,
                        host: host.to_string(),
                        pid: pid.parse().unwrap_or(0),
                    });
                    startup = t0.elapsed();
                }
                (TAG_RESULT, Some(peer @ Peer::Busy { .. })) => {
                    col.complete(r, peer, &text, &ranks)?;
                }
                (tag, _) => {
                    return Err(ClusterError::Protocol {
                        rank: r,
                        message: format!("unexpected message (tag {tag}): {text:?}"),
                    });
                }
            }
            let to = world.process_at_rank(r as mpi::Rank);
            if let Some(index) = queue.pop_front() {
                let line = worker::task_line(index, opts.algorithm, &tasks[index]);
                to.send_with_tag(line.as_bytes(), TAG_TASK);
                peers[r] = Peer::Busy {
                    index,
                    started: Instant::now(),
                };
            } else {
                to.send_with_tag(&b"stop"[..], TAG_STOP);
                peers[r] = Peer::Stopped;
            }
            progressed = true;
        }
        if col.done == tasks.len() && peers[1..].iter().all(|p| matches!(p, Peer::Stopped)) {
            break;
        }
        // Every wait has a bound.
        let now = Instant::now();
        for (r, peer) in peers.iter().enumerate() {
            match *peer {
                Peer::Busy { index, started } if now > started + limit(index) => {
                    return Err(ClusterError::NoAnswer {
                        rank: r,
                        host: ranks[r].as_ref().map_or("?".into(), |i| i.host.clone()),
                        index,
                        number: tasks[index].number,
                        waited: now - started,
                    });
                }
                Peer::Starting if now > t0 + STARTUP_LIMIT => {
                    return Err(ClusterError::NotStarted {
                        rank: r,
                        waited: now - t0,
                    });
                }
                _ => {}
            }
        }
        if progressed {
            backoff.reset();
        } else {
            // Spin only while another rank may answer; rank 0's own thread
            // wakes the dealer through its channel.
            let remote = peers[1..]
                .iter()
                .any(|p| matches!(p, Peer::Busy { .. } | Peer::Starting));
            pending = if remote {
                local.wait(&backoff)
            } else {
                local.wait_at_most(Duration::from_millis(1))
            };
        }
    }
    let wall = t0.elapsed();
    local.stop();
    let ranks: Vec<RankInfo> = ranks
        .into_iter()
        .enumerate()
        .map(|(r, i)| {
            i.unwrap_or(RankInfo {
                rank: r,
                host: "?".into(),
                pid: 0,
            })
        })
        .collect();
    Ok(ClusterRun {
        summary: RunSummary {
            kind: "mpi",
            algorithm: opts.algorithm,
            workers: size,
            items: col
                .results
                .into_iter()
                .map(|r| r.expect("every item is done"))
                .collect(),
            wall,
            startup,
            spawned: size,
        },
        ranks,
    })
}

/// A serving rank's side (every rank but 0): reports for work, then
/// factors each item rank 0 sends until rank 0 says stop. Returns how many
/// items it factored.
///
/// # Errors
/// When rank 0 does not answer within `silence_limit` (normally
/// [`DEALER_SILENCE_LIMIT`]) or sends a message outside the protocol; the
/// caller must then call `world.abort(…)`.
pub fn serve(world: &SimpleCommunicator, silence_limit: Duration) -> Result<usize, ClusterError> {
    let me = RankInfo::here(world.rank().max(0) as usize);
    let root = world.process_at_rank(0);
    root.send_with_tag(format!("{} {}", me.pid, me.host).as_bytes(), TAG_READY);
    let mut served = 0;
    loop {
        let waiting = Instant::now();
        let backoff = Backoff::new();
        let probed = loop {
            if let Some(p) = root.immediate_matched_probe() {
                break p;
            }
            if waiting.elapsed() > silence_limit {
                return Err(ClusterError::DealerSilent {
                    rank: me.rank,
                    host: me.host.clone(),
                    waited: waiting.elapsed(),
                });
            }
            backoff.pause();
        };
        let (bytes, status) = probed.matched_receive_vec::<u8>();
        let text = String::from_utf8_lossy(&bytes);
        match status.tag() {
            TAG_TASK => {
                let reply = answer(&text, &me);
                root.send_with_tag(reply.as_bytes(), TAG_RESULT);
                served += 1;
            }
            TAG_STOP => return Ok(served),
            tag => {
                return Err(ClusterError::Protocol {
                    rank: me.rank,
                    message: format!("unexpected message from rank 0 (tag {tag}): {text:?}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> RankInfo {
        RankInfo {
            rank: 1,
            host: "node".into(),
            pid: 7,
        }
    }

    #[test]
    fn an_answer_is_the_process_pools_answer_line() {
        let task = Task {
            number: 25_301_356,
            fault: None,
        };
        let line = worker::task_line(4, Algorithm::Naive, &task);
        match worker::parse_answer(&answer(&line, &me())).unwrap() {
            Answer::Result {
                id, factorization, ..
            } => {
                assert_eq!(id, 4);
                assert_eq!(factorization.factors, vec![2, 2, 6_325_339]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_panic_is_caught_and_answered() {
        let task = Task {
            number: 35,
            fault: Some(crate::Fault::Panic),
        };
        let line = worker::task_line(0, Algorithm::Fast, &task);
        let a = answer(&line, &me());
        assert_eq!(
            worker::parse_answer(&a).unwrap(),
            Answer::Panic("injected panic while factoring 35".into())
        );
    }

    #[test]
    fn the_default_deadline_grows_with_the_naive_cost() {
        let quick = Task::list(&[12])[0];
        let slow = Task::list(&[crate::input::BOOK_INPUTS[0]])[0];
        let q = default_item_limit(&quick, Algorithm::Naive).as_secs_f64();
        assert!((60.0..60.001).contains(&q), "{q}");
        let s = default_item_limit(&slow, Algorithm::Naive).as_secs_f64();
        assert!((60.0 + 148.0..60.0 + 150.0).contains(&s), "{s}");
        assert_eq!(
            default_item_limit(&slow, Algorithm::Fast),
            Duration::from_secs(60)
        );
        let e = ClusterError::NoAnswer {
            rank: 2,
            host: "node".into(),
            index: 5,
            number: 77,
            waited: Duration::from_millis(1500),
        };
        assert_eq!(
            e.to_string(),
            "rank 2 on node did not answer item 5 (77) within 1.50s"
        );
    }
}
