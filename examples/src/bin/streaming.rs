//! All four call kinds on `route.Route`: unary, server streaming, client
//! streaming and bidirectional streaming, served and called in one process.
//!
//! ```text
//! cargo run -p protocall-examples --bin streaming
//! ```

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Mutex;

use protocall::{Request, Response, Server, Status, Streaming};
use protocall_examples::route::route_client::RouteClient;
use protocall_examples::route::route_server::{Route, RouteServer};
use protocall_examples::route::{Feature, Point, Rectangle, RouteNote, RouteSummary};
use tokio_stream::{Stream, StreamExt};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Notes left at each point, for `RouteChat`.
type Notes = std::sync::Arc<Mutex<HashMap<(i32, i32), Vec<RouteNote>>>>;

#[derive(Default)]
struct Routes {
    notes: Notes,
}

fn point(latitude: i32, longitude: i32) -> Point {
    Point {
        latitude,
        longitude,
        ..Default::default()
    }
}

fn feature_at(p: &Point) -> Feature {
    Feature {
        name: format!("feature at {},{}", p.latitude, p.longitude),
        location: Some(p.clone()),
        ..Default::default()
    }
}

impl Route for Routes {
    async fn get_feature(&self, request: Request<Point>) -> Result<Response<Feature>, Status> {
        Ok(Response::new(feature_at(request.get_ref())))
    }

    type ListFeaturesStream = BoxStream<Feature>;

    async fn list_features(
        &self,
        request: Request<Rectangle>,
    ) -> Result<Response<Self::ListFeaturesStream>, Status> {
        let rect = request.into_inner();
        let (lo, hi) = (rect.lo().clone(), rect.hi().clone());
        let features: Vec<Result<Feature, Status>> = (lo.latitude..=hi.latitude)
            .flat_map(|lat| {
                (lo.longitude..=hi.longitude).map(move |lon| Ok(feature_at(&point(lat, lon))))
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(features))))
    }

    async fn record_route(
        &self,
        request: Request<Streaming<Point>>,
    ) -> Result<Response<RouteSummary>, Status> {
        let mut points = request.into_inner();
        let mut summary = RouteSummary::default();
        let mut last: Option<Point> = None;
        while let Some(p) = points.message().await? {
            summary.point_count += 1;
            summary.feature_count += 1;
            if let Some(prev) = &last {
                summary.distance +=
                    (p.latitude - prev.latitude).abs() + (p.longitude - prev.longitude).abs();
            }
            last = Some(p);
        }
        Ok(Response::new(summary))
    }

    type RouteChatStream = BoxStream<RouteNote>;

    async fn route_chat(
        &self,
        request: Request<Streaming<RouteNote>>,
    ) -> Result<Response<Self::RouteChatStream>, Status> {
        let mut incoming = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        // Answer each note as it arrives, with the notes left earlier at the
        // same point: the client sees replies while it is still sending.
        let notes = std::sync::Arc::clone(&self.notes);
        tokio::spawn(async move {
            while let Some(note) = incoming.next().await {
                let note = match note {
                    Ok(note) => note,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                };
                let key = (note.location().latitude, note.location().longitude);
                let replies = {
                    let mut notes = notes.lock().unwrap();
                    let at = notes.entry(key).or_default();
                    let replies = at.clone();
                    at.push(note);
                    replies
                };
                for reply in replies {
                    if tx.send(Ok(reply)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .add_service(RouteServer::new(Routes::default()))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    let client = RouteClient::connect(format!("http://{addr}")).await?;

    // Unary.
    let feature = client.get_feature(point(1, 2)).await?.into_inner();
    println!("unary      GetFeature     -> {}", feature.name);

    // Server streaming.
    let rect = Rectangle {
        lo: Some(point(0, 0)),
        hi: Some(point(1, 1)),
        ..Default::default()
    };
    let mut features = client.list_features(rect).await?.into_inner();
    let mut names = Vec::new();
    while let Some(feature) = features.message().await? {
        names.push(feature.name);
    }
    println!(
        "server     ListFeatures   -> {} features: {names:?}",
        names.len()
    );

    // Client streaming: any Stream of messages.
    let trip = tokio_stream::iter(vec![point(0, 0), point(3, 4), point(3, 0)]);
    let summary = client.record_route(trip).await?.into_inner();
    println!(
        "client     RecordRoute    -> {} points, distance {}",
        summary.point_count, summary.distance
    );

    // Bidirectional: send while receiving.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut replies = client
        .route_chat(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    for (i, text) in ["first", "second", "third"].into_iter().enumerate() {
        let note = RouteNote {
            location: Some(point(7, 7)),
            message: text.into(),
            ..Default::default()
        };
        tx.send(note).await?;
        // After the first note, each new note at (7,7) is answered with the
        // earlier ones: read them before sending more (ping-pong).
        for _ in 0..i {
            let reply = replies.message().await?.ok_or("stream ended early")?;
            println!(
                "bidi       RouteChat      -> got earlier note {:?}",
                reply.message
            );
        }
    }
    drop(tx);
    assert!(replies.message().await?.is_none());

    let _ = stop.send(());
    server.await??;
    Ok(())
}
