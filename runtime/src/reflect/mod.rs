//! Runtime descriptors: a [`DescriptorPool`] built from `FileDescriptorSet`s,
//! and the message, field and enum descriptors it hands out.
//!
//! The pool is what lets code handle schemas by name at run time: the JSON
//! and text formats read it, a proxy or a CLI can load a set it was not
//! compiled with, and generated messages reach their own descriptors
//! through [`ReflectMessage`].
//!
//! ```
//! use protocall::reflect::{DescriptorPool, Kind};
//! let pool = DescriptorPool::decode(protocall::reflection::FILE_DESCRIPTOR_SET)?;
//! let request = pool.message("grpc.reflection.v1.ServerReflectionRequest").unwrap();
//! let host = request.field_by_name("host").unwrap();
//! assert_eq!((host.number(), host.kind()), (1, Kind::String));
//! # Ok::<(), protocall::reflect::DescriptorError>(())
//! ```

pub(crate) mod defaults;
mod dynamic;
pub(crate) mod features;
mod pool;
pub(crate) mod raw;

pub use dynamic::{DynamicMessage, MapKey, SetError, Value};
pub use pool::{
    Cardinality, DescriptorError, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind,
    MessageDescriptor, MethodDescriptor, OneofDescriptor, ServiceDescriptor,
};
pub(crate) use pool::{FieldInfo, Ty, WellKnown, json_name};
#[cfg(feature = "json")]
pub(crate) use pool::{Inner, MessageInfo};

/// A generated message that knows its descriptor.
///
/// Generated code implements it when the builder embeds descriptors (the
/// default); the descriptor comes from a pool built once, on first use,
/// from the file's embedded `FileDescriptorSet`.
pub trait ReflectMessage: crate::Message {
    /// This message's descriptor.
    fn descriptor() -> MessageDescriptor;

    /// Prints the message as ProtoJSON. Generated code prints its fields
    /// directly; this default goes through the binary encoding.
    #[cfg(feature = "json")]
    #[doc(hidden)]
    fn __print_json<S: serde::Serializer>(
        &self,
        printer: &crate::json::__private::Printer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        Self: Sized,
    {
        printer.binary(self, serializer)
    }
}

/// A boxed message reflects as the message (recursive fields are boxed).
impl<M: ReflectMessage> ReflectMessage for Box<M> {
    fn descriptor() -> MessageDescriptor {
        M::descriptor()
    }

    #[cfg(feature = "json")]
    fn __print_json<S: serde::Serializer>(
        &self,
        printer: &crate::json::__private::Printer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        (**self).__print_json(printer, serializer)
    }
}

/// Every pool generated code has built so far, merged: where JSON and text
/// look up the types an `Any` names when no registry is given.
static REGISTERED: std::sync::RwLock<Vec<DescriptorPool>> = std::sync::RwLock::new(Vec::new());

/// Makes the messages of `pool` findable by name for `Any` (JSON, text
/// format). Generated code registers each file's pool when it is built.
pub fn register(pool: &DescriptorPool) {
    let mut pools = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    if !pools.iter().any(|p| p.same(pool)) {
        pools.push(pool.clone());
    }
}

/// The message type an `Any`'s `type_url` names: looked up in `registry`,
/// then in the pool of the message being printed or parsed, then among
/// every generated file's types used so far.
pub(crate) fn any_type(
    registry: Option<&DescriptorPool>,
    pool: &DescriptorPool,
    type_url: &str,
) -> Result<MessageDescriptor, String> {
    let Some((_, name)) = type_url.rsplit_once('/') else {
        return Err(format!("`{type_url}` is not a type URL (no `/`)"));
    };
    registry
        .and_then(|r| r.message(name))
        .or_else(|| pool.message(name))
        .or_else(|| registered(name))
        .ok_or_else(|| format!("google.protobuf.Any holds `{name}`, which no registry has"))
}

/// The registered message of this full name.
fn registered(full_name: &str) -> Option<MessageDescriptor> {
    let pools = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
    pools.iter().find_map(|p| p.message(full_name))
}

/// The pool of an embedded `FILE_DESCRIPTOR_SET`, built on first use and
/// registered. Generated data: a set that does not make a pool is a bug of
/// the generator, hence the panic.
pub(crate) fn embedded_pool(set: &'static [u8]) -> DescriptorPool {
    static POOLS: std::sync::Mutex<Vec<(usize, DescriptorPool)>> =
        std::sync::Mutex::new(Vec::new());
    let key = set.as_ptr() as usize;
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, pool)) = pools.iter().find(|(k, _)| *k == key) {
        return pool.clone();
    }
    // Generated files leave out the well-known types' files, which are the
    // runtime's own.
    let mut pool = well_known_pool();
    pool.add_encoded_file_descriptor_set(set)
        .unwrap_or_else(|e| panic!("embedded descriptors do not make a pool: {e}"));
    register(&pool);
    pools.push((key, pool.clone()));
    pool
}

/// The pool of the runtime's well-known types (`google.protobuf.*` and the
/// plugin protocol).
pub(crate) fn well_known_pool() -> DescriptorPool {
    static POOL: std::sync::OnceLock<DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool = DescriptorPool::decode(crate::types::FILE_DESCRIPTOR_SET)
            .expect("the well-known types make a pool");
        pool.add_encoded_file_descriptor_set(crate::types::compiler::FILE_DESCRIPTOR_SET)
            .expect("the plugin protocol makes a pool");
        pool
    })
    .clone()
}
