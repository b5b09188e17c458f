//! Errors of the protobuf layer: [`DecodeError`] and [`EncodeError`].

use std::borrow::Cow;
use std::fmt;

/// Why bytes could not be decoded as a message.
///
/// The error names the place it happened: the root message type and the path
/// of fields leading to the bad value, e.g.
/// `failed to decode user.GetUserResponse.profile.name: invalid UTF-8 in string field`.
///
/// ```
/// use protocall::{Message, types::Duration};
/// // field 1 (seconds) as a varint whose length runs past the end
/// let err = Duration::decode(&[0x08, 0xff][..]).unwrap_err();
/// assert!(err.to_string().contains("google.protobuf.Duration.seconds"), "{err}");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError {
    inner: Box<Inner>,
}

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    kind: DecodeErrorKind,
    /// Innermost first: `(message full name, field name or number)`.
    path: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

/// The category of a [`DecodeError`].
///
/// ```
/// use protocall::{DecodeErrorKind, Message, types::StringValue};
/// let err = StringValue::decode(&[0x0a, 0x01, 0xff][..]).unwrap_err();
/// assert_eq!(err.kind(), &DecodeErrorKind::InvalidUtf8);
/// assert_eq!(err.kind().to_string(), "invalid UTF-8 in string field");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended in the middle of a value.
    Truncated,
    /// A varint ran over ten bytes.
    VarintTooLong,
    /// A key carried wire type 6 or 7.
    InvalidWireType(u8),
    /// A key carried field number 0.
    FieldNumberZero,
    /// A length prefix ran past the end of its enclosing buffer.
    LengthOutOfBounds {
        /// The declared length.
        declared: u64,
        /// Bytes actually left.
        remaining: usize,
    },
    /// A `string` field held bytes that are not UTF-8.
    InvalidUtf8,
    /// Nesting went deeper than the recursion limit.
    RecursionLimit(u32),
    /// A group was not closed, or closed with the wrong field number.
    GroupMismatch,
    /// A field arrived with a wire type its declaration cannot accept.
    ///
    /// Message decoding treats this as an unknown field (as protobuf's own
    /// runtimes do); it only surfaces when a single value is decoded alone.
    WireTypeMismatch,
    /// Decoding would have allocated more than its memory budget
    /// (see [`DecodeOptions::memory_budget`](crate::DecodeOptions::memory_budget)).
    MemoryBudget,
    /// A well-known type held a value outside its legal range.
    OutOfRange(&'static str),
    /// Anything else, described in words.
    Other(Cow<'static, str>),
}

impl DecodeError {
    /// An error of the given kind, not yet attached to a field.
    ///
    /// ```
    /// use protocall::{DecodeError, DecodeErrorKind};
    /// let err = DecodeError::new(DecodeErrorKind::Other("no such user".into()));
    /// assert_eq!(err.to_string(), "failed to decode protobuf message: no such user");
    /// ```
    #[cold]
    pub fn new(kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            inner: Box::new(Inner {
                kind,
                path: Vec::new(),
            }),
        }
    }

    /// The category of this error.
    ///
    /// ```
    /// use protocall::{DecodeErrorKind, Message, types::Duration};
    /// let err = Duration::decode(&[0x08][..]).unwrap_err();
    /// assert_eq!(err.kind(), &DecodeErrorKind::Truncated);
    /// ```
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.inner.kind
    }

    /// The field path from the outermost message to the failing field, as
    /// `(message full name, field)` pairs, outermost first.
    ///
    /// ```
    /// use protocall::{Message, types::Any};
    /// // Any.type_url (field 1) holding invalid UTF-8
    /// let err = Any::decode(&[0x0a, 0x01, 0xff][..]).unwrap_err();
    /// let path: Vec<_> = err.path().collect();
    /// assert_eq!(path, [("google.protobuf.Any", "type_url")]);
    /// ```
    pub fn path(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .path
            .iter()
            .rev()
            .map(|(m, f)| (m.as_ref(), f.as_ref()))
    }

    /// Records that the error happened inside `field` of `message`.
    #[cold]
    pub(crate) fn push(mut self, message: &'static str, field: Cow<'static, str>) -> DecodeError {
        self.inner.path.push((Cow::Borrowed(message), field));
        self
    }

    /// [`DecodeError::push`] for names only known at run time (dynamic
    /// messages).
    #[cold]
    pub(crate) fn push_owned(mut self, message: String, field: String) -> DecodeError {
        self.inner
            .path
            .push((Cow::Owned(message), Cow::Owned(field)));
        self
    }

    pub(crate) fn is_wire_type_mismatch(&self) -> bool {
        self.inner.kind == DecodeErrorKind::WireTypeMismatch
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Truncated => f.write_str("input ended in the middle of a value"),
            DecodeErrorKind::VarintTooLong => f.write_str("varint longer than 10 bytes"),
            DecodeErrorKind::InvalidWireType(w) => write!(f, "invalid wire type {w}"),
            DecodeErrorKind::FieldNumberZero => f.write_str("field number 0 is not allowed"),
            DecodeErrorKind::LengthOutOfBounds {
                declared,
                remaining,
            } => write!(
                f,
                "length prefix {declared} exceeds the {remaining} bytes remaining"
            ),
            DecodeErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8 in string field"),
            DecodeErrorKind::RecursionLimit(limit) => {
                write!(
                    f,
                    "messages nested deeper than the recursion limit ({limit})"
                )
            }
            DecodeErrorKind::GroupMismatch => {
                f.write_str("group not closed by its matching end tag")
            }
            DecodeErrorKind::WireTypeMismatch => f.write_str("wire type does not match the field"),
            DecodeErrorKind::MemoryBudget => f.write_str(
                "the message would take more memory than its decode budget \
                 (DecodeOptions::memory_budget)",
            ),
            DecodeErrorKind::OutOfRange(what) => write!(f, "value out of range: {what}"),
            DecodeErrorKind::Other(what) => f.write_str(what),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failed to decode ")?;
        let mut path = self.path();
        match path.next() {
            None => f.write_str("protobuf message")?,
            Some((message, field)) => {
                f.write_str(message)?;
                if !field.is_empty() {
                    write!(f, ".{field}")?;
                }
                for (_, field) in path.filter(|(_, field)| !field.is_empty()) {
                    write!(f, ".{field}")?;
                }
            }
        }
        write!(f, ": {}", self.inner.kind)
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("kind", &self.inner.kind)
            .field("path", &self.path().collect::<Vec<_>>())
            .finish()
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeErrorKind> for DecodeError {
    fn from(kind: DecodeErrorKind) -> Self {
        DecodeError::new(kind)
    }
}

/// The output buffer was too small for the encoded message.
///
/// ```
/// use protocall::{Message, types::Duration};
/// let d = Duration { seconds: 300, ..Default::default() };
/// let mut small = [0u8; 1];
/// let err = d.encode(&mut &mut small[..]).unwrap_err();
/// assert_eq!(err.required(), 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError {
    required: usize,
    remaining: usize,
}

impl EncodeError {
    pub(crate) fn new(required: usize, remaining: usize) -> EncodeError {
        EncodeError {
            required,
            remaining,
        }
    }

    /// Bytes the message needed.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let d = Duration { seconds: 1, ..Default::default() };
    /// let err = d.encode(&mut &mut [0u8; 1][..]).unwrap_err();
    /// assert_eq!(err.required(), 2);
    /// ```
    pub fn required(&self) -> usize {
        self.required
    }

    /// Bytes the buffer had left.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let d = Duration { seconds: 1, ..Default::default() };
    /// let err = d.encode(&mut &mut [0u8; 1][..]).unwrap_err();
    /// assert_eq!(err.remaining(), 1);
    /// ```
    pub fn remaining(&self) -> usize {
        self.remaining
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "failed to encode message: needs {} bytes, buffer has {}",
            self.required, self.remaining
        )
    }
}

impl std::error::Error for EncodeError {}
