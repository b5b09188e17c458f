//! [`Metadata`]: gRPC's custom headers and trailers.

use std::fmt;

use base64::Engine as _;
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Custom metadata of a call: ASCII entries, and binary entries whose keys
/// end in `-bin` (sent base64-encoded without padding; padded or unpadded
/// accepted on receipt). Headers the gRPC protocol itself uses
/// (`content-type`, `te`, `grpc-*`, …) are not metadata: they are filtered
/// out on receipt and refused on insert.
///
/// ```
/// use protocall::Metadata;
/// let mut md = Metadata::new();
/// md.insert("x-user", "ada").unwrap();
/// md.insert_bin("x-trace-bin", [0u8, 1, 255]).unwrap();
/// assert_eq!(md.get("x-user"), Some("ada"));
/// assert_eq!(md.get_bin("x-trace-bin").unwrap(), vec![0, 1, 255]);
/// assert!(md.insert("grpc-status", "0").is_err());
/// ```
#[derive(Clone, Default)]
pub struct Metadata {
    headers: HeaderMap,
}

/// A metadata key or value that gRPC does not allow.
///
/// ```
/// use protocall::Metadata;
/// let err = Metadata::new().insert("x-user", "caf\u{e9}").unwrap_err();
/// assert!(err.to_string().starts_with("invalid metadata"), "{err}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidMetadata {
    reason: String,
}

impl fmt::Display for InvalidMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid metadata: {}", self.reason)
    }
}

impl std::error::Error for InvalidMetadata {}

fn invalid(reason: String) -> InvalidMetadata {
    InvalidMetadata { reason }
}

/// One metadata value, as returned by [`Metadata::iter`].
///
/// ```
/// use protocall::{Metadata, metadata::MetadataValue};
/// let mut md = Metadata::new();
/// md.insert("x-user", "ada").unwrap();
/// md.insert_bin("x-key-bin", [1, 2]).unwrap();
/// let values: Vec<_> = md.iter().collect();
/// assert!(values.contains(&("x-user", MetadataValue::Ascii("ada"))));
/// assert!(values.contains(&("x-key-bin", MetadataValue::Binary(vec![1, 2]))));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataValue<'a> {
    /// An ASCII value.
    Ascii(&'a str),
    /// A binary value (key ending in `-bin`), decoded.
    Binary(Vec<u8>),
}

/// Headers owned by the protocol, never exposed as metadata. gRFC A6's
/// two are metadata: a server reads `grpc-previous-rpc-attempts` and pushes
/// back with `grpc-retry-pushback-ms` in its trailers, as in grpc-go and
/// grpc-java.
pub(crate) fn is_reserved(name: &str) -> bool {
    (name.starts_with("grpc-")
        && !matches!(
            name,
            "grpc-previous-rpc-attempts" | "grpc-retry-pushback-ms"
        ))
        || matches!(
            name,
            "content-type"
                | "te"
                | "content-length"
                | "connection"
                | "host"
                | "transfer-encoding"
                | "upgrade"
                | "keep-alive"
                | "proxy-connection"
        )
}

fn is_reserved_ignoring_case(name: &str) -> bool {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        is_reserved(&name.to_ascii_lowercase())
    } else {
        is_reserved(name)
    }
}

/// `value` as a `-bin` header value: base64 without padding, as gRPC sends.
pub(crate) fn encode_base64(value: &[u8]) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(value);
    HeaderValue::from_str(&encoded).expect("base64 is a valid header value")
}

pub(crate) fn decode_base64(value: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    let trimmed: &[u8] = {
        let mut end = value.len();
        while end > 0 && value[end - 1] == b'=' {
            end -= 1;
        }
        &value[..end]
    };
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed)
}

impl Metadata {
    /// No entries.
    ///
    /// ```
    /// use protocall::Metadata;
    /// assert!(Metadata::new().is_empty());
    /// ```
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Number of values.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.append("x-tag", "a").unwrap();
    /// md.append("x-tag", "b").unwrap();
    /// assert_eq!(md.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// True when there are no entries.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// assert!(md.is_empty());
    /// md.insert("x-user", "ada").unwrap();
    /// assert!(!md.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    fn key(key: &str, binary: bool) -> Result<HeaderName, InvalidMetadata> {
        let lower = key.to_ascii_lowercase();
        if is_reserved(&lower) {
            return Err(invalid(format!("`{key}` is reserved by the gRPC protocol")));
        }
        if lower.ends_with("-bin") != binary {
            return Err(invalid(if binary {
                format!("binary key `{key}` must end in `-bin`")
            } else {
                format!("ASCII key `{key}` must not end in `-bin`")
            }));
        }
        HeaderName::from_bytes(lower.as_bytes()).map_err(|_| invalid(format!("bad key `{key}`")))
    }

    fn ascii_value(value: &str) -> Result<HeaderValue, InvalidMetadata> {
        if !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(invalid(format!("value {value:?} is not printable ASCII")));
        }
        HeaderValue::from_str(value).map_err(|_| invalid(format!("bad value {value:?}")))
    }

    /// Sets an ASCII entry, replacing existing values for `key`.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.insert("x-user", "ada").unwrap();
    /// md.insert("X-User", "grace").unwrap(); // keys are case-insensitive
    /// assert_eq!(md.get_all("x-user").collect::<Vec<_>>(), ["grace"]);
    /// assert!(md.insert("x-key-bin", "no").is_err()); // binary keys need insert_bin
    /// ```
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), InvalidMetadata> {
        self.headers
            .insert(Self::key(key, false)?, Self::ascii_value(value)?);
        Ok(())
    }

    /// Adds an ASCII value for `key`, keeping existing ones.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.append("x-tag", "a").unwrap();
    /// md.append("x-tag", "b").unwrap();
    /// assert_eq!(md.get_all("x-tag").collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), InvalidMetadata> {
        self.headers
            .append(Self::key(key, false)?, Self::ascii_value(value)?);
        Ok(())
    }

    /// Sets a binary entry; `key` must end in `-bin`.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.insert_bin("x-trace-bin", b"\x00\xff").unwrap();
    /// assert_eq!(md.get_bin("x-trace-bin"), Some(vec![0, 255]));
    /// assert!(md.insert_bin("x-trace", [0]).is_err());
    /// ```
    pub fn insert_bin(
        &mut self,
        key: &str,
        value: impl AsRef<[u8]>,
    ) -> Result<(), InvalidMetadata> {
        self.headers
            .insert(Self::key(key, true)?, encode_base64(value.as_ref()));
        Ok(())
    }

    /// Adds a binary value for `key`, keeping existing ones.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.append_bin("x-id-bin", [1]).unwrap();
    /// md.append_bin("x-id-bin", [2]).unwrap();
    /// assert_eq!(md.get_all_bin("x-id-bin").collect::<Vec<_>>(), [vec![1], vec![2]]);
    /// ```
    pub fn append_bin(
        &mut self,
        key: &str,
        value: impl AsRef<[u8]>,
    ) -> Result<(), InvalidMetadata> {
        self.headers
            .append(Self::key(key, true)?, encode_base64(value.as_ref()));
        Ok(())
    }

    /// The first ASCII value of `key`.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.append("x-tag", "a").unwrap();
    /// md.append("x-tag", "b").unwrap();
    /// assert_eq!(md.get("x-tag"), Some("a"));
    /// assert_eq!(md.get("x-other"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.visible(key)?.get(key).and_then(|v| v.to_str().ok())
    }

    /// Every ASCII value of `key`.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.append("x-tag", "a").unwrap();
    /// md.append("x-tag", "b").unwrap();
    /// assert_eq!(md.get_all("x-tag").count(), 2);
    /// ```
    pub fn get_all<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.visible(key)
            .map(|headers| headers.get_all(key))
            .into_iter()
            .flatten()
            .filter_map(|v| v.to_str().ok())
    }

    /// The first binary value of `key`, decoded; `None` when absent or not
    /// valid base64.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.insert_bin("x-trace-bin", [7, 8]).unwrap();
    /// assert_eq!(md.get_bin("x-trace-bin"), Some(vec![7, 8]));
    /// ```
    pub fn get_bin(&self, key: &str) -> Option<Vec<u8>> {
        self.visible(key)?
            .get(key)
            .and_then(|v| decode_base64(v.as_bytes()).ok())
    }

    /// Every binary value of `key`, decoded (invalid ones skipped).
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.append_bin("x-id-bin", [1]).unwrap();
    /// md.append_bin("x-id-bin", [2, 3]).unwrap();
    /// let all: Vec<Vec<u8>> = md.get_all_bin("x-id-bin").collect();
    /// assert_eq!(all, [vec![1], vec![2, 3]]);
    /// ```
    pub fn get_all_bin<'a>(&'a self, key: &str) -> impl Iterator<Item = Vec<u8>> + 'a {
        self.visible(key)
            .map(|headers| headers.get_all(key))
            .into_iter()
            .flatten()
            .filter_map(|v| decode_base64(v.as_bytes()).ok())
    }

    /// True if `key` has a value.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.insert("x-user", "ada").unwrap();
    /// assert!(md.contains_key("x-user"));
    /// assert!(!md.contains_key("x-admin"));
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.visible(key)
            .is_some_and(|headers| headers.contains_key(key))
    }

    /// Removes every value of `key`.
    ///
    /// ```
    /// use protocall::Metadata;
    /// let mut md = Metadata::new();
    /// md.append("x-tag", "a").unwrap();
    /// md.append("x-tag", "b").unwrap();
    /// md.remove("x-tag");
    /// assert!(md.is_empty());
    /// ```
    pub fn remove(&mut self, key: &str) {
        self.headers.remove(key);
    }

    /// Every entry, binary values decoded.
    ///
    /// ```
    /// use protocall::{Metadata, metadata::MetadataValue};
    /// let mut md = Metadata::new();
    /// md.insert("x-user", "ada").unwrap();
    /// for (key, value) in md.iter() {
    ///     assert_eq!((key, value), ("x-user", MetadataValue::Ascii("ada")));
    /// }
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, MetadataValue<'_>)> {
        self.entries().map(|(name, value)| {
            let key = name.as_str();
            let value = if key.ends_with("-bin") {
                MetadataValue::Binary(decode_base64(value.as_bytes()).unwrap_or_default())
            } else {
                MetadataValue::Ascii(value.to_str().unwrap_or(""))
            };
            (key, value)
        })
    }

    /// The entries of `headers` that are metadata (protocol headers dropped).
    pub(crate) fn from_headers(headers: &HeaderMap) -> Metadata {
        Metadata::from_header_map(headers.clone())
    }

    /// The metadata in `headers`. Protocol headers stay in the map but are
    /// never visible (filtering on read is cheaper than removing them from
    /// every request).
    pub(crate) fn from_header_map(headers: HeaderMap) -> Metadata {
        Metadata { headers }
    }

    /// The map, to become a response's headers or trailers, without any
    /// protocol header it may carry (metadata copied from a request does).
    pub(crate) fn into_headers(mut self) -> HeaderMap {
        if self.headers.keys().any(|name| is_reserved(name.as_str())) {
            let reserved: Vec<HeaderName> = self
                .headers
                .keys()
                .filter(|name| is_reserved(name.as_str()))
                .cloned()
                .collect();
            for name in reserved {
                self.headers.remove(name);
            }
        }
        self.headers
    }

    /// The headers of `key` unless it names a protocol header.
    fn visible(&self, key: &str) -> Option<&HeaderMap> {
        (!is_reserved_ignoring_case(key)).then_some(&self.headers)
    }

    /// The entries that are metadata.
    fn entries(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers
            .iter()
            .filter(|(name, _)| !is_reserved(name.as_str()))
    }

    /// Appends every entry to `headers`.
    pub(crate) fn write_to(&self, headers: &mut HeaderMap) {
        for (name, value) in self.entries() {
            headers.append(name.clone(), value.clone());
        }
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_values_accept_padded_and_unpadded() {
        let mut headers = HeaderMap::new();
        headers.append("x-a-bin", HeaderValue::from_static("AAH/"));
        headers.append("x-b-bin", HeaderValue::from_static("AQ=="));
        headers.append("x-c-bin", HeaderValue::from_static("AQ"));
        headers.append("grpc-timeout", HeaderValue::from_static("1S"));
        headers.append("content-type", HeaderValue::from_static("application/grpc"));
        let md = Metadata::from_headers(&headers);
        assert_eq!(md.len(), 3);
        assert_eq!(md.get_bin("x-a-bin").unwrap(), [0, 1, 255]);
        assert_eq!(md.get_bin("x-b-bin").unwrap(), [1]);
        assert_eq!(md.get_bin("x-c-bin").unwrap(), [1]);
    }

    #[test]
    fn keys_are_checked() {
        let mut md = Metadata::new();
        assert!(md.insert("x-ok", "v").is_ok());
        assert!(md.insert("X-Upper", "v").is_ok());
        assert_eq!(md.get("x-upper"), Some("v"));
        assert!(md.insert("x-bad-bin", "v").is_err());
        assert!(md.insert_bin("x-no-suffix", b"v").is_err());
        assert!(md.insert("te", "trailers").is_err());
        assert!(md.insert("bad key", "v").is_err());
        assert!(md.insert("x-ok", "caf\u{e9}").is_err());
        md.insert_bin("x-raw-bin", [0xfe]).unwrap();
        let mut headers = HeaderMap::new();
        md.write_to(&mut headers);
        assert_eq!(headers.get("x-raw-bin").unwrap(), "/g");
    }
}
