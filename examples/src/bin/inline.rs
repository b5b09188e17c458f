//! A gRPC service written in Rust alone — no `.proto` file — with all four
//! call kinds, served, called, and exported as `.proto` source for other
//! languages.
//!
//! ```text
//! cargo run -p protocall-examples --bin inline
//! ```

#![allow(missing_docs)] // fields are documented by their proto names in the exported schema

use std::pin::Pin;

use protocall::{EnumValue, Request, Response, Server, Status, Streaming};
use tokio_stream::{Stream, StreamExt};

/// Get user by ID
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "user")]
pub struct GetUserRequest {
    #[proto(tag = 1)]
    pub id: i32,
}

/// A user.
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "user")]
pub struct GetUserResponse {
    #[proto(tag = 1)]
    pub id: i32,
    #[proto(tag = 2)]
    pub name: String,
    #[proto(tag = 3)]
    pub email: String,
    /// The user's role.
    #[proto(tag = 4)]
    pub role: EnumValue<Role>,
    #[proto(tag = 5)]
    pub tags: Vec<String>,
    #[proto(tag = 6, sint64)]
    pub balance: i64,
    #[proto(oneof, tags = "7, 8")]
    pub contact: Option<Contact>,
}

/// A role.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, protocall::Enumeration)]
#[proto(package = "user")]
pub enum Role {
    #[default]
    Guest = 0,
    Admin = 1,
}

/// How to reach a user.
#[derive(Clone, PartialEq, Debug, protocall::Oneof)]
pub enum Contact {
    #[proto(tag = 7)]
    Phone(String),
    #[proto(tag = 8)]
    Address(Address),
}

/// A postal address.
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "user")]
pub struct Address {
    #[proto(tag = 1)]
    pub city: String,
}

/// Users, by ID.
#[protocall::service(package = "user")]
pub trait UserService {
    /// Get user by ID
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status>;

    /// The stream `list_users` returns.
    type ListUsersStream: Stream<Item = Result<GetUserResponse, Status>> + Send + 'static;

    /// Every user whose ID is below the request's.
    async fn list_users(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<Self::ListUsersStream>, Status>;

    /// How many of the given IDs exist.
    #[rpc(name = "CountUsers")]
    async fn count(
        &self,
        request: Request<Streaming<GetUserRequest>>,
    ) -> Result<Response<GetUserRequest>, Status>;

    /// The stream `chat` returns.
    type ChatStream: Stream<Item = Result<GetUserResponse, Status>> + Send + 'static;

    /// Looks each ID up as it arrives.
    async fn chat(
        &self,
        request: Request<Streaming<GetUserRequest>>,
    ) -> Result<Response<Self::ChatStream>, Status>;
}

fn user(id: i32) -> GetUserResponse {
    GetUserResponse {
        id,
        name: format!("user {id}"),
        email: format!("u{id}@example.com"),
        role: if id == 1 {
            Role::Admin.into()
        } else {
            Role::Guest.into()
        },
        tags: vec!["a".into()],
        balance: -(id as i64),
        contact: Some(if id % 2 == 0 {
            Contact::Phone(format!("555-{id:04}"))
        } else {
            Contact::Address(Address {
                city: "Lovelace".into(),
            })
        }),
    }
}

type BoxStream = Pin<Box<dyn Stream<Item = Result<GetUserResponse, Status>> + Send>>;

struct Users;

impl UserService for Users {
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        Ok(Response::new(user(request.into_inner().id)))
    }

    type ListUsersStream = BoxStream;

    async fn list_users(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<BoxStream>, Status> {
        let below = request.into_inner().id;
        Ok(Response::new(Box::pin(tokio_stream::iter(
            (0..below).map(|id| Ok(user(id))),
        ))))
    }

    async fn count(
        &self,
        request: Request<Streaming<GetUserRequest>>,
    ) -> Result<Response<GetUserRequest>, Status> {
        let mut ids = request.into_inner();
        let mut count = 0;
        while ids.message().await?.is_some() {
            count += 1;
        }
        Ok(Response::new(GetUserRequest { id: count }))
    }

    type ChatStream = BoxStream;

    async fn chat(
        &self,
        request: Request<Streaming<GetUserRequest>>,
    ) -> Result<Response<BoxStream>, Status> {
        let ids = request.into_inner();
        Ok(Response::new(Box::pin(
            ids.map(|id| id.map(|r| user(r.id))),
        )))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "--- the equivalent user.proto ---\n{}",
        UserServiceServer::<Users>::proto_source()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .add_service(UserServiceServer::new(Users))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    let client = UserServiceClient::connect(format!("http://{addr}")).await?;
    let reply = client
        .get_user(GetUserRequest { id: 1 })
        .await?
        .into_inner();
    println!("GetUser(1)   -> {reply:?}");
    let mut users = client
        .list_users(GetUserRequest { id: 3 })
        .await?
        .into_inner();
    while let Some(u) = users.message().await? {
        println!("ListUsers    -> {} ({:?})", u.name, u.role);
    }
    let count = client
        .count(tokio_stream::iter((0..5).map(|id| GetUserRequest { id })))
        .await?
        .into_inner();
    println!("CountUsers   -> {}", count.id);
    let mut chat = client
        .chat(tokio_stream::iter([
            GetUserRequest { id: 7 },
            GetUserRequest { id: 8 },
        ]))
        .await?
        .into_inner();
    while let Some(u) = chat.message().await? {
        println!("Chat         -> {}", u.name);
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}
