//! Frames on a byte pipe (being written).
