//! The reader against any bytes: mutated real headers, random bytes, every truncation
//! point and the regression corpus in tests/data/wav-regress — always an error or the
//! correct signal, never a panic, a hang or an allocation beyond the input.

mod wavgen;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use wav_fft::wav::{MonoSource, ReadOptions, WavSlice};
use wavgen::{Box64, Spec, build, encode_int, reference_mono};

/// Valid files to mutate: one per container and several layouts.
fn seeds() -> Vec<Vec<u8>> {
    let q: Vec<i64> = (0..24).map(|i| (i * 37 % 23) - 11).collect();
    let mut out = Vec::new();
    for (c, ch, bytes, valid) in [
        (Box64::Riff, 2u16, 2u16, 16u16),
        (Box64::Riff, 1, 1, 8),
        (Box64::Rifx, 3, 3, 20),
        (Box64::Rf64, 2, 8, 53),
        (Box64::Bw64, 1, 4, 24),
    ] {
        let mut spec = Spec::pcm(c, ch, bytes);
        if valid != 8 * bytes {
            spec.ext = Some((valid, 1));
        }
        spec.between.push((*b"LIST", vec![b'x'; 5]));
        out.push(build(
            &spec,
            &encode_int(&q, valid, bytes, c == Box64::Rifx),
        ));
    }
    let mut f = Spec::pcm(Box64::Riff, 2, 4);
    f.tag = 3;
    let data: Vec<u8> = (0..16)
        .flat_map(|i| (i as f32 / 17.0).to_le_bytes())
        .collect();
    out.push(build(&f, &data));
    out
}

/// The property: parsing gives an error (one line, naming the input) or a
/// header consistent with the bytes, and then the signal equals the reference
/// decoder's, with zeros past the end.
fn check(bytes: &[u8], opts: &ReadOptions) -> Result<(), TestCaseError> {
    CASES.fetch_add(1, Relaxed);
    let s = match WavSlice::parse(bytes, "fuzz.wav", opts) {
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("fuzz.wav: "), "{}", msg);
            prop_assert!(!msg.contains('\n'), "{}", msg);
            return Ok(());
        }
        Ok(s) => s,
    };
    READ.fetch_add(1, Relaxed);
    let i = &s.info;
    let block = i.block_align() as u64;
    prop_assert!(i.frames > 0 && i.sample_rate > 0 && i.channels > 0);
    prop_assert_eq!(i.data_len, i.frames * block);
    prop_assert!(i.data_offset + i.data_len <= bytes.len() as u64);
    prop_assert!(opts.allow_truncated || i.data_len + block > i.announced_len);
    let n = s.len();
    prop_assert_eq!(n as u64, i.frames);
    let mut out = vec![f32::NAN; n + 3];
    s.fill(0, &mut out);
    prop_assert_eq!(&out[n..], &[0.0f32; 3][..]);
    let data = &bytes[i.data_offset as usize..(i.data_offset + i.data_len) as usize];
    let big = i.endian == wav_fft::wav::Endian::Big;
    let want = reference_mono(
        data,
        usize::from(i.channels),
        i.kind.bytes(),
        i.kind.is_float(),
        big,
    );
    let c = f64::from(i.channels);
    for (k, ((g, w), frame)) in out
        .iter()
        .zip(&want)
        .zip(data.chunks_exact(block as usize))
        .enumerate()
    {
        let each = reference_mono(frame, 1, i.kind.bytes(), i.kind.is_float(), big);
        // Huge or non-finite floats overflow differently in f32 and f64 sums
        // (NaN stays NaN, checked apart): compare frames of ordinary numbers.
        if !each.iter().all(|v| v.abs() < 1e30) {
            prop_assert!(i.kind.is_float());
            prop_assert!(
                each.iter().any(|v| v.is_nan()) <= g.is_nan()
                    || each.iter().any(|v| v.is_infinite())
            );
            continue;
        }
        let m = each.iter().fold(0f64, |m, v| m.max(v.abs()));
        // The f32 sum of c samples is within about c·2^-24 of the exact one.
        let tol = (1e-6 + 1.2e-7 * c) * m.max(1.0);
        prop_assert!(
            (f64::from(*g) - w).abs() <= tol,
            "sample {}: {} vs {}",
            k,
            g,
            w
        );
        if !i.kind.is_float() {
            prop_assert!((-1.0..=1.0).contains(g));
        }
    }
    Ok(())
}

/// Inputs checked, and of those read as a signal (all tests of this binary).
static CASES: AtomicUsize = AtomicUsize::new(0);
static READ: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` and says how many inputs it checked and how many were signals.
fn counted(what: &str, min: usize, signals: bool, f: impl FnOnce()) {
    let (c0, r0) = (CASES.load(Relaxed), READ.load(Relaxed));
    let t = std::time::Instant::now();
    f();
    let (c, r) = (CASES.load(Relaxed) - c0, READ.load(Relaxed) - r0);
    eprintln!(
        "{what}: {c} inputs, {r} read as a signal, {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Other tests of this binary may run at the same time and add to the counts.
    assert!(c >= min, "{what}: only {c} inputs checked");
    assert!(!signals || r > 0, "{what}: no input was a readable file");
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// A mutation of a seed file.
#[derive(Debug, Clone)]
enum Edit {
    /// Overwrite one byte.
    Byte(usize, u8),
    /// Overwrite four bytes with a little- or big-endian number (sizes, rates, counts).
    Word(usize, u32, bool),
    /// Cut the file here.
    Cut(usize),
    /// Insert bytes here.
    Insert(usize, Vec<u8>),
}

fn edit() -> impl Strategy<Value = Edit> {
    let word = prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(0xFFFF),
        Just(0xFFFE),
        Just(u32::MAX),
        Just(u32::MAX - 1),
        Just(0x8000_0000),
        any::<u32>(),
        0u32..200,
    ];
    prop_oneof![
        4 => (0usize..160, any::<u8>()).prop_map(|(i, b)| Edit::Byte(i, b)),
        4 => (0usize..160, word, any::<bool>()).prop_map(|(i, w, be)| Edit::Word(i, w, be)),
        1 => (0usize..200).prop_map(Edit::Cut),
        1 => (0usize..160, proptest::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(i, v)| Edit::Insert(i, v)),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        match e {
            Edit::Byte(i, v) => {
                if let Some(x) = b.get_mut(*i) {
                    *x = *v;
                }
            }
            Edit::Word(i, w, be) => {
                let bytes = if *be {
                    w.to_be_bytes()
                } else {
                    w.to_le_bytes()
                };
                for (k, v) in bytes.iter().enumerate() {
                    if let Some(x) = b.get_mut(i + k) {
                        *x = *v;
                    }
                }
            }
            Edit::Cut(i) => b.truncate(*i),
            Edit::Insert(i, v) => {
                let at = (*i).min(b.len());
                b.splice(at..at, v.iter().copied());
            }
        }
    }
    b
}

/// 150,000 mutated real headers (with the 30,000 random inputs: 180,000 cases per run).
#[test]
fn mutated_headers_never_panic_and_decode_correctly() {
    let seeds = seeds();
    let strategy = (
        0..seeds.len(),
        proptest::collection::vec(edit(), 1..5),
        any::<bool>(),
    );
    counted("mutated headers", 150_000, true, || {
        runner(150_000)
            .run(&strategy, |(s, edits, allow)| {
                let bytes = apply(seeds[s].clone(), &edits);
                check(&bytes, &ReadOptions::default().allow_truncated(allow))
            })
            .unwrap();
    });
}

/// 30,000 inputs of random bytes, some with a real container tag in front.
#[test]
fn random_bytes_never_panic() {
    let strategy = (
        prop_oneof![
            Just(&b""[..]),
            Just(&b"RIFF"[..]),
            Just(&b"RIFX"[..]),
            Just(&b"RF64\xff\xff\xff\xffWAVEds64"[..]),
            Just(&b"RIFF\0\0\0\0WAVEfmt "[..]),
        ],
        proptest::collection::vec(any::<u8>(), 0..120),
        any::<bool>(),
    );
    counted("random bytes", 30_000, false, || {
        runner(30_000)
            .run(&strategy, |(head, tail, allow)| {
                let mut bytes = head.to_vec();
                bytes.extend_from_slice(&tail);
                check(&bytes, &ReadOptions::default().allow_truncated(allow))
            })
            .unwrap();
    });
}

/// Every truncation point of every seed, both with and without the option.
#[test]
fn every_truncation_point_of_valid_files() {
    for seed in seeds() {
        for cut in 0..=seed.len() {
            for allow in [false, true] {
                check(&seed[..cut], &ReadOptions::default().allow_truncated(allow)).unwrap();
            }
        }
        // Sanity: the whole seed is read.
        assert!(WavSlice::parse(&seed, "seed.wav", &ReadOptions::default()).is_ok());
    }
}

/// Every 16- and 32-bit field of every seed's header set to the values that
/// break readers (0, 1, all ones, …), in both byte orders.
#[test]
fn every_header_field_set_to_hostile_values() {
    for seed in seeds() {
        let head = seed.len().min(120);
        for at in 0..head {
            for w in [0u32, 1, 0xFFFF, 0xFFFE, u32::MAX, u32::MAX - 7, 0x7FFF_FFFF] {
                for be in [false, true] {
                    for width in [2usize, 4] {
                        let mut b = seed.clone();
                        let bytes = if be { w.to_be_bytes() } else { w.to_le_bytes() };
                        let bytes = if width == 2 {
                            if be { &bytes[2..] } else { &bytes[..2] }
                        } else {
                            &bytes[..]
                        };
                        for (k, v) in bytes.iter().enumerate() {
                            if let Some(x) = b.get_mut(at + k) {
                                *x = *v;
                            }
                        }
                        check(&b, &ReadOptions::default()).unwrap();
                    }
                }
            }
        }
    }
}

/// Every file in tests/data/wav-regress (inputs that once failed, and
/// hand-made hostile ones) satisfies the property, and the corpus is there.
#[test]
fn regression_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wav-regress");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for allow in [false, true] {
            check(&bytes, &ReadOptions::default().allow_truncated(allow))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        // Through the file path as well.
        let _ = wav_fft::wav::load_mono(&path);
        n += 1;
    }
    assert!(n >= 5, "only {n} files in {}", dir.display());
}
