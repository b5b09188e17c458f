//! Generated code shared by the example binaries.

/// The `user` package from `proto/user.proto`.
pub mod user {
    protocall::include_proto!("user");
}

/// The demo implementation of `user.UserService`: users 1 and 42 exist,
/// every other id is `NOT_FOUND`.
pub mod users {
    use crate::user::user_service_server::UserService;
    use crate::user::{GetUserRequest, GetUserResponse};
    use protocall::{Request, Response, Status};

    /// The service: two known users, 1 and 42.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Users;

    impl UserService for Users {
        async fn get_user(
            &self,
            request: Request<GetUserRequest>,
        ) -> Result<Response<GetUserResponse>, Status> {
            let id = request.into_inner().id;
            let (name, email) = match id {
                1 => ("Grace Hopper", "grace@example.com"),
                42 => ("Ada Lovelace", "ada@example.com"),
                _ => return Err(Status::not_found(format!("no user {id}"))),
            };
            Ok(Response::new(GetUserResponse {
                id,
                name: name.into(),
                email: email.into(),
                ..Default::default()
            }))
        }
    }
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

/// Command-line flags of the interop binaries, in the forms gRPC's interop
/// runners and Go's `flag` package use.
pub mod flags {
    /// Splits `args` into `(name, value)` pairs: `--name=value`,
    /// `--name value`, and a bare `--name` (value `"true"`, for booleans);
    /// one leading dash works as well as two.
    ///
    /// ```
    /// use protocall_examples::flags::parse;
    /// let args = ["--port=8080", "-use_tls", "--server_host", "localhost"].map(String::from);
    /// assert_eq!(
    ///     parse(args.into_iter()).unwrap(),
    ///     [("port", "8080"), ("use_tls", "true"), ("server_host", "localhost")]
    ///         .map(|(n, v)| (n.to_string(), v.to_string()))
    /// );
    /// assert!(parse(["stray".to_string()].into_iter()).is_err());
    /// ```
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Vec<(String, String)>, String> {
        let mut args = args.peekable();
        let mut flags = Vec::new();
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => match args.next_if(|next| !next.starts_with('-')) {
                    Some(value) => (flag.to_string(), value),
                    None => (flag.to_string(), "true".to_string()),
                },
            };
            flags.push((name, value));
        }
        Ok(flags)
    }

    /// A boolean flag's value: `true`/`false` or `1`/`0`.
    ///
    /// ```
    /// use protocall_examples::flags::parse_bool;
    /// assert_eq!(parse_bool("use_tls", "1"), Ok(true));
    /// assert!(parse_bool("use_tls", "yes").is_err());
    /// ```
    pub fn parse_bool(flag: &str, value: &str) -> Result<bool, String> {
        match value {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("--{flag}: expected true or false, got {value:?}")),
        }
    }

    /// Says on stderr that `--flag` is not one of this binary's and is
    /// ignored: runners pass flags meant for other implementations.
    pub fn ignore(flag: &str) {
        eprintln!("note: ignoring unknown flag --{flag}");
    }
}
