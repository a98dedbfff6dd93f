//! scenario stage (being written).
