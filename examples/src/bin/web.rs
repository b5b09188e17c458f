//! A browser calling a protocall service with no proxy: the user service
//! and a small page on one port. The page's script calls `GetUser` over
//! the Connect protocol (a plain `fetch` of JSON) and shows the reply; the
//! same port answers gRPC and gRPC-Web.
//!
//! ```text
//! cargo run -p protocall-examples --bin web                 # demo: serve, fetch the page, call it, stop
//! cargo run -p protocall-examples --bin web -- --port=8080  # serve; open http://127.0.0.1:8080/
//! ```

use protocall::Server;
use protocall_examples::user::user_service_server::UserServiceServer;
use protocall_examples::users::Users;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The page: one button, one `fetch` per click, the reply rendered.
const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>protocall: GetUser over Connect</title></head>
<body style="font-family: sans-serif">
  <h1>GetUser over Connect</h1>
  <input id="id" type="number" value="42"> <button id="go">Get user</button>
  <pre id="reply">…</pre>
  <script>
    // Connect unary: POST the request as JSON; the reply is JSON, errors
    // are JSON with a code and a message.
    async function getUser() {
      const response = await fetch("/user.UserService/GetUser", {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1" },
        body: JSON.stringify({ id: Number(document.getElementById("id").value) }),
      });
      const body = await response.json();
      document.getElementById("reply").textContent = response.ok
        ? `${body.name} <${body.email}>`
        : `error ${body.code}: ${body.message}`;
    }
    document.getElementById("go").onclick = getUser;
    getUser();
  </script>
</body>
</html>
"#;

/// The page at `/`, every other request to the protocall services.
fn app() -> axum::Router {
    let routes = Server::builder()
        .add_service(UserServiceServer::new(Users))
        .into_routes();
    axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async { axum::response::Html(PAGE) }),
        )
        .fallback_service(routes)
}

/// One HTTP/1.1 exchange on a fresh connection: the response, whole.
async fn http1(addr: std::net::SocketAddr, request: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
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
    if port.is_some() {
        println!("open http://{addr}/ in a browser");
        axum::serve(listener, app()).await?;
        return Ok(());
    }

    // Demo: serve, fetch the page, make the call its script makes, stop.
    println!("listening on {addr}");
    let server = tokio::spawn(async move { axum::serve(listener, app()).await });
    let page = http1(
        addr,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await?;
    let calls = page.contains("/user.UserService/GetUser");
    println!(
        "GET /        -> {} (calls GetUser: {calls})",
        page.lines().next().unwrap_or("")
    );
    let body = r#"{"id":42}"#;
    let call = format!(
        "POST /user.UserService/GetUser HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nConnect-Protocol-Version: 1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let reply = http1(addr, &call).await?;
    let json = reply.split("\r\n\r\n").nth(1).unwrap_or("");
    println!(
        "GetUser(42)  -> {} {json}",
        reply.lines().next().unwrap_or("")
    );
    server.abort();
    if !calls || !reply.starts_with("HTTP/1.1 200") {
        return Err("the page or the Connect call did not work".into());
    }
    Ok(())
}
