//! The fast algorithm for `u128`: the same method as
//! [`crate::factor::fast`] (small primes, Miller–Rabin, Pollard's rho with
//! Brent's cycle finding, Montgomery arithmetic) on 128-bit numbers, handing
//! over to the `u64` code as soon as what is left fits in 64 bits.
//!
//! Two honest limits, both from the mathematics rather than the code:
//!
//! - primality: Miller–Rabin with the first 20 primes as bases is proven
//!   exact below 3.3·10²⁴ (bases up to 41 suffice there); above, no
//!   composite passing all twenty is known, but none is proven impossible;
//! - time: Pollard's rho needs about √p steps to find a prime factor p, so
//!   a number whose two smallest prime factors are both far above 2⁴⁰ (for
//!   example the product of two 64-bit primes) takes minutes to hours —
//!   that is where the elliptic-curve method or a sieve takes over.
//!
//! ```
//! use factorizer_pool::factor128::fast_u128;
//! let n: u128 = 18_446_744_073_709_551_557 * 1_000_000_007 * 12; // (2^64 - 59) · (10^9 + 7) · 12
//! assert_eq!(fast_u128(n), vec![2, 2, 3, 1_000_000_007, 18_446_744_073_709_551_557]);
//! assert_eq!(fast_u128(u128::MAX).len(), 9); // 3 · 5 · 17 · 257 · 641 · 65537 · 274177 · 6700417 · 67280421310721
//! ```

/// The exact prime factors of `n`, sorted (empty for 0 and 1).
///
/// # Examples
///
/// ```
/// use factorizer_pool::factor128::fast_u128;
/// let p: u128 = 170_141_183_460_469_231_731_687_303_715_884_105_727; // 2^127 - 1
/// assert_eq!(fast_u128(p), vec![p]);
/// ```
pub fn fast_u128(mut n: u128) -> Vec<u128> {
    let mut out = Vec::new();
    if n < 2 {
        return out;
    }
    for p in SMALL_PRIMES {
        while n % p == 0 {
            out.push(p);
            n /= p;
        }
    }
    split(n, &mut out);
    out.sort_unstable();
    out
}

/// True when `n` is prime (see the module's note on numbers past 3.3·10²⁴).
///
/// ```
/// use factorizer_pool::factor128::is_prime_u128;
/// assert!(is_prime_u128((1u128 << 127) - 1));
/// assert!(!is_prime_u128((1u128 << 127) + 1));
/// ```
pub fn is_prime_u128(n: u128) -> bool {
    if let Ok(small) = u64::try_from(n) {
        return crate::factor::is_prime(small);
    }
    if SMALL_PRIMES.iter().any(|&p| n % p == 0) {
        return false;
    }
    let m = Mont::new(n);
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    let one = m.enter(1);
    let minus_one = m.enter(n - 1);
    'bases: for a in SMALL_PRIMES.iter().take(20) {
        let mut x = m.pow(m.enter(*a), d);
        if x == one || x == minus_one {
            continue;
        }
        for _ in 1..s {
            x = m.mul(x, x);
            if x == minus_one {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

const SMALL_PRIMES: [u128; 25] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];

/// Pushes the prime factors of `n` (odd, no factor below 100) to `out`.
fn split(n: u128, out: &mut Vec<u128>) {
    if n == 1 {
        return;
    }
    if let Ok(small) = u64::try_from(n) {
        out.extend(crate::factor::fast(small).into_iter().map(u128::from));
        return;
    }
    if is_prime_u128(n) {
        out.push(n);
        return;
    }
    let mut c = 1;
    let d = loop {
        if let Some(d) = brent(n, c) {
            break d;
        }
        c += 1;
    };
    split(d, out);
    split(n / d, out);
}

fn brent(n: u128, c: u128) -> Option<u128> {
    const BATCH: u64 = 128;
    let m = Mont::new(n);
    let c = m.enter(c);
    let f = |x: u128| m.add(m.mul(x, x), c);
    let mut y = m.enter(2);
    let mut x = y;
    let mut ys = y;
    let mut q = m.enter(1);
    let mut g = 1;
    let mut r: u64 = 1;
    while g == 1 {
        x = y;
        for _ in 0..r {
            y = f(y);
        }
        let mut k = 0;
        while k < r && g == 1 {
            ys = y;
            for _ in 0..BATCH.min(r - k) {
                y = f(y);
                q = m.mul(q, x.abs_diff(y));
            }
            g = gcd(q, n);
            k += BATCH;
        }
        r *= 2;
    }
    if g == n {
        loop {
            ys = f(ys);
            g = gcd(x.abs_diff(ys), n);
            if g > 1 {
                break;
            }
        }
    }
    (g != n).then_some(g)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// The full 256-bit product of two `u128`, as (high, low).
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const LO: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LO);
    let (b1, b0) = (b >> 64, b & LO);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & LO) + (p10 & LO);
    let lo = (p00 & LO) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// Montgomery arithmetic modulo an odd `n > 2^64`, with `R = 2^128`.
#[derive(Debug, Clone, Copy)]
struct Mont {
    n: u128,
    /// `n^-1 mod 2^128`.
    inv: u128,
    /// `R^2 mod n`.
    r2: u128,
}

impl Mont {
    fn new(n: u128) -> Self {
        debug_assert!(n % 2 == 1);
        let mut inv = n; // right to 3 bits; each step doubles that
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u128.wrapping_sub(n.wrapping_mul(inv)));
        }
        let m = Mont { n, inv, r2: 0 };
        // R mod n, then doubled 128 times: R^2 mod n.
        let mut r2 = (u128::MAX % n + 1) % n;
        for _ in 0..128 {
            r2 = m.add(r2, r2);
        }
        Mont { r2, ..m }
    }

    fn reduce(&self, hi: u128, lo: u128) -> u128 {
        let k = lo.wrapping_mul(self.inv);
        let (mh, _) = mul_wide(k, self.n);
        // The low halves of t and k·n are equal: (t - k·n) / R = hi - mh.
        if hi >= mh {
            hi - mh
        } else {
            hi.wrapping_sub(mh).wrapping_add(self.n)
        }
    }

    fn mul(&self, a: u128, b: u128) -> u128 {
        let (hi, lo) = mul_wide(a, b);
        self.reduce(hi, lo)
    }

    fn add(&self, a: u128, b: u128) -> u128 {
        let (s, carry) = a.overflowing_add(b);
        if carry || s >= self.n {
            s.wrapping_sub(self.n)
        } else {
            s
        }
    }

    fn enter(&self, a: u128) -> u128 {
        self.mul(a % self.n, self.r2)
    }

    fn pow(&self, mut base: u128, mut e: u128) -> u128 {
        let mut acc = self.enter(1);
        while e > 0 {
            if e & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            e >>= 1;
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn wide_product_is_exact() {
        let mut rng = SmallRng::seed_from_u64(5);
        for _ in 0..1000 {
            let (a, b, d): (u64, u64, u64) = (rng.random(), rng.random(), rng.random());
            // (a·2^64 + b)·d with d < 2^64 checked against u128 pieces.
            let x = (u128::from(a) << 64) | u128::from(b);
            let (hi, lo) = mul_wide(x, u128::from(d));
            let low = u128::from(b) * u128::from(d);
            let high = u128::from(a) * u128::from(d) + (low >> 64);
            assert_eq!(lo, (low & u128::from(u64::MAX)) | (high << 64));
            assert_eq!(hi, high >> 64);
        }
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
    }

    #[test]
    fn products_of_known_primes_come_back() {
        let primes: [u128; 7] = [
            2,
            101,
            1_000_000_007,
            4_294_967_291,
            18_446_744_073_709_551_557,
            (1 << 61) - 1,
            (1 << 89) - 1,
        ];
        let mut rng = SmallRng::seed_from_u64(9);
        for _ in 0..60 {
            let mut n: u128 = 1;
            let mut want = Vec::new();
            for _ in 0..rng.random_range(1..5) {
                let p = primes[rng.random_range(0..primes.len())];
                if let Some(m) = n.checked_mul(p) {
                    n = m;
                    want.push(p);
                }
            }
            want.sort_unstable();
            let big = want.iter().filter(|&&p| p > 1 << 41).count();
            if big > 1 || n < 2 {
                continue; // two large factors: too slow for rho in a test
            }
            assert_eq!(fast_u128(n), want, "{n}");
        }
    }

    #[test]
    fn random_u128_with_small_cofactors() {
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..40 {
            let n: u128 =
                u128::from(rng.random::<u64>()) * u128::from(rng.random_range(2..1u64 << 30));
            let f = fast_u128(n);
            assert_eq!(f.iter().product::<u128>(), n);
            assert!(f.iter().all(|&p| is_prime_u128(p)));
            assert!(f.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn primes_and_composites() {
        assert!(is_prime_u128((1 << 89) - 1));
        assert!(!is_prime_u128((1 << 67) - 1)); // 193707721 × 761838257287
        assert_eq!(fast_u128((1 << 67) - 1), vec![193_707_721, 761_838_257_287]);
    }
}
