//! Lesson `shm` (book 1.4.1–1.4.2): sharing arrays between processes — the
//! wrong way (a private copy), a named segment, an anonymous one, one segment
//! with three arrays at offsets — then c = a + b against memory bandwidth,
//! and Rust and Python (numpy) sharing one segment both ways.

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
        "shm-06-numpy",
    ],
    run,
};

/// What the book prints for its 12-element inputs.
const BOOK_RESULT: &str = "[4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]";

/// Segment name prefixes the programs use (checked for leftovers).
const PREFIXES: &[&str] = &["shm-02-", "shm-04-", "shm-06-"];

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

    // 6. Rust and numpy share a segment, both ways.
    numpy_round_trip(ctx, &mut rep)?;

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

/// How long a holder may take to say `ready`, or to exit once told to.
const HOLD_STEP: std::time::Duration = std::time::Duration::from_secs(60);

/// A program holding a segment until its stdin closes: stdout lines come
/// through a channel (every wait is bounded); told to stop (stdin closed),
/// then killed, and reaped on drop.
struct Holder {
    what: String,
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: String,
}

impl Holder {
    fn start(mut cmd: std::process::Command, what: String) -> Result<Holder> {
        use std::io::BufRead as _;
        use std::process::Stdio;
        println!("  running {what}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {what}: {e}"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(|l| l.ok()) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(err).lines().map_while(|l| l.ok()) {
                let _ = tx2.send(format!("stderr: {l}"));
            }
        });
        Ok(Holder {
            what,
            child,
            lines: rx,
            seen: String::new(),
        })
    }

    /// Waits for its `ready` line.
    fn ready(&mut self) -> Result<()> {
        let deadline = std::time::Instant::now() + HOLD_STEP;
        while !self.seen.lines().any(|l| l.starts_with("ready")) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push_str(&l);
                    self.seen.push('\n');
                }
                Err(_) => anyhow::bail!(
                    "{} did not say ready within {HOLD_STEP:?}; it said: {}",
                    self.what,
                    self.seen.trim()
                ),
            }
        }
        Ok(())
    }

    /// Closes its stdin (the end of the hold) and waits for it: the exit
    /// code and its last JSON line.
    fn finish(&mut self) -> Result<(Option<i32>, serde_json::Value)> {
        drop(self.child.stdin.take());
        let deadline = std::time::Instant::now() + HOLD_STEP;
        let status = loop {
            if let Some(st) = self.child.try_wait()? {
                break st;
            }
            if std::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "{} did not exit within {HOLD_STEP:?} of its stdin closing",
                    self.what
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        while let Ok(l) = self
            .lines
            .recv_timeout(std::time::Duration::from_millis(300))
        {
            self.seen.push_str(&l);
            self.seen.push('\n');
        }
        Ok((status.code(), last_json(&self.seen)))
    }
}

impl Drop for Holder {
    /// On an early return: closing stdin ends a hold gracefully (the holder
    /// unlinks its segment); after 3 s it is killed.
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last line of `text` that is a JSON object (Null if none).
fn last_json(text: &str) -> serde_json::Value {
    text.lines()
        .rev()
        .filter(|l| l.starts_with('{'))
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// `None` when `python3` imports numpy, else why not. Bounded: a python3
/// that does not answer within 30 s is killed and counts as missing.
fn numpy_missing() -> Option<String> {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut child = match Command::new("python3")
        .args(["-c", "import numpy"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Some(format!("python3 not found ({e})")),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return None,
            Ok(Some(_)) => return Some("python3 cannot import numpy".to_string()),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Some("python3 -c 'import numpy' did not finish within 30 s".to_string());
            }
        }
    }
}

/// Do the arrays a reader reports (`metrics.arrays`) match the lesson's:
/// `a` f64 and `b` i32 of `len`, `m` f32 3 × 4, first values included?
fn lesson_arrays(arrays: &serde_json::Value, len: usize) -> bool {
    use serde_json::json;
    let first = len.min(6);
    let a: Vec<f64> = (0..first).map(|i| i as f64 / 2.0).collect();
    let b: Vec<i64> = (0..first as i64).collect();
    arrays["a"]["dtype"] == "<f8"
        && arrays["a"]["shape"] == json!([len])
        && arrays["a"]["first"] == json!(a)
        && arrays["b"]["dtype"] == "<i4"
        && arrays["b"]["shape"] == json!([len])
        && arrays["b"]["first"] == json!(b)
        && arrays["m"]["dtype"] == "<f4"
        && arrays["m"]["shape"] == json!([3, 4])
        && arrays["m"]["first"] == json!([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
}

/// `shm-06-numpy --hold` read by `shm-06-numpy --read`; then, with python3
/// and numpy, Rust → numpy (which negates `m`, seen by Rust) and numpy →
/// Rust with `python/shm_06_numpy.py`.
fn numpy_round_trip(ctx: &Ctx, rep: &mut LessonReport) -> Result<()> {
    use std::process::Command;
    let len = 12usize;
    let mut t = Table::new(
        "shm: one segment, two languages (shm-06-numpy and python/shm_06_numpy.py)",
        &[
            "holder (creator)",
            "reader",
            "reader saw a, b, m",
            "holder saw",
            "result",
        ],
    );
    let script = ctx.root.join("crates/shm-array/python/shm_06_numpy.py");
    let python_cmd = |args: &[&str]| {
        let mut c = Command::new("python3");
        c.arg(&script)
            .args(args)
            .current_dir(&ctx.root)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        c
    };
    let rust_hold = |name: &str| -> Result<Holder> {
        let mut c = Command::new(ctx.bin("shm-06-numpy")?);
        c.args(["--name", name, "--hold", "--json", "-q"])
            .current_dir(&ctx.root);
        Holder::start(c, format!("shm-06-numpy --name {name} --hold"))
    };

    // Rust holds, Rust reads (always).
    let name = shm_array_name("shm-06-xtask-");
    let mut h = rust_hold(&name)?;
    h.ready()?;
    let r = ctx.run("shm-06-numpy", &["--read", &name])?;
    let seen = lesson_arrays(&r.record.metrics["arrays"], len);
    let (code, rec) = h.finish()?;
    let left = rec["metrics"]["segments_left"].as_u64();
    rep.check(
        r.code == Some(0) && seen && code == Some(0) && left == Some(0),
        "shm-06-numpy --read sees the arrays shm-06-numpy --hold made (dtype, shape, values); the holder unlinks",
        format!(
            "reader {}, holder {}, segments left {}",
            exit_text(r.code),
            exit_text(code),
            crate::ctx::or_missing(left)
        ),
    );
    t.row(vec![
        "Rust".into(),
        "Rust".into(),
        if seen { "yes".into() } else { "NO".into() },
        "—".into(),
        if code == Some(0) && left == Some(0) {
            "unlinked".into()
        } else {
            "WRONG".into()
        },
    ]);

    if let Some(why) = numpy_missing() {
        let line =
            format!("skipped the Rust ⇄ numpy round trip: {why} (python3 -m pip install numpy)");
        println!("  {line}");
        rep.notes.push(line);
        rep.tables.push(t);
        return Ok(());
    }

    // Rust holds; numpy reads and negates m in place; Rust sees it.
    let name = shm_array_name("shm-06-xtask-");
    let mut h = rust_hold(&name)?;
    h.ready()?;
    let mut reader = Holder::start(
        python_cmd(&["--read", &name, "--negate", "m", "--json"]),
        format!("python3 shm_06_numpy.py --read {name} --negate m"),
    )?;
    let (py_code, py_rec) = reader.finish()?;
    let py_err: Vec<&str> = reader
        .seen
        .lines()
        .filter_map(|l| l.strip_prefix("stderr: "))
        .collect();
    let py_err = py_err.join("; ");
    let seen = lesson_arrays(&py_rec["metrics"]["arrays"], len);
    let (code, rec) = h.finish()?;
    let want: Vec<f64> = (0..12).map(|i| -f64::from(i)).collect();
    let negated = rec["metrics"]["m_after"] == serde_json::json!(want);
    rep.check(
        py_code == Some(0) && seen && code == Some(0) && negated,
        "numpy reads the Rust segment zero-copy (a <f8, b <i4, m <f4 3 × 4) and its in-place -m is what Rust then sees",
        format!(
            "python {}{}; Rust {}, m after: {}",
            exit_text(py_code),
            if py_err.is_empty() {
                String::new()
            } else {
                format!(" ({py_err})")
            },
            exit_text(code),
            rec["metrics"]["m_after"]
        ),
    );
    t.row(vec![
        "Rust".into(),
        "numpy (negates m)".into(),
        if seen { "yes".into() } else { "NO".into() },
        if negated {
            "m = -m".into()
        } else {
            "m unchanged".into()
        },
        if code == Some(0) {
            "unlinked".into()
        } else {
            "WRONG".into()
        },
    ]);

    // numpy holds; Rust reads.
    let name = shm_array_name("shm-06-py-xtask-");
    let mut h = Holder::start(
        python_cmd(&["--name", &name, "--hold", "--json"]),
        format!("python3 shm_06_numpy.py --name {name} --hold"),
    )?;
    h.ready()?;
    let r = ctx.run("shm-06-numpy", &["--read", &name])?;
    let seen = lesson_arrays(&r.record.metrics["arrays"], len);
    let (code, rec) = h.finish()?;
    let left = rec["metrics"]["segments_left"].as_u64();
    rep.check(
        r.code == Some(0) && seen && code == Some(0) && left == Some(0),
        "shm-06-numpy --read sees the arrays numpy made (dtype, shape, values); numpy unlinks",
        format!(
            "Rust {}, {}; python {}, segments left {}",
            exit_text(r.code),
            errors_text(&r.record.errors),
            exit_text(code),
            crate::ctx::or_missing(left)
        ),
    );
    t.row(vec![
        "numpy".into(),
        "Rust".into(),
        if seen { "yes".into() } else { "NO".into() },
        "—".into(),
        if code == Some(0) && left == Some(0) {
            "unlinked".into()
        } else {
            "WRONG".into()
        },
    ]);
    rep.tables.push(t);
    Ok(())
}

/// A segment name no other run picks (the shape of `shm_array::unique_name`).
fn shm_array_name(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}{}-{n}-{t:08x}", std::process::id())
}
