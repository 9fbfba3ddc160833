//! The lesson's phenomena on a generated WAV: peaks where the tones are, the
//! contiguous split at half frequency, the strided one cut at Nyquist with
//! aliases, and the exact parallel FFT equal to the sequential one.

use wav_fft::book;
use wav_fft::book::generate::{self, TONES};
use wav_fft::parallel::{self, ExactPlan};
use wav_fft::spectrum::{FREQ_MAX, FREQ_MIN, realfft_spectrum};
use wav_fft::wav::{self, MonoSignal};

/// 1.5 s of the test signal (66,150 samples; bins of 2/3 Hz).
fn signal() -> MonoSignal {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tones.wav");
    generate::write_test_wav(&path, 1.5, 44_100, &mut |_, _| {}).unwrap();
    wav::load_mono(&path).unwrap()
}

fn near(found: &[f64], f: f64, tol: f64) -> bool {
    found.iter().any(|x| (x - f).abs() <= tol)
}

#[test]
fn simple_spectrum_peaks_at_the_tones() {
    let x = signal();
    let spec = realfft_spectrum(x.samples, x.sample_rate);
    let peaks = spec.peaks(TONES.len(), FREQ_MIN, FREQ_MAX);
    let found: Vec<f64> = peaks.iter().map(|p| p.freq_hz).collect();
    for t in &TONES {
        assert!(near(&found, t.freq_hz, spec.bin_hz), "{t:?}: {found:?}");
    }
}

#[test]
fn exact_parallel_equals_sequential() {
    let x = signal();
    let plan = ExactPlan::new(x.samples.len()).unwrap();
    let reference = realfft_spectrum(x.samples.clone(), x.sample_rate);
    let (exact, steps) = parallel::exact_timed(x.samples, x.sample_rate, &plan).unwrap();
    assert_eq!(steps.len(), 2);
    let err = exact.max_relative_error(&reference);
    assert!(err < 1e-5, "max relative error {err}");
    assert_eq!(exact.max_freq(), reference.max_freq());
}

#[test]
fn mapped_source_fused_into_the_fft_equals_loaded_signal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tones.wav");
    generate::write_test_wav(&path, 0.7, 44_100, &mut |_, _| {}).unwrap();
    let loaded = wav::load_mono(&path).unwrap();
    let plan = ExactPlan::new(loaded.samples.len()).unwrap();
    let a = parallel::exact(loaded.samples, 44_100, &plan).unwrap();
    // SAFETY: the test's own temporary file, written above and not modified
    // while it is mapped.
    let mapped = unsafe { wav::MappedWav::open(&path) }.unwrap();
    let b = parallel::exact(mapped, 44_100, &plan).unwrap();
    assert_eq!(a, b);
}

#[test]
fn contiguous_split_shows_tones_at_half_frequency() {
    let x = signal();
    let spec = book::contiguous_wrong(&x.samples, x.sample_rate, 2).unwrap();
    let found: Vec<f64> = spec
        .peaks(7, FREQ_MIN, FREQ_MAX)
        .iter()
        .map(|p| p.freq_hz)
        .collect();
    for f in [55.0, 220.0, 3521.37] {
        assert!(
            near(&found, f / 2.0, 2.0 * spec.bin_hz + 0.01),
            "{f}: {found:?}"
        );
    }
    // (220 Hz is there, but it is 440 Hz halved.)
    for f in [55.0, 3521.37, 7040.0] {
        assert!(!near(&found, f, 1.0), "{f} should not be where it belongs");
    }
}

#[test]
fn strided_split_stops_at_nyquist_and_aliases() {
    let x = signal();
    // 66,150 samples: not a multiple of 4 — two parts get a zero.
    let r = book::strided(&x.samples, x.sample_rate, 4).unwrap();
    assert_eq!(r.padded, 2);
    assert_eq!(r.nyquist_hz, 44_100.0 / 8.0);
    // Bins 0..=len/2: the last one is the sub-signals' Nyquist frequency.
    assert!((r.spectrum.max_freq() - r.nyquist_hz).abs() < 1e-9 * r.nyquist_hz);
    let found: Vec<f64> = r
        .spectrum
        .peaks(7, FREQ_MIN, FREQ_MAX)
        .iter()
        .map(|p| p.freq_hz)
        .collect();
    let tol = 2.0 * r.spectrum.bin_hz;
    assert!(near(&found, 3521.37, tol), "below the cut: {found:?}");
    // 15001.7 Hz sampled at 11025 Hz folds to 3976.3 Hz; 7040 to 3985 Hz.
    assert!(near(&found, 15_001.7 - 11_025.0, tol), "{found:?}");
    assert!(near(&found, 11_025.0 - 7040.0, tol), "{found:?}");
    assert!(!near(&found, 7040.0, 1.0));
}

#[test]
fn too_short_signals_are_errors_not_panics() {
    let x = vec![0.5f32; 10];
    assert!(book::strided(&x, 8000, 8).is_err());
    assert!(book::contiguous_wrong(&x[..1], 8000, 2).is_err());
    assert!(ExactPlan::new(0).is_err());
}
