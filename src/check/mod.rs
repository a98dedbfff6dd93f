//! check stage (being written).
