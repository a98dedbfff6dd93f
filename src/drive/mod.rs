//! drive stage (being written).
