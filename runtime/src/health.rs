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

/// The encoded `FileDescriptorSet` of `grpc/health/v1/health.proto`, for
/// server reflection ([`crate::reflection::Builder`]).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("services/health.binpb");

pub use health_check_response::ServingStatus;
use health_server::Health;
pub use health_server::HealthServer;

use crate::server::NamedService;
use crate::{EnumValue, Request, Response, Status};

/// Statuses by service name; `None` means the service is not known (yet).
type Statuses = Arc<Mutex<HashMap<String, watch::Sender<Option<ServingStatus>>>>>;

/// Sets the status each service reports; cheap to clone.
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
    pub fn set_serving<S: NamedService>(&self) {
        self.set_status(S::NAME, ServingStatus::Serving);
    }

    /// Marks service `S` as not serving.
    pub fn set_not_serving<S: NamedService>(&self) {
        self.set_status(S::NAME, ServingStatus::NotServing);
    }

    /// Forgets `service`: `Check` answers `NOT_FOUND` again, watchers see
    /// `SERVICE_UNKNOWN`.
    pub fn clear(&self, service: &str) {
        self.update(service, None);
    }

    fn current(&self, service: &str) -> Option<ServingStatus> {
        let statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        statuses.get(service).and_then(|sender| *sender.borrow())
    }
}

/// The health service; see [`health_service`].
#[derive(Clone, Debug)]
pub struct HealthService {
    reporter: HealthReporter,
}

/// A health service whose overall status (`""`) is `SERVING`, and the
/// reporter that changes statuses.
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
