//! WAV input: files written by sox (another tool than ours) in every format
//! we read, and every kind of bad file, each giving one clear error.

use std::path::{Path, PathBuf};
use std::process::Command;

use wav_fft::spectrum::realfft_spectrum;
use wav_fft::wav::{self, SampleKind};
use wav_fft::{Error, generate};

fn sox_available() -> bool {
    let ok = Command::new("sox").arg("--version").output().is_ok();
    if !ok {
        println!("sox is not installed: skipping the sox comparison (apt-get install -y sox)");
    }
    ok
}

/// Writes a 1 s sine of `freq` Hz at 8 kHz with sox, in the given format.
fn sox_sine(dir: &Path, name: &str, channels: u32, fmt: &[&str], freq: u32) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("sox")
        .args(["-n", "-r", "8000", "-c", &channels.to_string()])
        .args(fmt)
        .arg(&path)
        .args(["synth", "1", "sine", &freq.to_string(), "vol", "0.5"])
        .status()
        .expect("sox runs");
    assert!(status.success(), "sox failed for {name}");
    path
}

#[test]
fn reads_every_format_sox_writes() {
    if !sox_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, u32, &[&str], SampleKind); 7] = [
        (
            "u8.wav",
            1,
            &["-b", "8", "-e", "unsigned-integer"],
            SampleKind::U8,
        ),
        (
            "s16.wav",
            2,
            &["-b", "16", "-e", "signed-integer"],
            SampleKind::I16,
        ),
        ("s16-mono.wav", 1, &["-b", "16"], SampleKind::I16),
        (
            "s24.wav",
            2,
            &["-b", "24", "-e", "signed-integer"],
            SampleKind::I24,
        ),
        (
            "s32.wav",
            2,
            &["-b", "32", "-e", "signed-integer"],
            SampleKind::I32,
        ),
        (
            "f32.wav",
            2,
            &["-b", "32", "-e", "floating-point"],
            SampleKind::F32,
        ),
        ("s16-quad.wav", 4, &["-b", "16"], SampleKind::I16),
    ];
    for (name, channels, fmt, kind) in cases {
        let path = sox_sine(dir.path(), name, channels, fmt, 1000);
        let x = wav::load_mono(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(x.info.kind, kind, "{name}");
        assert_eq!(x.info.channels as u32, channels, "{name}");
        assert_eq!(x.info.frames, 8000, "{name}");
        assert_eq!(x.sample_rate, 8000, "{name}");
        let top = x.samples.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((top - 0.5).abs() < 0.02, "{name}: amplitude {top}");
        let (spec, _) = realfft_spectrum(x.samples, 8000);
        let p = spec.peaks(1, 20.0, 3999.0);
        assert_eq!(p[0].freq_hz, 1000.0, "{name}");
    }
}

#[test]
fn mapped_and_read_paths_agree_with_hound() {
    if !sox_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = sox_sine(dir.path(), "s16.wav", 2, &["-b", "16"], 440);
    let mut r = hound::WavReader::open(&path).unwrap();
    let raw: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    let expected: Vec<f32> = raw
        .chunks(2)
        .map(|f| (f32::from(f[0]) + f32::from(f[1])) / 2.0 / 32768.0)
        .collect();
    let mapped = wav::load_mono(&path).unwrap();
    let (info, bytes) = wav::read_data(&path).unwrap();
    let read = wav::mix_to_mono(&info, &bytes);
    assert_eq!(mapped.samples, expected);
    assert_eq!(read, expected);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A canonical 44-byte header for 16-bit PCM, with the given data length.
fn header(channels: u16, format_tag: u16, bits: u16, data_len: u32) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&36u32.wrapping_add(data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&format_tag.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&8000u32.to_le_bytes());
    h.extend_from_slice(&(8000 * u32::from(block)).to_le_bytes());
    h.extend_from_slice(&block.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

fn err_of(path: &Path) -> Error {
    let e = wav::probe(path).expect_err("must fail");
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    // The loading entry points give the same answer.
    assert!(wav::load_mono(path).is_err());
    assert!(wav::read_data(path).is_err());
    e
}

#[test]
fn bad_files_give_one_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("missing.wav");
    assert!(matches!(err_of(&missing), Error::Io { .. }));

    let text = write(
        d,
        "notes.wav",
        b"this is not a wav file at all, just text\n",
    );
    assert!(matches!(err_of(&text), Error::Format { .. }));

    let empty_file = write(d, "zero-bytes.wav", b"");
    let e = err_of(&empty_file);
    assert!(matches!(e, Error::Format { .. }), "{e:?}");

    let mut cut_header = header(2, 1, 16, 400);
    cut_header.truncate(30);
    let cut_header = write(d, "cut-header.wav", &cut_header);
    assert!(matches!(err_of(&cut_header), Error::Format { .. }));

    // A hostile header: 4 GB of audio announced, 40 bytes present. Must fail
    // before allocating anything of that size.
    let mut hostile = header(2, 1, 16, 0xFFFF_FFF0);
    hostile.extend_from_slice(&[0u8; 40]);
    let hostile = write(d, "hostile.wav", &hostile);
    match err_of(&hostile) {
        Error::Truncated {
            claimed, present, ..
        } => {
            assert_eq!(claimed, 0xFFFF_FFF0);
            assert_eq!(present, 40);
        }
        other => panic!("{other}"),
    }

    let no_frames = write(d, "no-frames.wav", &header(2, 1, 16, 0));
    assert!(matches!(err_of(&no_frames), Error::Empty { .. }));

    let mut adpcm = header(2, 2, 16, 8);
    adpcm.extend_from_slice(&[0u8; 8]);
    let adpcm = write(d, "adpcm.wav", &adpcm);
    assert!(matches!(err_of(&adpcm), Error::Unsupported { .. }));
}

#[test]
fn truncated_generated_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tones.wav");
    generate::write_test_wav(&path, 0.25, 44_100, &mut |_, _| {}).unwrap();
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() - 1001]).unwrap();
    match err_of(&path) {
        Error::Truncated {
            claimed, present, ..
        } => assert_eq!(claimed - present, 1001),
        other => panic!("{other}"),
    }
}

#[test]
fn sox_reads_our_files_the_same_way() {
    if !sox_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tones.wav");
    generate::write_test_wav(&path, 0.5, 44_100, &mut |_, _| {}).unwrap();
    let out = Command::new("soxi").arg(&path).output().expect("soxi runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Channels       : 2"), "{text}");
    assert!(text.contains("Sample Rate    : 44100"), "{text}");
    assert!(text.contains("22050 samples"), "{text}");
}
