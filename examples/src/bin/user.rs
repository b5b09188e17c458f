//! The quick-start demo: serve `user.UserService` on a loopback port, call
//! `GetUser` through the generated client, print the reply, stop.
//!
//! ```text
//! cargo run -p protocall-examples --bin user
//! ```

use protocall::Server;
use protocall_examples::user::GetUserRequest;
use protocall_examples::user::user_service_client::UserServiceClient;
use protocall_examples::user::user_service_server::UserServiceServer;
use protocall_examples::users::Users;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    println!("serving user.UserService on {addr}");

    let client = UserServiceClient::connect(format!("http://{addr}")).await?;
    let reply = client
        .get_user(GetUserRequest {
            id: 42,
            ..Default::default()
        })
        .await?;
    println!("GetUser(42) -> {:?}", reply.get_ref());
    match client
        .get_user(GetUserRequest {
            id: 7,
            ..Default::default()
        })
        .await
    {
        Err(status) => println!("GetUser(7)  -> {status}"),
        Ok(reply) => println!("GetUser(7)  -> unexpected {:?}", reply.get_ref()),
    }

    let _ = stop.send(());
    server.await??;
    Ok(())
}
