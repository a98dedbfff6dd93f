//! sandbox stage (being written).
