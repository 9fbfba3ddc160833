//! Book 1.4.1-1.4.2: typed arrays in shared memory (anonymous, named, several at offsets) and a fork-based pool.
//!
//! Not built yet: this crate will hold the lesson described in the workspace's
//! ARCHITECTURE.md. It has no API until then.
