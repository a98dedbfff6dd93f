//! analyze stage (being written).
