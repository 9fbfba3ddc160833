//! A timeline (Gantt chart) of a run: one row per worker, one bar per item
//! from the moment it was handed out to the moment its result came back.
//!
//! It shows at a glance why the book's total time equals its slowest item:
//! the other workers finish early and sit idle while one row is still
//! busy. Drawn as PNG (with the embedded font) or SVG, by file extension.
//! Several runs (e.g. input order vs longest first) stack as panels on one
//! shared time axis.

use std::io;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::task::RunSummary;

/// Draws one panel per `(title, run)` into `path` (`.png` or `.svg`).
///
/// # Errors
/// When the file cannot be written or the extension is neither.
pub fn draw(path: &Path, panels: &[(String, &RunSummary)]) -> io::Result<()> {
    draw_labelled(path, panels, None)
}

/// As [`draw`], with a name for each row (worker `i` is `rows[i]`, e.g.
/// `host:rank` for the ranks of an MPI job) instead of `worker i`.
///
/// # Errors
/// As [`draw`].
pub fn draw_labelled(
    path: &Path,
    panels: &[(String, &RunSummary)],
    rows: Option<&[String]>,
) -> io::Result<()> {
    let row_names = rows;
    let rows: usize = panels.iter().map(|(_, r)| r.workers.max(1)).sum();
    let size = (1100, (90 * panels.len() + 46 * rows + 40) as u32);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let err = |e: String| io::Error::other(format!("drawing {}: {e}", path.display()));
    // Both backends measure text with the embedded font.
    common::plot::register_font();
    match ext.as_str() {
        "png" => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw_on(&root, panels, row_names).map_err(|e| err(e.to_string()))?;
            root.present().map_err(|e| err(e.to_string()))
        }
        "svg" => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw_on(&root, panels, row_names).map_err(|e| err(e.to_string()))?;
            root.present().map_err(|e| err(e.to_string()))
        }
        _ => Err(err("the file name must end in .png or .svg".into())),
    }
}

/// Colours of successful items (failures are red).
const OK_COLORS: [RGBColor; 6] = [
    RGBColor(70, 130, 180),
    RGBColor(60, 170, 140),
    RGBColor(150, 170, 60),
    RGBColor(240, 170, 60),
    RGBColor(150, 110, 190),
    RGBColor(120, 150, 170),
];

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[(String, &RunSummary)],
    row_names: Option<&[String]>,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let x_max = panels
        .iter()
        .flat_map(|(_, r)| r.items.iter().map(|i| i.end.as_secs_f64()))
        .fold(1e-3, f64::max)
        * 1.08;
    let weights: Vec<usize> = panels.iter().map(|(_, r)| r.workers.max(1) + 2).collect();
    let total: usize = weights.iter().sum();
    let (_, h) = root.dim_in_pixel();
    let mut rest = root.clone();
    for ((title, run), w) in panels.iter().zip(&weights) {
        let ph = (h as usize * w / total) as u32;
        let (area, below) = rest.split_vertically(ph);
        rest = below;
        draw_panel(&area, title, run, x_max, row_names)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    run: &RunSummary,
    x_max: f64,
    row_names: Option<&[String]>,
) -> DrawResult<DB> {
    let n = run.workers.max(1) as i32;
    let wall = run
        .items
        .iter()
        .map(|i| i.end.as_secs_f64())
        .fold(0.0, f64::max);
    let caption = format!(
        "{title}: total {wall:.2} s, slowest item {:.2} s",
        run.slowest_item().as_secs_f64()
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(
            row_names
                .into_iter()
                .flatten()
                .map(|l| 8 * l.chars().count() as u32 + 20)
                .fold(90, u32::max),
        )
        .build_cartesian_2d(0.0..x_max, (0..n).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("seconds since the first task was handed out")
        .y_labels(n as usize)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i < n => row_names
                .and_then(|r| r.get(*i as usize).cloned())
                .unwrap_or_else(|| format!("worker {i}")),
            _ => String::new(),
        })
        .label_style(("sans-serif", 14))
        .draw()?;
    // Every bar at least 3 pixels wide, so instant failures still show.
    let min_w = x_max / 1000.0 * 3.0;
    let end = |item: &crate::task::ItemReport| {
        item.end.as_secs_f64().max(item.start.as_secs_f64() + min_w)
    };
    chart.draw_series(run.items.iter().map(|item| {
        let row = item.worker as i32;
        let color = if item.outcome.is_err() {
            RED.mix(0.8).filled()
        } else {
            OK_COLORS[item.index % OK_COLORS.len()].filled()
        };
        let mut r = Rectangle::new(
            [
                (item.start.as_secs_f64(), SegmentValue::Exact(row)),
                (end(item), SegmentValue::Exact(row + 1)),
            ],
            color,
        );
        r.set_margin(5, 5, 0, 0);
        r
    }))?;
    chart.draw_series(run.items.iter().map(|item| {
        Rectangle::new(
            [
                (
                    item.start.as_secs_f64(),
                    SegmentValue::Exact(item.worker as i32),
                ),
                (end(item), SegmentValue::Exact(item.worker as i32 + 1)),
            ],
            BLACK.stroke_width(1),
        )
    }))?;
    // Labels: the number inside its bar when it fits, else the item's
    // index, else nothing (the bar is too thin to read anyway).
    let per_px = x_max / 1000.0;
    let style = ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(run.items.iter().filter_map(|item| {
        let width = item.end.saturating_sub(item.start).as_secs_f64();
        let fits = |s: &str| width > per_px * (8.5 * s.len() as f64 + 8.0);
        let full = match &item.outcome {
            Ok(_) => item.number.to_string(),
            Err(_) => format!("{} FAILED", item.number),
        };
        let short = format!("#{}", item.index);
        let label = [full, short].into_iter().find(|s| fits(s))?;
        Some(Text::new(
            label,
            (
                item.start.as_secs_f64() + per_px * 4.0,
                SegmentValue::CenterOf(item.worker as i32),
            ),
            style.clone(),
        ))
    }))?;
    // The top row is free: it holds the legend.
    chart.draw_series(std::iter::once(Text::new(
        "one bar per item, from hand-out to result; red: failed; black line: total time",
        (per_px * 4.0, SegmentValue::CenterOf(n)),
        style.clone(),
    )))?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![
            (wall, SegmentValue::Exact(0)),
            (wall, SegmentValue::Exact(n)),
        ],
        BLACK.stroke_width(2),
    )))?;
    Ok(())
}
