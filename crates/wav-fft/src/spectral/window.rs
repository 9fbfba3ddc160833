//! Windows by name, with scipy's definitions in the periodic form
//! (`scipy.signal.get_window(name, M)`, i.e. `sym=False`), the form used for
//! spectral analysis.
//!
//! Every window here is a generalised cosine,
//! w\[n\] = Σ_k (−1)^k a_k cos(2πkn/M), n = 0..M (scipy computes M + 1
//! points of the symmetric window and drops the last one, which is the same
//! thing). A window of length 1 is `[1.0]` whatever its name, as in scipy.

use std::f64::consts::TAU;
use std::fmt;
use std::str::FromStr;

/// A window function by name.
///
/// ```
/// use wav_fft::spectral::Window;
/// let w: Window = "hann".parse().unwrap();
/// assert_eq!(w, Window::Hann);
/// let v = w.values(4); // periodic: 0, 0.5, 1, 0.5
/// assert!((v[1] - 0.5).abs() < 1e-15 && (v[2] - 1.0).abs() < 1e-15);
/// assert!("kaiser".parse::<Window>().unwrap_err().contains("kaiser"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Window {
    /// All ones (scipy's `boxcar`; also accepted as `rectangular`, `rect`, `none`).
    Rectangular,
    /// Hann: a = \[0.5, 0.5\] (also accepted as `hanning`).
    #[default]
    Hann,
    /// Hamming: a = \[0.54, 0.46\].
    Hamming,
    /// Blackman (scipy's "exact" coefficients rounded): a = \[0.42, 0.5, 0.08\].
    Blackman,
    /// 4-term Blackman–Harris: a = \[0.35875, 0.48829, 0.14128, 0.01168\].
    BlackmanHarris,
    /// Flat top (scipy's `flattop`, 5 terms): a tone's peak bin reads its
    /// amplitude within 0.01 dB wherever it falls between bins.
    FlatTop,
}

impl Window {
    /// Every window, in the order of the docs.
    pub const ALL: [Window; 6] = [
        Window::Rectangular,
        Window::Hann,
        Window::Hamming,
        Window::Blackman,
        Window::BlackmanHarris,
        Window::FlatTop,
    ];

    /// The name scipy's `get_window` knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Window::Rectangular => "boxcar",
            Window::Hann => "hann",
            Window::Hamming => "hamming",
            Window::Blackman => "blackman",
            Window::BlackmanHarris => "blackmanharris",
            Window::FlatTop => "flattop",
        }
    }

    /// The cosine coefficients a_k.
    pub fn coefficients(self) -> &'static [f64] {
        match self {
            Window::Rectangular => &[1.0],
            Window::Hann => &[0.5, 0.5],
            Window::Hamming => &[0.54, 0.46],
            Window::Blackman => &[0.42, 0.50, 0.08],
            Window::BlackmanHarris => &[0.35875, 0.48829, 0.14128, 0.01168],
            Window::FlatTop => &[
                0.215_578_95,
                0.416_631_58,
                0.277_263_158,
                0.083_578_947,
                0.006_947_368,
            ],
        }
    }

    /// w\[n\] of the periodic window of length `len` (n < len).
    pub fn at(self, n: usize, len: usize) -> f64 {
        if len <= 1 {
            return 1.0;
        }
        let theta = TAU * (n as f64 / len as f64);
        let mut sign = 1.0;
        let mut sum = 0.0;
        for (k, a) in self.coefficients().iter().enumerate() {
            sum += sign * a * (k as f64 * theta).cos();
            sign = -sign;
        }
        sum
    }

    /// The whole periodic window of length `len`, f64.
    pub fn values(self, len: usize) -> Vec<f64> {
        let mut out = vec![0.0; len];
        self.fill(0, len, &mut out);
        out
    }

    /// w\[start..start + out.len()\] of the window of length `len`, computed
    /// with a rotation per sample (exact angle every 4096 samples, so the
    /// error stays at f64 rounding) — for windows as long as a whole file.
    pub fn fill(self, start: usize, len: usize, out: &mut [f64]) {
        if len <= 1 {
            out.fill(1.0);
            return;
        }
        let a = self.coefficients();
        if a.len() == 1 {
            out.fill(a[0]);
            return;
        }
        let step = TAU / len as f64;
        let (ds, dc) = step.sin_cos();
        for (b, block) in out.chunks_mut(4096).enumerate() {
            let n0 = start + b * 4096;
            let (mut s, mut c) = (TAU * ((n0 % len) as f64 / len as f64)).sin_cos();
            for w in block.iter_mut() {
                // cos(kθ) by the Chebyshev recurrence from cos θ.
                let (mut prev, mut cur) = (1.0, c);
                let mut sum = a[0] - a[1] * c;
                let mut sign = 1.0;
                for ak in &a[2..] {
                    let next = 2.0 * c * cur - prev;
                    prev = cur;
                    cur = next;
                    sum += sign * ak * cur;
                    sign = -sign;
                }
                *w = sum;
                (s, c) = (s * dc + c * ds, c * dc - s * ds);
            }
        }
    }

    /// (Σ w\[n\], Σ w\[n\]²) of the window of length `len`: the two sums
    /// the `spectrum` and `density` scalings divide by. Exact closed forms
    /// for len > 8 (the cosines sum to zero over whole periods), a direct
    /// sum below.
    pub fn sums(self, len: usize) -> (f64, f64) {
        let a = self.coefficients();
        if len > 2 * a.len() && len > 1 {
            let m = len as f64;
            let s1 = a[0] * m;
            let s2 = m * (a[0] * a[0] + 0.5 * a[1..].iter().map(|x| x * x).sum::<f64>());
            (s1, s2)
        } else {
            let v = self.values(len);
            (v.iter().sum(), v.iter().map(|x| x * x).sum())
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Window {
    type Err = String;

    fn from_str(s: &str) -> Result<Window, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "boxcar" | "rectangular" | "rect" | "none" | "ones" => Window::Rectangular,
            "hann" | "hanning" => Window::Hann,
            "hamming" => Window::Hamming,
            "blackman" => Window::Blackman,
            "blackmanharris" | "blackman-harris" => Window::BlackmanHarris,
            "flattop" | "flat-top" => Window::FlatTop,
            _ => {
                return Err(format!(
                    "unknown window {s:?} (known: boxcar/rectangular, hann, hamming, blackman, blackmanharris, flattop)"
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_matches_direct_evaluation_far_into_a_long_window() {
        for w in Window::ALL {
            for len in [1usize, 2, 3, 7, 10, 1_000_003] {
                let start = len / 3;
                let mut out = vec![0.0; 9000.min(len - start)];
                w.fill(start, len, &mut out);
                for (i, v) in out.iter().enumerate() {
                    let d = w.at(start + i, len);
                    assert!(
                        (v - d).abs() < 1e-12,
                        "{w} len {len} n {}: {v} vs {d}",
                        start + i
                    );
                }
            }
        }
    }

    #[test]
    fn sums_closed_form_equals_direct_sum() {
        for w in Window::ALL {
            for len in [1usize, 2, 5, 9, 11, 64, 997] {
                let v = w.values(len);
                let (s1, s2) = w.sums(len);
                let d1: f64 = v.iter().sum();
                let d2: f64 = v.iter().map(|x| x * x).sum();
                assert!((s1 - d1).abs() < 1e-9 * len as f64, "{w} {len}: {s1} {d1}");
                assert!((s2 - d2).abs() < 1e-9 * len as f64, "{w} {len}: {s2} {d2}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for w in Window::ALL {
            assert_eq!(w.name().parse::<Window>().unwrap(), w);
        }
        assert_eq!(
            "rectangular".parse::<Window>().unwrap(),
            Window::Rectangular
        );
    }
}
