//! Book 1.4.3, `wav-fft-paralelo-mal.py`: cut the signal into contiguous parts, FFT each on its own thread, add — wrong.
//!
//! `cargo run --release -p wav-fft --example fft-03-parallel-wrong -- --parts 2 --plot wrong.png`

use clap::Parser;
use common::Record;
use support::cli::{self, BoxError, SpectrumArgs, s};
use support::plot::PlotOptions;
use wav_fft::{book, wav};

#[path = "fft-support/mod.rs"]
mod support;

/// Every bin of an FFT depends on the WHOLE signal: spectra of pieces are
/// spectra of shorter signals, with P times coarser bins. Added up and
/// plotted on the whole signal's frequency axis (the book's mistake), every
/// tone shows at 1/P of its frequency.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: SpectrumArgs,
    /// Number of contiguous parts (one thread each, at most one per core).
    #[arg(long, default_value_t = 2, value_parser = common::cli::at_least_one)]
    parts: usize,
}

fn try_main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let log = cli.args.out.stage_log();
    let path = cli.args.input()?;
    log.stage(format!("loading {}", path.display()));
    let signal = wav::load_mono_with(&path, &cli.args.read_options())?;
    cli::log_info(&log, &signal.info);
    let spec = book::contiguous_wrong(&signal.samples, signal.sample_rate, cli.parts)
        .map_err(cli::about(&path))?;
    let fft = log.elapsed();
    log.stage(format!(
        "FFT of {} contiguous parts done (WRONG)",
        cli.parts
    ));
    println!(
        "each part is {:.1} s long: its bins are {} times wider, so on the whole signal's axis a tone at f shows at f/{}",
        signal.info.duration_s() / cli.parts as f64,
        cli.parts,
        cli.parts
    );
    let mut rec = Record::new("fft-03-parallel-wrong");
    cli::record_info(&mut rec, &path, &signal.info);
    rec.set("parts", cli.parts);
    rec.set("fft_done_s", s(fft));
    let title = format!("WRONG: {} contiguous parts, spectra added", cli.parts);
    cli::finish(&log, &cli.args, &spec, PlotOptions::new(title), rec)
}

fn main() {
    common::cli::run(try_main);
}
