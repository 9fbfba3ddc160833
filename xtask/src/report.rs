//! Lesson reports: checks, tables, images; printed and written as Markdown
//! with SVG charts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use plotters::prelude::*;

use crate::Ctx;
use crate::lessons::Lesson;
use crate::table::Table;

/// One verified phenomenon.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// True when it held.
    pub ok: bool,
    /// What was checked, in words a student understands.
    pub what: String,
    /// The numbers behind it.
    pub detail: String,
}

/// What one lesson produced.
#[derive(Debug, Clone)]
pub struct LessonReport {
    /// Lesson id.
    pub id: &'static str,
    /// Lesson title.
    pub title: &'static str,
    /// Book section.
    pub section: &'static str,
    /// Comparison tables.
    pub tables: Vec<Table>,
    /// Phenomena checked.
    pub checks: Vec<Check>,
    /// Charts and pictures (in the report folder), with captions.
    pub images: Vec<(PathBuf, String)>,
    /// Free text: what to look at.
    pub notes: Vec<String>,
}

impl LessonReport {
    /// An empty report for `lesson`.
    pub fn new(lesson: &Lesson) -> Self {
        LessonReport {
            id: lesson.id,
            title: lesson.title,
            section: lesson.section,
            tables: Vec::new(),
            checks: Vec::new(),
            images: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records a check.
    pub fn check(&mut self, ok: bool, what: impl Into<String>, detail: impl Into<String>) {
        self.checks.push(Check {
            ok,
            what: what.into(),
            detail: detail.into(),
        });
    }

    /// Prints tables, notes and checks.
    pub fn print(&self) {
        for t in &self.tables {
            t.print();
        }
        for n in &self.notes {
            println!("note: {n}");
        }
        for c in &self.checks {
            println!(
                "[{}] {} — {}",
                if c.ok { " ok " } else { "FAIL" },
                c.what,
                c.detail
            );
        }
        for (p, caption) in &self.images {
            println!("chart: {} ({caption})", p.display());
        }
    }
}

/// Writes `report.md` in the report folder and returns its path.
///
/// # Errors
/// When the file cannot be written.
pub fn write(ctx: &Ctx, reports: &[LessonReport]) -> Result<PathBuf> {
    let mut md = String::from("# Procesamiento en paralelo — run-all report\n\n");
    let _ = writeln!(
        md,
        "Build: {}. Inputs: {}.\n",
        if ctx.debug { "debug" } else { "release" },
        if ctx.full {
            "full (book-sized)"
        } else {
            "quick"
        }
    );
    let _ = writeln!(md, "| lesson | book | checks |\n|---|---|---|");
    for r in reports {
        let ok = r.checks.iter().filter(|c| c.ok).count();
        let _ = writeln!(
            md,
            "| {} | {} | {ok}/{} passed |",
            r.id,
            r.section,
            r.checks.len()
        );
    }
    for r in reports {
        let _ = writeln!(md, "\n## {} — {} (book {})\n", r.id, r.title, r.section);
        for t in &r.tables {
            let _ = writeln!(md, "{}", t.to_markdown());
        }
        for n in &r.notes {
            let _ = writeln!(md, "> {n}\n");
        }
        for c in &r.checks {
            let _ = writeln!(
                md,
                "- {} **{}** — {}",
                if c.ok { "✅" } else { "❌" },
                c.what,
                c.detail
            );
        }
        for (p, caption) in &r.images {
            let rel = p.strip_prefix(&ctx.report_dir).unwrap_or(p);
            let _ = writeln!(md, "\n![{caption}]({})\n", rel.display());
        }
    }
    let path = ctx.report_path("report.md");
    std::fs::write(&path, md).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Draws a horizontal bar chart (SVG) of `bars` (label, value) with `unit`
/// on the axis.
///
/// # Errors
/// When the file cannot be written.
pub fn bar_chart(path: &Path, title: &str, unit: &str, bars: &[(String, f64)]) -> Result<()> {
    let rows: Vec<(String, f64, f64)> = bars.iter().map(|(l, v)| (l.clone(), 0.0, *v)).collect();
    span_chart(path, title, unit, &rows, |_, v| short_number(v))
}

/// Draws a timeline (SVG): one horizontal bar per row from its start to its
/// end, in seconds — requests one after another form a staircase, concurrent
/// ones stack up side by side.
///
/// # Errors
/// When the file cannot be written.
pub fn timeline_chart(path: &Path, title: &str, rows: &[(String, f64, f64)]) -> Result<()> {
    span_chart(path, title, "seconds since start", rows, |a, b| {
        format!("{:.3} s", b - a)
    })
}

/// One horizontal bar per row, from `start` to `end`, labelled at its end.
fn span_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    rows: &[(String, f64, f64)],
    label: impl Fn(f64, f64) -> String,
) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("drawing {}: {e}", path.display());
    common::plot::register_font();
    let height = 120 + 36 * rows.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let end = rows.iter().map(|r| r.2).fold(0.0_f64, f64::max).max(1e-9) * 1.15;
    let n = rows.len() as i32;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(220)
        .build_cartesian_2d(0.0..end, (0..n).into_segmented())
        .map_err(|e| err(&e))?;
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|v| short_number(*v))
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, a, b))| {
            let i = i as i32;
            let mut r = Rectangle::new(
                [
                    (*a, SegmentValue::Exact(i)),
                    (*b, SegmentValue::Exact(i + 1)),
                ],
                Palette99::pick(i as usize).filled(),
            );
            r.set_margin(5, 5, 0, 0);
            r
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, a, b))| {
            Text::new(
                format!(" {}", label(*a, *b)),
                (*b, SegmentValue::CenterOf(i as i32)),
                ("sans-serif", 14),
            )
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// A number as a person writes it: whole numbers without decimals, others
/// with three significant digits after the point where it matters.
pub fn short_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}
