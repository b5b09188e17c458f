//! Per-message compression: gzip (feature `gzip`, default) and zstd
//! (feature `zstd`), with decompression bounded by the maximum message size.
//! Both variants of [`Encoding`] exist in every build, so code matching on
//! them compiles whatever the features; an encoding whose feature is off is
//! neither advertised nor accepted.

use bytes::{BufMut, BytesMut};

use super::status::Status;

/// A message compression algorithm (`grpc-encoding`).
///
/// ```
/// use protocall::compression::Encoding;
/// assert_eq!(Encoding::from_name("gzip"), Some(Encoding::Gzip));
/// assert_eq!(Encoding::Zstd.as_str(), "zstd");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `gzip` (RFC 1952).
    Gzip,
    /// `zstd` (RFC 8878).
    Zstd,
}

/// Every encoding this build supports, in preference order.
pub(crate) const SUPPORTED: &[Encoding] = &[
    #[cfg(feature = "gzip")]
    Encoding::Gzip,
    #[cfg(feature = "zstd")]
    Encoding::Zstd,
];

impl Encoding {
    /// The `grpc-encoding` token.
    ///
    /// ```
    /// use protocall::compression::Encoding;
    /// assert_eq!(Encoding::Gzip.as_str(), "gzip");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
        }
    }

    /// True when this build can compress and decompress with it (its
    /// feature, `gzip` or `zstd`, is on).
    ///
    /// ```
    /// use protocall::compression::Encoding;
    /// assert_eq!(Encoding::Gzip.is_supported(), cfg!(feature = "gzip"));
    /// ```
    pub fn is_supported(self) -> bool {
        SUPPORTED.contains(&self)
    }

    /// The encoding named by a `grpc-encoding` token, if known.
    ///
    /// ```
    /// use protocall::compression::Encoding;
    /// assert_eq!(Encoding::from_name("zstd"), Some(Encoding::Zstd));
    /// assert_eq!(Encoding::from_name("deflate"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Encoding> {
        match name.trim() {
            "gzip" => Some(Encoding::Gzip),
            "zstd" => Some(Encoding::Zstd),
            _ => None,
        }
    }

    /// Compresses `input`, appending to `out`.
    #[allow(unreachable_code, unused_variables)] // without gzip and zstd, every arm returns
    pub(crate) fn compress(self, input: &[u8], out: &mut BytesMut) -> Result<(), Status> {
        let writer = out.writer();
        let result: std::io::Result<()> = match self {
            #[cfg(feature = "gzip")]
            Encoding::Gzip => {
                use std::io::Write;
                let mut encoder =
                    flate2::write::GzEncoder::new(writer, flate2::Compression::fast());
                encoder
                    .write_all(input)
                    .and_then(|()| encoder.finish().map(drop))
            }
            #[cfg(feature = "zstd")]
            Encoding::Zstd => zstd::stream::copy_encode(input, writer, 1),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = (input, writer);
                return Err(self.not_built());
            }
        };
        result.map_err(|e| Status::from_error(super::Code::Internal, "compression failed", e))
    }

    /// Decompresses `input`; more than `limit` bytes of output is
    /// `RESOURCE_EXHAUSTED` (no zip bombs), corrupt input is `INTERNAL`.
    #[allow(unreachable_code, unused_variables)] // without gzip and zstd, every arm returns
    pub(crate) fn decompress(self, input: &[u8], limit: usize) -> Result<BytesMut, Status> {
        let mut out = Vec::with_capacity(input.len().saturating_mul(2).min(limit));
        let read_limit = limit as u64 + 1;
        let result: std::io::Result<usize> = match self {
            // Every member (RFC 1952), not just the first: a message may be
            // compressed as several.
            #[cfg(feature = "gzip")]
            Encoding::Gzip => {
                use std::io::Read;
                flate2::read::MultiGzDecoder::new(input)
                    .take(read_limit)
                    .read_to_end(&mut out)
            }
            #[cfg(feature = "zstd")]
            Encoding::Zstd => {
                use std::io::Read;
                zstd::stream::read::Decoder::new(input)
                    .and_then(|decoder| decoder.take(read_limit).read_to_end(&mut out))
            }
            #[allow(unreachable_patterns)]
            _ => {
                let _ = (input, read_limit, &mut out);
                return Err(self.not_built());
            }
        };
        match result {
            Err(e) => Err(Status::from_error(
                super::Code::Internal,
                format!("failed to decompress a {} message", self.as_str()),
                e,
            )),
            Ok(_) if out.len() > limit => Err(Status::resource_exhausted(format!(
                "decompressed message larger than the limit of {limit} bytes"
            ))),
            Ok(_) => Ok(BytesMut::from(&out[..])),
        }
    }
}

impl Encoding {
    /// The error for an encoding whose feature is off.
    #[allow(dead_code)]
    fn not_built(self) -> Status {
        Status::unimplemented(format!(
            "{} compression is not built in (feature `{}` of protocall)",
            self.as_str(),
            self.as_str()
        ))
    }
}

/// The `grpc-accept-encoding` value for `encodings`.
pub(crate) fn accept_value(encodings: &[Encoding]) -> http::HeaderValue {
    let names: Vec<&str> = encodings.iter().map(|e| e.as_str()).collect();
    http::HeaderValue::from_str(&names.join(",")).expect("encoding names are tokens")
}

/// True when a `grpc-accept-encoding` header lists `encoding`.
pub(crate) fn accepts(header: Option<&http::HeaderValue>, encoding: Encoding) -> bool {
    header
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|token| token.trim() == encoding.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let input = vec![7u8; 10_000];
        for &encoding in SUPPORTED {
            let mut compressed = BytesMut::new();
            encoding.compress(&input, &mut compressed).unwrap();
            assert!(compressed.len() < 200, "{encoding:?} {}", compressed.len());
            assert_eq!(
                &encoding.decompress(&compressed, 10_000).unwrap()[..],
                &input[..]
            );
            let err = encoding.decompress(&compressed, 9_999).unwrap_err();
            assert_eq!(err.code(), super::super::Code::ResourceExhausted);
        }
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn zip_bomb_is_bounded() {
        let input = vec![0u8; 64 << 20];
        let mut compressed = BytesMut::new();
        Encoding::Gzip.compress(&input, &mut compressed).unwrap();
        let err = Encoding::Gzip.decompress(&compressed, 4 << 20).unwrap_err();
        assert_eq!(err.code(), super::super::Code::ResourceExhausted);
    }

    #[test]
    fn garbage_is_internal() {
        for &encoding in SUPPORTED {
            let err = encoding
                .decompress(b"not compressed at all", 1000)
                .unwrap_err();
            assert_eq!(err.code(), super::super::Code::Internal);
        }
    }
}
