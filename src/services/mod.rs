//! services stage (being written).
