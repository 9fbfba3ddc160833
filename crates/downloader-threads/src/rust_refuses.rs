//! The `dis` lesson, Rust's way: the Python program's shared
//! `self.total += value` from several threads does **not compile** in Rust.
//! (Documentation only: every example below is a doc test; the ones marked
//! `compile_fail` are checked to keep failing.)
//!
//! Python lets every thread reach `adder.total` and shows, with `dis`, that
//! `+=` is several bytecodes a thread switch can split. Rust refuses the
//! program before it runs, with two rules:
//!
//! - **`&mut` is exclusive**: at any moment a value has either one `&mut`
//!   (may write) or any number of `&` (read only). Several threads writing
//!   the same `u64` would need several `&mut` at once.
//! - **`Send` / `Sync`**: a value may move to another thread only if its type
//!   is `Send`, and be *shared* between threads only if it is `Sync`. Types
//!   with unsynchronised interior mutability (`Cell`, `RefCell`) or
//!   non-atomic reference counts (`Rc`) are not.
//!
//! # 1. A thread may outlive the total it borrows
//!
//! This will **not** compile (`E0373`: the closure may outlive `total`, which
//! it borrows; `thread::spawn` needs `'static`):
//!
//! ```compile_fail,E0373
//! let mut total = 0u64;
//! let th = std::thread::spawn(|| total += 10);
//! th.join().unwrap();
//! ```
//!
//! # 2. Two threads cannot both hold `&mut total`
//!
//! Scoped threads end before the scope does, so borrowing is allowed — but
//! not two mutable borrows at once. This will **not** compile (`E0499`):
//!
//! ```compile_fail,E0499
//! let mut total = 0u64;
//! std::thread::scope(|s| {
//!     for value in [2, 3] {
//!         s.spawn(|| total += value);
//!     }
//! });
//! ```
//!
//! # 3. Sharing does not give write access
//!
//! An `Arc` shares a value between threads, read only. This will **not**
//! compile (`E0594`: cannot assign to data in an `Arc`):
//!
//! ```compile_fail,E0594
//! use std::sync::Arc;
//! let total = Arc::new(0u64);
//! let t = Arc::clone(&total);
//! std::thread::spawn(move || *t += 10).join().unwrap();
//! ```
//!
//! # 4. Unsynchronised interior mutability is not `Sync`
//!
//! `Cell` allows writes through `&`, but only within one thread. This will
//! **not** compile (`E0277`: `Cell<u64>` cannot be shared between threads
//! safely):
//!
//! ```compile_fail,E0277
//! use std::cell::Cell;
//! let total = Cell::new(0u64);
//! std::thread::scope(|s| {
//!     s.spawn(|| total.set(total.get() + 2));
//!     s.spawn(|| total.set(total.get() + 3));
//! });
//! ```
//!
//! And the book's `Adder` object shared with `Rc<RefCell<_>>` will **not**
//! compile either (`E0277`: `Rc<RefCell<u64>>` cannot be sent between threads
//! safely):
//!
//! ```compile_fail,E0277
//! use std::{cell::RefCell, rc::Rc};
//! let adder = Rc::new(RefCell::new(0u64));
//! let a = Rc::clone(&adder);
//! std::thread::spawn(move || *a.borrow_mut() += 10).join().unwrap();
//! ```
//!
//! # The fixes that do compile
//!
//! A lock around the whole read-modify-write ([`crate::v2_locked`]):
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! let total = Arc::new(Mutex::new(0u64));
//! let handles: Vec<_> = [2, 3]
//!     .into_iter()
//!     .map(|value| {
//!         let total = Arc::clone(&total);
//!         std::thread::spawn(move || *total.lock().unwrap() += value)
//!     })
//!     .collect();
//! for h in handles {
//!     h.join().unwrap();
//! }
//! assert_eq!(*total.lock().unwrap(), 5);
//! ```
//!
//! One atomic instruction, borrowed by scoped threads ([`crate::v3_atomic`]):
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! let total = AtomicU64::new(0);
//! std::thread::scope(|s| {
//!     for value in [2, 3] {
//!         let total = &total;
//!         s.spawn(move || total.fetch_add(value, Ordering::Relaxed));
//!     }
//! });
//! assert_eq!(total.into_inner(), 5);
//! ```
//!
//! Or no sharing at all: each thread returns its length and main adds them
//! up after the joins (often the best design):
//!
//! ```
//! let total: u64 = std::thread::scope(|s| {
//!     let hs: Vec<_> = [2u64, 3].into_iter().map(|v| s.spawn(move || v)).collect();
//!     hs.into_iter().map(|h| h.join().unwrap()).sum()
//! });
//! assert_eq!(total, 5);
//! ```
//!
//! What Rust does **not** prevent is a race *condition* built from safe
//! steps: an atomic `load`, a pause, an atomic `store`. Each step is
//! well-defined, the sequence is not atomic, and updates are lost — that is
//! [`crate::v1_racy`], the program the book shows.
