//! Procedural macros for protocall (`#[protocall::service]`, derives).
//!
//! Not implemented yet: the inline-service issue builds them on the
//! codegen model and emitter.
