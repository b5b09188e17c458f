//! Generated code shared by the example binaries.

/// The `user` package from `proto/user.proto`.
pub mod user {
    protocall::include_proto!("user");
}
