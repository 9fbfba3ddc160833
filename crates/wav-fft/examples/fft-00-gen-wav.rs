//! Not in the book (it uses a recording of Bach): writes the deterministic test WAV the fft lesson analyses.
//!
//! `cargo run --release -p wav-fft --example fft-00-gen-wav -- --seconds 60`
//! (`cargo xtask gen-data` runs this; `--book-size` writes the 1.07 GB one).

use std::path::PathBuf;

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use indicatif::{ProgressBar, ProgressStyle};
use support::cli::{BOOK_WAV, BoxError, QUICK_WAV};
use wav_fft::book::generate;

#[path = "fft-support/mod.rs"]
mod support;

/// Write a 16-bit stereo WAV with tones at known frequencies (the A notes,
/// 3521.37 Hz and 15001.7 Hz) and a little noise, into data/generated.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Duration in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// The book's duration, 6058.8 s (≈1.07 GB), written to tones-book.wav.
    #[arg(long)]
    book_size: bool,
    /// Output file (default: data/generated/tones-60s.wav or tones-book.wav).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Exactly this many frames instead of --seconds (e.g. 2 × a prime:
    /// an awkward length, as real recordings have).
    #[arg(long, conflicts_with = "book_size")]
    frames: Option<u64>,
    /// Bits per sample: 16 or 24.
    #[arg(long, default_value_t = 16)]
    bits: u16,
    /// Rewrite the file even if it exists with the right size.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    output: OutputArgs,
}

fn try_main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let log = cli.output.stage_log();
    let (seconds, name) = if cli.book_size {
        (generate::BOOK_SECONDS, BOOK_WAV)
    } else {
        (cli.seconds, QUICK_WAV)
    };
    let frames = cli
        .frames
        .unwrap_or_else(|| (seconds * 44_100.0).round() as u64);
    let path = match (cli.out, cli.frames) {
        (Some(p), _) => p,
        (None, Some(f)) => {
            common::data::generated_dir()?.join(format!("recording-{f}-{}bit.wav", cli.bits))
        }
        (None, None) => common::data::generated_dir()?.join(name),
    };
    let expected = 44 + frames * 2 * u64::from(cli.bits / 8);
    let exists = std::fs::metadata(&path).is_ok_and(|m| m.len() == expected);
    if exists && !cli.force {
        log.stage(format!(
            "{} exists ({expected} bytes): kept",
            path.display()
        ));
    } else {
        log.stage(format!(
            "writing {frames} frames of {}-bit stereo to {}",
            cli.bits,
            path.display()
        ));
        let bar = ProgressBar::new(expected);
        bar.set_style(ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {eta}",
        )?);
        if cli.output.quiet || cli.output.json {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        generate::write_recording(&path, frames, 44_100, cli.bits, &mut |done, _| {
            bar.set_position(done)
        })?;
        bar.finish_and_clear();
        log.stage("written");
    }
    let rec = Record::new("fft-00-gen-wav")
        .metric("path", path.display().to_string())
        .metric("bytes", expected)
        .metric("generated", !exists || cli.force)
        .with_stages(&log);
    rec.emit(cli.output.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
