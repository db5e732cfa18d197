//! HexPylot: the same kernels on a lock-free pinned CPU engine, on rayon and (next) on the GPU.
pub mod engine;
