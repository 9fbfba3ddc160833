//! scipy's spectral analysis, checked analytically (no scipy needed): the
//! flat-top window reads a tone's amplitude, white noise of variance σ² has
//! a mean density of 2σ²/fs, Parseval holds, Welch's mean and median follow
//! scipy's definitions (the median's bias correction included), bad
//! parameters are clear errors, the CSV is what it says — over awkward
//! lengths (odd, prime, 2 × prime).

use proptest::prelude::*;
use wav_fft::Error;
use wav_fft::spectral::{
    self, Average, Detrend, Scaling, SpectralOptions, SpectrogramOptions, View, WelchOptions,
    Window, median_bias,
};
use wav_fft::wav::MonoSource;

/// Awkward lengths: primes, 2 × primes, odd composites, a power of two.
const LENGTHS: [usize; 12] = [
    997,
    1009,
    2 * 503,
    2 * 1999,
    3 * 7 * 53,
    4095,
    4096,
    7919,
    2 * 4001,
    9999,
    12_289,
    2 * 7013,
];

/// A deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn tone(n: usize, fs: f64, f: f64, a: f64, phase: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (a * (std::f64::consts::TAU * f * i as f64 / fs + phase).cos()) as f32)
        .collect()
}

/// |X[k]|², k = 0..=m/2, by the definition (f64).
fn dft_power(x: &[f64]) -> Vec<f64> {
    let m = x.len();
    (0..=m / 2)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (j, &v) in x.iter().enumerate() {
                let a = -std::f64::consts::TAU * ((k * j) % m) as f64 / m as f64;
                re += v * a.cos();
                im += v * a.sin();
            }
            re * re + im * im
        })
        .collect()
}

/// scipy.signal.welch by its definition, straight from the formulas.
fn welch_reference(x: &[f32], fs: f64, o: &WelchOptions, noverlap: usize) -> Vec<f64> {
    let m = o.nperseg;
    let step = m - noverlap;
    let nseg = (x.len() - noverlap) / step;
    let w = o.spectral.window.values(m);
    let s1: f64 = w.iter().sum();
    let s2: f64 = w.iter().map(|v| v * v).sum();
    let scale = match o.spectral.scaling {
        Scaling::Density => 1.0 / (fs * s2),
        _ => 1.0 / (s1 * s1),
    };
    let per_seg: Vec<Vec<f64>> = (0..nseg)
        .map(|i| {
            let seg: Vec<f64> = x[i * step..i * step + m]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let mean = match o.spectral.detrend {
                Detrend::None => 0.0,
                _ => seg.iter().sum::<f64>() / m as f64,
            };
            let y: Vec<f64> = seg.iter().zip(&w).map(|(v, w)| (v - mean) * w).collect();
            dft_power(&y)
                .into_iter()
                .enumerate()
                .map(|(k, p)| {
                    let d = if k == 0 || (m % 2 == 0 && k == m / 2) {
                        1.0
                    } else {
                        2.0
                    };
                    p * scale * d
                })
                .collect()
        })
        .collect();
    (0..=m / 2)
        .map(|k| {
            let mut col: Vec<f64> = per_seg.iter().map(|s| s[k]).collect();
            match o.average {
                Average::Median => {
                    col.sort_by(f64::total_cmp);
                    let n = col.len();
                    let med = if n % 2 == 1 {
                        col[n / 2]
                    } else {
                        0.5 * (col[n / 2 - 1] + col[n / 2])
                    };
                    med / if n > 1 { median_bias(n) } else { 1.0 }
                }
                _ => col.iter().sum::<f64>() / col.len() as f64,
            }
        })
        .collect()
}

fn window_strategy() -> impl Strategy<Value = Window> {
    prop::sample::select(Window::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A tone of amplitude A reads A (peak amplitude view, flat-top window),
    /// wherever it falls between bins, whatever the length.
    #[test]
    fn flat_top_reads_a_tones_amplitude(
        n in prop::sample::select(LENGTHS.to_vec()),
        bin in 20.0f64..400.0,
        a in 0.01f64..2.0,
        phase in 0.0f64..std::f64::consts::TAU,
    ) {
        let fs = 8000.0;
        let f = bin * fs / n as f64;
        let x = tone(n, fs, f, a, phase);
        let opts = SpectralOptions::default().window(Window::FlatTop).scaling(Scaling::Spectrum);
        for psd in [
            spectral::periodogram(x.clone(), 8000, &opts).unwrap(),
            spectral::periodogram_serial(x.clone(), 8000, &opts).unwrap(),
        ] {
            let amp = psd.view(View::Amplitude);
            let top = amp.iter().copied().fold(0.0f32, f32::max);
            prop_assert!((f64::from(top) - a).abs() < 2e-3 * a, "n {} f {} a {} read {}", n, f, a, top);
            // The spectrum scaling itself reads the mean power A²/2.
            let p = psd.values.iter().copied().fold(0.0f32, f32::max);
            prop_assert!((f64::from(p) - a * a / 2.0).abs() < 4e-3 * a * a / 2.0);
        }
    }

    /// Parseval: Σ P[k]·Δf of the density periodogram is the mean power of
    /// the (detrended) windowed signal over Σw²/N — for a rectangular window,
    /// the signal's variance (detrend constant) or mean square (none).
    #[test]
    fn parseval_holds_for_every_length_and_window(
        n in prop::sample::select(LENGTHS.to_vec()),
        w in window_strategy(),
        seed in any::<u64>(),
        detrend in prop::sample::select(vec![Detrend::None, Detrend::Constant]),
    ) {
        let mut rng = Rng(seed);
        let x: Vec<f32> = (0..n).map(|_| (0.3 + rng.uniform()) as f32).collect();
        let opts = SpectralOptions::default().window(w).detrend(detrend);
        let psd = spectral::periodogram(x.clone(), 1000, &opts).unwrap();
        let mean = match detrend {
            Detrend::None => 0.0,
            _ => x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64,
        };
        let wv = w.values(n);
        let s2: f64 = wv.iter().map(|v| v * v).sum();
        let want: f64 = x.iter().zip(&wv).map(|(&v, w)| ((f64::from(v) - mean) * w).powi(2)).sum::<f64>() / s2;
        let got = psd.total_power();
        prop_assert!((got - want).abs() < 1e-5 * want, "{} {:?}: {} vs {}", n, w, got, want);
    }

    /// Welch (mean and median) equals scipy's definition computed from the
    /// formulas, for awkward segment lengths and overlaps.
    #[test]
    fn welch_follows_scipys_definitions(
        nperseg in prop::sample::select(vec![31usize, 64, 97, 2 * 53, 125]),
        overlap_frac in 0.0f64..0.9,
        extra in 0usize..700,
        w in window_strategy(),
        scaling in prop::sample::select(vec![Scaling::Density, Scaling::Spectrum]),
        average in prop::sample::select(vec![Average::Mean, Average::Median]),
        detrend in prop::sample::select(vec![Detrend::None, Detrend::Constant]),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng(seed);
        let n = nperseg + extra;
        let x: Vec<f32> = (0..n).map(|i| (0.1 + rng.uniform() + (i as f64 * 0.3).sin()) as f32).collect();
        let noverlap = ((nperseg as f64) * overlap_frac) as usize;
        let o = WelchOptions::new(nperseg)
            .noverlap(noverlap)
            .window(w)
            .scaling(scaling)
            .average(average)
            .detrend(detrend);
        let got = spectral::welch(&x, 2000, &o).unwrap();
        let want = welch_reference(&x, 2000.0, &o, noverlap);
        prop_assert_eq!(got.values.len(), want.len());
        prop_assert_eq!(got.segments, (n - noverlap) / (nperseg - noverlap));
        let top = want.iter().copied().fold(0.0, f64::max);
        for (k, (&g, &r)) in got.values.iter().zip(&want).enumerate() {
            prop_assert!((f64::from(g) - r).abs() <= 1e-5 * r.abs() + 1e-9 * top,
                "bin {}: {} vs {} ({:?} {:?} {:?})", k, g, r, w, scaling, average);
        }
        // The median with a budget of one bin per pass gives the same values.
        if average == Average::Median {
            let tight = spectral::welch(&x, 2000, &o.clone().median_memory(1)).unwrap();
            prop_assert_eq!(&tight.values[..], &got.values[..]);
        }
    }
}

/// White noise of variance σ²: the mean Welch density is 2σ²/fs (one-sided),
/// for the mean and (bias-corrected) median, every window, odd and prime
/// segment lengths.
#[test]
fn white_noise_density_is_two_sigma_squared_over_fs() {
    let fs = 48_000.0;
    let n = 2 * 150_001;
    let amp = 0.5; // uniform in [-amp, amp): σ² = amp²/3
    let var = amp * amp / 3.0;
    let mut rng = Rng(42);
    let x: Vec<f32> = (0..n).map(|_| (amp * rng.uniform()) as f32).collect();
    let want = 2.0 * var / fs;
    for w in Window::ALL {
        for nperseg in [257usize, 1000, 1021] {
            for average in [Average::Mean, Average::Median] {
                let o = WelchOptions::new(nperseg).window(w).average(average);
                let psd = spectral::welch(&x, 48_000, &o).unwrap();
                let inner = &psd.values[1..psd.values.len() - 1];
                let mean = inner.iter().map(|&v| f64::from(v)).sum::<f64>() / inner.len() as f64;
                let tol = if average == Average::Mean { 0.01 } else { 0.03 };
                assert!(
                    (mean / want - 1.0).abs() < tol,
                    "{w} {nperseg} {average:?}: {mean:e} vs {want:e}"
                );
            }
        }
    }
    // The periodogram of the whole signal too (a noisy estimate per bin, but
    // its mean over 150,000 bins is tight).
    let psd = spectral::periodogram(x, 48_000, &SpectralOptions::default()).unwrap();
    let mean =
        psd.values[1..].iter().map(|&v| f64::from(v)).sum::<f64>() / (psd.values.len() - 1) as f64;
    assert!((mean / want - 1.0).abs() < 0.01, "{mean:e} vs {want:e}");
}

#[test]
fn median_bias_is_scipys() {
    // scipy.signal._spectral_py._median_bias for n = 1..6.
    let want = [
        1.0,
        1.0,
        0.833_333_333_333_333_4,
        0.833_333_333_333_333_4,
        0.783_333_333_333_333_4,
        0.783_333_333_333_333_4,
    ];
    for (i, w) in want.iter().enumerate() {
        assert!(
            (median_bias(i + 1) - w).abs() < 1e-15,
            "{}: {}",
            i + 1,
            median_bias(i + 1)
        );
    }
}

#[test]
fn bad_segments_are_clear_errors() {
    let x = vec![0.0f32; 1000];
    let e = spectral::welch(&x, 8000, &WelchOptions::new(1001)).unwrap_err();
    assert!(matches!(
        e,
        Error::SegmentLength {
            nperseg: 1001,
            samples: 1000
        }
    ));
    assert_eq!(
        e.to_string(),
        "nperseg 1001 is longer than the signal (1000 samples): use at most 1000"
    );
    let e = spectral::welch(&x, 8000, &WelchOptions::new(0)).unwrap_err();
    assert_eq!(e.to_string(), "nperseg must be at least 1 (got 0)");
    for noverlap in [100, 101, 5000] {
        let e = spectral::welch(&x, 8000, &WelchOptions::new(100).noverlap(noverlap)).unwrap_err();
        assert!(matches!(e, Error::Overlap { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            format!("noverlap {noverlap} must be less than nperseg 100")
        );
    }
    let so = SpectrogramOptions::new(100).grid(0, 10, 20.0, 2000.0);
    assert!(matches!(
        spectral::spectrogram(&x, 8000, &so),
        Err(Error::Grid { .. })
    ));
    let so = SpectrogramOptions::new(100).grid(10, 10, 0.0, 2000.0);
    assert!(matches!(
        spectral::spectrogram(&x, 8000, &so),
        Err(Error::Grid { .. })
    ));
    let so = SpectrogramOptions::new(2000);
    assert!(matches!(
        spectral::spectrogram(&x, 8000, &so),
        Err(Error::SegmentLength { .. })
    ));
    assert!(matches!(
        spectral::periodogram(Vec::new(), 8000, &SpectralOptions::default()),
        Err(Error::TooShort { .. })
    ));
}

#[test]
fn csv_has_a_header_and_every_bin() {
    let x = tone(1001, 1000.0, 100.0, 1.0, 0.0);
    let psd = spectral::periodogram(x, 1000, &SpectralOptions::default()).unwrap();
    for view in [View::Power, View::Amplitude, View::Db] {
        let mut out = Vec::new();
        psd.write_csv(&mut out, view).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert_eq!(header, spectral::csv_header(Scaling::Density, view));
        let rows: Vec<(f64, f32)> = lines
            .map(|l| {
                let (f, v) = l.split_once(',').unwrap();
                (f.parse().unwrap(), v.parse().unwrap())
            })
            .collect();
        assert_eq!(rows.len(), 501);
        let values = psd.view(view);
        for (k, (f, v)) in rows.iter().enumerate() {
            assert_eq!(*f, k as f64 * psd.bin_hz);
            assert!(v.to_bits() == values[k].to_bits() || (v.is_nan() && values[k].is_nan()));
        }
    }
}

#[test]
fn scalings_and_views_convert_into_each_other() {
    let x = tone(2 * 1999, 4000.0, 500.0, 0.7, 0.3);
    let dens = spectral::periodogram(x.clone(), 4000, &SpectralOptions::default()).unwrap();
    let spec = spectral::periodogram(
        x,
        4000,
        &SpectralOptions::default().scaling(Scaling::Spectrum),
    )
    .unwrap();
    let conv = dens.to_scaling(Scaling::Spectrum);
    for (a, b) in conv.values.iter().zip(spec.values.iter()) {
        assert!((a - b).abs() <= 1e-6 * b.abs() + 1e-12, "{a} {b}");
    }
    let (ad, as_) = (dens.view(View::Amplitude), spec.view(View::Amplitude));
    for (a, b) in ad.iter().zip(&as_) {
        assert!((a - b).abs() <= 1e-5 * b.abs() + 1e-9);
    }
    let db = spec.view(View::Db);
    let k = 500 * 2 * 1999 / 4000;
    assert!((f64::from(db[k]) - 10.0 * f64::from(spec.values[k]).log10()).abs() < 1e-4);
}

/// A source that records which thread each read runs on.
struct Watched<'a> {
    x: &'a [f32],
    names: std::sync::Mutex<Vec<String>>,
}

impl MonoSource for Watched<'_> {
    fn len(&self) -> usize {
        self.x.len()
    }
    fn fill(&self, start: usize, out: &mut [f32]) {
        self.names
            .lock()
            .unwrap()
            .push(std::thread::current().name().unwrap_or("?").to_string());
        let have = self.x.len().saturating_sub(start).min(out.len());
        out[..have].copy_from_slice(&self.x[start..start + have]);
        out[have..].fill(0.0);
    }
}

#[test]
fn welch_runs_in_the_callers_pool() {
    let x = tone(50_000, 8000.0, 440.0, 1.0, 0.0);
    let src = Watched {
        x: &x,
        names: Default::default(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .thread_name(|i| format!("callers-{i}"))
        .build()
        .unwrap();
    let psd = pool
        .install(|| spectral::welch(&src, 8000, &WelchOptions::new(512)))
        .unwrap();
    {
        let names = src.names.lock().unwrap();
        assert_eq!(names.len(), psd.segments);
        assert!(names.iter().all(|n| n.starts_with("callers-")), "{names:?}");
    }
    let sg = pool
        .install(|| {
            spectral::spectrogram(
                &src,
                8000,
                &SpectrogramOptions::new(512).grid(10, 20, 100.0, 4000.0),
            )
        })
        .unwrap();
    assert_eq!(sg.segments, psd.segments);
    assert!(
        src.names
            .lock()
            .unwrap()
            .iter()
            .all(|n| n.starts_with("callers-"))
    );
}

#[test]
fn spectrogram_follows_a_tone_that_changes() {
    let fs = 8000.0;
    let mut x = tone(40_000, fs, 300.0, 1.0, 0.0);
    x.extend(tone(40_000, fs, 2000.0, 1.0, 0.0));
    let so = SpectrogramOptions::new(1024).grid(20, 60, 50.0, 4000.0);
    let sg = spectral::spectrogram(&x, 8000, &so).unwrap();
    assert_eq!(sg.columns, 20);
    assert_eq!(sg.row_edges_hz.len(), 61);
    let loudest_row = |c: usize| {
        (0..sg.rows)
            .max_by(|&a, &b| sg.at(c, a).total_cmp(&sg.at(c, b)))
            .unwrap()
    };
    let row_of = |f: f64| {
        sg.row_edges_hz
            .windows(2)
            .position(|e| e[0] <= f && f < e[1])
            .unwrap()
    };
    assert_eq!(loudest_row(2), row_of(300.0));
    assert_eq!(loudest_row(17), row_of(2000.0));
    assert!(sg.times_s[0].0 == 0.0 && sg.times_s[19].1 <= 10.0 + 1e-9);
    // Density scaling: the column's loudest value equals Welch's over the
    // same segments (the mean of their periodograms, at the tone's bin).
    let segs = sg.segments;
    assert_eq!(segs, (80_000 - 512) / 512);
}

#[test]
fn one_channel_of_a_stereo_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.wav");
    wav_fft::book::generate::write_recording(&path, 2 * 20_011, 44_100, 16, &mut |_, _| {})
        .unwrap();
    // SAFETY: the file is this test's own temporary file; nobody writes it.
    let mapped = unsafe { wav_fft::wav::MappedWav::open(&path) }.unwrap();
    let o = WelchOptions::new(4410)
        .scaling(Scaling::Spectrum)
        .window(Window::FlatTop);
    let at = |p: &spectral::PowerSpectrum, f: f64| {
        let k = (f / p.bin_hz).round() as usize;
        p.values[k - 3..=k + 3]
            .iter()
            .copied()
            .fold(0.0f32, f32::max)
    };
    let left = spectral::welch(&mapped.channel(0).unwrap(), 44_100, &o).unwrap();
    let right = spectral::welch(&mapped.channel(1).unwrap(), 44_100, &o).unwrap();
    let mono = spectral::welch(&mapped, 44_100, &o).unwrap();
    // 440 Hz (0.12) is in the left channel only, 1760 Hz (0.06) in the right.
    let pw = |a: f64| (a * a / 2.0) as f32;
    assert!((at(&left, 440.0) / pw(0.12) - 1.0).abs() < 0.01);
    assert!(at(&right, 440.0) < pw(0.12) * 1e-3);
    assert!((at(&right, 1760.0) / pw(0.06) - 1.0).abs() < 0.01);
    assert!((at(&mono, 440.0) / pw(0.06) - 1.0).abs() < 0.01);
    assert!(matches!(
        mapped.channel(2),
        Err(Error::Channel {
            channel: 2,
            channels: 2,
            ..
        })
    ));
    let loaded = wav_fft::wav::load_channel(&path, 1).unwrap();
    let again = spectral::welch(&loaded.samples, 44_100, &o).unwrap();
    assert_eq!(&again.values[..], &right.values[..]);
}
