//! Reading speed of a big WAV file (a measurement, not a check): run by hand with
//! `WAV_SPEED_FILE=$PWD/data/generated/tones-book.wav cargo test --release -p wav-fft --test wav_speed -- --ignored --nocapture`.
//!
//! It times, in one run and alternately, the reader's `MappedWav::fill` and a
//! copy of the reader this crate had before the one chunk walker (its 16-bit
//! stereo loop, as it was), so the ratio is not spoiled by a busy machine;
//! which of the two goes first alternates from round to round too.

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use wav_fft::wav::{self, MonoSource};

/// The previous reader's mixing of 16-bit little-endian stereo, unchanged.
fn old_fill(bytes: &[u8], out: &mut [f32]) {
    const CHUNK: usize = 1 << 16;
    fn mix(src: &[u8], out: &mut [f32]) {
        for (o, f) in out.iter_mut().zip(src.chunks_exact(4)) {
            let l = i16::from_le_bytes([f[0], f[1]]);
            let r = i16::from_le_bytes([f[2], f[3]]);
            *o = (f32::from(l) + f32::from(r)) * (0.5 / 32768.0);
        }
    }
    let have = (bytes.len() / 4).min(out.len());
    let src = &bytes[..have * 4];
    out[..have]
        .par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK * 4))
        .for_each(|(o, s)| mix(s, o));
}

#[test]
#[ignore = "a measurement: needs WAV_SPEED_FILE and a release build"]
fn reading_speed_of_a_big_file() {
    let path = PathBuf::from(std::env::var("WAV_SPEED_FILE").expect("set WAV_SPEED_FILE"));
    let bytes = std::fs::metadata(&path).unwrap().len() as f64;
    // SAFETY: WAV_SPEED_FILE names a file nobody writes while it is measured.
    let mapped = unsafe { wav::MappedWav::open(&path) }.unwrap();
    assert_eq!((mapped.info.channels, mapped.info.bits), (2, 16));
    let file = std::fs::File::open(&path).unwrap();
    // SAFETY: a read-only private map of a file this test only reads; nobody
    // writes the generated file while the measurement runs.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let data = &map[mapped.info.data_offset as usize..][..mapped.info.data_len as usize];
    let mut a = vec![1f32; mapped.len()];
    let mut b = vec![1f32; mapped.len()];
    let (mut best_old, mut best_new) = (f64::MAX, f64::MAX);
    let mut ratios = Vec::new();
    for round in 0..16 {
        // Which reader goes first alternates, so neither always gets the
        // warmer cache or the quieter moment.
        let time_old = |a: &mut [f32]| {
            let t = Instant::now();
            old_fill(data, a);
            t.elapsed().as_secs_f64()
        };
        let time_new = |b: &mut [f32]| {
            let t = Instant::now();
            mapped.fill(0, b);
            t.elapsed().as_secs_f64()
        };
        let (old, new) = if round % 2 == 0 {
            let old = time_old(&mut a);
            (old, time_new(&mut b))
        } else {
            let new = time_new(&mut b);
            (time_old(&mut a), new)
        };
        assert!(a == b, "the two readers disagree");
        best_old = best_old.min(old);
        best_new = best_new.min(new);
        ratios.push(old / new);
        eprintln!(
            "round {round}: fill into a touched buffer: before {:.2} GB/s, now {:.2} GB/s",
            bytes / old / 1e9,
            bytes / new / 1e9
        );
    }
    eprintln!(
        "best: before {:.2} GB/s, now {:.2} GB/s (now / before = {:.2})",
        bytes / best_old / 1e9,
        bytes / best_new / 1e9,
        best_old / best_new
    );
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "median of the per-round ratios now / before: {:.2}",
        ratios[ratios.len() / 2]
    );
    drop((a, b));
    for round in 0..3 {
        let t = Instant::now();
        let x = wav::load_mono(&path).unwrap();
        let load = t.elapsed().as_secs_f64();
        eprintln!(
            "round {round}: load_mono (map, allocate, fill) {load:.3} s = {:.2} GB/s ({} frames)",
            bytes / load / 1e9,
            x.samples.len()
        );
    }
}
