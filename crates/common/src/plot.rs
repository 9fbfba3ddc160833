//! Plotting without system libraries: registers the embedded DejaVu Sans font
//! (Bitstream Vera licence, `assets/DejaVuSans-LICENSE.txt`) with plotters as
//! `"sans-serif"`, so bitmap charts render text on any machine.
//!
//! Call [`register_font`] once before drawing text with plotters' bitmap
//! backend (calling it again is harmless).

use std::sync::Once;

/// The embedded font file.
pub static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family name charts should use.
pub const FAMILY: &str = "sans-serif";

static REGISTER: Once = Once::new();

/// Registers [`FONT`] as the `"sans-serif"` family (once per process).
///
/// # Examples
///
/// ```
/// use plotters::prelude::*;
/// common::plot::register_font();
/// let mut svg = String::new();
/// {
///     let root = SVGBackend::with_string(&mut svg, (200, 100)).into_drawing_area();
///     root.fill(&WHITE).unwrap();
///     root.draw(&Text::new("Hz", (10, 10), ("sans-serif", 20).into_font())).unwrap();
///     root.present().unwrap();
/// }
/// assert!(svg.contains("Hz"), "text was drawn");
/// ```
pub fn register_font() {
    REGISTER.call_once(|| {
        // The font is valid (it is embedded and tested), so this cannot fail;
        // if it ever did, text would just be missing from the chart.
        let _ = plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, FONT);
        let _ = plotters::style::register_font(FAMILY, plotters::style::FontStyle::Bold, FONT);
    });
}
