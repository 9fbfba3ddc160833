//! Lesson `async` (book 1.3): lazy futures, spawned tasks, the spinner that
//! freezes when the runtime blocks, and the downloaders compared — first on
//! the five files, then at 1,000 and 10,000 requests against a `book-server`
//! in a separate process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use super::Lesson;
use crate::Ctx;
use crate::ctx::{Run, errors_text, exit_text};
use crate::report::{self, LessonReport};
use crate::table::{Table, ratio, secs};

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "async",
    section: "1.3",
    title: "futures, tasks, the blocked spinner, async downloads at scale",
    crates: &["downloader-async"],
    build_args: &[
        "-p",
        "downloader-async",
        "-p",
        "downloader-threads",
        "-p",
        "downloader-seq",
        "-p",
        "common",
        "--features",
        "common/server",
        "--bins",
    ],
    programs: &[
        "async-01-timing",
        "async-02-sleepers",
        "async-03-spinner",
        "async-04-download",
    ],
    run,
};

/// Latency of the five-file comparison (as in the `seq` lesson).
const FILES_DELAY_MS: u64 = 150;
/// Latency of the scale runs (no jitter: the ideal is exact).
const SCALE_DELAY_MS: u64 = 150;
/// Requests in flight for async, and workers of the thread pool: the same
/// concurrency, so both have the same ideal time.
const IN_FLIGHT: usize = 1000;

fn run(ctx: &Ctx) -> Result<LessonReport> {
    let mut rep = LessonReport::new(&LESSON);
    phenomena(ctx, &mut rep)?;
    five_files(ctx, &mut rep)?;
    scale(ctx, &mut rep)?;
    Ok(rep)
}

fn messages(run: &Run) -> Vec<String> {
    run.record
        .stages
        .iter()
        .map(|s| s.message.clone())
        .collect()
}

fn index_of(lines: &[String], text: &str) -> Option<usize> {
    lines.iter().position(|l| l == text)
}

/// Timing, the sleepers and the spinner: orders and counts.
fn phenomena(ctx: &Ctx, rep: &mut LessonReport) -> Result<()> {
    let timing = ctx.run("async-01-timing", &["--seconds", "0.3", "-q"])?;
    let gap = timing.record.metric_f64("gap_s").unwrap_or(0.0);
    rep.check(
        timing.record.ok && timing.code == Some(0) && gap >= 0.3,
        "async-01: the two timestamps are (at least) the sleep apart",
        format!("{gap:.3} s apart for a 0.3 s sleep"),
    );

    let lazy = ctx.run(
        "async-02-sleepers",
        &["--mode", "2", "--max-delay", "0.3", "-q"],
    )?;
    let lines = messages(&lazy);
    let first = lines.first().cloned().unwrap_or_default();
    let sequential = matches!(
        (index_of(&lines, "sleeper 1 ends"), index_of(&lines, "sleeper 2 starts")),
        (Some(a), Some(b)) if a < b
    );
    rep.check(
        lazy.record.ok && lazy.code == Some(0) && first == "futures created" && sequential,
        "async-02 mode 2: futures are lazy (\"created\" first) and awaited one by one they run one after another",
        format!("first line {first:?}; sleeper 2 starts after sleeper 1 ends: {sequential}"),
    );

    let gathered = ctx.run(
        "async-02-sleepers",
        &["--mode", "4", "--count", "5", "--max-delay", "0.3", "-q"],
    )?;
    let lines = messages(&gathered);
    let slept: Vec<f64> = gathered
        .record
        .metrics
        .get("slept_s")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
        .unwrap_or_default();
    let ended: Vec<usize> = lines
        .iter()
        .filter_map(|l| {
            l.strip_prefix("sleeper ")?
                .strip_suffix(" ends")?
                .parse()
                .ok()
        })
        .collect();
    // Timers fire on millisecond ticks: allow two nearly equal delays to
    // end in either order.
    let in_delay_order = ended.len() == slept.len()
        && ended.windows(2).all(|w| {
            slept
                .get(w[0])
                .zip(slept.get(w[1]))
                .is_some_and(|(a, b)| *a <= *b + 0.002)
        });
    rep.check(
        gathered.record.ok && gathered.code == Some(0) && slept.len() == 5 && in_delay_order,
        "async-02 mode 4: the sleepers end in the order of their delays; join_all returns results in input order",
        format!("ended {ended:?}; results (input order) {slept:.3?}"),
    );

    let mut t = Table::new(
        "async-03: spinner ticks while main works 0.6 s (a tick every 20 ms)",
        &["mode", "main's work", "ticks during work", "free runtime ≈"],
    );
    let mut ticks = [0u64; 3];
    for (i, what) in [
        "tokio::time::sleep (async)",
        "std::thread::sleep on the runtime thread",
        "std::thread::sleep in spawn_blocking",
    ]
    .iter()
    .enumerate()
    {
        let mode = (i + 1).to_string();
        let r = ctx.run(
            "async-03-spinner",
            &[
                "--mode",
                &mode,
                "--work",
                "0.6",
                "--interval-ms",
                "20",
                "-q",
            ],
        )?;
        // A failed run counts as "no answer" (u64::MAX), never as 0 ticks.
        ticks[i] = if r.record.ok && r.code == Some(0) {
            r.record.metric_u64("ticks_during_work").unwrap_or(u64::MAX)
        } else {
            u64::MAX
        };
        let expected = r.record.metric_u64("expected_ticks").unwrap_or(0);
        t.row(vec![
            mode,
            what.to_string(),
            ticks[i].to_string(),
            expected.to_string(),
        ]);
    }
    rep.tables.push(t);
    rep.check(
        ticks[1] == 0,
        "async-03 mode 2: blocking the runtime's only thread freezes the spinner (0 ticks)",
        format!("{} ticks", ticks[1]),
    );
    rep.check(
        ticks[0] >= 5 && ticks[0] != u64::MAX && ticks[2] >= 5 && ticks[2] != u64::MAX,
        "async-03 modes 1 and 3: with an async sleep or spawn_blocking the spinner turns",
        format!("mode 1: {} ticks, mode 3: {} ticks", ticks[0], ticks[2]),
    );
    Ok(())
}

/// Sequential, threads, async shared client, async client per request: the
/// same five files, the same latency.
fn five_files(ctx: &Ctx, rep: &mut LessonReport) -> Result<()> {
    let dir = common::data::downloads_dir()?;
    let on_disk = common::data::downloads_total_bytes(&dir).context("reading data/downloads")?;
    let delay = FILES_DELAY_MS.to_string();
    let base = ["--delay-ms", delay.as_str(), "--jitter-ms", "50", "-q"];
    let latency_s = FILES_DELAY_MS as f64 / 1000.0;
    let mut t = Table::new(
        &format!("five files, latency {FILES_DELAY_MS} ± 50 ms"),
        &[
            "downloader",
            "program",
            "total bytes",
            "on disk",
            "wall s",
            "÷ latency",
            "peak RSS",
        ],
    );
    let runs: [(&str, &str, &[&str]); 4] = [
        ("sequential", "seq-01-download", &[]),
        ("thread per file", "threads-03-download", &[]),
        ("async, shared client", "async-04-download", &[]),
        (
            "async, client per request",
            "async-04-download",
            &["--client-per-request"],
        ),
    ];
    let mut walls = Vec::new();
    for (label, program, extra) in runs {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        match try_run(ctx, program, &args) {
            Ok(r) => {
                let rec = &r.record;
                let total = rec.metric_u64("total_bytes").unwrap_or(0);
                let wall = rec.metric_f64("download_s").unwrap_or(f64::NAN);
                t.row(vec![
                    label.into(),
                    program.into(),
                    total.to_string(),
                    on_disk.to_string(),
                    secs(wall),
                    ratio(wall / latency_s),
                    rss(rec.peak_rss_bytes),
                ]);
                rep.check(
                    rec.ok && r.code == Some(0) && total == on_disk,
                    format!("{label}: the total equals the bytes on disk"),
                    format!(
                        "{}: printed {total}, on disk {on_disk}, {}",
                        exit_text(r.code),
                        errors_text(&rec.errors)
                    ),
                );
                walls.push((label, wall));
            }
            Err(e) => {
                t.row(vec![
                    label.into(),
                    program.into(),
                    format!("missing: {e:#}"),
                ]);
                if program.starts_with("async-") {
                    // This lesson's own program: not running is a failure.
                    rep.check(
                        false,
                        format!("{label}: the total equals the bytes on disk"),
                        format!("{program} did not run: {e:#}"),
                    );
                } else {
                    // Another lesson's program, built only with that lesson.
                    rep.notes
                        .push(format!("{label} ({program}) did not run: {e:#}"));
                }
            }
        }
    }
    rep.tables.push(t);
    let wall_of = |l: &str| walls.iter().find(|w| w.0 == l).map(|w| w.1);
    // The async run failing fails the check; only the sequential baseline
    // may be absent (built with `--lesson seq`), and the notes say so.
    let (seq, asy) = (wall_of("sequential"), wall_of("async, shared client"));
    if seq.is_some() || asy.is_none() {
        rep.check(
            matches!((seq, asy), (Some(s), Some(a)) if a < s / 2.0),
            "async downloads overlap: far faster than one after another",
            match (seq, asy) {
                (Some(s), Some(a)) => format!("async {a:.3} s vs sequential {s:.3} s"),
                _ => "the async run did not finish (see the notes)".into(),
            },
        );
    }
    rep.notes.push(
        "async (like threads) takes about the slowest request; the sequential one, the sum of all five"
            .into(),
    );
    Ok(())
}

/// Runs a program, failing early with a clear message when it is not built.
fn try_run(ctx: &Ctx, program: &str, args: &[&str]) -> Result<Run> {
    ctx.bin(program)?;
    ctx.run(program, args)
}

fn rss(bytes: Option<u64>) -> String {
    bytes.map(common::mem::human_bytes).unwrap_or_default()
}

/// A `book-server` in its own process, killed when dropped.
struct ServerProcess {
    child: Child,
    base_url: String,
}

impl ServerProcess {
    fn start(ctx: &Ctx, delay_ms: u64) -> Result<ServerProcess> {
        let dir = common::data::downloads_dir()?;
        let delay = delay_ms.to_string();
        let dir_arg = dir.display().to_string();
        let args = [
            "--port",
            "0",
            "--delay-ms",
            &delay,
            "--jitter-ms",
            "0",
            "--dir",
            &dir_arg,
        ];
        let mut child = Command::new(ctx.bin("book-server")?)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting book-server")?;
        let out = child.stdout.take().context("book-server stdout")?;
        let mut first = String::new();
        let read = BufReader::new(out).read_line(&mut first);
        let base_url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(|w| w.trim_end_matches('/').to_string());
        match (read, base_url) {
            (Ok(_), Some(base_url)) => Ok(ServerProcess { child, base_url }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("book-server did not say where it serves: {first:?}")
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one scale run measured.
#[derive(Clone, Copy)]
struct Measured {
    wall: f64,
    over_ideal: f64,
    peak_rss: Option<u64>,
    succeeded: u64,
}

/// Notes comparing the scale runs at the largest size that ran.
fn compare(rep: &mut LessonReport, results: &[(&str, usize, Measured)]) {
    let Some(n) = results.iter().map(|r| r.1).max() else {
        return;
    };
    let get = |label: &str| {
        results
            .iter()
            .find(|r| r.0 == label && r.1 == n)
            .map(|r| r.2)
    };
    let mib = |m: Measured| m.peak_rss.map_or(f64::NAN, |b| b as f64 / (1 << 20) as f64);
    let Some(shared) = get("async, shared client") else {
        return;
    };
    if let Some(per) = get("async, client per request") {
        rep.notes.push(format!(
            "at {n} requests a client per request (the book's per-call session) takes {:.2} × \
             the shared client's time ({:.3} s vs {:.3} s): a new client, pool and TCP \
             connection for every URL, where the shared one reuses its connections",
            per.wall / shared.wall,
            per.wall,
            shared.wall
        ));
    }
    if let Some(one) = get("async, one thread") {
        rep.notes.push(format!(
            "at {n} requests, async on ONE thread (a current-thread runtime) took {:.3} s \
             ({:.2} × the two-worker runtime): waiting for I/O needs no threads",
            one.wall,
            one.wall / shared.wall
        ));
    }
    for other in ["thread per request", "thread pool"] {
        if let Some(m) = get(other) {
            rep.notes.push(format!(
                "at {n} requests, {other}: {:.3} s and {:.0} MiB; async: {:.3} s and {:.0} MiB \
                 ({:.2} × the time, {:.2} × the memory of {other})",
                m.wall,
                mib(m),
                shared.wall,
                mib(shared),
                shared.wall / m.wall,
                mib(shared) / mib(m)
            ));
        }
    }
}

/// 1,000 and 10,000 requests: thread per request, thread pool, async.
fn scale(ctx: &Ctx, rep: &mut LessonReport) -> Result<()> {
    let server = ServerProcess::start(ctx, SCALE_DELAY_MS)?;
    let latency_s = SCALE_DELAY_MS as f64 / 1000.0;
    // 10,000 requests take a few seconds in release; in a debug build
    // (tests) only with --full.
    let sizes: &[usize] = if ctx.debug && !ctx.full {
        &[1000]
    } else {
        &[1000, 10_000]
    };
    let mut t = Table::new(
        &format!("scale: requests against a book-server process, latency {SCALE_DELAY_MS} ms"),
        &[
            "downloader",
            "requests",
            "concurrency",
            "wall s",
            "requests/s",
            "ideal s",
            "÷ ideal",
            "peak RSS",
            "errors",
        ],
    );
    let in_flight = IN_FLIGHT.to_string();
    let mut bars = Vec::new();
    let mut async_10k = None;
    let mut bounded_10k = None;
    let mut results: Vec<(&str, usize, Measured)> = Vec::new();
    for &n in sizes {
        let repeat = (n / 5).to_string();
        let common_args = [
            "--base-url",
            server.base_url.as_str(),
            "--repeat",
            repeat.as_str(),
            "-q",
        ];
        let mut runs: Vec<(&str, &str, Vec<&str>, usize)> = vec![
            ("thread per request", "threads-03-download", vec![], n),
            (
                "thread pool",
                "threads-06-pool",
                vec!["--workers", &in_flight],
                IN_FLIGHT.min(n),
            ),
            (
                "async, shared client",
                "async-04-download",
                vec!["--max-in-flight", &in_flight],
                IN_FLIGHT.min(n),
            ),
        ];
        // Every task on one thread, as asyncio runs them.
        runs.push((
            "async, one thread",
            "async-04-download",
            vec!["--max-in-flight", &in_flight, "--one-thread"],
            IN_FLIGHT.min(n),
        ));
        // The same requests through a lean hyper client whose connections
        // each read through a fixed 16 KB buffer: memory follows the
        // connection buffers.
        runs.push((
            "async, bounded buffers",
            "async-04-download",
            vec!["--max-in-flight", &in_flight, "--small-buffers"],
            IN_FLIGHT.min(n),
        ));
        // The book's per-call session: a client, a pool and a connection per
        // request (the shared client reuses ~1,000 connections).
        runs.push((
            "async, client per request",
            "async-04-download",
            vec!["--max-in-flight", &in_flight, "--client-per-request"],
            IN_FLIGHT.min(n),
        ));
        for (label, program, extra, concurrency) in runs {
            let mut args = common_args.to_vec();
            args.extend(extra);
            let ideal = n as f64 * latency_s / concurrency as f64;
            let measured = match try_run(ctx, program, &args) {
                Ok(r) => {
                    let rec = &r.record;
                    let wall = rec.metric_f64("download_s").unwrap_or(f64::NAN);
                    let succeeded = rec.metric_u64("succeeded").unwrap_or(0);
                    t.row(vec![
                        label.into(),
                        n.to_string(),
                        concurrency.to_string(),
                        secs(wall),
                        format!("{:.0}", n as f64 / wall),
                        secs(ideal),
                        ratio(wall / ideal),
                        rss(rec.peak_rss_bytes),
                        (n as u64 - succeeded).to_string(),
                    ]);
                    if succeeded != n as u64 {
                        rep.notes.push(format!(
                            "{label} at {n}: {} of {n} failed, first: {}",
                            n as u64 - succeeded,
                            rec.errors.first().map_or("?", String::as_str)
                        ));
                    }
                    Some(Measured {
                        wall,
                        over_ideal: wall / ideal,
                        peak_rss: rec.peak_rss_bytes,
                        succeeded,
                    })
                }
                Err(e) => {
                    t.row(vec![
                        label.into(),
                        n.to_string(),
                        concurrency.to_string(),
                        format!("missing: {e:#}"),
                    ]);
                    rep.notes
                        .push(format!("{label} at {n} ({program}) did not run: {e:#}"));
                    None
                }
            };
            if let Some(m) = measured {
                bars.push((format!("{label} ({n})"), m.wall));
                results.push((label, n, m));
            }
            let shared = label.contains("shared");
            if program == "async-04-download" && (shared || label.contains("bounded")) {
                rep.check(
                    measured.as_ref().is_some_and(|m| m.succeeded == n as u64),
                    format!("{label}, {n} requests: every request succeeded"),
                    measured.as_ref().map_or("did not run".into(), |m| {
                        format!("{} of {n} in {:.3} s", m.succeeded, m.wall)
                    }),
                );
                if n == 10_000 {
                    match shared {
                        true => async_10k = measured,
                        false => bounded_10k = measured,
                    }
                }
            }
        }
    }
    drop(server);
    rep.tables.push(t);
    compare(rep, &results);
    if let Some(m) = async_10k {
        // Targets, reported rather than checked: timing on a shared machine
        // is noisy, and memory depends on the allocator (see the note).
        let ideal = 10_000.0 * latency_s / IN_FLIGHT as f64;
        let mib = |m: Measured| m.peak_rss.map_or(f64::NAN, |b| b as f64 / (1 << 20) as f64);
        let verdict = |m: Measured| {
            if m.over_ideal <= 1.5 && mib(m) < 100.0 {
                "met"
            } else {
                "MISSED"
            }
        };
        let line = |what: &str, m: Measured| {
            format!(
                "{what}: {} ({:.2} × ideal, {:.3} s; {:.1} MiB)",
                verdict(m),
                m.over_ideal,
                m.wall,
                mib(m)
            )
        };
        let bounded = bounded_10k.map_or_else(
            || "the bounded-buffer client did not run".to_string(),
            |b| line("with bounded read buffers (--small-buffers)", b),
        );
        rep.notes.push(format!(
            "target: async at 10,000 requests, 1,000 in flight, within 1.5 × the ideal {ideal:.1} s \
             and peak memory under 100 MB — {bounded}; {}",
            line("with the default reqwest client", m)
        ));
        rep.notes.push(
            "memory follows the connections in flight, not the tasks: each of the 1,000 \
             reused connections keeps a read buffer that hyper (under reqwest, which does not \
             let you cap it) grows up to about 400 KB while it carries 23–158 KB bodies (with \
             4 KB files the same run peaks at about 44 MB), and glibc keeps freed large buffers \
             (MALLOC_MMAP_THRESHOLD_=65536 brings it to about 100 MB; fewer in flight, less \
             memory; a client per request, whose connections start afresh, peaks lower but \
             takes longer). The same requests through hyper's client with a fixed 16 KB read \
             buffer per connection (--small-buffers) take about the same time in far less \
             memory (the row \"async, bounded buffers\"). The thread pool at the same concurrency uses about as much as reqwest; a \
             thread per request, several times more"
                .into(),
        );
    } else if sizes.contains(&10_000) {
        rep.notes
            .push("async at 10,000 requests did not run".into());
    } else {
        rep.notes.push(
            "10,000 requests are skipped in a debug build; run without --debug (or with --full)"
                .into(),
        );
    }
    rep.notes.push(format!(
        "ideal = requests × latency ÷ concurrency; the thread pool has {IN_FLIGHT} workers and async {IN_FLIGHT} requests in flight, so both share one ideal; a thread per request has no limit"
    ));
    rep.notes.push(
        "DNS: reqwest runs getaddrinfo on tokio's blocking pool, never on a runtime thread (the `hickory-dns` feature of downloader-async makes it fully async); these runs use 127.0.0.1, no lookup at all"
            .into(),
    );
    let chart = ctx.report_path("async-scale.svg");
    report::bar_chart(
        &chart,
        "async lesson: wall time per downloader and size",
        "seconds",
        &bars,
    )?;
    rep.images
        .push((chart, "wall time at 1,000 and 10,000 requests".into()));
    Ok(())
}
