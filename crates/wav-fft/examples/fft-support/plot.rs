//! PNG spectra as the book draws them: magnitude over a log frequency axis
//! from 18 to 22 000 Hz, ticks at the A notes (27.5 … 14080 Hz) labelled as
//! plain numbers, "Frequency (Hz)" below.
//!
//! Two ways to reduce 10⁸ bins to a picture: [`PlotMode::Envelope`] draws,
//! for each pixel column, a line from the smallest to the largest magnitude
//! of the bins in it (a narrow peak can never be lost), and
//! [`PlotMode::Decimate`] keeps one bin in `step` like the book's optimised
//! program (a one-bin peak between two kept bins vanishes).

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use wav_fft::Error;
use wav_fft::spectrum::{A_TICKS, FREQ_MAX, FREQ_MIN, Spectrum};

/// How the bins become pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotMode {
    /// Min–max per pixel column (faithful).
    Envelope,
    /// One bin in `step`, joined by lines (the book's 1 in 100).
    Decimate(usize),
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Caption above the chart.
    pub title: String,
    /// How bins become pixels.
    pub mode: PlotMode,
    /// A vertical red line with a label (e.g. the Nyquist limit).
    pub marker: Option<(f64, String)>,
    /// Picture size in pixels.
    pub size: (u32, u32),
}

impl PlotOptions {
    /// An envelope plot, 1600 × 600, titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        PlotOptions {
            title: title.into(),
            mode: PlotMode::Envelope,
            marker: None,
            size: (1600, 600),
        }
    }
}

/// Draws the audible band of `spec` to a PNG file at `path`.
///
/// # Errors
/// [`Error::Plot`] naming the file.
pub fn plot_spectrum(path: &Path, spec: &Spectrum, opts: &PlotOptions) -> Result<(), Error> {
    plot_stacked(path, &[(spec, opts)])
}

/// Draws several spectra one above the other on the same frequency axis
/// (e.g. the full band over the Nyquist-cut strided one). The picture is
/// as wide as the first panel's size and as high as all panels together.
///
/// # Errors
/// [`Error::Plot`] naming the file.
pub fn plot_stacked(path: &Path, panels: &[(&Spectrum, &PlotOptions)]) -> Result<(), Error> {
    let panels: Vec<(Data, &PlotOptions)> = panels
        .iter()
        .map(|(s, o)| (Data::Spectrum(s), *o))
        .collect();
    plot_data(path, &panels)
}

/// What a panel shows: a whole spectrum, or only what an envelope plot of
/// it needs (the MPI program's rank 0 never holds the spectrum).
pub enum Data<'a> {
    /// The magnitudes of every bin.
    Spectrum(&'a Spectrum),
    /// Per pixel column of [`envelope_columns`], the min and max magnitude
    /// ([`Spectrum::column_envelope`] from `x_lo` to `x_hi`), and the
    /// largest magnitude in the audible band.
    Envelope(&'a [Option<(f32, f32)>], f32),
}

/// The log axis of a plot: its ends (Hz) and how many pixel columns an
/// envelope plot of width `width_px` has.
pub fn envelope_columns(width_px: u32) -> (f64, f64, usize) {
    (
        FREQ_MIN * 0.9,
        FREQ_MAX * 1.1,
        (width_px as usize).saturating_sub(130).max(100),
    )
}

/// Draws an envelope plot from the columns alone (see [`Data::Envelope`]).
///
/// # Errors
/// [`Error::Plot`] naming the file.
pub fn plot_envelope(
    path: &Path,
    columns: &[Option<(f32, f32)>],
    top: f32,
    opts: &PlotOptions,
) -> Result<(), Error> {
    plot_data(path, &[(Data::Envelope(columns, top), opts)])
}

fn plot_data(path: &Path, panels: &[(Data, &PlotOptions)]) -> Result<(), Error> {
    let fail = |problem: String| Error::Plot {
        path: path.into(),
        problem,
    };
    common::plot::register_font();
    let (w, h) = panels.first().map_or((1600, 600), |p| p.1.size);
    let height = h * panels.len().max(1) as u32;
    let root = BitMapBackend::new(path, (w, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| fail(x.to_string()))?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for ((data, opts), area) in panels.iter().zip(&areas) {
        draw(area, data, opts).map_err(fail)?;
    }
    root.present().map_err(|x| fail(x.to_string()))?;
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    data: &Data,
    opts: &PlotOptions,
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    // Chart coordinates are the backend's; drawing on `root` is relative to it.
    let (bx, by) = root.get_base_pixel();
    let local = |(x, y): (i32, i32)| (x - bx, y - by);
    let (x_lo, x_hi, width) = envelope_columns(opts.size.0);
    let top = match data {
        Data::Spectrum(spec) => spec.mags[spec.audible()]
            .iter()
            .copied()
            .fold(0.0f32, f32::max),
        Data::Envelope(_, top) => *top,
    }
    .max(f32::MIN_POSITIVE);
    let y_hi = f64::from(top) * 1.05;
    let mut chart = ChartBuilder::on(root)
        .caption(&opts.title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..y_hi)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .set_tick_mark_size(LabelAreaPosition::Bottom, 0)
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.2e}"))
        .x_desc("Frequency (Hz)")
        .y_desc("|X(f)|")
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|x| e(&x))?;
    // Ticks at the A notes, labelled as plain numbers.
    let grid = RGBColor(215, 215, 215);
    for &t in &A_TICKS {
        chart
            .draw_series(LineSeries::new([(t, 0.0), (t, y_hi)], grid))
            .map_err(|x| e(&x))?;
    }
    let blue = RGBColor(31, 90, 180);
    let points: Vec<(f64, f64)> = match (opts.mode, data) {
        (PlotMode::Envelope, _) | (_, Data::Envelope(..)) => {
            let span = (x_hi / x_lo).ln();
            let env = match data {
                Data::Spectrum(spec) => spec.column_envelope(x_lo, x_hi, width),
                Data::Envelope(columns, _) => columns.to_vec(),
            };
            let cols: Vec<(f64, f64, f64)> = env
                .iter()
                .enumerate()
                .filter_map(|(c, v)| {
                    let (mn, mx) = (*v)?;
                    let f = x_lo * (span * (c as f64 + 0.5) / width as f64).exp();
                    (f > FREQ_MIN && f < FREQ_MAX).then_some((f, f64::from(mn), f64::from(mx)))
                })
                .collect();
            chart
                .draw_series(
                    cols.iter()
                        .map(|&(f, mn, mx)| PathElement::new([(f, mn), (f, mx)], blue)),
                )
                .map_err(|x| e(&x))?;
            cols.iter().map(|&(f, _, mx)| (f, mx)).collect()
        }
        (PlotMode::Decimate(step), Data::Spectrum(spec)) => spec
            .decimated(spec.audible(), step)
            .into_iter()
            .map(|(f, m)| (f, f64::from(m)))
            .collect(),
    };
    chart
        .draw_series(LineSeries::new(points, blue))
        .map_err(|x| e(&x))?;
    if let Some((f, label)) = &opts.marker {
        let red = RGBColor(200, 30, 30);
        chart
            .draw_series(LineSeries::new(
                [(*f, 0.0), (*f, y_hi)],
                red.stroke_width(2),
            ))
            .map_err(|x| e(&x))?;
        let (px, py) = local(chart.backend_coord(&(*f, y_hi * 0.95)));
        root.draw(&Text::new(
            label.clone(),
            (px + 6, py),
            ("sans-serif", 16).into_font().color(&red),
        ))
        .map_err(|x| e(&x))?;
    }
    let style = ("sans-serif", 15)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for &t in &A_TICKS {
        let (px, py) = local(chart.backend_coord(&(t, 0.0)));
        root.draw(&PathElement::new([(px, py), (px, py + 5)], BLACK))
            .map_err(|x| e(&x))?;
        root.draw(&Text::new(format!("{t}"), (px, py + 8), style.clone()))
            .map_err(|x| e(&x))?;
    }
    Ok(())
}
