//! The HexPylot engine (placeholder; being written).
