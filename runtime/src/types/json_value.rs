//! Building `google.protobuf.Value`, `Struct` and `ListValue` from Rust
//! values.

use std::collections::HashMap;

use super::value::Kind;
use super::{ListValue, NullValue, Struct, Value};
use crate::enumeration::EnumValue;

impl Value {
    /// A JSON `null`: `kind` set to `null_value`.
    ///
    /// (`Value::default()` has no kind at all, which `struct.proto` calls an
    /// invalid state.)
    ///
    /// ```
    /// use protocall::types::{NullValue, Value, value::Kind};
    /// let null = Value::null();
    /// assert_eq!(null.kind, Some(Kind::NullValue(NullValue::NullValue.into())));
    /// assert_ne!(null, Value::default());
    /// ```
    pub fn null() -> Value {
        Value::from(Kind::NullValue(EnumValue::Known(NullValue::NullValue)))
    }
}

/// Wraps a [`Kind`].
///
/// ```
/// use protocall::types::{Value, value::Kind};
/// let v = Value::from(Kind::BoolValue(true));
/// assert_eq!(v.kind, Some(Kind::BoolValue(true)));
/// ```
impl From<Kind> for Value {
    fn from(kind: Kind) -> Value {
        Value {
            kind: Some(kind),
            ..Default::default()
        }
    }
}

/// A JSON `null`, same as [`Value::null`].
///
/// ```
/// use protocall::types::{NullValue, Value};
/// assert_eq!(Value::from(NullValue::NullValue), Value::null());
/// ```
impl From<NullValue> for Value {
    fn from(null: NullValue) -> Value {
        Value::from(Kind::NullValue(EnumValue::Known(null)))
    }
}

/// A JSON number.
///
/// ```
/// use protocall::types::{Value, value::Kind};
/// assert_eq!(Value::from(1.5).kind, Some(Kind::NumberValue(1.5)));
/// ```
impl From<f64> for Value {
    fn from(number: f64) -> Value {
        Value::from(Kind::NumberValue(number))
    }
}

/// A JSON number; every `f32` is exactly an `f64`.
///
/// ```
/// use protocall::types::{Value, value::Kind};
/// assert_eq!(Value::from(0.5f32).kind, Some(Kind::NumberValue(0.5)));
/// ```
impl From<f32> for Value {
    fn from(number: f32) -> Value {
        Value::from(f64::from(number))
    }
}

/// A JSON number; every `i32` is exactly an `f64`.
///
/// ```
/// use protocall::types::{Value, value::Kind};
/// assert_eq!(Value::from(-7).kind, Some(Kind::NumberValue(-7.0)));
/// ```
impl From<i32> for Value {
    fn from(number: i32) -> Value {
        Value::from(f64::from(number))
    }
}

/// A JSON number; every `u32` is exactly an `f64`.
///
/// ```
/// use protocall::types::{Value, value::Kind};
/// assert_eq!(Value::from(u32::MAX).kind, Some(Kind::NumberValue(4_294_967_295.0)));
/// ```
impl From<u32> for Value {
    fn from(number: u32) -> Value {
        Value::from(f64::from(number))
    }
}

/// A JSON boolean.
///
/// ```
/// use protocall::types::{Value, value::Kind};
/// assert_eq!(Value::from(true).kind, Some(Kind::BoolValue(true)));
/// ```
impl From<bool> for Value {
    fn from(boolean: bool) -> Value {
        Value::from(Kind::BoolValue(boolean))
    }
}

/// A JSON string.
///
/// ```
/// use protocall::types::{Value, value::Kind};
/// let v = Value::from(String::from("hi"));
/// assert_eq!(v.kind, Some(Kind::StringValue("hi".to_owned())));
/// ```
impl From<String> for Value {
    fn from(string: String) -> Value {
        Value::from(Kind::StringValue(string))
    }
}

/// A JSON string.
///
/// ```
/// use protocall::types::{Value, value::Kind};
/// assert_eq!(Value::from("hi").kind, Some(Kind::StringValue("hi".to_owned())));
/// ```
impl From<&str> for Value {
    fn from(string: &str) -> Value {
        Value::from(string.to_owned())
    }
}

/// A JSON object.
///
/// ```
/// use protocall::types::{Struct, Value, value::Kind};
/// let object: Struct = [("a", Value::from(1.0))].into_iter().collect();
/// let v = Value::from(object.clone());
/// assert_eq!(v.kind, Some(Kind::StructValue(object)));
/// ```
impl From<Struct> for Value {
    fn from(object: Struct) -> Value {
        Value::from(Kind::StructValue(object))
    }
}

/// A JSON array.
///
/// ```
/// use protocall::types::{ListValue, Value, value::Kind};
/// let list = ListValue::from(vec![Value::from(true)]);
/// let v = Value::from(list.clone());
/// assert_eq!(v.kind, Some(Kind::ListValue(list)));
/// ```
impl From<ListValue> for Value {
    fn from(list: ListValue) -> Value {
        Value::from(Kind::ListValue(list))
    }
}

/// A JSON array of `values`.
///
/// ```
/// use protocall::types::{ListValue, Value, value::Kind};
/// let v = Value::from(vec![Value::from(1.0), Value::null()]);
/// let Some(Kind::ListValue(list)) = v.kind else { panic!() };
/// assert_eq!(list.values, [Value::from(1.0), Value::null()]);
/// ```
impl From<Vec<Value>> for Value {
    fn from(values: Vec<Value>) -> Value {
        Value::from(ListValue::from(values))
    }
}

/// A list of `values`.
///
/// ```
/// use protocall::types::{ListValue, Value};
/// let list = ListValue::from(vec![Value::from("a"), Value::from("b")]);
/// assert_eq!(list.values.len(), 2);
/// ```
impl From<Vec<Value>> for ListValue {
    fn from(values: Vec<Value>) -> ListValue {
        ListValue {
            values,
            ..Default::default()
        }
    }
}

/// Collects values into a list.
///
/// ```
/// use protocall::types::{ListValue, Value};
/// let list: ListValue = (1..=3).map(Value::from).collect();
/// assert_eq!(list.values, [Value::from(1), Value::from(2), Value::from(3)]);
/// ```
impl FromIterator<Value> for ListValue {
    fn from_iter<I: IntoIterator<Item = Value>>(values: I) -> ListValue {
        ListValue::from(values.into_iter().collect::<Vec<_>>())
    }
}

/// An object with these `fields`.
///
/// ```
/// use std::collections::HashMap;
/// use protocall::types::{Struct, Value};
/// let fields = HashMap::from([("on".to_owned(), Value::from(true))]);
/// let object = Struct::from(fields);
/// assert_eq!(object.fields["on"], Value::from(true));
/// ```
impl From<HashMap<String, Value>> for Struct {
    fn from(fields: HashMap<String, Value>) -> Struct {
        Struct {
            fields,
            ..Default::default()
        }
    }
}

/// Collects `(name, value)` pairs into an object; a later pair replaces an
/// earlier one with the same name.
///
/// ```
/// use protocall::types::{Struct, Value};
/// let object: Struct = [("n", Value::from(1.0)), ("n", Value::from(2.0))].into_iter().collect();
/// assert_eq!(object.fields.len(), 1);
/// assert_eq!(object.fields["n"], Value::from(2.0));
/// ```
impl<K: Into<String>> FromIterator<(K, Value)> for Struct {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(fields: I) -> Struct {
        Struct::from(
            fields
                .into_iter()
                .map(|(k, v)| (k.into(), v))
                .collect::<HashMap<_, _>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn kind(v: Value) -> Kind {
        v.kind.expect("kind set")
    }

    #[test]
    fn scalars() {
        assert_eq!(kind(Value::from(2.5)), Kind::NumberValue(2.5));
        assert_eq!(kind(Value::from(-1.0f32)), Kind::NumberValue(-1.0));
        assert_eq!(
            kind(Value::from(i32::MIN)),
            Kind::NumberValue(-2_147_483_648.0)
        );
        assert_eq!(
            kind(Value::from(u32::MAX)),
            Kind::NumberValue(4_294_967_295.0)
        );
        assert_eq!(kind(Value::from(false)), Kind::BoolValue(false));
        assert_eq!(kind(Value::from("")), Kind::StringValue(String::new()));
        assert_eq!(
            kind(Value::from("é".to_owned())),
            Kind::StringValue("é".to_owned())
        );
        assert_eq!(
            kind(Value::null()),
            Kind::NullValue(EnumValue::Known(NullValue::NullValue))
        );
        assert_eq!(Value::from(NullValue::NullValue), Value::null());
    }

    #[test]
    fn non_finite_numbers_are_kept() {
        // Not representable in JSON, but the conversion must not panic or alter them.
        assert!(matches!(kind(Value::from(f64::NAN)), Kind::NumberValue(n) if n.is_nan()));
        assert_eq!(
            kind(Value::from(f64::INFINITY)),
            Kind::NumberValue(f64::INFINITY)
        );
    }

    #[test]
    fn nested_round_trip() {
        let inner: Struct = [(
            "list",
            Value::from(vec![Value::from(1), Value::null(), Value::from("x")]),
        )]
        .into_iter()
        .collect();
        let outer: Struct = [
            ("inner".to_owned(), Value::from(inner.clone())),
            ("flag".to_owned(), Value::from(true)),
        ]
        .into_iter()
        .collect();
        let value = Value::from(outer);
        let decoded = Value::decode(value.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, value);
        let Some(Kind::StructValue(s)) = decoded.kind else {
            panic!("{decoded:?}")
        };
        assert_eq!(s.fields["inner"], Value::from(inner));
        assert_eq!(s.fields["flag"], Value::from(true));
    }

    #[test]
    fn null_encodes_as_field_one() {
        // Value.null_value is field 1, varint 0: present even though zero.
        assert_eq!(Value::null().encode_to_vec(), [0x08, 0x00]);
        assert!(Value::default().encode_to_vec().is_empty());
    }

    #[test]
    fn lists() {
        let list: ListValue = ["a", "b"].into_iter().map(Value::from).collect();
        assert_eq!(
            list,
            ListValue::from(vec![Value::from("a"), Value::from("b")])
        );
        assert_eq!(Value::from(Vec::new()), Value::from(ListValue::default()));
    }
}
