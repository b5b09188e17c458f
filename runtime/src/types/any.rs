//! Packing messages into `google.protobuf.Any` and unpacking them.

use std::borrow::Cow;

use super::Any;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::message::Message;

/// The fully qualified type name in a type URL: what follows the last `/`,
/// or the whole URL when it has none.
fn name_of(type_url: &str) -> &str {
    match type_url.rfind('/') {
        Some(slash) => &type_url[slash + 1..],
        None => type_url,
    }
}

impl Any {
    /// Packs `message`: its [`TYPE_URL`](Message::TYPE_URL) and its encoded
    /// bytes.
    ///
    /// ```
    /// use protocall::types::{Any, Duration};
    /// let any = Any::from_msg(&Duration::new(5, 0));
    /// assert_eq!(any.type_url, "type.googleapis.com/google.protobuf.Duration");
    /// assert_eq!(any.value, [0x08, 0x05]);
    /// ```
    pub fn from_msg<M: Message>(message: &M) -> Any {
        Any {
            type_url: M::TYPE_URL.to_owned(),
            value: message.encode_to_vec(),
            ..Default::default()
        }
    }

    /// Unpacks a message of type `M`.
    ///
    /// Fails when [`Any::is`] says the Any holds another type (an error of
    /// kind [`DecodeErrorKind::Other`] naming both type URLs), or when the
    /// bytes do not decode as `M`.
    ///
    /// ```
    /// use protocall::types::{Any, Duration, Timestamp};
    /// let any = Any::from_msg(&Timestamp::new(1_700_000_000, 0));
    /// assert_eq!(any.to_msg::<Timestamp>().unwrap(), Timestamp::new(1_700_000_000, 0));
    ///
    /// let err = any.to_msg::<Duration>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "failed to decode google.protobuf.Any.type_url: type URL \
    ///      `type.googleapis.com/google.protobuf.Timestamp` does not match the expected \
    ///      `type.googleapis.com/google.protobuf.Duration`",
    /// );
    /// ```
    pub fn to_msg<M: Message>(&self) -> Result<M, DecodeError> {
        if !self.is::<M>() {
            let what = format!(
                "type URL `{}` does not match the expected `{}`",
                self.type_url,
                M::TYPE_URL
            );
            return Err(DecodeError::new(DecodeErrorKind::Other(Cow::Owned(what)))
                .push(<Any as Message>::FULL_NAME, Cow::Borrowed("type_url")));
        }
        M::decode(self.value.as_slice())
            .map_err(|e| e.push(<Any as Message>::FULL_NAME, Cow::Borrowed("value")))
    }

    /// True when the Any holds an `M`: the type name after the last `/` of
    /// `type_url` is `M`'s. Any host or path before it is accepted, as
    /// `any.proto` allows.
    ///
    /// ```
    /// use protocall::types::{Any, Duration, Timestamp};
    /// let mut any = Any::from_msg(&Duration::new(1, 0));
    /// assert!(any.is::<Duration>());
    /// assert!(!any.is::<Timestamp>());
    ///
    /// any.type_url = "example.com/schemas/google.protobuf.Duration".to_owned();
    /// assert!(any.is::<Duration>());
    /// ```
    pub fn is<M: Message>(&self) -> bool {
        self.type_name() == name_of(M::TYPE_URL)
    }

    /// The fully qualified name of the packed type: the part of `type_url`
    /// after its last `/` (all of it when there is no `/`).
    ///
    /// ```
    /// use protocall::types::{Any, Empty};
    /// let any = Any::from_msg(&Empty::default());
    /// assert_eq!(any.type_name(), "google.protobuf.Empty");
    /// ```
    pub fn type_name(&self) -> &str {
        name_of(&self.type_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Duration, Empty, StringValue, Struct, Timestamp, Value};

    fn any_with_url(url: &str, value: Vec<u8>) -> Any {
        Any {
            type_url: url.to_owned(),
            value,
            ..Default::default()
        }
    }

    #[test]
    fn round_trip() {
        let t = Timestamp::new(-62_135_596_800, 7);
        let any = Any::from_msg(&t);
        assert_eq!(
            any.type_url,
            "type.googleapis.com/google.protobuf.Timestamp"
        );
        assert_eq!(any.to_msg::<Timestamp>(), Ok(t));

        let empty = Any::from_msg(&Empty::default());
        assert!(empty.value.is_empty());
        assert_eq!(empty.to_msg::<Empty>(), Ok(Empty::default()));

        let mut s = Struct::default();
        s.fields.insert("k".to_owned(), Value::from("v"));
        assert_eq!(Any::from_msg(&s).to_msg::<Struct>(), Ok(s));
    }

    #[test]
    fn survives_encoding_the_any_itself() {
        let any = Any::from_msg(&StringValue::from("hi"));
        let decoded = Any::decode(any.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded.to_msg::<StringValue>().unwrap().value, "hi");
    }

    #[test]
    fn boxed_messages() {
        let any = Any::from_msg(&Box::new(Duration::new(3, 0)));
        assert!(any.is::<Duration>());
        assert_eq!(*any.to_msg::<Box<Duration>>().unwrap(), Duration::new(3, 0));
    }

    #[test]
    fn is_accepts_any_prefix() {
        let bytes = Duration::new(1, 0).encode_to_vec();
        for url in [
            "type.googleapis.com/google.protobuf.Duration",
            "example.com/google.protobuf.Duration",
            "https://example.com/a/b/google.protobuf.Duration",
            "/google.protobuf.Duration",
            "google.protobuf.Duration",
        ] {
            let any = any_with_url(url, bytes.clone());
            assert!(any.is::<Duration>(), "{url}");
            assert_eq!(any.type_name(), "google.protobuf.Duration");
            assert_eq!(any.to_msg::<Duration>(), Ok(Duration::new(1, 0)), "{url}");
        }
    }

    #[test]
    fn is_rejects_other_names() {
        for url in [
            "",
            "/",
            "type.googleapis.com/",
            "type.googleapis.com/google.protobuf.Timestamp",
            "type.googleapis.com/google.protobuf.DurationX",
            "type.googleapis.com/Xgoogle.protobuf.Duration",
            "type.googleapis.com/google.protobuf.Duration/",
            "type.googleapis.com/protobuf.Duration",
            "Duration",
        ] {
            assert!(!any_with_url(url, Vec::new()).is::<Duration>(), "{url:?}");
        }
    }

    #[test]
    fn mismatch_error_names_both_urls() {
        let any = any_with_url("example.com/foo.Bar", Vec::new());
        let err = any.to_msg::<Timestamp>().unwrap_err();
        let DecodeErrorKind::Other(what) = err.kind() else {
            panic!("wrong kind: {err:?}");
        };
        assert!(what.contains("example.com/foo.Bar"), "{what}");
        assert!(
            what.contains("type.googleapis.com/google.protobuf.Timestamp"),
            "{what}"
        );
        assert_eq!(
            err.path().collect::<Vec<_>>(),
            [("google.protobuf.Any", "type_url")]
        );
    }

    #[test]
    fn bad_bytes_are_a_decode_error() {
        // field 1 (seconds) as a varint cut short
        let any = any_with_url(Timestamp::TYPE_URL, vec![0x08, 0xff]);
        let err = any.to_msg::<Timestamp>().unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::Truncated);
        assert!(
            err.to_string()
                .starts_with("failed to decode google.protobuf.Any.value.seconds:"),
            "{err}"
        );
    }
}
