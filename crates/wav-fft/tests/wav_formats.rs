//! Every WAV variant the reader accepts, built byte by byte, read through every entry
//! point; every refused format and every cut file, each with one clear error.

mod wavgen;

use std::path::{Path, PathBuf};

use wav_fft::Error;
use wav_fft::wav::{self, Container, Endian, MonoSource, ReadOptions, SampleKind, WavSlice};
use wavgen::{Box64, Spec, build, encode_int, quantise, reference_mono};

/// A test sound: two off-bin sines, different per channel, in [-0.9, 0.9].
fn sound(frames: usize, channels: usize) -> Vec<f64> {
    (0..frames * channels)
        .map(|i| {
            let (t, c) = ((i / channels) as f64, (i % channels) as f64);
            0.6 * (t * (0.031 + 0.007 * c)).sin() + 0.3 * (t * 0.2011).cos()
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Reads `bytes` through every entry point (file probe, map, load, read + mix,
/// slice) and checks they agree; returns the signal and header.
fn read_all_ways(dir: &Path, name: &str, bytes: &[u8]) -> (wav::WavInfo, Vec<f32>) {
    let path = write(dir, name, bytes);
    let info = wav::probe(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let loaded = wav::load_mono(&path).unwrap();
    // SAFETY: the test's own temporary file, written above and not modified
    // while it is mapped.
    let mapped = unsafe { wav::MappedWav::open(&path) }.unwrap();
    let mut m = vec![0f32; mapped.len()];
    mapped.fill(0, &mut m);
    let (info2, data) = wav::read_data(&path).unwrap();
    let mixed = wav::mix_to_mono(&info2, &data);
    let slice = WavSlice::parse(bytes, name, &ReadOptions::default()).unwrap();
    let mut s = vec![0f32; slice.len()];
    slice.fill(0, &mut s);
    assert_eq!(loaded.info, info, "{name}");
    assert_eq!(mapped.info, info, "{name}");
    assert_eq!(info2, info, "{name}");
    assert_eq!(slice.info.frames, info.frames, "{name}");
    assert_eq!(loaded.samples, m, "{name}: load_mono vs MappedWav");
    assert_eq!(
        loaded.samples, mixed,
        "{name}: load_mono vs read_data + mix_to_mono"
    );
    assert_eq!(loaded.samples, s, "{name}: file vs slice");
    (info, loaded.samples)
}

fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= tol,
            "{what}: sample {i}: got {g}, want {w}"
        );
    }
}

#[test]
fn integer_pcm_of_every_depth_in_every_container_and_byte_order() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 37; // odd
    for container in [Box64::Riff, Box64::Rifx, Box64::Rf64, Box64::Bw64] {
        for bytes in 1u16..=8 {
            for valid in [1, 5, 8 * bytes - 3, 8 * bytes] {
                if valid == 0 || valid > 8 * bytes {
                    continue;
                }
                for channels in [1u16, 2, 3] {
                    let x = sound(frames, usize::from(channels));
                    let q: Vec<i64> = x.iter().map(|&v| quantise(v, valid)).collect();
                    let big = container == Box64::Rifx;
                    let data = encode_int(&q, valid, bytes, big);
                    let mut spec = Spec::pcm(container, channels, bytes);
                    // Sub-container depths need EXTENSIBLE (wValidBitsPerSample).
                    if valid != 8 * bytes {
                        spec.ext = Some((valid, 1));
                    }
                    let name = format!("{container:?}-{valid}in{bytes}-{channels}ch.wav");
                    let (info, got) = read_all_ways(dir.path(), &name, &build(&spec, &data));
                    assert_eq!(info.bits, valid, "{name}");
                    assert_eq!(info.kind.bytes(), usize::from(bytes), "{name}");
                    assert_eq!(info.frames, frames as u64, "{name}");
                    assert_eq!(info.channels, channels, "{name}");
                    assert_eq!(
                        info.endian,
                        if big { Endian::Big } else { Endian::Little },
                        "{name}"
                    );
                    // Same sound, same value at every depth: within the
                    // quantisation step of its valid bits (f32 rounding aside).
                    let want: Vec<f64> = x
                        .chunks(usize::from(channels))
                        .map(|f| f.iter().sum::<f64>() / f64::from(channels))
                        .collect();
                    let step = 2f64.powi(1 - i32::from(valid));
                    close(&got, &want, step + 1e-6, &name);
                    // And exactly what the stored integers say.
                    let exact = reference_mono(
                        &data,
                        usize::from(channels),
                        usize::from(bytes),
                        false,
                        big,
                    );
                    close(&got, &exact, 1e-6, &name);
                }
            }
        }
    }
}

#[test]
fn ieee_float_32_and_64_in_riff_rifx_and_rf64() {
    let dir = tempfile::tempdir().unwrap();
    for container in [Box64::Riff, Box64::Rifx, Box64::Rf64] {
        for (bytes, ext) in [
            (4u16, None),
            (8, None),
            (4, Some((32, 3))),
            (8, Some((64, 3))),
        ] {
            let big = container == Box64::Rifx;
            let x = sound(21, 2);
            let mut data = Vec::new();
            for v in &x {
                let mut b = if bytes == 4 {
                    (*v as f32).to_le_bytes().to_vec()
                } else {
                    v.to_le_bytes().to_vec()
                };
                if big {
                    b.reverse();
                }
                data.extend_from_slice(&b);
            }
            let mut spec = Spec::pcm(container, 2, bytes);
            spec.tag = 3;
            spec.ext = ext;
            spec.between.push((*b"fact", 21u32.to_le_bytes().to_vec()));
            let name = format!("{container:?}-f{}-{}.wav", bytes * 8, ext.is_some());
            let (info, got) = read_all_ways(dir.path(), &name, &build(&spec, &data));
            assert!(info.kind.is_float(), "{name}");
            let want = reference_mono(&data, 2, usize::from(bytes), true, big);
            close(&got, &want, 1e-7, &name);
        }
    }
}

#[test]
fn containers_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    for (c, want) in [
        (Box64::Riff, Container::Riff),
        (Box64::Rifx, Container::Rifx),
        (Box64::Rf64, Container::Rf64),
        (Box64::Bw64, Container::Bw64),
    ] {
        let data = encode_int(&[1, -2, 3, -4], 16, 2, c == Box64::Rifx);
        let (info, got) = read_all_ways(dir.path(), "c.wav", &build(&Spec::pcm(c, 1, 2), &data));
        assert_eq!(info.container, want);
        assert_eq!(
            got,
            [1.0 / 32768.0, -2.0 / 32768.0, 3.0 / 32768.0, -4.0 / 32768.0]
        );
    }
}

#[test]
fn unknown_and_odd_sized_chunks_are_skipped_with_their_pad_byte() {
    let dir = tempfile::tempdir().unwrap();
    for container in [Box64::Riff, Box64::Rifx, Box64::Rf64] {
        let mut spec = Spec::pcm(container, 2, 2);
        spec.before.push((*b"JUNK", vec![0xAB; 27]));
        spec.before.push((*b"bext", vec![1; 3]));
        spec.between
            .push((*b"LIST", b"INFOISFT\x05\x00\x00\x00sox!!".to_vec()));
        spec.between.push((*b"fact", vec![7; 4]));
        spec.after.push((*b"cue ", vec![9; 5]));
        let q = [100, -100, 2000, -2000, 32767, -32768];
        let data = encode_int(&q, 16, 2, container == Box64::Rifx);
        let (info, got) = read_all_ways(dir.path(), "chunks.wav", &build(&spec, &data));
        assert_eq!(info.frames, 3);
        assert_eq!(got, [0.0, 0.0, -0.5 / 32768.0]);
    }
    // An odd-sized data chunk (mono 8-bit, 5 frames) followed by a chunk.
    let mut spec = Spec::pcm(Box64::Riff, 1, 1);
    spec.after.push((*b"LIST", vec![0; 4]));
    let (info, got) = read_all_ways(
        dir.path(),
        "odd.wav",
        &build(&spec, &[128, 0, 255, 64, 192]),
    );
    assert_eq!(info.frames, 5);
    assert_eq!(got, [0.0, -1.0, 127.0 / 128.0, -0.5, 0.5]);
}

#[test]
fn data_before_fmt_is_read() {
    let spec = Spec::pcm(Box64::Riff, 1, 2);
    let good = build(&spec, &encode_int(&[16384, -16384], 16, 2, false));
    // Swap the two chunks: fmt (8 + 16 bytes at 12) and data (8 + 4 at 36).
    let mut swapped = good[..12].to_vec();
    swapped.extend_from_slice(&good[36..]);
    swapped.extend_from_slice(&good[12..36]);
    let s = WavSlice::parse(&swapped, "swapped.wav", &ReadOptions::default()).unwrap();
    let mut out = [0f32; 2];
    s.fill(0, &mut out);
    assert_eq!(out, [0.5, -0.5]);
}

fn one_line_error(bytes: &[u8], name: &str) -> Error {
    let e = WavSlice::parse(bytes, name, &ReadOptions::default()).expect_err(name);
    let msg = e.to_string();
    assert!(msg.starts_with(name), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    e
}

#[test]
fn refused_formats_name_their_tag() {
    for (tag, name) in [
        (7u16, "µ-law"),
        (6, "A-law"),
        (2, "Microsoft ADPCM"),
        (0x11, "IMA ADPCM"),
        (0x55, "MP3"),
        (0x31, "GSM 6.10"),
        (0x1234, "unknown"),
    ] {
        for ext in [false, true] {
            let mut spec = Spec::pcm(Box64::Riff, 1, 1);
            if ext {
                spec.ext = Some((8, tag));
            } else {
                spec.tag = tag;
            }
            let e = one_line_error(&build(&spec, &[1, 2, 3, 4]), "coded.wav");
            assert!(
                matches!(e, Error::FormatTag { tag: t, .. } if t == tag),
                "{e:?}"
            );
            let msg = e.to_string();
            assert!(msg.contains(&format!("0x{tag:04X}")), "{msg}");
            assert!(msg.contains(name), "{msg}");
        }
    }
    // Float of 2 bytes does not exist.
    let mut spec = Spec::pcm(Box64::Riff, 1, 2);
    spec.tag = 3;
    let e = one_line_error(&build(&spec, &[0; 4]), "f16.wav");
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
}

#[test]
fn truncated_data_is_an_error_by_default_and_whole_frames_on_request() {
    let dir = tempfile::tempdir().unwrap();
    for container in [Box64::Riff, Box64::Rifx, Box64::Rf64] {
        let q: Vec<i64> = (0..200).map(|i| i * 100 - 10_000).collect();
        let data = encode_int(&q, 24, 3, container == Box64::Rifx);
        let full = build(&Spec::pcm(container, 2, 3), &data);
        let cut = &full[..full.len() - 13]; // 600 bytes announced, 587 present
        let path = write(dir.path(), "cut.wav", cut);
        for e in [
            wav::probe(&path).unwrap_err(),
            wav::load_mono(&path).unwrap_err(),
            // SAFETY: the test's own temporary file, written above and not modified
            // while it is mapped.
            unsafe { wav::MappedWav::open(&path) }.unwrap_err(),
            wav::read_data(&path).unwrap_err(),
        ] {
            match &e {
                Error::Truncated {
                    path: p,
                    claimed,
                    present,
                } => {
                    assert_eq!(p, &path);
                    assert_eq!((*claimed, *present), (600, 587));
                }
                other => panic!("{other:?}"),
            }
            let msg = e.to_string();
            assert!(
                msg.contains("cut.wav") && msg.contains("600") && msg.contains("587"),
                "{msg}"
            );
            assert!(!msg.contains('\n'));
        }
        let opts = ReadOptions::default().allow_truncated(true);
        let x = wav::load_mono_with(&path, &opts).unwrap();
        assert!(x.info.is_truncated());
        assert_eq!(x.info.announced_len, 600);
        assert_eq!(x.info.frames, 97); // 587 / 6
        assert_eq!(x.info.data_len, 582);
        let want = reference_mono(&data[..582], 2, 3, false, container == Box64::Rifx);
        close(&x.samples, &want, 1e-7, "truncated");
        // SAFETY: the test's own temporary file, written above and not modified
        // while it is mapped.
        let m = unsafe { wav::MappedWav::open_with(&path, &opts) }.unwrap();
        assert_eq!(m.len(), 97);
        let (info, bytes) = wav::read_data_with(&path, &opts).unwrap();
        assert_eq!(wav::mix_to_mono(&info, &bytes), x.samples);
        // A whole file read with the option is not marked truncated.
        let full_path = write(dir.path(), "full.wav", &full);
        assert!(!wav::probe_with(&full_path, &opts).unwrap().is_truncated());
    }
}

#[test]
fn tiny_inputs_zero_one_and_two_frames() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::pcm(Box64::Riff, 2, 2);
    let e = one_line_error(&build(&spec, &[]), "zero.wav");
    assert!(matches!(e, Error::Empty { .. }), "{e:?}");
    // Half a frame is no frame either.
    let e = one_line_error(&build(&spec, &[1, 2]), "half.wav");
    assert!(matches!(e, Error::Empty { .. }), "{e:?}");
    let (info, one) = read_all_ways(
        dir.path(),
        "one.wav",
        &build(&spec, &encode_int(&[16384, 0], 16, 2, false)),
    );
    assert_eq!((info.frames, one), (1, vec![0.25]));
    let (info, two) = read_all_ways(
        dir.path(),
        "two.wav",
        &build(&spec, &encode_int(&[16384, 16384, -32768, 0], 16, 2, false)),
    );
    assert_eq!((info.frames, two), (2, vec![0.5, -0.5]));
}

#[test]
fn fill_beyond_the_file_gives_zeros_and_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::pcm(Box64::Riff, 2, 2);
    let bytes = build(
        &spec,
        &encode_int(&[16384, 16384, -32768, 0, 0, 0], 16, 2, false),
    );
    let path = write(dir.path(), "three.wav", &bytes);
    // SAFETY: the test's own temporary file, written above and not modified
    // while it is mapped.
    let mapped = unsafe { wav::MappedWav::open(&path) }.unwrap();
    let slice = WavSlice::parse(&bytes, "three.wav", &ReadOptions::default()).unwrap();
    let all = [0.5f32, -0.5, 0.0];
    for start in [0usize, 2, 3, 4, 1 << 20, usize::MAX - 1, usize::MAX] {
        for len in [0usize, 1, 5, 300_000] {
            let want: Vec<f32> = (0..len)
                .map(|i| {
                    start
                        .checked_add(i)
                        .and_then(|k| all.get(k))
                        .copied()
                        .unwrap_or(0.0)
                })
                .collect();
            for src in [&mapped as &dyn MonoSource, &slice] {
                let mut out = vec![7.0f32; len];
                src.fill(start, &mut out);
                assert_eq!(out, want, "start {start} len {len}");
            }
        }
    }
}

#[test]
fn lying_headers_give_one_clear_error() {
    let spec = Spec::pcm(Box64::Riff, 2, 2);
    let good = build(&spec, &encode_int(&[1, 2, 3, 4], 16, 2, false));
    let set16 = |at: usize, v: u16| {
        let mut b = good.clone();
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
        b
    };
    let set32 = |at: usize, v: u32| {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        b
    };
    // fmt body at 20: tag 20, channels 22, rate 24, avg 28, block 32, bits 34; data size 40.
    for (name, bytes, want) in [
        ("channels0.wav", set16(22, 0), "0 channels"),
        (
            "block0.wav",
            set16(32, 0),
            "bits per sample in blocks of 0 bytes",
        ),
        (
            "block3.wav",
            set16(32, 3),
            "16 bits per sample in blocks of 3 bytes",
        ),
        (
            "block5.wav",
            set16(32, 5),
            "block align 5 but 2 channels of 2 bytes make 4",
        ),
        ("rate0.wav", set32(24, 0), "sample rate is 0"),
        ("bits0.wav", set16(34, 0), "0 bits per sample"),
        ("bits65.wav", set16(34, 65), "65 bits"),
        (
            "fmtsize.wav",
            set32(16, 0xFFFF_FFF0),
            "the file ends inside the fmt chunk",
        ),
        ("fmtsmall.wav", set32(16, 4), "fmt chunk of 4 bytes"),
        (
            "notwave.wav",
            {
                let mut b = good.clone();
                b[8] = b'X';
                b
            },
            "not WAVE",
        ),
        (
            "text.wav",
            b"this is not a wav file at all\n".to_vec(),
            "not RIFF",
        ),
        ("short.wav", b"RIFF".to_vec(), "too short"),
    ] {
        let msg = one_line_error(&bytes, name).to_string();
        assert!(msg.contains(want), "{name}: {msg}");
    }
    let e = one_line_error(&set32(40, 0xFFFF_FFF0), "hostile.wav");
    assert!(
        matches!(
            e,
            Error::Truncated {
                claimed: 0xFFFF_FFF0,
                present: 8,
                ..
            }
        ),
        "{e:?}"
    );
    // RF64 whose data size is not given anywhere.
    let rf = build(&Spec::pcm(Box64::Rf64, 1, 2), &[0; 4]);
    let mut no_ds64 = rf.clone();
    no_ds64[12..16].copy_from_slice(b"JUNK");
    let msg = one_line_error(&no_ds64, "nods64.wav").to_string();
    assert!(msg.contains("ds64"), "{msg}");
    // Every prefix of a valid header is an error naming the file.
    for cut in 0..44 {
        one_line_error(&good[..cut], "prefix.wav");
    }
}

#[test]
fn kinds_match_their_container() {
    let dir = tempfile::tempdir().unwrap();
    for (bytes, kind) in [
        (1u16, SampleKind::U8),
        (2, SampleKind::I16),
        (3, SampleKind::I24),
        (4, SampleKind::I32),
        (5, SampleKind::I40),
        (6, SampleKind::I48),
        (7, SampleKind::I56),
        (8, SampleKind::I64),
    ] {
        let data = encode_int(&[0, 0], 8 * bytes, bytes, false);
        let (info, _) = read_all_ways(
            dir.path(),
            "k.wav",
            &build(&Spec::pcm(Box64::Riff, 1, bytes), &data),
        );
        assert_eq!(info.kind, kind);
    }
}
