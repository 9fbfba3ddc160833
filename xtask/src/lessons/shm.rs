//! Lesson `shm` (book 1.4.1–1.4.2): sharing arrays between processes — the
//! wrong way (a private copy), a named segment, an anonymous one, one segment
//! with three arrays at offsets — then c = a + b against memory bandwidth.

use anyhow::Result;

use super::Lesson;
use crate::Ctx;
use crate::ctx::{errors_text, exit_text};
use crate::report::{self, LessonReport};
use crate::table::{Table, ratio};

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "shm",
    section: "1.4.1–1.4.2",
    title: "arrays in shared memory between processes",
    crates: &["shm-array"],
    build_args: &["-p", "shm-array", "--examples"],
    programs: &[
        "shm-01-wrong-private-copy",
        "shm-02-named-list",
        "shm-03-anonymous-array",
        "shm-04-one-segment-offsets",
        "shm-05-bench-add",
    ],
    run,
};

/// What the book prints for its 12-element inputs.
const BOOK_RESULT: &str = "[4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]";

/// Segment name prefixes the programs use (checked for leftovers).
const PREFIXES: &[&str] = &["shm-02-", "shm-04-"];

fn leftovers() -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| PREFIXES.iter().any(|p| n.starts_with(p)))
                .collect()
        })
        .unwrap_or_default()
}

/// Every segment in /dev/shm made by shm-array (its header magic), whatever
/// its name and whoever left it.
fn crate_segments() -> Vec<String> {
    use std::io::Read as _;
    let mut names: Vec<String> = std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.filter_map(|e| {
                let e = e.ok()?;
                let mut magic = [0u8; 8];
                std::fs::File::open(e.path())
                    .ok()?
                    .read_exact(&mut magic)
                    .ok()?;
                (&magic == b"SHMARRAY").then(|| e.file_name().into_string().ok())?
            })
            .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn run(ctx: &Ctx) -> Result<LessonReport> {
    let mut rep = LessonReport::new(&LESSON);

    // 1. The wrong way: the parent's list stays untouched.
    let r1 = ctx.run("shm-01-wrong-private-copy", &[])?;
    rep.check(
        r1.code == Some(0) && r1.record.ok,
        "shm-01 ran",
        format!("{}, {}", exit_text(r1.code), errors_text(&r1.record.errors)),
    );
    rep.check(
        r1.record.metrics.get("parent_untouched") == Some(&serde_json::Value::Bool(true))
            && r1.stdout.contains("[Some(4), Some(4), Some(4), Some(4)]")
            && r1.stdout.contains("final result: [None, None"),
        "workers computed [4, 4, 4, 4] each, yet the parent's list is all None",
        "each forked worker wrote into its own copy of the list",
    );

    // 2–4. Three ways to share, book sizes and a real size.
    let real_len = if ctx.full { "50000000" } else { "2000000" };
    let mut t = Table::new(
        "shm: the book's programs (1 + 3 in forked workers)",
        &[
            "program",
            "len",
            "workers",
            "result",
            "segments left",
            "wall s",
        ],
    );
    for prog in [
        "shm-02-named-list",
        "shm-03-anonymous-array",
        "shm-04-one-segment-offsets",
    ] {
        for args in [vec![], vec!["--len", real_len, "--workers", "2"]] {
            let r = ctx.run(prog, &args)?;
            let rec = &r.record;
            let correct = rec.metrics.get("correct") == Some(&serde_json::Value::Bool(true));
            let len = rec.metric_u64("len").unwrap_or(0);
            let left = rec.metric_u64("segments_left").unwrap_or(0);
            t.row(vec![
                prog.to_string(),
                len.to_string(),
                rec.metric_u64("workers").unwrap_or(0).to_string(),
                if correct {
                    "all 4".into()
                } else {
                    "WRONG".into()
                },
                left.to_string(),
                format!("{:.3}", r.wall.as_secs_f64()),
            ]);
            rep.check(
                r.code == Some(0) && rec.ok && correct && left == 0,
                format!("{prog} --len {len}: every result is 1 + 3 and no segment is left"),
                format!("{}, {}", exit_text(r.code), errors_text(&rec.errors)),
            );
            if args.is_empty() {
                rep.check(
                    r.stdout.contains(&format!("final result: {BOOK_RESULT}")),
                    format!("{prog} prints the book's result"),
                    BOOK_RESULT,
                );
            }
        }
    }
    rep.tables.push(t);

    // 5. The benchmark.
    // 3 × 1 GiB with --full; 3 × 128 MiB quick (3 × 32 MiB for debug builds).
    let len = match (ctx.full, ctx.debug) {
        (true, _) => "134217728",
        (false, false) => "16777216",
        (false, true) => "4194304",
    };
    let passes = if ctx.full { "5" } else { "8" };
    let b = ctx.run("shm-05-bench-add", &["--len", len, "--passes", passes])?;
    let m = &b.record;
    rep.check(
        b.code == Some(0) && m.ok,
        "the benchmark ran and every method computed c = a + b",
        format!("{}, {}", exit_text(b.code), errors_text(&m.errors)),
    );
    let bytes = m.metric_u64("bytes_per_pass").unwrap_or(0) as f64;
    let stream_s = m
        .metric_f64("bandwidth_s")
        .or_else(|| m.metric_f64("stream_s"))
        .unwrap_or(f64::NAN);
    let bw = bytes / stream_s / 1e9;
    let mut t = Table::new(
        &format!(
            "shm: c = a + b, 3 × {} f64, {} workers (GB/s = 24 bytes per element)",
            len,
            m.metric_u64("workers").unwrap_or(0)
        ),
        &["method", "best s", "median s", "GB/s (best)", "÷ bandwidth"],
    );
    let rows = [
        ("one thread", "one_thread_s"),
        ("rayon", "rayon_s"),
        ("fork one-shot, first pass ever", "fork_first_s"),
        ("fork one-shot, again", "fork_oneshot_s"),
        ("fork one-shot + MADV_POPULATE", "fork_oneshot_prefault_s"),
        ("fork steady pass (same workers)", "fork_steady_s"),
        ("live workers, one pass() call", "live_pass_s"),
        ("STREAM-style add, N threads", "stream_s"),
        (
            "bandwidth: best STREAM-style add, 1 or N threads",
            "bandwidth_s",
        ),
    ];
    let mut bars = Vec::new();
    for (label, key) in rows {
        let s = m.metric_f64(key).unwrap_or(f64::NAN);
        let gbs = bytes / s / 1e9;
        let med = key
            .strip_suffix("_s")
            .and_then(|k| m.metric_f64(&format!("{k}_median_s")));
        t.row(vec![
            label.to_string(),
            format!("{s:.4}"),
            med.map(|v| format!("{v:.4}")).unwrap_or_else(|| "—".into()),
            format!("{gbs:.2}"),
            format!("{:.0}%", 100.0 * gbs / bw),
        ]);
        bars.push((label.to_string(), gbs));
    }
    rep.tables.push(t);
    let steady = m.metric_f64("fork_steady_s").unwrap_or(f64::NAN);
    let one_shot = m
        .metric_f64("fork_oneshot_s")
        .unwrap_or(f64::NAN)
        .min(m.metric_f64("fork_oneshot_prefault_s").unwrap_or(f64::NAN));
    let steady_frac = stream_s / steady;
    rep.check(
        steady < one_shot,
        "a steady pass of live workers beats a one-shot pass (fork + page tables + exit)",
        format!(
            "steady {steady:.4} s, one-shot {one_shot:.4} s = {}",
            ratio(one_shot / steady)
        ),
    );
    let live = m.metric_f64("live_pass_s").unwrap_or(f64::NAN);
    rep.check(
        live <= 1.5 * steady,
        "a pass() call on live (persistent, pre-faulted) workers costs ≤ 1.5 × a steady pass",
        format!(
            "pass() {live:.4} s = {} of steady {steady:.4} s; their start-up (fork + populate), paid once: {:.4} s",
            ratio(live / steady),
            m.metric_f64("live_startup_s").unwrap_or(f64::NAN)
        ),
    );
    rep.notes.push(format!(
        "target steady ≥ 90 % of bandwidth: {:.0} % barrier-timed, {:.0} % per live pass() call ({}); one-shot of fresh workers ≤ 1.5 × steady: {} ({}); timings vary run to run on a shared machine",
        100.0 * steady_frac,
        100.0 * stream_s / live,
        if steady_frac.max(stream_s / live) >= 0.9 {
            "met"
        } else {
            "not met"
        },
        ratio(one_shot / steady),
        if one_shot / steady <= 1.5 {
            "met"
        } else {
            "not met"
        },
    ));
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/shmem_enabled")
        .unwrap_or_else(|_| "(unknown)".into());
    rep.notes.push(format!(
        "a forked worker does not inherit the parent's page tables for shared mappings: it maps \
         every 4 KiB page again (fault or MADV_POPULATE) and unmaps it at exit; that, not the \
         addition, is the one-shot cost (the very first pass also clears the output's pages: tmpfs \
         zeroes pages reserved by posix_fallocate when they are first touched). Huge pages would divide the page count by 512, but \
         shmem THP here is `{}`; keeping workers alive across passes \
         (ForkPool::start → LiveWorkers::pass) pays it once",
        thp.trim()
    ));
    let one = m.metric_f64("one_thread_s").unwrap_or(f64::NAN);
    rep.notes.push(format!(
        "bandwidth {bw:.1} GB/s; one thread alone reaches {:.0} % of it: element-wise work on big \
         arrays is bound by memory, so more workers add little",
        100.0 * stream_s / one
    ));
    let chart = ctx.report_path("shm-add-bandwidth.svg");
    report::bar_chart(&chart, "shm: c = a + b, GB/s", "GB/s", &bars)?;
    rep.images
        .push((chart, "c = a + b throughput by method".into()));

    // The programs sweep dead leftovers at start, so anything of theirs
    // still here now is a leak, whoever left it (this run or an earlier one).
    let after = leftovers();
    rep.check(
        after.is_empty(),
        "no shared memory segment of the shm programs left in /dev/shm",
        format!(
            "left: {after:?}; all shm-array segments in /dev/shm now (any owner, live ones included): {:?}",
            crate_segments()
        ),
    );
    Ok(rep)
}
