//! The wrapper messages (`google.protobuf.BoolValue` and friends) to and
//! from the values they wrap.

use super::{
    BoolValue, BytesValue, DoubleValue, FloatValue, Int32Value, Int64Value, StringValue,
    UInt32Value, UInt64Value,
};

/// `From<$inner> for $wrapper` and back, each with a doc test built from
/// `$example` (an expression of type `$inner`).
macro_rules! wrapper {
    ($wrapper:ident, $inner:ty, $example:literal) => {
        #[doc = concat!("Wraps a `", stringify!($inner), "`.")]
        ///
        /// ```
        #[doc = concat!("use protocall::types::", stringify!($wrapper), ";")]
        #[doc = concat!("let inner: ", stringify!($inner), " = ", $example, ";")]
        #[doc = concat!("let wrapped = ", stringify!($wrapper), "::from(inner.clone());")]
        /// assert_eq!(wrapped.value, inner);
        /// ```
        impl From<$inner> for $wrapper {
            fn from(value: $inner) -> $wrapper {
                $wrapper { value, ..Default::default() }
            }
        }

        #[doc = concat!("Unwraps the `", stringify!($inner), "`, dropping any unknown fields.")]
        ///
        /// ```
        #[doc = concat!("use protocall::types::", stringify!($wrapper), ";")]
        #[doc = concat!("let inner: ", stringify!($inner), " = ", $example, ";")]
        #[doc = concat!("let wrapped = ", stringify!($wrapper), " { value: inner.clone(), ..Default::default() };")]
        #[doc = concat!("let unwrapped: ", stringify!($inner), " = wrapped.into();")]
        /// assert_eq!(unwrapped, inner);
        /// ```
        impl From<$wrapper> for $inner {
            fn from(wrapper: $wrapper) -> $inner {
                wrapper.value
            }
        }
    };
}

wrapper!(BoolValue, bool, "true");
wrapper!(Int32Value, i32, "-7");
wrapper!(Int64Value, i64, "i64::MIN");
wrapper!(UInt32Value, u32, "u32::MAX");
wrapper!(UInt64Value, u64, "u64::MAX");
wrapper!(FloatValue, f32, "1.5");
wrapper!(DoubleValue, f64, "-0.25");
wrapper!(StringValue, String, "String::from(\"hi\")");
wrapper!(BytesValue, Vec<u8>, "vec![0, 255]");

/// Wraps a copy of the string.
///
/// ```
/// use protocall::types::StringValue;
/// assert_eq!(StringValue::from("hi").value, "hi");
/// ```
impl From<&str> for StringValue {
    fn from(value: &str) -> StringValue {
        StringValue::from(value.to_owned())
    }
}

/// Wraps a copy of the bytes.
///
/// ```
/// use protocall::types::BytesValue;
/// assert_eq!(BytesValue::from(&b"\x00\xff"[..]).value, [0x00, 0xff]);
/// ```
impl From<&[u8]> for BytesValue {
    fn from(value: &[u8]) -> BytesValue {
        BytesValue::from(value.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    /// Wraps, encodes, decodes and unwraps `inner`.
    fn round_trip<W, T>(inner: T) -> T
    where
        W: Message + From<T>,
        T: From<W>,
    {
        let bytes = W::from(inner).encode_to_vec();
        T::from(W::decode(bytes.as_slice()).unwrap())
    }

    #[test]
    fn scalars_round_trip() {
        for b in [false, true] {
            assert_eq!(round_trip::<BoolValue, _>(b), b);
        }
        for n in [i32::MIN, -1, 0, 1, i32::MAX] {
            assert_eq!(round_trip::<Int32Value, _>(n), n);
        }
        for n in [i64::MIN, -1, 0, 1, i64::MAX] {
            assert_eq!(round_trip::<Int64Value, _>(n), n);
        }
        for n in [0, 1, u32::MAX] {
            assert_eq!(round_trip::<UInt32Value, _>(n), n);
        }
        for n in [0, 1, u64::MAX] {
            assert_eq!(round_trip::<UInt64Value, _>(n), n);
        }
        for x in [f32::MIN, -0.0, 0.0, f32::EPSILON, f32::INFINITY] {
            assert_eq!(round_trip::<FloatValue, _>(x).to_bits(), x.to_bits());
        }
        for x in [f64::MIN, -0.0, 0.0, f64::MIN_POSITIVE, f64::NEG_INFINITY] {
            assert_eq!(round_trip::<DoubleValue, _>(x).to_bits(), x.to_bits());
        }
        assert!(round_trip::<DoubleValue, _>(f64::NAN).is_nan());
    }

    #[test]
    fn strings_and_bytes() {
        for s in ["", "hello", "ünïcødé"] {
            assert_eq!(round_trip::<StringValue, _>(s.to_owned()), s);
            assert_eq!(StringValue::from(s), StringValue::from(s.to_owned()));
        }
        for b in [&[][..], &[0][..], &[0xff; 300][..]] {
            assert_eq!(round_trip::<BytesValue, _>(b.to_vec()), b);
            assert_eq!(BytesValue::from(b), BytesValue::from(b.to_vec()));
        }
    }

    #[test]
    fn wrapped_values_encode_as_field_one() {
        assert_eq!(Int32Value::from(150).encode_to_vec(), [0x08, 0x96, 0x01]);
        assert_eq!(StringValue::from("a").encode_to_vec(), [0x0a, 0x01, b'a']);
        // The default value is not written, as for any proto3 scalar.
        assert!(BoolValue::from(false).encode_to_vec().is_empty());
    }
}
