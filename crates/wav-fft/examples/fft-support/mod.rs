//! Helpers shared by the lesson programs (included with `#[path]`): the
//! common flags, stage lines and records, and the spectrum plots. They live
//! beside the examples, not in the library, so that depending on `wav-fft`
//! never pulls in clap, plotters or the workspace's `common` crate.

#![allow(dead_code)]

pub mod cli;
pub mod plot;
