//! The 5-wire bit engine (being written).
