//! Typed protobuf enums: the [`Enumeration`] trait and [`EnumValue`].

use std::fmt;
use std::hash::Hash;

/// A Rust enum generated from a protobuf enum.
///
/// ```
/// use protocall::{Enumeration, types::NullValue};
/// assert_eq!(NullValue::from_i32(0), Some(NullValue::NullValue));
/// assert_eq!(NullValue::NullValue.as_str_name(), "NULL_VALUE");
/// ```
pub trait Enumeration: Copy + Eq + Hash + Default + fmt::Debug + Send + Sync + 'static {
    /// Full proto name, e.g. `google.protobuf.NullValue`.
    ///
    /// ```
    /// use protocall::{Enumeration, types::Syntax};
    /// assert_eq!(Syntax::FULL_NAME, "google.protobuf.Syntax");
    /// ```
    const FULL_NAME: &'static str;
    /// The variant with number `value`, if the enum declares one.
    ///
    /// ```
    /// use protocall::{Enumeration, types::Syntax};
    /// assert_eq!(Syntax::from_i32(1), Some(Syntax::Proto3));
    /// assert_eq!(Syntax::from_i32(9), None);
    /// ```
    fn from_i32(value: i32) -> Option<Self>;
    /// The variant's number.
    ///
    /// ```
    /// use protocall::{Enumeration, types::Syntax};
    /// assert_eq!(Syntax::Editions.to_i32(), 2);
    /// ```
    fn to_i32(self) -> i32;
    /// The variant's name as written in the `.proto` file.
    ///
    /// ```
    /// use protocall::{Enumeration, types::Syntax};
    /// assert_eq!(Syntax::Proto3.as_str_name(), "SYNTAX_PROTO3");
    /// ```
    fn as_str_name(self) -> &'static str;
    /// The variant whose `.proto` name is `name`.
    ///
    /// ```
    /// use protocall::{Enumeration, types::Syntax};
    /// assert_eq!(Syntax::from_str_name("SYNTAX_PROTO3"), Some(Syntax::Proto3));
    /// assert_eq!(Syntax::from_str_name("Proto3"), None);
    /// ```
    fn from_str_name(name: &str) -> Option<Self>;
}

/// The value of an open (proto3) enum field: a known variant, or a number
/// the schema does not declare (kept so it survives a round trip).
///
/// ```
/// use protocall::{EnumValue, types::NullValue};
/// let v: EnumValue<NullValue> = EnumValue::from(NullValue::NullValue);
/// assert_eq!(v, NullValue::NullValue);
/// let unknown = EnumValue::<NullValue>::from_i32(7);
/// assert_eq!(unknown, EnumValue::Unknown(7));
/// assert_eq!(unknown.known(), None);
/// assert_eq!(unknown.to_i32(), 7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnumValue<E> {
    /// A value the schema declares.
    Known(E),
    /// A value the schema does not declare.
    Unknown(i32),
}

impl<E: Enumeration> EnumValue<E> {
    /// `Known` when `value` is declared by `E`, `Unknown` otherwise.
    ///
    /// ```
    /// use protocall::{EnumValue, types::Syntax};
    /// assert_eq!(EnumValue::<Syntax>::from_i32(1), EnumValue::Known(Syntax::Proto3));
    /// assert_eq!(EnumValue::<Syntax>::from_i32(9), EnumValue::Unknown(9));
    /// ```
    #[inline]
    pub fn from_i32(value: i32) -> EnumValue<E> {
        match E::from_i32(value) {
            Some(known) => EnumValue::Known(known),
            None => EnumValue::Unknown(value),
        }
    }

    /// The number on the wire.
    ///
    /// ```
    /// use protocall::{EnumValue, types::Syntax};
    /// assert_eq!(EnumValue::Known(Syntax::Editions).to_i32(), 2);
    /// assert_eq!(EnumValue::<Syntax>::Unknown(9).to_i32(), 9);
    /// ```
    #[inline]
    pub fn to_i32(self) -> i32 {
        match self {
            EnumValue::Known(known) => known.to_i32(),
            EnumValue::Unknown(value) => value,
        }
    }

    /// The known variant, if any.
    ///
    /// ```
    /// use protocall::{EnumValue, types::Syntax};
    /// assert_eq!(EnumValue::Known(Syntax::Proto3).known(), Some(Syntax::Proto3));
    /// assert_eq!(EnumValue::<Syntax>::Unknown(9).known(), None);
    /// ```
    #[inline]
    pub fn known(self) -> Option<E> {
        match self {
            EnumValue::Known(known) => Some(known),
            EnumValue::Unknown(_) => None,
        }
    }

    /// The known variant, or `E::default()` (the enum's first value) for an
    /// unknown number.
    ///
    /// ```
    /// use protocall::{EnumValue, types::Syntax};
    /// assert_eq!(EnumValue::Known(Syntax::Proto3).known_or_default(), Syntax::Proto3);
    /// assert_eq!(EnumValue::<Syntax>::Unknown(9).known_or_default(), Syntax::Proto2);
    /// ```
    #[inline]
    pub fn known_or_default(self) -> E {
        self.known().unwrap_or_default()
    }
}

impl<E: Enumeration> Default for EnumValue<E> {
    fn default() -> Self {
        EnumValue::Known(E::default())
    }
}

impl<E: Enumeration> From<E> for EnumValue<E> {
    fn from(known: E) -> Self {
        EnumValue::Known(known)
    }
}

impl<E: Enumeration> From<i32> for EnumValue<E> {
    fn from(value: i32) -> Self {
        EnumValue::from_i32(value)
    }
}

impl<E: Enumeration> From<EnumValue<E>> for i32 {
    fn from(value: EnumValue<E>) -> i32 {
        value.to_i32()
    }
}

impl<E: Enumeration> PartialEq<E> for EnumValue<E> {
    fn eq(&self, other: &E) -> bool {
        *self == EnumValue::Known(*other)
    }
}

impl<E: fmt::Debug> fmt::Debug for EnumValue<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnumValue::Known(known) => known.fmt(f),
            EnumValue::Unknown(value) => write!(f, "Unknown({value})"),
        }
    }
}
