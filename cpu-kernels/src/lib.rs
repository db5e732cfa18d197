//! HexPylot's CPU kernels (placeholder; being written).
