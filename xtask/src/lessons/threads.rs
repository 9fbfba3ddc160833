//! Lesson `threads` (book 1.2): threads sharing a list, one thread per file
//! against the sequential baseline and a pool, the lost-update race, the lock
//! and the atomic that fix it, and what one add costs.

use anyhow::{Context, Result};
use common::Record;

use super::Lesson;
use crate::Ctx;
use crate::ctx::{Run, errors_text, exit_text, or_missing};
use crate::report::{self, LessonReport};
use crate::table::{Table, ratio, secs};

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "threads",
    section: "1.2",
    title: "threads, the lost-update race, the lock, a pool",
    crates: &["downloader-threads"],
    // seq-01-download too: the baseline the threads are compared with.
    build_args: &["-p", "downloader-threads", "-p", "downloader-seq", "--bins"],
    programs: &[
        "threads-01-waiters",
        "threads-02-waiter-type",
        "threads-03-download",
        "threads-04-lost-update",
        "threads-05-locked",
        "threads-06-pool",
    ],
    run,
};

/// The server's latency L for the comparison, and its jitter.
const DELAY_MS: u64 = 150;
const JITTER_MS: u64 = 50;
/// Runs of the race experiment.
const RACE_RUNS: u64 = 5;

fn u64s(r: &Record, name: &str) -> Vec<u64> {
    r.metrics
        .get(name)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default()
}

fn rss(r: &Record) -> String {
    r.peak_rss_bytes
        .map(common::mem::human_bytes)
        .unwrap_or_default()
}

fn succeeded(run: &Run) -> bool {
    run.record.ok && run.code == Some(0)
}

/// Name of the file in a `downloaded http://…/NAME (N bytes)` stage line.
fn file_of(message: &str) -> String {
    message
        .split('/')
        .next_back()
        .unwrap_or("")
        .split(' ')
        .next()
        .unwrap_or("")
        .to_string()
}

/// (file, start, end) of each request, from the stage lines: sequential
/// requests start when the previous line was logged; the threads all start
/// at the "fetching" line.
fn request_spans(r: &Record, tag: &str, concurrent: bool) -> Vec<(String, f64, f64)> {
    let mut spans = Vec::new();
    let mut prev = 0.0;
    let mut start_all = None;
    for s in &r.stages {
        if s.message.starts_with("fetching") {
            start_all = Some(s.t_s);
            prev = s.t_s;
        } else if s.message.starts_with("downloaded") {
            let start = if concurrent {
                start_all.unwrap_or(0.0)
            } else {
                prev
            };
            spans.push((format!("{tag} {}", file_of(&s.message)), start, s.t_s));
            prev = s.t_s;
        }
    }
    spans
}

/// `server` + `extra` + `--quiet`.
fn args<'a>(server: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = server.to_vec();
    v.extend_from_slice(extra);
    v.push("--quiet");
    v
}

fn run(ctx: &Ctx) -> Result<LessonReport> {
    let mut rep = LessonReport::new(&LESSON);
    let dir = common::data::downloads_dir()?;
    let on_disk = common::data::downloads_total_bytes(&dir).context("reading data/downloads")?;
    let latency_s = DELAY_MS as f64 / 1000.0;
    let delay = DELAY_MS.to_string();
    let jitter = JITTER_MS.to_string();
    let server = ["--delay-ms", delay.as_str(), "--jitter-ms", jitter.as_str()];

    // 1. Threads sharing a list: joined, and not.
    let joined = ctx.run("threads-01-waiters", &["--seed", "1", "--quiet"])?;
    let unjoined = ctx.run(
        "threads-01-waiters",
        &["--seed", "1", "--no-join", "--quiet"],
    )?;
    let typed = ctx.run("threads-02-waiter-type", &["--seed", "2", "--quiet"])?;
    // `None` when the program crashed or did not say: never a pass.
    let seen = |r: &Run| r.record.metric_u64("seen").filter(|_| succeeded(r));
    rep.check(
        seen(&joined) == Some(5),
        "joined threads all appended their wait to the shared list",
        format!("list: {:?}", u64s(&joined.record, "waits_seen_ms")),
    );
    rep.check(
        seen(&unjoined).is_some_and(|n| n < 5),
        "without the joins main prints the list before the threads wrote to it",
        format!(
            "waits {:?} ms, list seen {:?}",
            u64s(&unjoined.record, "waits_started_ms"),
            u64s(&unjoined.record, "waits_seen_ms")
        ),
    );
    rep.check(
        seen(&typed) == Some(5),
        "the Waiter type: started, run, joined, every wait recorded",
        format!("list: {:?}", u64s(&typed.record, "waits_seen_ms")),
    );

    // 2. The same five files at the same latency: sequential, threads, pool.
    let seq = ctx.run("seq-01-download", &args(&server, &[]))?;
    let thr = ctx.run("threads-03-download", &args(&server, &[]))?;
    let pool = ctx.run("threads-06-pool", &args(&server, &[]))?;
    let seq_s = seq.record.metric_f64("download_s").unwrap_or(f64::NAN);
    let mut t = Table::new(
        &format!("threads: five files, latency L = {DELAY_MS} ± {JITTER_MS} ms"),
        &[
            "program",
            "how",
            "total bytes",
            "on disk",
            "wall s",
            "÷ L",
            "÷ slowest request",
            "speedup vs seq",
            "peak RSS",
        ],
    );
    for (run, how) in [
        (&seq, "one after another".to_string()),
        (&thr, "one thread per file".to_string()),
        (
            &pool,
            format!(
                "pool of {} workers",
                pool.record.metric_u64("workers").unwrap_or(0)
            ),
        ),
    ] {
        let r = &run.record;
        let wall = r.metric_f64("download_s").unwrap_or(f64::NAN);
        let slowest = r.metric_f64("slowest_request_s").unwrap_or(f64::NAN);
        t.row(vec![
            r.program.clone(),
            how,
            r.metric_u64("total_bytes").unwrap_or(0).to_string(),
            on_disk.to_string(),
            secs(wall),
            ratio(wall / latency_s),
            ratio(wall / slowest),
            ratio(seq_s / wall),
            rss(r),
        ]);
        rep.check(
            succeeded(run) && r.metric_u64("total_bytes") == Some(on_disk),
            format!("{}: the total equals the bytes on disk", r.program),
            format!(
                "{}: printed {}, on disk {on_disk}, {}",
                exit_text(run.code),
                or_missing(r.metric_u64("total_bytes")),
                errors_text(&r.errors)
            ),
        );
    }
    rep.tables.push(t);
    let thr_s = thr.record.metric_f64("download_s").unwrap_or(f64::NAN);
    let thr_slowest = thr
        .record
        .metric_f64("slowest_request_s")
        .unwrap_or(f64::NAN);
    rep.check(
        succeeded(&thr) && thr_s <= 1.3 * thr_slowest,
        "one thread per file: wall time ≈ the slowest request, not the sum",
        format!(
            "{thr_s:.3} s = {:.2} × slowest request ({thr_slowest:.3} s) = {:.2} × L",
            thr_s / thr_slowest,
            thr_s / latency_s
        ),
    );
    rep.check(
        succeeded(&seq) && succeeded(&thr) && seq_s / thr_s >= 2.0,
        "one thread per file is several times faster than one after another",
        format!(
            "speedup {:.2}× ({seq_s:.3} s → {thr_s:.3} s)",
            seq_s / thr_s
        ),
    );
    rep.check(
        succeeded(&pool)
            && pool.record.metric_u64("requests") == Some(5)
            && pool.record.metrics.get("in_input_order") == Some(&serde_json::Value::Bool(true)),
        "the pool returns one result per file, in input order",
        format!(
            "{} results",
            pool.record.metric_u64("requests").unwrap_or(0)
        ),
    );
    let mut spans = request_spans(&seq.record, "seq", false);
    spans.extend(request_spans(&thr.record, "threads", true));
    let timeline = ctx.report_path("threads-timeline.svg");
    report::timeline_chart(
        &timeline,
        "threads: sequential staircase vs one thread per file",
        &spans,
    )?;
    rep.images.push((
        timeline,
        "each request, sequential (staircase) and threaded (side by side)".into(),
    ));

    // 3. The race, the lock, the atomic.
    let runs = RACE_RUNS.to_string();
    let racy10 = ctx.run("threads-04-lost-update", &args(&server, &["--runs", &runs]))?;
    let racy1 = ctx.run(
        "threads-04-lost-update",
        &args(&server, &["--runs", &runs, "--pause-ms", "1"]),
    )?;
    let mutex = ctx.run("threads-05-locked", &args(&server, &["--variant", "mutex"]))?;
    let atomic = ctx.run(
        "threads-05-locked",
        &args(&server, &["--variant", "atomic", "--cost-adds", "0"]),
    )?;
    let mut t = Table::new(
        &format!("threads: the shared adder, five files, {RACE_RUNS} runs of the race"),
        &[
            "adder",
            "pause ms",
            "runs",
            "runs that lost bytes",
            "true total",
            "printed totals",
            "bytes lost per run",
        ],
    );
    for (label, run) in [
        ("racy: read/pause/add/pause/write", &racy10),
        ("racy: read/pause/add/pause/write", &racy1),
    ] {
        let r = &run.record;
        let totals = u64s(r, "totals_runs");
        let truths = u64s(r, "true_totals_runs");
        let lost = u64s(r, "lost_bytes_runs");
        let pause = r.metric_u64("pause_ms").unwrap_or(0);
        t.row(vec![
            label.into(),
            pause.to_string(),
            totals.len().to_string(),
            r.metric_u64("runs_with_loss").unwrap_or(0).to_string(),
            truths.first().copied().unwrap_or(0).to_string(),
            format!("{totals:?}"),
            format!("{lost:?}"),
        ]);
        let consistent = succeeded(run)
            && totals.len() == RACE_RUNS as usize
            && truths.iter().all(|&x| x == on_disk)
            && totals
                .iter()
                .zip(&truths)
                .zip(&lost)
                .all(|((&tot, &tru), &l)| tot <= tru && l == tru - tot);
        rep.check(
            consistent,
            format!("racy adder ({pause} ms): printed total ≤ true total in every run, and the loss is reported"),
            format!("totals {totals:?}, true {truths:?}, lost {lost:?}"),
        );
    }
    let with_loss = racy10.record.metric_u64("runs_with_loss").unwrap_or(0);
    rep.check(
        succeeded(&racy10) && with_loss * 2 > RACE_RUNS,
        "with 10 ms pauses the race loses bytes in most runs",
        format!("{with_loss} of {RACE_RUNS} runs lost bytes"),
    );
    for (label, run) in [
        ("Mutex (10 ms pauses inside)", &mutex),
        ("fetch_add", &atomic),
    ] {
        let r = &run.record;
        t.row(vec![
            label.into(),
            if r.metric_str("variant") == Some("mutex") {
                "10".into()
            } else {
                "—".into()
            },
            "1".into(),
            if r.metric_u64("lost_bytes") == Some(0) {
                "0".into()
            } else {
                "1".into()
            },
            r.metric_u64("bytes_received").unwrap_or(0).to_string(),
            format!("[{}]", r.metric_u64("total_bytes").unwrap_or(0)),
            format!("[{}]", r.metric_u64("lost_bytes").unwrap_or(0)),
        ]);
        rep.check(
            succeeded(run)
                && r.metric_u64("total_bytes") == Some(on_disk)
                && r.metric_u64("lost_bytes") == Some(0),
            format!("{label}: the total is right, nothing lost"),
            format!(
                "{}: printed {}, on disk {on_disk}, lost {}",
                exit_text(run.code),
                or_missing(r.metric_u64("total_bytes")),
                or_missing(r.metric_u64("lost_bytes"))
            ),
        );
    }
    rep.tables.push(t);
    let mut bars = vec![("true total".to_string(), on_disk as f64)];
    for (i, tot) in u64s(&racy10.record, "totals_runs").iter().enumerate() {
        bars.push((format!("racy 10 ms, run {}", i + 1), *tot as f64));
    }
    for (i, tot) in u64s(&racy1.record, "totals_runs").iter().enumerate() {
        bars.push((format!("racy 1 ms, run {}", i + 1), *tot as f64));
    }
    for (label, run) in [("Mutex", &mutex), ("fetch_add", &atomic)] {
        bars.push((
            label.to_string(),
            run.record.metric_u64("total_bytes").unwrap_or(0) as f64,
        ));
    }
    let chart = ctx.report_path("threads-race.svg");
    report::bar_chart(&chart, "threads: the printed total", "bytes", &bars)?;
    rep.images.push((
        chart,
        "printed totals: racy runs fall short, the lock and the atomic do not".into(),
    ));

    // 4. What one add costs.
    let m = &mutex.record;
    let mutex_ns = m.metric_f64("mutex_ns_per_add").unwrap_or(f64::NAN);
    let atomic_ns = m.metric_f64("atomic_ns_per_add").unwrap_or(f64::NAN);
    let racy_ns = m.metric_f64("racy_ns_per_add").unwrap_or(f64::NAN);
    let adds = m.metric_u64("cost_adds").unwrap_or(0);
    let mut t = Table::new(
        &format!(
            "threads: cost of one add, {} threads adding at once, {adds} adds in all",
            m.metric_u64("cost_threads").unwrap_or(0)
        ),
        &["how", "ns per add", "÷ fetch_add", "adds lost"],
    );
    t.row(vec![
        "Mutex lock, +=, unlock".into(),
        format!("{mutex_ns:.1}"),
        ratio(mutex_ns / atomic_ns),
        "0".into(),
    ]);
    t.row(vec![
        "AtomicU64::fetch_add".into(),
        format!("{atomic_ns:.1}"),
        ratio(1.0),
        "0".into(),
    ]);
    t.row(vec![
        "racy load, then store (no pause)".into(),
        format!("{racy_ns:.1}"),
        ratio(racy_ns / atomic_ns),
        m.metric_u64("racy_lost_adds").unwrap_or(0).to_string(),
    ]);
    rep.tables.push(t);
    rep.check(
        succeeded(&mutex)
            && m.metrics.get("cost_totals_exact") == Some(&serde_json::Value::Bool(true)),
        "cost measurement: the Mutex and fetch_add totals are exact",
        format!(
            "Mutex {mutex_ns:.1} ns/add, fetch_add {atomic_ns:.1} ns/add (measured, not asserted)"
        ),
    );

    // 5. A failing URL: reported, the rest kept, labelled partial.
    let faulty = ctx.run(
        "threads-03-download",
        &[
            "--delay-ms",
            "20",
            "--fault",
            "intro.txt=404",
            "--fault",
            "numpy.txt=reset",
            "--quiet",
        ],
    )?;
    let lost_files = ["intro.txt", "numpy.txt"]
        .iter()
        .map(|n| std::fs::metadata(dir.join(n)).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()?;
    let r = &faulty.record;
    rep.check(
        faulty.code == Some(1)
            && r.errors.len() == 2
            && r.errors[0].contains("intro.txt")
            && r.errors[1].contains("numpy.txt")
            && r.metric_u64("total_bytes") == Some(on_disk - lost_files)
            && faulty.stdout.contains("PARTIAL"),
        "a 404 and a reset: both named, the other three kept, total labelled PARTIAL, exit 1",
        format!(
            "{}, total {}, {}",
            exit_text(faulty.code),
            or_missing(r.metric_u64("total_bytes")),
            errors_text(&r.errors)
        ),
    );

    // 6. A pool of 8 over 1,000 requests.
    let (bench_delay, bench_jitter) = if ctx.full {
        (DELAY_MS, JITTER_MS)
    } else {
        (50, 10)
    };
    let (bd, bj) = (bench_delay.to_string(), bench_jitter.to_string());
    let big = ctx.run(
        "threads-06-pool",
        &[
            "--workers",
            "8",
            "--repeat",
            "200",
            "--delay-ms",
            &bd,
            "--jitter-ms",
            &bj,
            "--quiet",
        ],
    )?;
    let b = &big.record;
    let rps = b.metric_f64("requests_per_s").unwrap_or(f64::NAN);
    let ideal = 8.0 / (bench_delay as f64 / 1000.0);
    let mut t = Table::new(
        &format!(
            "threads: pool of 8 workers, 1,000 requests, latency {bench_delay} ± {bench_jitter} ms"
        ),
        &[
            "requests",
            "succeeded",
            "wall s",
            "requests/s",
            "÷ ideal 8/L",
            "peak RSS",
        ],
    );
    t.row(vec![
        b.metric_u64("requests").unwrap_or(0).to_string(),
        b.metric_u64("succeeded").unwrap_or(0).to_string(),
        secs(b.metric_f64("download_s").unwrap_or(f64::NAN)),
        format!("{rps:.1}"),
        ratio(rps / ideal),
        rss(b),
    ]);
    rep.tables.push(t);
    rep.check(
        succeeded(&big) && b.metric_u64("total_bytes") == Some(200 * on_disk),
        "pool of 8: 1,000 requests, every one counted",
        format!(
            "{}: total {} (200 × {on_disk} expected), {rps:.1} requests/s, peak {}",
            exit_text(big.code),
            or_missing(b.metric_u64("total_bytes")),
            rss(b)
        ),
    );

    rep.notes.push(format!(
        "one thread per file took {:.2} × L (L = {DELAY_MS} ms; the slowest request alone is up to {:.2} × L with ±{JITTER_MS} ms of jitter); sequential {:.2} × L",
        thr_s / latency_s,
        (DELAY_MS + JITTER_MS) as f64 / DELAY_MS as f64,
        seq_s / latency_s
    ));
    rep.notes.push(format!(
        "the race: with 10 ms pauses {with_loss} of {RACE_RUNS} runs lost bytes; with 1 ms, {} of {RACE_RUNS} — the bug hides, it does not go away",
        racy1.record.metric_u64("runs_with_loss").unwrap_or(0)
    ));
    rep.notes.push(format!(
        "pool of 8 over 1,000 requests: {rps:.0} requests/s = {:.2} of the ideal 8 / L, peak memory {}",
        rps / ideal,
        rss(b)
    ));
    Ok(rep)
}
