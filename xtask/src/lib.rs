//! The engine behind `cargo xtask`: the lesson registry, running programs and
//! reading their JSON records, checks, tables and the report.
//!
//! Lessons never call each other; this crate is the only place that
//! orchestrates. A lesson is one entry of [`lessons::ALL`] plus one module in
//! `lessons/` with a `run` function.

#![forbid(unsafe_code)]

pub mod ctx;
pub mod lessons;
pub mod report;
pub mod table;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

pub use ctx::Ctx;
pub use report::LessonReport;

/// Options of `cargo xtask run-all`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunOptions {
    /// Run only this lesson (repeatable): seq, threads, async, pool, shm, fft,
    /// cluster.
    #[arg(long = "lesson", value_name = "ID")]
    pub lessons: Vec<String>,
    /// Bigger inputs closer to the book's (slower); the default is quick.
    #[arg(long)]
    pub full: bool,
    /// Use debug builds instead of release (faster to build, slower to run;
    /// what the tests use).
    #[arg(long)]
    pub debug: bool,
    /// Do not build; use the binaries already in target/.
    #[arg(long)]
    pub no_build: bool,
    /// Where to write the report (default: target/report).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
}

/// Options of `cargo xtask gen-data`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GenDataOptions {
    /// Generate the book-size WAV (≈1.07 GB, 6058.8 s) for the fft benchmark.
    #[arg(long)]
    pub book_size: bool,
}

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BenchOptions {
    /// Benchmark only this lesson's crates (repeatable).
    #[arg(long = "lesson", value_name = "ID")]
    pub lessons: Vec<String>,
    /// fft: also the book-size lengths (267,193,080, 2 × a prime near it
    /// and the prime 267,193,079; minutes and ≈ 10 GB; run `cargo xtask
    /// gen-data --book-size` first for the fused case).
    #[arg(long)]
    pub book_size: bool,
}

/// What `run_all` did.
#[derive(Debug)]
pub struct RunOutcome {
    /// One report per lesson run.
    pub lessons: Vec<LessonReport>,
    /// The Markdown report written.
    pub report_path: PathBuf,
}

impl RunOutcome {
    /// Number of failed checks over all lessons.
    pub fn failed_checks(&self) -> usize {
        self.lessons
            .iter()
            .flat_map(|l| &l.checks)
            .filter(|c| !c.ok)
            .count()
    }

    /// True when every check of every lesson passed.
    pub fn all_passed(&self) -> bool {
        self.failed_checks() == 0
    }
}

/// The lessons selected by `ids` (all when empty), in registry order.
///
/// # Errors
/// An unknown id, listing the known ones.
pub fn select(ids: &[String]) -> Result<Vec<&'static lessons::Lesson>> {
    if ids.is_empty() {
        return Ok(lessons::ALL.iter().collect());
    }
    for id in ids {
        if !lessons::ALL.iter().any(|l| l.id == id) {
            let known: Vec<_> = lessons::ALL.iter().map(|l| l.id).collect();
            bail!(
                "unknown lesson '{id}': choose from {} (see `cargo xtask lessons`)",
                known.join(", ")
            );
        }
    }
    Ok(lessons::ALL
        .iter()
        .filter(|l| ids.iter().any(|id| id == l.id))
        .collect())
}

/// Splits `selected` into the lessons this machine can run and one line
/// for each it cannot (a missing tool such as `mpirun`, and how to install
/// it). When the lessons were named (`explicit`, i.e. `--lesson`), a
/// missing tool is an error instead.
///
/// # Errors
/// A named lesson whose tool is missing, with that line.
pub fn available(
    selected: Vec<&'static lessons::Lesson>,
    explicit: bool,
    path: Option<&std::ffi::OsStr>,
) -> Result<(Vec<&'static lessons::Lesson>, Vec<String>)> {
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for l in selected {
        match lessons::missing_tool(l, path) {
            None => kept.push(l),
            Some(why) if explicit => bail!("lesson {}: {why}", l.id),
            Some(why) => skipped.push(format!("skipped lesson {}: {why}", l.id)),
        }
    }
    Ok((kept, skipped))
}

/// `cargo xtask run-all`: build, run, check, print, report.
///
/// # Errors
/// Unknown lesson, build failure, a report that cannot be written. A lesson
/// whose program fails is reported as a failed check, and the others still run.
pub fn run_all(opts: &RunOptions) -> Result<RunOutcome> {
    let (selected, skipped) = available(
        select(&opts.lessons)?,
        !opts.lessons.is_empty(),
        std::env::var_os("PATH").as_deref(),
    )?;
    for line in &skipped {
        println!("{line}");
    }
    let ctx = Ctx::new(opts)?;
    if !opts.no_build {
        ctx.build(&selected)?;
    }
    let mut reports = Vec::new();
    for lesson in &selected {
        println!(
            "\n=== lesson {} — book {} — {}",
            lesson.id, lesson.section, lesson.title
        );
        let report = match (lesson.run)(&ctx) {
            Ok(r) => r,
            Err(e) => {
                let mut r = LessonReport::new(lesson);
                r.check(false, "the lesson ran to the end", format!("{e:#}"));
                r
            }
        };
        report.print();
        reports.push(report);
        if ctx.interrupted() {
            bail!("interrupted (Ctrl-C)");
        }
    }
    let report_path = report::write(&ctx, &reports).context("writing the report")?;
    println!("\nreport: {}", report_path.display());
    Ok(RunOutcome {
        lessons: reports,
        report_path,
    })
}

/// `cargo xtask lessons`.
pub fn print_lessons() {
    let mut t = table::Table::new(
        "Lessons (cargo xtask run-all --lesson ID)",
        &["id", "book", "title", "crates", "programs"],
    );
    for l in lessons::ALL {
        t.row(vec![
            l.id.to_string(),
            l.section.to_string(),
            l.title.to_string(),
            l.crates.join(", "),
            if l.programs.is_empty() {
                "(not built yet)".to_string()
            } else {
                l.programs.join(", ")
            },
        ]);
    }
    t.print();
}

/// `cargo xtask gen-data`.
///
/// # Errors
/// When a generator fails.
pub fn gen_data(opts: &GenDataOptions) -> Result<()> {
    lessons::gen_data(opts)
}

/// `cargo xtask bench`: `cargo bench` on the selected lessons' crates.
///
/// # Errors
/// Unknown lesson or a failing benchmark.
pub fn bench(opts: &BenchOptions) -> Result<()> {
    let selected = select(&opts.lessons)?;
    let root = ctx::workspace_root()?;
    let mut cmd = std::process::Command::new(ctx::cargo());
    cmd.current_dir(&root).arg("bench");
    for l in &selected {
        for c in l.crates {
            cmd.args(["-p", c]);
        }
    }
    if opts.book_size {
        cmd.env("WAV_FFT_BENCH_BOOK", "1");
    }
    let status = cmd.status().context("running cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    if selected.iter().any(|l| l.id == "fft") {
        lessons::bench_ratios(&root, opts.book_size).print();
    }
    Ok(())
}
