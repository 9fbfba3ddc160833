//! The lists of numbers the lesson factors, and reading numbers from the
//! user with a clear message for each bad one.
//!
//! ```
//! use factorizer_pool::input::{parse_number, InputError};
//! assert_eq!(parse_number(" 25301356 "), Ok(25_301_356));
//! assert_eq!(parse_number("0"), Err(InputError::NoFactorization("0".into())));
//! assert_eq!(
//!     parse_number("-12").unwrap_err().to_string(),
//!     "\"-12\": negative numbers are not factored here (factor 12 and add -1)"
//! );
//! ```

use std::fmt;

/// The book's seven inputs, in the book's order.
pub const BOOK_INPUTS: [u64; 7] = [
    8_919_372_543,
    2_429_192_056_233,
    23_286_190_456_122,
    51_734_095_734,
    25_301_356,
    353_061_047_130_563,
    537_334_713_453,
];

/// The book's inputs with the factors the book printed.
pub const BOOK_RESULTS: [(u64, &[u64]); 7] = [
    (8_919_372_543, &[3, 2_973_124_181]),
    (2_429_192_056_233, &[3, 71, 2843, 4_011_487]),
    (23_286_190_456_122, &[2, 3, 11, 39989, 8_822_953]),
    (51_734_095_734, &[2, 3, 17, 507_197_017]),
    (25_301_356, &[2, 2, 6_325_339]),
    (353_061_047_130_563, &[659, 73859, 7_253_723]),
    (537_334_713_453, &[3, 1831, 97_821_721]),
];

/// The default list: the same shape as the book's (one slow item, one
/// medium, one a tenth of that, the rest quick) at about a fifteenth of the
/// work, so a run takes well under a second in a release build.
pub const QUICK_INPUTS: [u64; 7] = [
    600_000_099,     // 3 × 200000033: the slow one, 1.0e8 iterations
    90_834_051_853,  // 71 × 2843 × 450001
    435_600_066,     // 2 × 3 × 11 × 6600001
    3_468_000_918,   // 2 × 3 × 17 × 34000009: the medium one, 1.7e7
    1_680_004,       // 2 × 2 × 420001
    231_236_182_477, // 659 × 17 × 43 × 480013
    35_704_516_479,  // 3 × 1831 × 6500003
];

/// Eight numbers of nearly equal cost (3 × a prime near 10^8: about 5·10^7
/// iterations each), to measure the speedup of a pool without one item
/// dominating the wall time.
pub const BALANCED_INPUTS: [u64; 8] = [
    300_000_021,
    303_000_069,
    306_000_069,
    309_000_117,
    312_000_063,
    315_000_057,
    318_000_099,
    321_000_081,
];

/// A number the lesson cannot factor, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// Empty text.
    Empty,
    /// Not a whole number.
    NotANumber(String),
    /// A negative number.
    Negative(String),
    /// Larger than `u64::MAX`.
    TooLarge(String),
    /// 0 or 1, which have no prime factorisation (the book's loop never
    /// ends on 0).
    NoFactorization(String),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Empty => write!(f, "an empty input is not a number"),
            InputError::NotANumber(s) => write!(f, "{s:?}: not a whole number"),
            InputError::Negative(s) => write!(
                f,
                "{s:?}: negative numbers are not factored here (factor {} and add -1)",
                s.trim_start_matches('-')
            ),
            InputError::TooLarge(s) => write!(
                f,
                "{s:?}: too large (the largest number factored is {})",
                u64::MAX
            ),
            InputError::NoFactorization(s) => write!(
                f,
                "{s:?}: has no prime factorisation (the book's loop would never end on 0)"
            ),
        }
    }
}

impl std::error::Error for InputError {}

/// Reads one number (surrounding blanks allowed; `_` separators allowed).
///
/// # Errors
/// [`InputError`] naming the input: empty, not a number, negative, past
/// `u64::MAX`, or 0 / 1.
pub fn parse_number(text: &str) -> Result<u64, InputError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(InputError::Empty);
    }
    let digits: String = t.chars().filter(|&c| c != '_').collect();
    let body = digits.strip_prefix('+').unwrap_or(&digits);
    if let Some(rest) = body.strip_prefix('-') {
        if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) {
            return Err(InputError::Negative(t.to_string()));
        }
        return Err(InputError::NotANumber(t.to_string()));
    }
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit()) {
        return Err(InputError::NotANumber(t.to_string()));
    }
    let n: u64 = body
        .parse()
        .map_err(|_| InputError::TooLarge(t.to_string()))?;
    if n < 2 {
        return Err(InputError::NoFactorization(t.to_string()));
    }
    Ok(n)
}

/// Reads numbers separated by blanks, commas or new lines; `#` starts a
/// comment that runs to the end of the line.
///
/// # Errors
/// The first bad number, named.
///
/// ```
/// let v = factorizer_pool::input::parse_list("12, 35 # two\n 77").unwrap();
/// assert_eq!(v, vec![12, 35, 77]);
/// ```
pub fn parse_list(text: &str) -> Result<Vec<u64>, InputError> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split([',', ' ', '\t']))
        .filter(|w| !w.trim().is_empty())
        .map(parse_number)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_are_named() {
        let cases = [
            ("", InputError::Empty),
            ("abc", InputError::NotANumber("abc".into())),
            ("1.5", InputError::NotANumber("1.5".into())),
            ("-", InputError::NotANumber("-".into())),
            ("-7", InputError::Negative("-7".into())),
            (
                "18446744073709551616",
                InputError::TooLarge("18446744073709551616".into()),
            ),
            ("1", InputError::NoFactorization("1".into())),
            ("0", InputError::NoFactorization("0".into())),
        ];
        for (text, want) in cases {
            let got = parse_number(text).unwrap_err();
            assert_eq!(got, want, "{text:?}");
            if !text.is_empty() {
                assert!(got.to_string().contains(text), "{got}");
            }
        }
        assert_eq!(parse_number("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_number("1_000"), Ok(1000));
    }

    #[test]
    fn lists_are_what_they_claim() {
        for (n, f) in BOOK_RESULTS {
            assert_eq!(f.iter().product::<u64>(), n);
        }
        assert_eq!(BOOK_RESULTS.map(|r| r.0), BOOK_INPUTS);
        let costs = BALANCED_INPUTS.map(crate::factor::predicted_iterations);
        let (lo, hi) = (costs.iter().min().unwrap(), costs.iter().max().unwrap());
        assert!(*hi < lo + lo / 5, "balanced within 20 %: {costs:?}");
        assert!(
            parse_list("12 x")
                .unwrap_err()
                .to_string()
                .contains("\"x\"")
        );
    }
}
