//! The two factorisation algorithms: the book's trial division (`naive`,
//! the workload of the lesson) and an exact fast one (`fast`:
//! Miller–Rabin + Pollard's rho, Brent's variant).
//!
//! ```
//! use factorizer_pool::factor::{Algorithm, factorize};
//! let naive = factorize(Algorithm::Naive, 25_301_356);
//! let fast = factorize(Algorithm::Fast, 25_301_356);
//! assert_eq!(naive.factors, vec![2, 2, 6_325_339]);
//! assert_eq!(fast.factors, naive.factors);
//! // The book's loop tries 2, then 3, 5, 7, … until it passes what is left:
//! assert_eq!(naive.iterations, 3_162_670);
//! ```

use std::fmt;
use std::str::FromStr;

/// Which algorithm factors the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// The book's trial division: 2, then every odd candidate up to
    /// `n / 2`, stopping once the candidate passes what is left.
    #[default]
    Naive,
    /// Deterministic Miller–Rabin plus Pollard's rho (Brent): any `u64` in
    /// microseconds.
    Fast,
}

impl Algorithm {
    /// The name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Naive => "naive",
            Algorithm::Fast => "fast",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "naive" => Ok(Algorithm::Naive),
            "fast" => Ok(Algorithm::Fast),
            other => Err(format!(
                "unknown algorithm {other:?} (expected naive or fast)"
            )),
        }
    }
}

/// A factorisation and what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Factorization {
    /// The prime factors, sorted, with multiplicity (their product is the input).
    pub factors: Vec<u64>,
    /// Candidates the naive loop tried (the book's iteration count); 0 for
    /// the fast algorithm.
    pub iterations: u64,
}

/// Factors `n` with `algorithm`.
///
/// `0` and `1` have no prime factorisation: both algorithms return an empty
/// list for them (programs reject them earlier, see
/// [`crate::input::parse_number`]).
pub fn factorize(algorithm: Algorithm, n: u64) -> Factorization {
    match algorithm {
        Algorithm::Naive => naive(n),
        Algorithm::Fast => Factorization {
            factors: fast(n),
            iterations: 0,
        },
    }
}

/// The book's algorithm, with the same candidates in the same order and so
/// the same number of iterations:
///
/// 1. try 2, then 3, 5, 7, … up to `n / 2`;
/// 2. divide each candidate out as often as it goes in;
/// 3. stop as soon as the candidate is larger than what is left.
///
/// Two differences, neither of which changes the iteration count: when the
/// loop runs out of candidates with something left (a prime input), that
/// prime is kept (the book returns `[]` for a prime), and `0` returns `[]`
/// instead of looping forever.
///
/// Each iteration is one division. While what is left fits in 32 bits (for
/// the book's slowest input, after the first factor) the loop uses 32-bit
/// division, which is several times cheaper than 64-bit division.
///
/// ```
/// use factorizer_pool::factor::naive;
/// assert_eq!(naive(8).factors, vec![2, 2, 2]);
/// assert_eq!(naive(97).factors, vec![97]); // the book's code would say []
/// assert_eq!(naive(97).iterations, 24); // 2, then 3, 5, …, 47 (97 / 2 = 48)
/// ```
pub fn naive(n: u64) -> Factorization {
    let mut out = Factorization::default();
    if n == 0 {
        return out;
    }
    let limit = n / 2;
    let mut number = n;
    // The candidate 2 is always tried (the book chains [2] before the range).
    out.iterations = 1;
    while number % 2 == 0 {
        out.factors.push(2);
        number /= 2;
    }
    let mut broke = 2 > number;
    let mut f: u64 = 3;
    // Phase 1: what is left needs 64 bits.
    while !broke && f <= limit && number > u64::from(u32::MAX) {
        out.iterations += 1;
        while number % f == 0 {
            out.factors.push(f);
            number /= f;
        }
        broke = f > number;
        f += 2;
    }
    // Phase 2: what is left fits in 32 bits, and so does every candidate
    // up to it; a candidate past it ends the loop at once.
    if !broke && number <= u64::from(u32::MAX) {
        let mut small = number as u32;
        while f <= limit {
            out.iterations += 1;
            if f > u64::from(small) {
                break; // `small % f == small != 0`: nothing divides, and f > small
            }
            let g = f as u32;
            while small % g == 0 {
                out.factors.push(f);
                small /= g;
            }
            if g > small {
                break;
            }
            f += 2;
        }
        number = u64::from(small);
    }
    if number > 1 {
        out.factors.push(number);
    }
    out
}

/// How many iterations [`naive`] will take for `n`, computed in
/// microseconds from the fast factorisation: the loop stops at the largest
/// prime factor, or runs out of candidates when `n` is prime.
///
/// This is what lets a scheduler put the longest tasks first.
///
/// ```
/// use factorizer_pool::factor::{naive, predicted_iterations};
/// for n in [2, 3, 4, 97, 100, 1_000_006, 600_851_475_143] {
///     assert_eq!(predicted_iterations(n), naive(n).iterations);
/// }
/// ```
pub fn predicted_iterations(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // Candidate index: 2 is the first, then 3, 5, 7, … (odd f is (f + 1) / 2).
    let index = |f: u64| if f == 2 { 1 } else { f.div_ceil(2) };
    // The last candidate: 2, plus the odd numbers in 3..=n/2.
    let half = n / 2;
    let last = 1 + if half >= 3 { (half - 1) / 2 } else { 0 };
    match fast(n).last() {
        Some(&p) if p <= half => index(p),
        _ => last, // 1 or a prime: no factor up to n / 2
    }
}

// ----------------------------------------------------------------- fast ---

/// Small primes tried by division before anything clever.
const SMALL_PRIMES: [u64; 25] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];

/// The exact prime factors of `n`, sorted (empty for 0 and 1).
///
/// Trial division by the primes below 100, then a deterministic
/// Miller–Rabin test and Pollard's rho (Brent's cycle finding, with the
/// products of 128 differences per gcd) on what is left, all in Montgomery
/// arithmetic. Every `u64` takes at most a few milliseconds, typical inputs
/// a few microseconds.
///
/// ```
/// use factorizer_pool::factor::fast;
/// assert_eq!(fast(8_919_372_543), vec![3, 2_973_124_181]);
/// assert_eq!(fast(u64::MAX), vec![3, 5, 17, 257, 641, 65_537, 6_700_417]);
/// assert_eq!(fast(18_446_744_073_709_551_557), vec![18_446_744_073_709_551_557]);
/// ```
pub fn fast(mut n: u64) -> Vec<u64> {
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

/// Pushes the prime factors of `n` (odd, with no factor below 100) to `out`.
fn split(n: u64, out: &mut Vec<u64>) {
    if n == 1 {
        return;
    }
    if is_prime(n) {
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

/// True when `n` is prime (deterministic for every `u64`).
///
/// ```
/// use factorizer_pool::factor::is_prime;
/// assert!(is_prime(2_973_124_181));
/// assert!(!is_prime(3_215_031_751)); // a strong pseudoprime to bases 2, 3, 5, 7
/// ```
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for p in SMALL_PRIMES {
        if n % p == 0 {
            return n == p;
        }
    }
    if n < 101 * 101 {
        return true;
    }
    let m = Montgomery::new(n);
    let d = (n - 1) >> (n - 1).trailing_zeros();
    let s = (n - 1).trailing_zeros();
    let one = m.enter(1);
    let minus_one = m.enter(n - 1);
    // These seven bases decide every n < 2^64 (Jim Sinclair, 2011).
    'bases: for a in [2, 325, 9375, 28178, 450_775, 9_780_504, 1_795_265_022] {
        let a = a % n;
        if a == 0 {
            continue;
        }
        let mut x = m.pow(m.enter(a), d);
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

/// Pollard's rho with Brent's cycle detection on odd composite `n`; `None`
/// when this `c` only finds `n` itself (try another `c`).
fn brent(n: u64, c: u64) -> Option<u64> {
    const BATCH: u64 = 128;
    let m = Montgomery::new(n);
    let c = m.enter(c);
    let f = |x: u64| m.add(m.mul(x, x), c);
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
        // The batch overshot: redo its steps one gcd at a time.
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

fn gcd(mut a: u64, mut b: u64) -> u64 {
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

/// Arithmetic modulo an odd `n` in Montgomery form (`x` is stored as
/// `x · 2^64 mod n`), so a modular product costs two multiplications
/// instead of a 128-bit division.
#[derive(Debug, Clone, Copy)]
struct Montgomery {
    n: u64,
    /// `n^-1 mod 2^64`.
    inv: u64,
    /// `2^128 mod n`.
    r2: u64,
}

impl Montgomery {
    fn new(n: u64) -> Self {
        debug_assert!(n % 2 == 1);
        // Newton's iteration doubles the correct low bits each step.
        let mut inv = n;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(inv)));
        }
        let r = ((1u128 << 64) % u128::from(n)) as u64;
        let r2 = ((u128::from(r) * u128::from(r)) % u128::from(n)) as u64;
        Montgomery { n, inv, r2 }
    }

    /// `t · 2^-64 mod n`, for `t < n · 2^64`.
    fn reduce(&self, t: u128) -> u64 {
        let m = (t as u64).wrapping_mul(self.inv);
        let mn = u128::from(m) * u128::from(self.n);
        // The low halves of t and m·n are equal, so (t - m·n) / 2^64 is
        // the difference of the high halves (mod n).
        let (th, mh) = ((t >> 64) as u64, (mn >> 64) as u64);
        if th >= mh {
            th - mh
        } else {
            th.wrapping_sub(mh).wrapping_add(self.n)
        }
    }

    fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce(u128::from(a) * u128::from(b))
    }

    fn add(&self, a: u64, b: u64) -> u64 {
        let (s, carry) = a.overflowing_add(b);
        if carry || s >= self.n {
            s.wrapping_sub(self.n)
        } else {
            s
        }
    }

    fn enter(&self, a: u64) -> u64 {
        self.mul(a % self.n, self.r2)
    }

    fn pow(&self, mut base: u64, mut e: u64) -> u64 {
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

    fn check(n: u64, factors: &[u64]) {
        assert_eq!(
            factors.iter().copied().map(u128::from).product::<u128>(),
            u128::from(n),
            "product of {factors:?} is not {n}"
        );
        assert!(factors.windows(2).all(|w| w[0] <= w[1]), "{factors:?}");
        assert!(factors.iter().all(|&p| is_prime(p)), "{n}: {factors:?}");
    }

    #[test]
    fn book_inputs_fast() {
        for (n, want) in crate::input::BOOK_RESULTS {
            assert_eq!(fast(n), want.to_vec(), "{n}");
        }
    }

    #[test]
    fn naive_on_small_book_inputs_and_edges() {
        assert_eq!(naive(25_301_356).factors, vec![2, 2, 6_325_339]);
        assert_eq!(
            naive(2_429_192_056_233).factors,
            vec![3, 71, 2843, 4_011_487]
        );
        assert_eq!(naive(1).factors, Vec::<u64>::new());
        assert_eq!(naive(0).factors, Vec::<u64>::new());
        assert_eq!(naive(2).factors, vec![2]);
        assert_eq!(naive(3).factors, vec![3]);
        assert_eq!(naive(4).factors, vec![2, 2]);
        // Past 2^32: the 64-bit phase, then the 32-bit one.
        let big = 5 * 1_000_003 * 1_000_033;
        let got = naive(big);
        assert_eq!(got.factors, vec![5, 1_000_003, 1_000_033]);
        assert_eq!(got.iterations, book_loop_iterations(big));
        assert_eq!(naive(3u64.pow(25)).factors, vec![3; 25]);
        assert_eq!(naive(1 << 40).factors, vec![2; 40]);
    }

    /// The iteration count of the book's loop written the book's way (a
    /// plain loop over the candidates), against ours.
    fn book_loop_iterations(n: u64) -> u64 {
        let mut number = n;
        let mut count = 0;
        for factor in std::iter::once(2).chain((3..=n / 2).step_by(2)) {
            count += 1;
            while number % factor == 0 {
                number /= factor;
            }
            if factor > number {
                break;
            }
        }
        count
    }

    #[test]
    fn iterations_match_the_book_loop() {
        let mut rng = SmallRng::seed_from_u64(11);
        for n in (2..3000).chain((0..300).map(|_| rng.random_range(2..2_000_000u64))) {
            let got = naive(n);
            assert_eq!(got.iterations, book_loop_iterations(n), "{n}");
            assert_eq!(predicted_iterations(n), got.iterations, "{n}");
            check(n, &got.factors);
        }
    }

    #[test]
    fn fast_equals_naive_on_random_small_inputs() {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..500 {
            let n = rng.random_range(2..5_000_000u64);
            assert_eq!(fast(n), naive(n).factors, "{n}");
        }
    }

    #[test]
    fn fast_is_exact_on_random_u64() {
        let mut rng = SmallRng::seed_from_u64(42);
        for _ in 0..300 {
            let n: u64 = rng.random_range(2..=u64::MAX);
            check(n, &fast(n));
        }
        // Hard cases: products of two ~32-bit primes, prime squares, powers.
        let primes = [4_294_967_291u64, 4_294_967_279, 2_147_483_647, 65_521, 101];
        for &p in &primes {
            for &q in &primes {
                if let Some(n) = p.checked_mul(q) {
                    let mut want = vec![p, q];
                    want.sort_unstable();
                    assert_eq!(fast(n), want, "{p} × {q}");
                }
            }
        }
        assert_eq!(fast(101u64.pow(9)), vec![101; 9]);
        assert_eq!(fast(1 << 63), vec![2; 63]);
    }

    #[test]
    fn primality_agrees_with_trial_division() {
        let mut rng = SmallRng::seed_from_u64(3);
        for _ in 0..2000 {
            let n = rng.random_range(0..50_000_000u64);
            let slow = n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0);
            assert_eq!(is_prime(n), slow, "{n}");
        }
        // Strong pseudoprimes to several small bases.
        for n in [
            2_047u64,
            1_373_653,
            25_326_001,
            3_215_031_751,
            3_825_123_056_546_413_051,
        ] {
            assert!(!is_prime(n), "{n}");
        }
    }

    #[test]
    fn algorithm_names_round_trip() {
        for a in [Algorithm::Naive, Algorithm::Fast] {
            assert_eq!(a.name().parse::<Algorithm>(), Ok(a));
        }
        assert!("slow".parse::<Algorithm>().unwrap_err().contains("slow"));
    }
}
