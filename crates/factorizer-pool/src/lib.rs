//! Book 1.4.1: the book's process pool factorizer, a pool that survives its workers, and threads vs processes.
//!
//! Not built yet: this crate will hold the lesson described in the workspace's
//! ARCHITECTURE.md. It has no API until then.
