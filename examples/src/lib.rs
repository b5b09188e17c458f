//! Generated code shared by the example binaries.

/// The `user` package from `proto/user.proto`.
pub mod user {
    protocall::include_proto!("user");
}

/// The `route` package from `proto/route.proto`: all four call kinds.
pub mod route {
    protocall::include_proto!("route");
}

/// The official gRPC interop schemas (`grpc.testing`).
pub mod grpc {
    /// `grpc.testing`: `TestService`, its messages and `Empty`.
    pub mod testing {
        protocall::include_proto!("grpc.testing");
    }
}
