//! HexPylot: the same kernels on the HexPylot engine (persistent pinned workers, barrier-separated
//! phases, no locks or allocation in the hot path), on rayon, and on the GPU through wgpu; every run
//! validated against gold values, every number measured.
//!
//! - [`engine`]: the lock-free CPU engine.
//! - [`model`]: the floor: the shared vocabulary, each kernel described once (bytes, flops, gold
//!   check, CPU dispatch), the rows and the document. [`text`]: counts, sizes and bytes in words.
//! - [`backend`]: the interface every programming model implements, and the engine, rayon and GPU backends.
//! - [`bench`](mod@bench): the one harness: timing, validation, rows.
//! - [`gpu`]: the wgpu context and the GPU runners. [`chart`]: PNG charts from result files.
//! - [`report`]: tables, JSON and CSV. [`diff`]: two result files compared row by row.
//!   [`machine`]: what the run ran on. [`cli`]: the command line.
//! - [`input`]: the files a command reads (regular files only).
//!   [`output`]: output locations, checked before a run and written after it, atomically.
//!   [`signals`]: SIGINT, SIGTERM and SIGHUP leave no temporary file behind.
//! - [`alloc`]: the binary's allocator, which ends a run that runs out of memory with one line.
//! - [`cluster`]: the ranks of an MPI job (`--features mpi`), or this one process.

pub mod alloc;
pub mod backend;
pub mod bench;
pub mod chart;
pub mod cli;
pub mod cluster;
pub mod diff;
pub mod engine;
pub mod findings;
pub mod gpu;
pub mod input;
pub mod machine;
pub mod model;
pub mod output;
pub mod report;
pub mod runner;
pub mod signals;
pub mod text;
