//! Well-known types (generated).
