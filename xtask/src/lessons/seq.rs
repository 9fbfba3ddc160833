//! Lesson `seq` (book 1.1): the sequential downloader, the baseline.

use anyhow::{Context, Result};

use super::Lesson;
use crate::Ctx;
use crate::ctx::{errors_text, exit_text};
use crate::report::{self, LessonReport};
use crate::table::{Table, ratio, secs};

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "seq",
    section: "1.1",
    title: "download five files one after another",
    crates: &["downloader-seq"],
    build_args: &["-p", "downloader-seq", "--bins"],
    programs: &["seq-01-download"],
    run,
};

const DELAY_MS: u64 = 150;

fn run(ctx: &Ctx) -> Result<LessonReport> {
    let mut rep = LessonReport::new(&LESSON);
    let dir = common::data::downloads_dir()?;
    let on_disk = common::data::downloads_total_bytes(&dir).context("reading data/downloads")?;
    let delay = DELAY_MS.to_string();
    let run = ctx.run(
        "seq-01-download",
        &["--delay-ms", &delay, "--jitter-ms", "50"],
    )?;
    let r = &run.record;
    let total = r.metric_u64("total_bytes").unwrap_or(0);
    let download_s = r.metric_f64("download_s").unwrap_or(f64::NAN);
    let latency_s = DELAY_MS as f64 / 1000.0;
    let mut t = Table::new(
        "seq: five downloads, one after another",
        &[
            "program",
            "total bytes",
            "on disk",
            "wall s",
            "÷ latency",
            "peak RSS",
        ],
    );
    t.row(vec![
        r.program.clone(),
        total.to_string(),
        on_disk.to_string(),
        secs(download_s),
        ratio(download_s / latency_s),
        r.peak_rss_bytes
            .map(common::mem::human_bytes)
            .unwrap_or_default(),
    ]);
    rep.tables.push(t);
    rep.check(
        r.ok && run.code == Some(0),
        "the program succeeded",
        format!("{}, {}", exit_text(run.code), errors_text(&r.errors)),
    );
    rep.check(
        total == on_disk,
        "the total equals the bytes on disk",
        format!("printed {total}, on disk {on_disk}"),
    );
    let per = download_s / latency_s;
    rep.check(
        (4.0..=7.5).contains(&per),
        "sequential wall time ≈ 5 × the latency (the sum of the requests)",
        format!("{download_s:.3} s = {per:.2} × {latency_s} s"),
    );
    rep.notes.push(
        "each download starts when the previous one ends: the wall time is the sum of five latencies"
            .into(),
    );
    // Each request starts when the previous stage line was printed.
    let rows: Vec<(String, f64, f64)> = r
        .stages
        .iter()
        .filter(|s| s.message.starts_with("downloaded"))
        .map(|s| {
            let name = s.message.split('/').next_back().unwrap_or("");
            let name = name.split(' ').next().unwrap_or("").to_string();
            (name, s.t_s - s.dt_s, s.t_s)
        })
        .collect();
    let chart = ctx.report_path("seq-timeline.svg");
    report::timeline_chart(
        &chart,
        "seq: each request starts when the previous one ends",
        &rows,
    )?;
    rep.images
        .push((chart, "timeline of the sequential requests".into()));
    Ok(rep)
}
