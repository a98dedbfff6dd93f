//! wire stage (being written).
