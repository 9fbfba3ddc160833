//! The complex products the passes make for every element of the matrix,
//! with AVX2 + FMA where the CPU has them (checked at run time) and plain
//! Rust elsewhere. The crate is built for baseline x86-64 (SSE2), where
//! the compiler keeps complex numbers interleaved and multiplies them two
//! lanes at a time; with AVX2 the twiddle factors took 0.46–0.52 ns per
//! element instead of 0.72–0.85 ns when the compiler vectorised them, and
//! the hand-written loop below does four products per instruction
//! sequence. Bluestein's chirp recurrence in pass 1 likewise: the
//! 2.6-million-sample prime's pass 1 took 9.9 ms instead of 10.4 ms
//! (alternating runs, plan made).

use rustfft::num_complex::Complex;

/// `v[b] *= hi · lo[b]` for b < min(len): a twiddle factor W^(r·(64a + b))
/// taken as W^(64ra) · W^(rb).
#[inline]
pub(crate) fn scale_by(v: &mut [Complex<f32>], hi: Complex<f32>, lo: &[Complex<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { avx::scale_by(v, hi, lo) };
        return;
    }
    scale_by_portable(v, hi, lo);
}

fn scale_by_portable(v: &mut [Complex<f32>], hi: Complex<f32>, lo: &[Complex<f32>]) {
    for (x, l) in v.iter_mut().zip(lo) {
        *x *= hi * l;
    }
}

/// `v[i] *= k[i]` for i < min(len).
#[inline]
pub(crate) fn mul_each(v: &mut [Complex<f32>], k: &[Complex<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { avx::mul_each(v, k) };
        return;
    }
    mul_each_portable(v, k);
}

fn mul_each_portable(v: &mut [Complex<f32>], k: &[Complex<f32>]) {
    for (x, k) in v.iter_mut().zip(k) {
        *x *= k;
    }
}

/// One step of [`ColumnChirp`](super::exact::ColumnChirp) on a run:
/// `run[i] *= (c[i] as f32)`, then `c[i] *= d[i]` and `d[i] *= e`, for
/// i < run.len() (≤ each lane array's length), with c = `cr + i·ci` and
/// d = `dr + i·di` kept as f64 lanes. Separate re and im arrays, so that
/// four lanes are one f64 vector each.
#[inline]
pub(crate) fn chirp_step(lanes: Lanes<'_>, e: Complex<f64>, run: &mut [Complex<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { avx::chirp_step(lanes, e, run) };
        return;
    }
    chirp_step_portable(lanes, e, run);
}

/// The four lane arrays of [`chirp_step`]: c's re and im, d's re and im.
pub(crate) type Lanes<'a> = [&'a mut [f64]; 4];

fn chirp_step_portable(lanes: Lanes<'_>, e: Complex<f64>, run: &mut [Complex<f32>]) {
    let n = run.len();
    let [cr, ci, dr, di] = lanes;
    assert!(n <= cr.len().min(ci.len()).min(dr.len()).min(di.len()));
    for (x, (r, i)) in run.iter_mut().zip(cr.iter().zip(ci.iter())) {
        *x *= Complex::new(*r as f32, *i as f32);
    }
    chirp_advance([&mut cr[..n], &mut ci[..n], &mut dr[..n], &mut di[..n]], e);
}

/// The recurrence of [`chirp_step`] alone, over the whole lane arrays:
/// `c[i] *= d[i]`, then `d[i] *= e` (separate re and im arrays, so that
/// the compiler vectorises it).
pub(crate) fn chirp_advance(lanes: Lanes<'_>, e: Complex<f64>) {
    let [cr, ci, dr, di] = lanes;
    let n = cr.len().min(ci.len()).min(dr.len()).min(di.len());
    for i in 0..n {
        let (wr, wi, xr, xi) = (cr[i], ci[i], dr[i], di[i]);
        cr[i] = wr * xr - wi * xi;
        ci[i] = wr * xi + wi * xr;
        dr[i] = xr * e.re - xi * e.im;
        di[i] = xr * e.im + xi * e.re;
    }
}

/// Whether this CPU runs AVX2 and FMA (std caches the answer).
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::{
        _mm_unpackhi_ps, _mm_unpacklo_ps, _mm256_cvtpd_ps, _mm256_fmadd_pd, _mm256_fmaddsub_ps,
        _mm256_fmsub_pd, _mm256_loadu_pd, _mm256_loadu_ps, _mm256_movehdup_ps, _mm256_moveldup_ps,
        _mm256_mul_pd, _mm256_mul_ps, _mm256_permute_ps, _mm256_set_m128, _mm256_set1_pd,
        _mm256_setr_ps, _mm256_storeu_pd, _mm256_storeu_ps,
    };

    use rustfft::num_complex::Complex;

    /// Four complex products x·w at once (`__m256`, interleaved re, im, …):
    /// (a + bi)(c + di) = (ac − bd) + (bc + ad)i, as x·(c, c) ∓ (b, a)·(d, d).
    /// A macro so that it expands inside the callers' `unsafe` blocks.
    macro_rules! product {
        ($x:expr, $w:expr) => {{
            let (x, w) = ($x, $w);
            _mm256_fmaddsub_ps(
                x,
                _mm256_moveldup_ps(w),
                _mm256_mul_ps(_mm256_permute_ps(x, 0b1011_0001), _mm256_movehdup_ps(w)),
            )
        }};
    }

    /// [`super::scale_by`] with AVX2 and FMA.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn scale_by(v: &mut [Complex<f32>], hi: Complex<f32>, lo: &[Complex<f32>]) {
        let n = v.len().min(lo.len());
        let (x, l) = (v.as_mut_ptr().cast::<f32>(), lo.as_ptr().cast::<f32>());
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: AVX2 and FMA by the caller's contract. Elements
            // i..i + 4 of `v` and of `lo` exist (i + 4 ≤ n ≤ both lengths):
            // 8 f32 each from offset 2i, read and written unaligned through
            // pointers from the slices, `v` borrowed mutably.
            unsafe {
                let h = _mm256_setr_ps(hi.re, hi.im, hi.re, hi.im, hi.re, hi.im, hi.re, hi.im);
                let w = product!(_mm256_loadu_ps(l.add(2 * i)), h);
                _mm256_storeu_ps(x.add(2 * i), product!(_mm256_loadu_ps(x.add(2 * i)), w));
            }
            i += 4;
        }
        for (x, l) in v[i..n].iter_mut().zip(&lo[i..n]) {
            *x *= hi * l;
        }
    }

    /// [`super::mul_each`] with AVX2 and FMA.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn mul_each(v: &mut [Complex<f32>], k: &[Complex<f32>]) {
        let n = v.len().min(k.len());
        let (x, kp) = (v.as_mut_ptr().cast::<f32>(), k.as_ptr().cast::<f32>());
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: as in `scale_by`: elements i..i + 4 of both slices
            // exist, read and written unaligned, `v` borrowed mutably.
            unsafe {
                let p = product!(
                    _mm256_loadu_ps(x.add(2 * i)),
                    _mm256_loadu_ps(kp.add(2 * i))
                );
                _mm256_storeu_ps(x.add(2 * i), p);
            }
            i += 4;
        }
        for (x, k) in v[i..n].iter_mut().zip(&k[i..n]) {
            *x *= k;
        }
    }
    /// [`super::chirp_step`] with AVX2 and FMA: four lanes at a time.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn chirp_step(
        lanes: super::Lanes<'_>,
        e: Complex<f64>,
        run: &mut [Complex<f32>],
    ) {
        let [cr, ci, dr, di] = lanes;
        let n = run.len();
        assert!(n <= cr.len().min(ci.len()).min(dr.len()).min(di.len()));
        let x = run.as_mut_ptr().cast::<f32>();
        let (pcr, pci, pdr, pdi) = (
            cr.as_mut_ptr(),
            ci.as_mut_ptr(),
            dr.as_mut_ptr(),
            di.as_mut_ptr(),
        );
        let (er, ei) = (_mm256_set1_pd(e.re), _mm256_set1_pd(e.im));
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: AVX2 and FMA by the caller's contract. Lanes
            // i..i + 4 exist in `run` and in the four arrays (i + 4 ≤ n,
            // asserted no longer than any of them), all borrowed mutably:
            // 4 f64 from offset i of each array, 8 f32 from offset 2i of
            // `run`, read and written unaligned.
            unsafe {
                let (c_r, c_i) = (_mm256_loadu_pd(pcr.add(i)), _mm256_loadu_pd(pci.add(i)));
                let (d_r, d_i) = (_mm256_loadu_pd(pdr.add(i)), _mm256_loadu_pd(pdi.add(i)));
                let (re, im) = (_mm256_cvtpd_ps(c_r), _mm256_cvtpd_ps(c_i));
                let w = _mm256_set_m128(_mm_unpackhi_ps(re, im), _mm_unpacklo_ps(re, im));
                _mm256_storeu_ps(x.add(2 * i), product!(_mm256_loadu_ps(x.add(2 * i)), w));
                _mm256_storeu_pd(
                    pcr.add(i),
                    _mm256_fmsub_pd(c_r, d_r, _mm256_mul_pd(c_i, d_i)),
                );
                _mm256_storeu_pd(
                    pci.add(i),
                    _mm256_fmadd_pd(c_r, d_i, _mm256_mul_pd(c_i, d_r)),
                );
                _mm256_storeu_pd(pdr.add(i), _mm256_fmsub_pd(d_r, er, _mm256_mul_pd(d_i, ei)));
                _mm256_storeu_pd(pdi.add(i), _mm256_fmadd_pd(d_r, ei, _mm256_mul_pd(d_i, er)));
            }
            i += 4;
        }
        super::chirp_step_portable(
            [&mut cr[i..], &mut ci[i..], &mut dr[i..], &mut di[i..]],
            e,
            &mut run[i..],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Scale = fn(&mut [Complex<f32>], Complex<f32>, &[Complex<f32>]);
    type Mul = fn(&mut [Complex<f32>], &[Complex<f32>]);

    fn values(n: usize, seed: f32) -> Vec<Complex<f32>> {
        (0..n)
            .map(|i| {
                Complex::new(
                    (i as f32 * 0.37 + seed).sin(),
                    (i as f32 * 0.11 - seed).cos(),
                )
            })
            .collect()
    }

    #[test]
    fn products_equal_the_plain_ones_for_every_length() {
        // The dispatched versions (AVX2 where the CPU has it) and the
        // portable ones, every length around the vector width of 4.
        let scales: [Scale; 2] = [scale_by, scale_by_portable];
        let muls: [Mul; 2] = [mul_each, mul_each_portable];
        for n in 0..20 {
            let (v, lo) = (values(n, 0.3), values(n + 3, 1.7));
            let hi = Complex::new(0.6f32, -0.8);
            for f in scales {
                let mut got = v.clone();
                f(&mut got, hi, &lo);
                for (i, g) in got.iter().enumerate() {
                    assert!((g - v[i] * (hi * lo[i])).norm() < 1e-6, "scale_by {n} {i}");
                }
            }
            for f in muls {
                let mut got = v.clone();
                f(&mut got, &lo);
                for (i, g) in got.iter().enumerate() {
                    assert!((g - v[i] * lo[i]).norm() < 1e-6, "mul_each {n} {i}");
                }
            }
            // The chirp step, both versions against the plain formulas,
            // twice in a row (the lanes move on between the calls).
            type Step = fn(Lanes<'_>, Complex<f64>, &mut [Complex<f32>]);
            let steps: [Step; 2] = [chirp_step, chirp_step_portable];
            let e = Complex::new(0.28f64, 0.96);
            for step in steps {
                let c0: Vec<Complex<f64>> = (0..n + 2)
                    .map(|i| Complex::from_polar(1.0, 0.1 * i as f64))
                    .collect();
                let d0: Vec<Complex<f64>> = (0..n + 2)
                    .map(|i| Complex::from_polar(1.0, -0.3 * i as f64))
                    .collect();
                let mut lanes: [Vec<f64>; 4] = [
                    c0.iter().map(|c| c.re).collect(),
                    c0.iter().map(|c| c.im).collect(),
                    d0.iter().map(|d| d.re).collect(),
                    d0.iter().map(|d| d.im).collect(),
                ];
                let mut got = v.clone();
                for _ in 0..2 {
                    let [a, b, c, d] = &mut lanes;
                    step([a, b, c, d], e, &mut got);
                }
                for i in 0..n {
                    let (c, d) = (c0[i], d0[i]);
                    let w = |c: Complex<f64>| Complex::new(c.re as f32, c.im as f32);
                    let want = v[i] * w(c) * w(c * d);
                    assert!((got[i] - want).norm() < 1e-5, "chirp_step {n} {i}");
                    let (c2, d2) = (c * d * d * e, d * e * e);
                    assert!(
                        (lanes[0][i] - c2.re).abs() < 1e-12 && (lanes[1][i] - c2.im).abs() < 1e-12
                    );
                    assert!(
                        (lanes[2][i] - d2.re).abs() < 1e-12 && (lanes[3][i] - d2.im).abs() < 1e-12
                    );
                }
                // Lanes past the run are left alone.
                assert_eq!(lanes[0][n], c0[n].re, "chirp_step {n}: past the run");
            }
            // A shorter factor slice: only its length is multiplied.
            let mut got = v.clone();
            mul_each(&mut got, &lo[..n / 2]);
            assert_eq!(got[n / 2..], v[n / 2..], "mul_each {n}: past the factors");
        }
    }
}
