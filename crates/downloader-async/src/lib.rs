//! Book 1.3: futures, tasks, the blocked spinner, and an async downloader that scales to 10,000 requests.
//!
//! Not built yet: this crate will hold the lesson described in the workspace's
//! ARCHITECTURE.md. It has no API until then.
