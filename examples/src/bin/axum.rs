//! gRPC and plain HTTP on one port: an axum app answers `GET /healthz`, and
//! every other request goes to the gRPC services (`user.UserService`,
//! `grpc.health.v1.Health`) mounted as its fallback. axum's server speaks
//! HTTP/1.1 and HTTP/2 (prior knowledge) on the same listener, so `curl`
//! and gRPC clients share the port.
//!
//! ```text
//! cargo run -p protocall-examples --bin axum              # demo: serve, call both, stop
//! cargo run -p protocall-examples --bin axum -- --port=8080   # serve until killed
//! ```

use protocall::Server;
use protocall::health::{HealthCheckRequest, health_client::HealthClient};
use protocall_examples::user::GetUserRequest;
use protocall_examples::user::user_service_client::UserServiceClient;
use protocall_examples::user::user_service_server::UserServiceServer;
use protocall_examples::users::Users;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The one app: an axum route beside the gRPC services.
fn app() -> axum::Router {
    let (reporter, health) = protocall::health::health_service();
    reporter.set_serving::<UserServiceServer<Users>>();
    let grpc = Server::builder()
        .add_service(UserServiceServer::new(Users))
        .add_service(health)
        .into_routes();
    axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .fallback_service(grpc)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = protocall_examples::flags::parse(std::env::args().skip(1))?;
    let port = match flags.iter().find(|(name, _)| name == "port") {
        Some((_, port)) => Some(port.parse::<u16>()?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.unwrap_or(0))).await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    if port.is_some() {
        axum::serve(listener, app()).await?;
        return Ok(());
    }

    // Demo: serve in the background, call the HTTP route and both gRPC
    // services on the same port, stop.
    let server = tokio::spawn(async move { axum::serve(listener, app()).await });

    let mut http = tokio::net::TcpStream::connect(addr).await?;
    http.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = String::new();
    http.read_to_string(&mut answer).await?;
    println!("GET /healthz -> {:?}", answer.lines().next().unwrap_or(""));

    let uri = format!("http://{addr}");
    let users = UserServiceClient::connect(&uri).await?;
    let user = users
        .get_user(GetUserRequest {
            id: 42,
            ..Default::default()
        })
        .await?;
    println!("GetUser(42)  -> {}", user.get_ref().name);
    let health = HealthClient::connect(&uri).await?;
    let status = health.check(HealthCheckRequest::default()).await?;
    println!("Health/Check -> {:?}", status.get_ref().status);

    server.abort();
    Ok(())
}
