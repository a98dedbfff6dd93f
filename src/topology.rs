//! topology stage (being written).
