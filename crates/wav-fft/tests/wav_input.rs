//! WAV input from another tool: files written by sox in every WAV encoding it writes,
//! compared sample by sample with what sox itself decodes, and sox reading our files.
//!
//! This test binary has its own harness (libtest-mimic) so that a missing sox is
//! decided at run time and shown honestly: without sox every test here is reported
//! `ignored` in the summary (reason: sox not found on PATH); under `CI=true` they
//! run anyway and fail naming sox, because CI installs it (.ci/run).

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use wav_fft::Error;
use wav_fft::spectrum::realfft_spectrum;
use wav_fft::wav::{self, Container, Endian, SampleKind};

fn have_sox() -> bool {
    Command::new("sox")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn sox(args: &[&str]) -> Result<Vec<u8>, Failed> {
    let out = Command::new("sox")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run sox (is it installed? apt-get install sox): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "sox {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out.stdout)
}

/// Writes `frames` frames (odd counts welcome) of a chord with sox.
fn sox_write(
    dir: &Path,
    name: &str,
    channels: u32,
    fmt: &[&str],
    frames: u32,
) -> Result<PathBuf, Failed> {
    let path = dir.join(name);
    // Rate and channels before `-n` describe the synthesised input, so a
    // length in samples ("101s") is a length in output frames.
    let c = channels.to_string();
    let mut args = vec!["-r", "8000", "-c", &c, "-n"];
    args.extend(fmt);
    let p = path.to_str().unwrap().to_string();
    let len = format!("{frames}s");
    args.push(&p);
    args.extend(["synth", &len, "sine", "440", "sine", "1201", "vol", "0.5"]);
    sox(&args)?;
    Ok(path)
}

/// What sox decodes `path` to: interleaved f64 samples in [-1, 1].
fn sox_decode(path: &Path) -> Result<Vec<f64>, Failed> {
    let raw = sox(&[
        path.to_str().unwrap(),
        "-t",
        "f64",
        "-e",
        "floating-point",
        "--endian",
        "little",
        "-",
    ])?;
    Ok(raw
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect())
}

fn check(ok: bool, msg: String) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(msg.into()) }
}

/// Every WAV encoding sox writes, little- and big-endian (RIFX), 1–8 channels,
/// odd frame counts: same header as soxi, same samples as sox decodes.
fn every_encoding_sox_writes() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let encodings: &[(&str, &[&str], SampleKind)] = &[
        ("u8", &["-b", "8", "-e", "unsigned-integer"], SampleKind::U8),
        (
            "s16",
            &["-b", "16", "-e", "signed-integer"],
            SampleKind::I16,
        ),
        (
            "s24",
            &["-b", "24", "-e", "signed-integer"],
            SampleKind::I24,
        ),
        (
            "s32",
            &["-b", "32", "-e", "signed-integer"],
            SampleKind::I32,
        ),
        (
            "f32",
            &["-b", "32", "-e", "floating-point"],
            SampleKind::F32,
        ),
        (
            "f64",
            &["-b", "64", "-e", "floating-point"],
            SampleKind::F64,
        ),
        // Depths sox's WAV writer rounds up to a container it has (it says so).
        (
            "s12",
            &["-b", "12", "-e", "signed-integer"],
            SampleKind::I32,
        ),
        (
            "s20",
            &["-b", "20", "-e", "signed-integer"],
            SampleKind::I32,
        ),
    ];
    let mut n = 0;
    for (enc, fmt, kind) in encodings {
        for endian in ["little", "big"] {
            for (channels, frames) in [(1u32, 1u32), (2, 101), (3, 257), (6, 33), (8, 2)] {
                for writer in ["wav", "wavpcm"] {
                    let name = format!("{enc}-{endian}-{channels}ch-{frames}-{writer}.wav");
                    let mut args = fmt.to_vec();
                    args.extend(["--endian", endian, "-t", writer]);
                    let path = sox_write(dir.path(), &name, channels, &args, frames)?;
                    let x = wav::load_mono(&path).map_err(|e| format!("{name}: {e}"))?;
                    let i = &x.info;
                    check(i.kind == *kind, format!("{name}: kind {:?}", i.kind))?;
                    check(
                        u32::from(i.channels) == channels,
                        format!("{name}: channels"),
                    )?;
                    check(
                        i.frames == u64::from(frames),
                        format!("{name}: {} frames", i.frames),
                    )?;
                    check(i.sample_rate == 8000, format!("{name}: rate"))?;
                    let big = endian == "big";
                    check(
                        i.endian == if big { Endian::Big } else { Endian::Little }
                            && i.container
                                == if big {
                                    Container::Rifx
                                } else {
                                    Container::Riff
                                },
                        format!("{name}: {:?} {:?}", i.container, i.endian),
                    )?;
                    let theirs = sox_decode(&path)?;
                    check(
                        theirs.len() == (channels * frames) as usize,
                        format!("{name}: sox decoded {} samples", theirs.len()),
                    )?;
                    for (k, (ours, f)) in x
                        .samples
                        .iter()
                        .zip(theirs.chunks(channels as usize))
                        .enumerate()
                    {
                        let want = f.iter().sum::<f64>() / f64::from(channels);
                        check(
                            (f64::from(*ours) - want).abs() < 1e-6,
                            format!("{name}: frame {k}: ours {ours}, sox {want}"),
                        )?;
                    }
                    n += 1;
                }
            }
        }
    }
    check(n == 160, format!("{n} files"))
}

/// The spectrum does not depend on the depth: the peak of a sox sine is at its
/// frequency and its amplitude is the one sox wrote, whatever the encoding.
fn same_sound_same_spectrum_at_every_depth() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let mut tops = Vec::new();
    for fmt in [
        &["-b", "8", "-e", "unsigned-integer"][..],
        &["-b", "16"],
        &["-b", "24"],
        &["-b", "32"],
        &["-e", "floating-point", "-b", "64"],
        &["-B", "-b", "24"],
    ] {
        let path = sox_write(dir.path(), "x.wav", 2, fmt, 8000)?;
        let x = wav::load_mono(&path)?;
        let top = x.samples.iter().fold(0f32, |m, v| m.max(v.abs()));
        let spec = realfft_spectrum(x.samples, 8000);
        let p = spec.peaks(2, 20.0, 3999.0);
        let mut f: Vec<f64> = p.iter().map(|p| p.freq_hz).collect();
        f.sort_by(f64::total_cmp);
        check(f == [440.0, 1201.0], format!("{fmt:?}: peaks at {f:?}"))?;
        tops.push(top);
    }
    let (lo, hi) = tops
        .iter()
        .fold((f32::MAX, 0f32), |(a, b), &t| (a.min(t), b.max(t)));
    check(
        hi - lo < 0.01 && (0.45..0.55).contains(&hi),
        format!("peak amplitudes {tops:?}"),
    )
}

/// What sox writes but this crate refuses: an error naming the format tag.
fn refused_sox_encodings_name_their_tag() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    for (enc, tag) in [
        ("u-law", 7u16),
        ("a-law", 6),
        ("ima-adpcm", 0x11),
        ("ms-adpcm", 2),
        ("gsm-full-rate", 0x31),
    ] {
        let path = sox_write(dir.path(), &format!("{enc}.wav"), 1, &["-e", enc], 801)?;
        match wav::load_mono(&path) {
            Err(e @ Error::FormatTag { .. }) => {
                let msg = e.to_string();
                check(
                    msg.contains(&format!("0x{tag:04X}")) && msg.contains(path.to_str().unwrap()),
                    format!("{enc}: {msg}"),
                )?;
            }
            other => return Err(format!("{enc}: {other:?}").into()),
        }
    }
    Ok(())
}

/// A sox file cut short: an error with the sizes by default, the whole frames
/// present (equal to sox's first frames) with the option.
fn truncated_sox_file() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let path = sox_write(dir.path(), "full.wav", 2, &["-b", "24"], 1001)?;
    let full = std::fs::read(&path)?;
    let theirs = sox_decode(&path)?;
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &full[..full.len() - 1000])?;
    match wav::load_mono(&cut) {
        Err(Error::Truncated {
            claimed, present, ..
        }) => check(
            claimed == 6006 && present == 5006,
            format!("{claimed} / {present}"),
        )?,
        other => return Err(format!("{other:?}").into()),
    }
    let x = wav::load_mono_with(&cut, &wav::ReadOptions::default().allow_truncated(true))?;
    check(
        x.samples.len() == 834,
        format!("{} frames", x.samples.len()),
    )?;
    for (k, (ours, f)) in x.samples.iter().zip(theirs.chunks(2)).enumerate() {
        let want = (f[0] + f[1]) / 2.0;
        check((f64::from(*ours) - want).abs() < 1e-6, format!("frame {k}"))?;
    }
    Ok(())
}

/// hound (the writer's library) and every read path agree on a sox file.
fn read_paths_agree_with_hound() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let path = sox_write(dir.path(), "s16.wav", 2, &["-b", "16"], 4001)?;
    let mut r = hound::WavReader::open(&path)?;
    let raw: Vec<i16> = r.samples::<i16>().collect::<Result<_, _>>()?;
    let expected: Vec<f32> = raw
        .chunks(2)
        .map(|f| (f32::from(f[0]) + f32::from(f[1])) / 2.0 / 32768.0)
        .collect();
    let mapped = wav::load_mono(&path)?;
    let (info, bytes) = wav::read_data(&path)?;
    check(
        mapped.samples == expected,
        "load_mono differs from hound".into(),
    )?;
    check(
        wav::mix_to_mono(&info, &bytes) == expected,
        "read_data + mix differs from hound".into(),
    )
}

/// sox reads the files our generator writes the same way.
fn sox_reads_our_files() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("tones.wav");
    wav_fft::book::generate::write_test_wav(&path, 0.5, 44_100, &mut |_, _| {})?;
    let out = Command::new("soxi").arg(&path).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    check(
        text.contains("Channels       : 2")
            && text.contains("Sample Rate    : 44100")
            && text.contains("22050 samples"),
        text.to_string(),
    )?;
    let theirs = sox_decode(&path)?;
    let ours = wav::load_mono(&path)?;
    for (o, f) in ours.samples.iter().zip(theirs.chunks(2)) {
        check(
            (f64::from(*o) - (f[0] + f[1]) / 2.0).abs() < 1e-6,
            "sample differs".into(),
        )?;
    }
    Ok(())
}

/// One sox test.
type SoxTest = fn() -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let skip = !have_sox() && !ci;
    if skip {
        eprintln!(
            "sox not found on PATH: the sox tests are reported ignored (apt-get install sox)"
        );
    }
    let tests: [(&str, SoxTest); 6] = [
        ("every_encoding_sox_writes", every_encoding_sox_writes),
        (
            "same_sound_same_spectrum_at_every_depth",
            same_sound_same_spectrum_at_every_depth,
        ),
        (
            "refused_sox_encodings_name_their_tag",
            refused_sox_encodings_name_their_tag,
        ),
        ("truncated_sox_file", truncated_sox_file),
        ("read_paths_agree_with_hound", read_paths_agree_with_hound),
        ("sox_reads_our_files", sox_reads_our_files),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, f)| {
            Trial::test(name, move || {
                if !have_sox() {
                    return Err(
                        "sox not found on PATH (CI=true: CI must install it, apt-get install sox)"
                            .into(),
                    );
                }
                f()
            })
            .with_ignored_flag(skip)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
