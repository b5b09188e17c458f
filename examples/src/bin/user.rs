//! The quick-start demo: serve `user.UserService` on a loopback port, call
//! `GetUser` through the generated client, print the reply, stop.
//!
//! ```text
//! cargo run -p protocall-examples --bin user [-- --metrics]
//! ```
//!
//! With `--metrics`, server and client record gRFC A66 metrics and a
//! per-method summary is printed at exit.

use protocall::Server;
use protocall_examples::user::GetUserRequest;
use protocall_examples::user::user_service_client::UserServiceClient;
use protocall_examples::user::user_service_server::UserServiceServer;
use protocall_examples::users::Users;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut with_metrics = false;
    for (flag, value) in protocall_examples::flags::parse(std::env::args().skip(1))? {
        match flag.as_str() {
            "metrics" => with_metrics = protocall_examples::flags::parse_bool(&flag, &value)?,
            _ => protocall_examples::flags::ignore(&flag),
        }
    }
    let metrics = protocall::metrics::Metrics::new();
    let mut server = Server::builder();
    if with_metrics {
        server = server.metrics(metrics.clone());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        server
            .add_service(UserServiceServer::new(Users))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    println!("serving user.UserService on {addr}");

    let mut endpoint = protocall::client::Endpoint::new(format!("http://{addr}"))?;
    if with_metrics {
        endpoint = endpoint.metrics(metrics.clone());
    }
    let client = UserServiceClient::new(endpoint.connect().await?);
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
    if with_metrics {
        print!("{}", metrics.summary());
    }
    Ok(())
}
