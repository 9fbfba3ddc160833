//! Book 1.2: threads, the lost-update race, the lock that fixes it, and a thread pool downloader.
//!
//! Not built yet: this crate will hold the lesson described in the workspace's
//! ARCHITECTURE.md. It has no API until then.
