//! gRPC server reflection (`grpc.reflection.v1` and `v1alpha`): lets
//! `grpcurl`, `buf curl` and other tools discover services and their
//! schemas at run time.
//!
//! ```no_run
//! # async fn f(set_bytes: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! // build.rs wrote the set with `.file_descriptor_set_path(...)`
//! let reflection = protocall::reflection::Builder::new().register_encoded_file_descriptor_set(set_bytes)?;
//! protocall::Server::builder()
//!     .add_service(reflection.clone().build_v1())
//!     .add_service(reflection.build_v1alpha())
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(()) }
//! ```

#![allow(missing_docs)] // the generated parts are documented by the schema's comments

use std::collections::{BTreeSet, HashMap};
use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;

use crate::error::DecodeError;
use crate::grpc::{Request, Response, Status, Streaming};
use crate::message::Message;
use crate::types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet};

/// `grpc.reflection.v1`.
///
/// ```
/// use protocall::reflection::v1::{ServerReflectionRequest, server_reflection_request::MessageRequest};
/// let request = ServerReflectionRequest {
///     message_request: Some(MessageRequest::FileContainingSymbol("grpc.health.v1.Health".into())),
///     ..Default::default()
/// };
/// # let _ = request;
/// ```
pub mod v1 {
    include!("services/grpc.reflection.v1.rs");
}

/// `grpc.reflection.v1alpha` (what older tools ask for).
///
/// ```
/// let (_reporter, health) = protocall::health::health_service();
/// let reflection = protocall::reflection::Builder::new();
/// let _router = protocall::Server::builder()
///     .add_service(health)
///     .add_service(reflection.clone().build_v1())
///     .add_service(reflection.build_v1alpha()); // the same answers, older name
/// ```
pub mod v1alpha {
    include!("services/grpc.reflection.v1alpha.rs");
}

use v1::server_reflection_request::MessageRequest;
use v1::server_reflection_response::MessageResponse;
use v1::{
    ErrorResponse, ExtensionNumberResponse, FileDescriptorResponse, ListServiceResponse,
    ServerReflectionRequest, ServerReflectionResponse, ServiceResponse,
};

/// The encoded `FileDescriptorSet` of the reflection schemas (v1 and
/// v1alpha); [`Builder::new`] registers it.
///
/// ```
/// use protocall::{Message, types::FileDescriptorSet};
/// let set = FileDescriptorSet::decode(protocall::reflection::FILE_DESCRIPTOR_SET)?;
/// assert!(set.file.iter().any(|file| file.package() == "grpc.reflection.v1"));
/// # Ok::<(), protocall::DecodeError>(())
/// ```
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("services/reflection.binpb");

/// Collects the descriptors a reflection service answers from.
///
/// `ListServices` answers the services of the registered files: the
/// reflection services themselves (registered from the start), and those
/// of the sets added. Serving health too? Register
/// [`crate::health::FILE_DESCRIPTOR_SET`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::reflection::v1::{ServerReflectionRequest, server_reflection_client::ServerReflectionClient};
/// use protocall::reflection::v1::server_reflection_request::MessageRequest;
/// use protocall::reflection::v1::server_reflection_response::MessageResponse;
/// let reflection = protocall::reflection::Builder::new()
///     .register_encoded_file_descriptor_set(protocall::health::FILE_DESCRIPTOR_SET)?
///     .build_v1();
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(reflection).serve_with_listener(listener, std::future::pending()));
/// // the reflection service is served on `uri`
/// let client = ServerReflectionClient::connect(&uri).await?;
/// let list = ServerReflectionRequest {
///     message_request: Some(MessageRequest::ListServices(String::new())),
///     ..Default::default()
/// };
/// let mut replies = client.server_reflection_info(tokio_stream::iter([list])).await?.into_inner();
/// let Some(MessageResponse::ListServicesResponse(list)) = replies.message().await?.unwrap().message_response else {
///     panic!("not a list");
/// };
/// let names: Vec<&str> = list.service.iter().map(|service| service.name.as_str()).collect();
/// assert!(names.contains(&"grpc.health.v1.Health"));
/// assert!(names.contains(&"grpc.reflection.v1.ServerReflection"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    files: Vec<FileDescriptorProto>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The reflection schemas only.
    ///
    /// ```
    /// let builder = protocall::reflection::Builder::new();
    /// let _router = protocall::Server::builder().add_service(builder.build_v1());
    /// ```
    pub fn new() -> Builder {
        Builder { files: Vec::new() }
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .expect("the checked-in reflection descriptors decode")
    }

    /// Adds every file of an encoded `FileDescriptorSet` (as written by
    /// `file_descriptor_set_path`, `protoc --descriptor_set_out` or `buf build`).
    ///
    /// ```
    /// use protocall::reflection::Builder;
    /// // in a real server: include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"))
    /// let set: &[u8] = protocall::health::FILE_DESCRIPTOR_SET;
    /// let builder = Builder::new().register_encoded_file_descriptor_set(set)?;
    /// assert!(Builder::new().register_encoded_file_descriptor_set(b"\xff").is_err());
    /// # let _ = builder;
    /// # Ok::<(), protocall::DecodeError>(())
    /// ```
    pub fn register_encoded_file_descriptor_set(
        self,
        bytes: &[u8],
    ) -> Result<Builder, DecodeError> {
        Ok(self.register_file_descriptor_set(FileDescriptorSet::decode(bytes)?))
    }

    /// Adds every file of `set` (e.g. an inline service's
    /// `file_descriptor_set()`). A file already registered is kept.
    ///
    /// ```
    /// use protocall::{__private::reflect::{Cardinality, Descriptors}, reflection::Builder};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// if let Some(message) = descriptors.message("demo.Ping") {
    ///     message.scalar(1, "id", Type::Int64, Cardinality::Implicit).finish();
    /// }
    /// let builder = Builder::new().register_file_descriptor_set(descriptors.file_descriptor_set());
    /// # let _ = builder;
    /// ```
    pub fn register_file_descriptor_set(mut self, set: FileDescriptorSet) -> Builder {
        for file in set.file {
            if !self.files.iter().any(|f| f.name() == file.name()) {
                self.files.push(file);
            }
        }
        self
    }

    /// The `grpc.reflection.v1` service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::reflection::v1::{ServerReflectionRequest, server_reflection_client::ServerReflectionClient};
    /// use protocall::reflection::v1::server_reflection_request::MessageRequest;
    /// use protocall::reflection::v1::server_reflection_response::MessageResponse;
    /// let reflection = protocall::reflection::Builder::new().build_v1();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(reflection).serve_with_listener(listener, std::future::pending()));
    /// // the reflection service is served on `uri`
    /// let client = ServerReflectionClient::connect(&uri).await?;
    /// let list = ServerReflectionRequest {
    ///     message_request: Some(MessageRequest::ListServices(String::new())),
    ///     ..Default::default()
    /// };
    /// let mut replies = client.server_reflection_info(tokio_stream::iter([list])).await?.into_inner();
    /// let Some(MessageResponse::ListServicesResponse(list)) = replies.message().await?.unwrap().message_response else {
    ///     panic!("not a list");
    /// };
    /// let names: Vec<&str> = list.service.iter().map(|service| service.name.as_str()).collect();
    /// assert_eq!(names, ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn build_v1(
        self,
    ) -> v1::server_reflection_server::ServerReflectionServer<ReflectionService> {
        v1::server_reflection_server::ServerReflectionServer::new(ReflectionService {
            index: Arc::new(Index::new(self.files)),
        })
    }

    /// The `grpc.reflection.v1alpha` service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::reflection::v1alpha::{ServerReflectionRequest, server_reflection_client::ServerReflectionClient};
    /// use protocall::reflection::v1alpha::server_reflection_request::MessageRequest;
    /// let reflection = protocall::reflection::Builder::new().build_v1alpha();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(reflection).serve_with_listener(listener, std::future::pending()));
    /// // the v1alpha service is served on `uri`
    /// let client = ServerReflectionClient::connect(&uri).await?;
    /// let request = ServerReflectionRequest {
    ///     message_request: Some(MessageRequest::FileContainingSymbol("grpc.reflection.v1alpha.ServerReflection".into())),
    ///     ..Default::default()
    /// };
    /// let mut replies = client.server_reflection_info(tokio_stream::iter([request])).await?.into_inner();
    /// assert!(replies.message().await?.unwrap().message_response.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn build_v1alpha(
        self,
    ) -> v1alpha::server_reflection_server::ServerReflectionServer<ReflectionService> {
        v1alpha::server_reflection_server::ServerReflectionServer::new(ReflectionService {
            index: Arc::new(Index::new(self.files)),
        })
    }
}

/// What the service looks things up in.
#[derive(Debug)]
struct Index {
    files: HashMap<String, FileDescriptorProto>,
    /// Fully qualified symbol (no leading dot) → file name.
    symbols: HashMap<String, String>,
    /// (extended message, field number) → file name.
    extensions: HashMap<(String, i32), String>,
    services: BTreeSet<String>,
}

fn qualified(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

impl Index {
    fn new(files: Vec<FileDescriptorProto>) -> Index {
        let mut index = Index {
            files: HashMap::new(),
            symbols: HashMap::new(),
            extensions: HashMap::new(),
            services: BTreeSet::new(),
        };
        for file in files {
            let name = file.name().to_string();
            let package = file.package().to_string();
            for message in &file.message_type {
                index.message(&name, &package, message);
            }
            for enumeration in &file.enum_type {
                index.enumeration(&name, &package, enumeration);
            }
            for service in &file.service {
                let full = qualified(&package, service.name());
                for method in &service.method {
                    index
                        .symbols
                        .insert(qualified(&full, method.name()), name.clone());
                }
                index.services.insert(full.clone());
                index.symbols.insert(full, name.clone());
            }
            for extension in &file.extension {
                index.extension(&name, &package, extension);
            }
            index.files.insert(name, file);
        }
        // Only services whose schema is registered are listed (the
        // reflection services themselves included): clients describe every
        // listed service (`buf curl --list-methods`, `grpcurl describe`)
        // and fail on one they cannot resolve.
        index
    }

    fn message(&mut self, file: &str, prefix: &str, message: &DescriptorProto) {
        let full = qualified(prefix, message.name());
        for field in &message.field {
            self.symbols
                .insert(qualified(&full, field.name()), file.to_string());
        }
        for oneof in &message.oneof_decl {
            self.symbols
                .insert(qualified(&full, oneof.name()), file.to_string());
        }
        for nested in &message.nested_type {
            self.message(file, &full, nested);
        }
        for nested in &message.enum_type {
            self.enumeration(file, &full, nested);
        }
        for extension in &message.extension {
            self.extension(file, &full, extension);
        }
        self.symbols.insert(full, file.to_string());
    }

    fn enumeration(&mut self, file: &str, prefix: &str, enumeration: &EnumDescriptorProto) {
        let full = qualified(prefix, enumeration.name());
        // Enum values are scoped like siblings of their enum.
        for value in &enumeration.value {
            self.symbols
                .insert(qualified(prefix, value.name()), file.to_string());
        }
        self.symbols.insert(full, file.to_string());
    }

    fn extension(
        &mut self,
        file: &str,
        prefix: &str,
        extension: &crate::types::FieldDescriptorProto,
    ) {
        self.symbols
            .insert(qualified(prefix, extension.name()), file.to_string());
        let extendee = extension.extendee().trim_start_matches('.').to_string();
        self.extensions
            .insert((extendee, extension.number()), file.to_string());
    }

    /// `name` and its transitive imports, each encoded once, `name` first.
    fn file_with_imports(&self, name: &str) -> Option<FileDescriptorResponse> {
        self.files.get(name)?;
        let mut order = Vec::new();
        let mut pending = vec![name.to_string()];
        while let Some(next) = pending.pop() {
            if order.contains(&next) {
                continue;
            }
            if let Some(file) = self.files.get(&next) {
                pending.extend(file.dependency.iter().rev().cloned());
                order.push(next);
            }
        }
        let file_descriptor_proto = order
            .iter()
            .map(|n| self.files[n].encode_to_vec())
            .collect();
        Some(FileDescriptorResponse {
            file_descriptor_proto,
            ..Default::default()
        })
    }

    fn answer(&self, request: &MessageRequest) -> MessageResponse {
        let not_found = |what: String| {
            MessageResponse::ErrorResponse(ErrorResponse {
                error_code: crate::grpc::Code::NotFound as i32,
                error_message: what,
                ..Default::default()
            })
        };
        match request {
            MessageRequest::FileByFilename(name) => match self.file_with_imports(name) {
                Some(files) => MessageResponse::FileDescriptorResponse(files),
                None => not_found(format!("file not found: {name}")),
            },
            MessageRequest::FileContainingSymbol(symbol) => {
                let symbol = symbol.trim_start_matches('.');
                match self
                    .symbols
                    .get(symbol)
                    .and_then(|file| self.file_with_imports(file))
                {
                    Some(files) => MessageResponse::FileDescriptorResponse(files),
                    None => not_found(format!("symbol not found: {symbol}")),
                }
            }
            MessageRequest::FileContainingExtension(request) => {
                let key = (
                    request.containing_type.trim_start_matches('.').to_string(),
                    request.extension_number,
                );
                match self
                    .extensions
                    .get(&key)
                    .and_then(|file| self.file_with_imports(file))
                {
                    Some(files) => MessageResponse::FileDescriptorResponse(files),
                    None => not_found(format!("extension not found: {} {}", key.0, key.1)),
                }
            }
            MessageRequest::AllExtensionNumbersOfType(name) => {
                let name = name.trim_start_matches('.');
                if !self.symbols.contains_key(name) {
                    return not_found(format!("type not found: {name}"));
                }
                let mut numbers: Vec<i32> = self
                    .extensions
                    .keys()
                    .filter(|(extendee, _)| extendee == name)
                    .map(|(_, n)| *n)
                    .collect();
                numbers.sort_unstable();
                MessageResponse::AllExtensionNumbersResponse(ExtensionNumberResponse {
                    base_type_name: name.to_string(),
                    extension_number: numbers,
                    ..Default::default()
                })
            }
            MessageRequest::ListServices(_) => {
                MessageResponse::ListServicesResponse(ListServiceResponse {
                    service: self
                        .services
                        .iter()
                        .map(|name| ServiceResponse {
                            name: name.clone(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
            }
        }
    }

    fn respond(&self, request: ServerReflectionRequest) -> ServerReflectionResponse {
        let message_response = match &request.message_request {
            Some(message) => self.answer(message),
            None => MessageResponse::ErrorResponse(ErrorResponse {
                error_code: crate::grpc::Code::InvalidArgument as i32,
                error_message: "empty reflection request".into(),
                ..Default::default()
            }),
        };
        ServerReflectionResponse {
            valid_host: request.host.clone(),
            original_request: Some(request),
            message_response: Some(message_response),
            ..Default::default()
        }
    }
}

/// The reflection service; see [`Builder`].
///
/// ```
/// use protocall::reflection::{Builder, ReflectionService, v1::server_reflection_server::ServerReflectionServer};
/// let service: ServerReflectionServer<ReflectionService> = Builder::new().build_v1();
/// let _router = protocall::Server::builder().add_service(service);
/// ```
#[derive(Clone, Debug)]
pub struct ReflectionService {
    index: Arc<Index>,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Answers each request of the stream as it arrives.
fn answer_stream<In, Out>(index: Arc<Index>, requests: Streaming<In>) -> BoxStream<Out>
where
    In: Message + 'static,
    Out: Message + 'static,
{
    let stream =
        futures_util::stream::unfold((index, requests), |(index, mut requests)| async move {
            let request = match requests.message().await {
                Ok(Some(request)) => request,
                Ok(None) => return None,
                Err(status) => return Some((Err(status), (index, requests))),
            };
            // v1 and v1alpha share one wire format: translate through it.
            let reply = ServerReflectionRequest::decode(request.encode_to_vec().as_slice())
                .map(|request| index.respond(request))
                .and_then(|reply| Out::decode(reply.encode_to_vec().as_slice()))
                .map_err(Status::from);
            Some((reply, (index, requests)))
        });
    Box::pin(stream)
}

impl v1::server_reflection_server::ServerReflection for ReflectionService {
    type ServerReflectionInfoStream = BoxStream<ServerReflectionResponse>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        Ok(Response::new(answer_stream(
            self.index.clone(),
            request.into_inner(),
        )))
    }
}

impl v1alpha::server_reflection_server::ServerReflection for ReflectionService {
    type ServerReflectionInfoStream = BoxStream<v1alpha::ServerReflectionResponse>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<v1alpha::ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        Ok(Response::new(answer_stream(
            self.index.clone(),
            request.into_inner(),
        )))
    }
}
