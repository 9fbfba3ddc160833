//! Property test: `parallel::exact` is the DFT of exactly N samples for
//! every N — primes, 2 × prime, powers of two, 44,100·k ± 1, random lengths
//! — equal to realfft of the same N (same bins, magnitudes within 1e-5 of
//! the largest), for a loaded signal and for a memory-mapped stereo WAV.
//!
//! The random lengths change every run (the seed is printed in any failure;
//! set `EXACT_LENGTHS_SEED` to replay one). Most lengths are small so the
//! debug build stays quick; a few are near 2,000,000.

use std::path::Path;

use wav_fft::parallel::{self, ExactPlan};
use wav_fft::spectrum::realfft_spectrum;
use wav_fft::wav;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    match std::env::var("EXACT_LENGTHS_SEED") {
        Ok(s) => s.parse().expect("EXACT_LENGTHS_SEED is a number"),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        }
    }
}

fn is_prime(n: usize) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

fn prime_near(mut n: usize) -> usize {
    while !is_prime(n) {
        n += 1;
    }
    n
}

/// A test signal: two tones and some noise, different for every length.
fn signal(n: usize, rng: &mut Rng) -> Vec<f32> {
    let f1 = 0.001 + rng.below(1000) as f32 * 1e-4;
    (0..n)
        .map(|i| {
            let noise = (rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            (i as f32 * f1).sin() + 0.3 * (i as f32 * 1.7).cos() + 0.1 * noise
        })
        .collect()
}

/// The lengths of one run: ≥ 200, in 1..2,000,000.
fn lengths(rng: &mut Rng) -> Vec<usize> {
    let mut v: Vec<usize> = (1..=40).collect();
    v.extend((4..=19).map(|b| 1usize << b)); // powers of two up to 2^19
    v.extend([2_000_000 - 1, 7, 8]);
    for k in 1..=4 {
        v.extend([44_100 * k - 1, 44_100 * k + 1]);
    }
    // Primes and 2 × primes: small ones at random, two large ones.
    for _ in 0..30 {
        let p = prime_near(50 + rng.below(20_000) as usize);
        v.extend([p, 2 * p]);
    }
    let big = prime_near(200_000 + rng.below(100_000) as usize);
    v.extend([big, 2 * big]);
    // Products of two primes large enough that no split has short rows.
    v.push(3 * 131_101); // rows of 131,101 > 2^17: Bluestein
    // Random lengths, mostly small.
    for _ in 0..71 {
        v.push(1 + rng.below(30_000) as usize);
    }
    for _ in 0..2 {
        v.push(100_000 + rng.below(900_000) as usize);
    }
    v
}

fn check(n: usize, got: &wav_fft::Spectrum, reference: &wav_fft::Spectrum, what: &str, seed: u64) {
    let ctx = format!("N = {n} ({what}, seed {seed})");
    assert_eq!(got.mags.len(), n / 2 + 1, "{ctx}: bins 0..=N/2");
    assert_eq!(got.mags.len(), reference.mags.len(), "{ctx}");
    assert_eq!(got.bin_hz, reference.bin_hz, "{ctx}: bin width");
    let err = got.max_relative_error(reference);
    assert!(err <= 1e-5, "{ctx}: max |Δ|X|| / max |X| = {err:e}");
}

#[test]
fn exact_equals_realfft_on_every_kind_of_length() {
    let seed = seed();
    let mut rng = Rng(seed);
    let lens = lengths(&mut rng);
    assert!(lens.len() >= 200, "{} lengths", lens.len());
    let mut bluestein = 0;
    for &n in &lens {
        assert!((1..2_000_000).contains(&n), "{n}");
        let x = signal(n, &mut rng);
        let plan = ExactPlan::new(n).unwrap();
        bluestein += usize::from(plan.is_bluestein());
        let reference = realfft_spectrum(x.clone(), 44_100);
        let got = parallel::exact(x, 44_100, &plan).unwrap();
        check(n, &got, &reference, &plan.describe(), seed);
    }
    // The large prime, 2 × prime and 3 × 131,101 go to Bluestein.
    assert!(bluestein >= 3, "{bluestein} Bluestein plans");
}

fn write_stereo(path: &Path, frames: usize, bits: u16, rng: &mut Rng) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let full = (1i32 << (bits - 1)) - 1;
    let f = 0.01 + rng.below(100) as f64 * 1e-3;
    for i in 0..frames {
        let l = ((i as f64 * f).sin() * 0.5 * f64::from(full)) as i32;
        let r = (rng.below(2 * full as u64) as i64 - i64::from(full)) as i32 / 4;
        w.write_sample(l).unwrap();
        w.write_sample(r).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn mapped_stereo_wav_equals_realfft_of_the_loaded_signal() {
    let seed = seed();
    let mut rng = Rng(seed ^ 0x5555);
    let dir = tempfile::tempdir().unwrap();
    let mut lens: Vec<usize> = (1..=12).collect();
    lens.extend([588_017, 2 * 131_101, 1 << 16]);
    for _ in 0..20 {
        lens.push(prime_near(13 + rng.below(10_000) as usize));
        lens.push(1 + rng.below(20_000) as usize);
    }
    for (i, &n) in lens.iter().enumerate() {
        let bits = if i % 2 == 0 { 16 } else { 24 };
        let path = dir.path().join(format!("s{i}.wav"));
        write_stereo(&path, n, bits, &mut rng);
        let loaded = wav::load_mono(&path).unwrap();
        assert_eq!(loaded.samples.len(), n);
        let reference = realfft_spectrum(loaded.samples, 44_100);
        // SAFETY: the test's own temporary file, written above and not modified
        // while it is mapped.
        let mapped = unsafe { wav::MappedWav::open(&path) }.unwrap();
        let plan = ExactPlan::new(n).unwrap();
        let got = parallel::exact(mapped, 44_100, &plan).unwrap();
        check(
            n,
            &got,
            &reference,
            &format!("mapped {bits}-bit stereo"),
            seed,
        );
    }
}
