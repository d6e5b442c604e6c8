//! Unit tests of the instant-vector functions.
