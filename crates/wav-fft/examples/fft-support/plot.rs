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

/// A plot that could not be drawn or written: the picture's file and why.
#[derive(Debug)]
pub struct Error {
    /// The picture's file.
    pub path: std::path::PathBuf,
    /// What went wrong.
    pub problem: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: cannot draw the plot: {}",
            self.path.display(),
            self.problem
        )
    }
}

impl std::error::Error for Error {}
use wav_fft::book::A_TICKS;
use wav_fft::spectrum::{FREQ_MAX, FREQ_MIN, Spectrum};

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
    /// Draw 10·log10 of the values (power spectra) instead of the values.
    pub db: bool,
    /// The y axis' label.
    pub y_desc: String,
}

impl PlotOptions {
    /// An envelope plot, 1600 × 600, titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        PlotOptions {
            title: title.into(),
            mode: PlotMode::Envelope,
            marker: None,
            size: (1600, 600),
            db: false,
            y_desc: "|X(f)|".into(),
        }
    }
}

/// Draws the audible band of `spec` to a PNG file at `path`.
///
/// # Errors
/// [`Error`] naming the file.
pub fn plot_spectrum(path: &Path, spec: &Spectrum, opts: &PlotOptions) -> Result<(), Error> {
    plot_stacked(path, &[(spec, opts)])
}

/// Draws several spectra one above the other on the same frequency axis
/// (e.g. the full band over the Nyquist-cut strided one). The picture is
/// as wide as the first panel's size and as high as all panels together.
///
/// # Errors
/// [`Error`] naming the file.
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
/// [`Error`] naming the file.
pub fn plot_envelope(
    path: &Path,
    columns: &[Option<(f32, f32)>],
    top: f32,
    opts: &PlotOptions,
) -> Result<(), Error> {
    plot_data(path, &[(Data::Envelope(columns, top), opts)])
}

fn plot_data(path: &Path, panels: &[(Data, &PlotOptions)]) -> Result<(), Error> {
    let fail = |problem: String| Error {
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
    // In dB: from the smallest positive value (at most 150 dB below the top).
    let (y_lo, y_hi, y) = if opts.db {
        let hi = 10.0 * f64::from(top).log10();
        let low = match data {
            Data::Spectrum(spec) => spec.mags[spec.audible()]
                .iter()
                .copied()
                .filter(|&v| v > 0.0)
                .fold(f32::INFINITY, f32::min),
            Data::Envelope(cols, _) => cols
                .iter()
                .flatten()
                .map(|c| c.0)
                .filter(|&v| v > 0.0)
                .fold(f32::INFINITY, f32::min),
        };
        let lo = (10.0 * f64::from(low).log10())
            .max(hi - 150.0)
            .min(hi - 10.0)
            - 3.0;
        let y: Box<dyn Fn(f32) -> f64> =
            Box::new(move |v: f32| (10.0 * f64::from(v).log10()).max(lo));
        (lo, hi + 3.0, y)
    } else {
        let y: Box<dyn Fn(f32) -> f64> = Box::new(f64::from);
        (0.0, f64::from(top) * 1.05, y)
    };
    let mut chart = ChartBuilder::on(root)
        .caption(&opts.title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), y_lo..y_hi)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .set_tick_mark_size(LabelAreaPosition::Bottom, 0)
        .y_labels(6)
        .y_label_formatter(&|v| {
            if opts.db {
                format!("{v:.0}")
            } else {
                format!("{v:.2e}")
            }
        })
        .x_desc("Frequency (Hz)")
        .y_desc(opts.y_desc.as_str())
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|x| e(&x))?;
    // Ticks at the A notes, labelled as plain numbers.
    let grid = RGBColor(215, 215, 215);
    for &t in &A_TICKS {
        chart
            .draw_series(LineSeries::new([(t, y_lo), (t, y_hi)], grid))
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
                    (f > FREQ_MIN && f < FREQ_MAX).then_some((f, y(mn), y(mx)))
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
            .map(|(f, m)| (f, y(m)))
            .collect(),
    };
    chart
        .draw_series(LineSeries::new(points, blue))
        .map_err(|x| e(&x))?;
    if let Some((f, label)) = &opts.marker {
        let red = RGBColor(200, 30, 30);
        chart
            .draw_series(LineSeries::new(
                [(*f, y_lo), (*f, y_hi)],
                red.stroke_width(2),
            ))
            .map_err(|x| e(&x))?;
        let (px, py) = local(chart.backend_coord(&(*f, y_hi - 0.05 * (y_hi - y_lo))));
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
        let (px, py) = local(chart.backend_coord(&(t, y_lo)));
        root.draw(&PathElement::new([(px, py), (px, py + 5)], BLACK))
            .map_err(|x| e(&x))?;
        root.draw(&Text::new(format!("{t}"), (px, py + 8), style.clone()))
            .map_err(|x| e(&x))?;
    }
    Ok(())
}

/// Draws a spectrogram (time → x, log frequency → y, dB → colour) to a PNG
/// file at `path`: every cell of the grid [`wav_fft::spectral::spectrogram`]
/// reduced it to.
///
/// # Errors
/// [`Error`] naming the file.
pub fn plot_spectrogram(
    path: &Path,
    sg: &wav_fft::spectral::Spectrogram,
    title: &str,
    unit: &str,
) -> Result<(), Error> {
    let fail = |problem: String| Error {
        path: path.into(),
        problem,
    };
    let e = |x: &dyn std::fmt::Display| fail(x.to_string());
    common::plot::register_font();
    let root = BitMapBackend::new(path, (1600, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let db: Vec<f64> = sg
        .values
        .iter()
        .map(|&v| 10.0 * f64::from(v).log10())
        .collect();
    let hi = db
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let hi = if hi.is_finite() { hi } else { 0.0 };
    // Colour range: from the 2nd percentile (the noise floor's bottom) to
    // the top, at most 100 dB.
    let mut finite: Vec<f64> = db.iter().copied().filter(|v| v.is_finite()).collect();
    finite.sort_by(f64::total_cmp);
    let p2 = finite.get(finite.len() / 50).copied().unwrap_or(hi - 100.0);
    let lo = p2.max(hi - 100.0).min(hi - 10.0);
    let (t0, t1) = (
        sg.times_s.first().map_or(0.0, |t| t.0),
        sg.times_s.last().map_or(1.0, |t| t.1),
    );
    let (f_lo, f_hi) = (sg.row_edges_hz[0], sg.row_edges_hz[sg.rows]);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{title} (colour: dB re 1 {unit}, top 100 dB)"),
            ("sans-serif", 24),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(t0..t1.max(t0 + 1e-9), (f_lo..f_hi).log_scale())
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("Time (s)")
        .y_desc("Frequency (Hz)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|x| e(&x))?;
    let colour = |v: f64| {
        let x = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        // Dark blue → teal → yellow.
        let r = (255.0 * (1.6 * x - 0.6).clamp(0.0, 1.0)) as u8;
        let g = (255.0 * (1.2 * x).clamp(0.0, 1.0).powf(0.8)) as u8;
        let b = (255.0 * (0.35 + 0.9 * x - 1.2 * x * x).clamp(0.0, 1.0)) as u8;
        RGBColor(r, g, b)
    };
    chart
        .draw_series((0..sg.columns).flat_map(|c| {
            let (a, b) = sg.times_s[c];
            let b = if c + 1 < sg.columns {
                sg.times_s[c + 1].0
            } else {
                b
            };
            let db = &db;
            (0..sg.rows).map(move |r| {
                Rectangle::new(
                    [(a, sg.row_edges_hz[r]), (b, sg.row_edges_hz[r + 1])],
                    colour(db[c * sg.rows + r]).filled(),
                )
            })
        }))
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
