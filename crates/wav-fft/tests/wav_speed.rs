//! Reading speed of a big WAV file (a measurement, not a check): run by hand with
//! `WAV_SPEED_FILE=data/generated/tones-book.wav cargo test --release -p wav-fft --test wav_speed -- --ignored --nocapture`.

use std::path::PathBuf;
use std::time::Instant;

use wav_fft::wav::{self, MonoSource};

#[test]
#[ignore = "a measurement: needs WAV_SPEED_FILE and a release build"]
fn reading_speed_of_a_big_file() {
    let path = PathBuf::from(std::env::var("WAV_SPEED_FILE").expect("set WAV_SPEED_FILE"));
    let bytes = std::fs::metadata(&path).unwrap().len() as f64;
    let mapped = wav::MappedWav::open(&path).unwrap();
    let mut warm = vec![1f32; mapped.len()];
    for round in 0..3 {
        let t = Instant::now();
        mapped.fill(0, &mut warm);
        let f = t.elapsed().as_secs_f64();
        eprintln!(
            "round {round}: MappedWav fill into a touched buffer {f:.3} s = {:.2} GB/s",
            bytes / f / 1e9
        );
    }
    drop(warm);
    for round in 0..3 {
        let t = Instant::now();
        let mapped = wav::MappedWav::open(&path).unwrap();
        let mut out = vec![0f32; mapped.len()];
        mapped.fill(0, &mut out);
        let fill = t.elapsed().as_secs_f64();
        drop(out);
        let t = Instant::now();
        let x = wav::load_mono(&path).unwrap();
        let load = t.elapsed().as_secs_f64();
        eprintln!(
            "round {round}: MappedWav open+fill {:.3} s = {:.2} GB/s; load_mono {:.3} s = {:.2} GB/s ({} frames)",
            fill,
            bytes / fill / 1e9,
            load,
            bytes / load / 1e9,
            x.samples.len()
        );
    }
}
