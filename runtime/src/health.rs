//! The standard health service, `grpc.health.v1.Health`: `Check` and
//! `Watch`, with a [`HealthReporter`] to set each service's status.
//!
//! ```no_run
//! # async fn f<S: protocall::server::GrpcService + protocall::server::NamedService>(my_service: S) -> std::io::Result<()> {
//! let (reporter, health) = protocall::health::health_service();
//! reporter.set_serving::<S>();
//! protocall::Server::builder()
//!     .add_service(health)
//!     .add_service(my_service)
//!     .serve("127.0.0.1:50051".parse().unwrap())
//!     .await
//! # }
//! ```

#![allow(missing_docs)] // the generated part is documented by the schema's comments

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_core::Stream;
use tokio::sync::watch;

include!("services/grpc.health.v1.rs");

// `FILE_DESCRIPTOR_SET` (generated above) is what server reflection
// answers about the health service:
//
// ```
// let reflection = protocall::reflection::Builder::new()
//     .register_encoded_file_descriptor_set(protocall::health::FILE_DESCRIPTOR_SET)?;
// ```

pub use health_check_response::ServingStatus;
use health_server::Health;
pub use health_server::HealthServer;

use crate::enumeration::EnumValue;
use crate::grpc::{Request, Response, Status};
use crate::server::NamedService;

/// Statuses by service name; `None` means the service is not known (yet).
type Statuses = Arc<Mutex<HashMap<String, watch::Sender<Option<ServingStatus>>>>>;

/// Sets the status each service reports; cheap to clone.
///
/// ```
/// use protocall::health::{ServingStatus, health_service};
/// let (reporter, _health) = health_service();
/// let for_shutdown = reporter.clone();
/// reporter.set_status("my.Service", ServingStatus::Serving);
/// for_shutdown.set_status("", ServingStatus::NotServing); // the whole server
/// ```
#[derive(Clone, Debug, Default)]
pub struct HealthReporter {
    statuses: Statuses,
}

impl HealthReporter {
    fn sender(&self, service: &str) -> watch::Sender<Option<ServingStatus>> {
        let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        statuses
            .entry(service.to_string())
            .or_insert_with(|| watch::channel(None).0)
            .clone()
    }

    /// Sets the status of `service` (`""` is the server as a whole).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::health::{HealthCheckRequest, ServingStatus, health_client::HealthClient, health_service};
    /// let (reporter, health) = health_service();
    /// reporter.set_status("demo.Echo", ServingStatus::NotServing);
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// // the health service is served on `uri`
    /// let client = HealthClient::connect(&uri).await?;
    /// let request = HealthCheckRequest { service: "demo.Echo".into(), ..Default::default() };
    /// let reply = client.check(request).await?.into_inner();
    /// assert_eq!(reply.status, ServingStatus::NotServing);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_status(&self, service: &str, status: ServingStatus) {
        self.update(service, Some(status));
    }

    /// Watchers hear only of real changes.
    fn update(&self, service: &str, status: Option<ServingStatus>) {
        self.sender(service).send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }

    /// Marks service `S` as serving.
    ///
    /// ```
    /// use protocall::health::{HealthServer, HealthService, health_service};
    /// let (reporter, health) = health_service();
    /// // the health service reports on itself, by its full name
    /// reporter.set_serving::<HealthServer<HealthService>>();
    /// # let _ = health;
    /// ```
    pub fn set_serving<S: NamedService>(&self) {
        self.set_status(S::NAME, ServingStatus::Serving);
    }

    /// Marks service `S` as not serving.
    ///
    /// ```
    /// use protocall::health::{HealthServer, HealthService, health_service};
    /// let (reporter, health) = health_service();
    /// reporter.set_not_serving::<HealthServer<HealthService>>(); // e.g. while draining
    /// # let _ = health;
    /// ```
    pub fn set_not_serving<S: NamedService>(&self) {
        self.set_status(S::NAME, ServingStatus::NotServing);
    }

    /// Forgets `service`: `Check` answers `NOT_FOUND` again, watchers see
    /// `SERVICE_UNKNOWN`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::health::{HealthCheckRequest, ServingStatus, health_client::HealthClient, health_service};
    /// let (reporter, health) = health_service();
    /// reporter.set_status("demo.Echo", ServingStatus::Serving);
    /// reporter.clear("demo.Echo");
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// // the health service is served on `uri`
    /// let client = HealthClient::connect(&uri).await?;
    /// let request = HealthCheckRequest { service: "demo.Echo".into(), ..Default::default() };
    /// let status = client.check(request).await.unwrap_err();
    /// assert_eq!(status.code(), protocall::Code::NotFound);
    /// # Ok(())
    /// # }
    /// ```
    pub fn clear(&self, service: &str) {
        self.update(service, None);
    }

    fn current(&self, service: &str) -> Option<ServingStatus> {
        let statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        statuses.get(service).and_then(|sender| *sender.borrow())
    }
}

/// The health service; see [`health_service`].
///
/// ```
/// use protocall::health::{HealthServer, HealthService, health_service};
/// let (_reporter, health): (_, HealthServer<HealthService>) = health_service();
/// let _router = protocall::Server::builder().add_service(health);
/// ```
#[derive(Clone, Debug)]
pub struct HealthService {
    reporter: HealthReporter,
}

/// A health service whose overall status (`""`) is `SERVING`, and the
/// reporter that changes statuses.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::health::{HealthCheckRequest, ServingStatus, health_client::HealthClient, health_service};
/// let (reporter, health) = health_service();
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
/// // the health service is served on `uri`
/// let client = HealthClient::connect(&uri).await?;
/// let reply = client.check(HealthCheckRequest::default()).await?.into_inner();
/// assert_eq!(reply.status, ServingStatus::Serving);
/// reporter.set_status("", ServingStatus::NotServing);
/// let reply = client.check(HealthCheckRequest::default()).await?.into_inner();
/// assert_eq!(reply.status, ServingStatus::NotServing);
/// # Ok(())
/// # }
/// ```
pub fn health_service() -> (HealthReporter, HealthServer<HealthService>) {
    let reporter = HealthReporter::default();
    reporter.set_status("", ServingStatus::Serving);
    (
        reporter.clone(),
        HealthServer::new(HealthService { reporter }),
    )
}

fn response(status: Option<ServingStatus>) -> HealthCheckResponse {
    HealthCheckResponse {
        status: EnumValue::Known(status.unwrap_or(ServingStatus::ServiceUnknown)),
        ..Default::default()
    }
}

/// One watcher. When the last watcher of a service nobody set goes, the
/// entry goes too: watching made-up names must not grow the map forever.
struct Watch {
    receiver: watch::Receiver<Option<ServingStatus>>,
    statuses: Statuses,
    service: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        let unused = statuses
            .get(&self.service)
            .is_some_and(|sender| sender.borrow().is_none() && sender.receiver_count() <= 1);
        if unused {
            statuses.remove(&self.service);
        }
    }
}

/// The stream `Watch` returns.
///
/// ```
/// use protocall::health::WatchStream;
/// use tokio_stream::StreamExt;
/// async fn first(mut updates: WatchStream) -> Option<protocall::health::ServingStatus> {
///     let update = updates.next().await?.ok()?;
///     update.status.known()
/// }
/// ```
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

impl Health for HealthService {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = &request.get_ref().service;
        match self.reporter.current(service) {
            Some(status) => Ok(Response::new(response(Some(status)))),
            None => Err(Status::not_found(format!("unknown service {service:?}"))),
        }
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let service = request.into_inner().service;
        let receiver = self.reporter.sender(&service).subscribe();
        let watch = Watch {
            receiver,
            statuses: self.reporter.statuses.clone(),
            service,
        };
        // The current status first, then every change.
        let stream = futures_util::stream::unfold((watch, true), |(mut watch, first)| async move {
            if !first && watch.receiver.changed().await.is_err() {
                return None;
            }
            let status = *watch.receiver.borrow_and_update();
            Some((Ok(response(status)), (watch, false)))
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn watching_unknown_names_leaves_nothing_behind() {
        let (reporter, _) = health_service();
        let service = HealthService {
            reporter: reporter.clone(),
        };
        for name in ["a", "b", "c"] {
            let request = Request::new(HealthCheckRequest {
                service: name.into(),
                ..Default::default()
            });
            let mut stream = service.watch(request).await.unwrap().into_inner();
            let first = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(first.status, ServingStatus::ServiceUnknown);
        }
        let statuses = reporter.statuses.lock().unwrap();
        assert_eq!(
            statuses.keys().collect::<Vec<_>>(),
            [""],
            "only the overall status remains"
        );
    }
}
