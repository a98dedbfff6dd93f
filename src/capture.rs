//! capture stage (being written).
