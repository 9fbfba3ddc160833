//! Helpers shared by the lesson programs (included with `#[path]`).

#![allow(dead_code)]

use std::fmt::Debug;

/// Prints a list like Python does (`[4, 4, 4]`), shortened for long ones.
pub fn show<T: Debug>(v: &[T]) -> String {
    const MAX: usize = 16;
    let items = |s: &[T]| {
        s.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if v.len() <= MAX {
        format!("[{}]", items(v))
    } else {
        format!(
            "[{}, …, {}] ({} elements)",
            items(&v[..6]),
            items(&v[v.len() - 2..]),
            v.len()
        )
    }
}

/// True when /dev/shm still has a segment called `name`.
pub fn still_in_dev_shm(name: &str) -> bool {
    std::path::Path::new(shm_array::SHM_DIR).join(name).exists()
}
