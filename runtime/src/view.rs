//! Borrowed views: messages decoded without copying their strings, bytes
//! or sub-messages.
//!
//! For a message generated with views on (`views(paths)` on the code
//! generator's builder, or `views=PATH` as a plugin parameter), protocall
//! writes beside `Foo` a `FooView<'a>`: the same fields, with `&'a str` for
//! strings, `&'a [u8]` for bytes, `BarView<'a>` for sub-messages, vectors
//! of those for repeated fields and a [`MapView`] for maps. Decoding a view
//! checks everything owned decoding checks (UTF-8, recursion limit, memory
//! budget, wire types, groups), and [`MessageView::to_owned_message`] (and
//! the views' inherent `to_owned`) gives the owned message owned decoding
//! would have built from the same bytes.
//!
//! ```
//! use protocall::view::{MessageView, UnknownView};
//! use protocall::{DecodeError, Message, __private::{Decoder, WireType, codec::{Str, Int32}, view}};
//! // What the generator writes for `message Note { string text = 1; int32 stars = 2; }`,
//! // in short:
//! #[derive(Debug, Default, Clone, PartialEq)]
//! struct Note { text: String, stars: i32 }
//! # impl Message for Note {
//! #   const FULL_NAME: &'static str = "demo.Note";
//! #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Note";
//! #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
//! #       Str::encode_implicit(1, &self.text, buf); Int32::encode_implicit(2, &self.stars, buf);
//! #   }
//! #   fn encoded_len(&self) -> usize { Str::encoded_len_implicit(1, &self.text) + Int32::encoded_len_implicit(2, &self.stars) }
//! #   fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
//! #       match number { 1 => Str::merge(wire_type, &mut self.text, decoder), 2 => Int32::merge(wire_type, &mut self.stars, decoder), _ => decoder.skip_field(number, wire_type, None) }
//! #   }
//! # }
//! #[derive(Debug, Default, Clone, PartialEq)]
//! struct NoteView<'a> { text: &'a str, stars: i32 }
//! impl<'a> MessageView<'a> for NoteView<'a> {
//!     type Owned = Note;
//!     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'a>)
//!         -> Result<(), DecodeError> {
//!         match number {
//!             1 => view::merge::<Str, _>(wire_type, &mut self.text, decoder),
//!             2 => Int32::merge(wire_type, &mut self.stars, decoder),
//!             _ => Err(view::not_mine()),
//!         }
//!     }
//!     fn to_owned_message(&self) -> Note {
//!         Note { text: self.text.into(), stars: self.stars }
//!     }
//! }
//! let bytes = Note { text: "hello".into(), stars: 5 }.encode_to_vec();
//! let note = NoteView::decode(&bytes)?;
//! assert_eq!(note.text, "hello"); // borrowed from `bytes`
//! assert_eq!(note.to_owned_message(), Note::decode(&bytes[..])?);
//! # Ok::<(), DecodeError>(())
//! ```

use std::fmt;

use bytes::{Buf, BufMut, Bytes};

use crate::decoder::Decoder;
use crate::error::DecodeError;
use crate::message::{DecodeOptions, Message};
use crate::unknown::UnknownFields;
use crate::wire::WireType;

/// A message decoded in place from `&'a [u8]`: what generated `FooView<'a>`
/// types implement.
pub trait MessageView<'a>: Default + Sized {
    /// The owned message this is a view of.
    type Owned: Message;

    /// Heap bytes a default view holds (a boxed view's box), charged to the
    /// decode's memory budget when one is created.
    #[doc(hidden)]
    const DEFAULT_HEAP: usize = 0;

    /// Reads field `number` (its key already consumed). A field the view
    /// does not declare returns [`not_mine`](crate::__private::view::not_mine),
    /// and the decode keeps it as an unknown field.
    fn merge_field(
        &mut self,
        number: u32,
        wire_type: WireType,
        decoder: &mut Decoder<'a>,
    ) -> Result<(), DecodeError>;

    /// Where unknown fields go; `None` drops them (as the owned message
    /// does when generated with `discard_unknown_fields`).
    fn unknown_fields_mut(&mut self) -> Option<&mut UnknownView<'a>> {
        None
    }

    /// The owned message: what `Self::Owned::decode` builds from the same
    /// bytes.
    fn to_owned_message(&self) -> Self::Owned;

    /// Decodes a view of all of `buf` with the default limits.
    fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        DecodeOptions::new().decode_view(buf)
    }

    /// Decodes more of the message from `buf` into this view: scalars are
    /// replaced, sub-messages merged, repeated fields appended.
    fn merge(&mut self, buf: &'a [u8]) -> Result<(), DecodeError> {
        DecodeOptions::new().merge_view(self, buf)
    }
}

/// A message generated with a view: names its view type, so code can be
/// generic over messages and their views ([`ViewOf`] needs it).
///
/// # Safety
///
/// `View<'a>` must be covariant in `'a` (as a struct of shared references,
/// scalars, vectors and boxes of those is): [`ViewOf::get`] hands out a
/// view of a longer-lived input as one of a shorter-lived borrow. The
/// generator's impls hold to it; a hand-written view with interior
/// mutability over `'a` would not.
///
/// ```
/// use protocall::{Message, view::{HasView, MessageView}};
/// fn decode_twice<M: HasView + PartialEq>(bytes: &[u8]) -> bool {
///     let view = M::View::decode(bytes).unwrap();
///     view.to_owned_message() == M::decode(bytes).unwrap()
/// }
/// ```
pub unsafe trait HasView: Message {
    /// The view, `NameView<'a>` for `Name`.
    type View<'a>: MessageView<'a, Owned = Self> + Clone + fmt::Debug + PartialEq + Send + Sync;
}

/// A boxed view is a view: recursive fields are stored boxed.
impl<'a, V: MessageView<'a>> MessageView<'a> for Box<V> {
    type Owned = Box<V::Owned>;
    const DEFAULT_HEAP: usize = core::mem::size_of::<V>() + V::DEFAULT_HEAP;

    #[inline]
    fn merge_field(
        &mut self,
        number: u32,
        wire_type: WireType,
        decoder: &mut Decoder<'a>,
    ) -> Result<(), DecodeError> {
        (**self).merge_field(number, wire_type, decoder)
    }

    fn unknown_fields_mut(&mut self) -> Option<&mut UnknownView<'a>> {
        (**self).unknown_fields_mut()
    }

    fn to_owned_message(&self) -> Box<V::Owned> {
        Box::new((**self).to_owned_message())
    }
}

impl DecodeOptions {
    /// Decodes a view of all of `buf` under these limits.
    ///
    /// ```
    /// use protocall::{DecodeOptions, Message, types::Duration, view::MessageView};
    /// # use protocall::{DecodeError, __private::{Decoder, WireType, codec::Int64, view}};
    /// # #[derive(Default)]
    /// # struct DurationView { seconds: i64 }
    /// # impl<'a> MessageView<'a> for DurationView {
    /// #     type Owned = Duration;
    /// #     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'a>) -> Result<(), DecodeError> {
    /// #         match number { 1 => Int64::merge(wire_type, &mut self.seconds, decoder), _ => Err(view::not_mine()) }
    /// #     }
    /// #     fn to_owned_message(&self) -> Duration { Duration { seconds: self.seconds, ..Default::default() } }
    /// # }
    /// let bytes = Duration { seconds: 7, ..Default::default() }.encode_to_vec();
    /// let view: DurationView = DecodeOptions::new().recursion_limit(10).decode_view(&bytes).unwrap();
    /// assert_eq!(view.seconds, 7);
    /// ```
    #[inline]
    pub fn decode_view<'a, V: MessageView<'a>>(&self, buf: &'a [u8]) -> Result<V, DecodeError> {
        let mut view = V::default();
        self.merge_view(&mut view, buf)?;
        Ok(view)
    }

    /// Merges all of `buf` into `view` under these limits.
    #[inline]
    pub fn merge_view<'a, V: MessageView<'a>>(
        &self,
        view: &mut V,
        buf: &'a [u8],
    ) -> Result<(), DecodeError> {
        let mut decoder =
            Decoder::new(buf, self.recursion()).with_budget(self.budget_for(buf.len()));
        crate::message::merge_fields(&mut Viewed(view), &mut decoder, None)
    }
}

/// A view as the field reader `merge_fields` drives.
pub(crate) struct Viewed<'v, V>(pub(crate) &'v mut V);

/// The unknown fields of a view: the records as they are in the input
/// (plus, rarely, values a closed enum does not name, kept as numbers).
#[derive(Clone, Default, PartialEq)]
pub struct UnknownView<'a> {
    parts: Vec<Part<'a>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part<'a> {
    /// Whole records, keys included.
    Records(&'a [u8]),
    /// A varint field (a closed enum's unnamed value).
    Varint(u32, u64),
    /// A length-delimited field (a map entry whose closed-enum value is
    /// unnamed).
    Delimited(u32, &'a [u8]),
}

impl<'a> UnknownView<'a> {
    /// True when the message had no unknown fields.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The unknown fields as [`UnknownFields`] (what the owned message keeps).
    pub fn to_unknown_fields(&self) -> UnknownFields {
        let mut unknown = UnknownFields::new();
        for part in &self.parts {
            match *part {
                Part::Records(bytes) => unknown.push_encoded(bytes),
                Part::Varint(number, value) => unknown.push_varint(number, value),
                Part::Delimited(number, bytes) => unknown.push_bytes(number, bytes),
            }
        }
        unknown
    }

    /// Keeps `records` (whole records, keys included), charging the
    /// decode's budget for the slot: an unknown field can be two bytes on
    /// the wire.
    pub(crate) fn push_records(
        &mut self,
        records: &'a [u8],
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        decoder.make_room(&mut self.parts)?;
        self.parts.push(Part::Records(records));
        Ok(())
    }

    pub(crate) fn push_varint(
        &mut self,
        number: u32,
        value: u64,
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        decoder.make_room(&mut self.parts)?;
        self.parts.push(Part::Varint(number, value));
        Ok(())
    }

    pub(crate) fn push_delimited(
        &mut self,
        number: u32,
        bytes: &'a [u8],
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        decoder.make_room(&mut self.parts)?;
        self.parts.push(Part::Delimited(number, bytes));
        Ok(())
    }
}

impl fmt::Debug for UnknownView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_unknown_fields(), f)
    }
}

/// A map field's entries as they came, in wire order. A key that comes
/// more than once keeps its last value, as in the owned map.
///
/// ```
/// use protocall::view::MapView;
/// let map: MapView<&str, i32> = [("a", 1), ("b", 2), ("a", 3)].into_iter().collect();
/// assert_eq!(map.get(&"a"), Some(&3));
/// assert_eq!(map.entries().len(), 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MapView<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for MapView<K, V> {
    fn default() -> Self {
        MapView {
            entries: Vec::new(),
        }
    }
}

impl<K: PartialEq, V> MapView<K, V> {
    /// The value of `key`: the last entry with that key.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

impl<K, V> MapView<K, V> {
    /// Every entry in wire order, repeated keys included.
    pub fn entries(&self) -> &[(K, V)] {
        &self.entries
    }

    /// True when no entry was decoded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn entries_mut(&mut self) -> &mut Vec<(K, V)> {
        &mut self.entries
    }

    /// The owned map, each entry converted by `f` (later keys win).
    #[doc(hidden)]
    pub fn collect_owned<M: Default + Extend<(OK, OV)>, OK, OV>(
        &self,
        mut f: impl FnMut(&K, &V) -> (OK, OV),
    ) -> M {
        let mut map = M::default();
        map.extend(self.entries.iter().map(|(k, v)| f(k, v)));
        map
    }
}

impl<K, V> FromIterator<(K, V)> for MapView<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        MapView {
            entries: iter.into_iter().collect(),
        }
    }
}

/// A view that owns its input: the `Bytes` it was decoded from and the
/// view into them, so it is `'static` and `Send` (it can be held across
/// `.await`, sent to another task, returned from a function) and nothing
/// is copied. It is a [`Message`] too, whose encoding is the bytes it came
/// from: a server handler can take a request as `Request<ViewOf<Req>>` and
/// a client can return `ViewOf<Resp>` (code generator options
/// `view_requests`/`view_responses`), and gRPC's `Bytes` payload is then
/// the view's input.
///
/// ```
/// use protocall::{Message, view::{HasView, MessageView, ViewOf}};
/// # use protocall::{DecodeError, __private::{Decoder, WireType, codec::Int64, view}};
/// # // What the generator writes for `message Wait { int64 seconds = 1; }`, in short.
/// # #[derive(Default, Clone, Debug, PartialEq)]
/// # struct Wait { seconds: i64 }
/// # impl Message for Wait {
/// #     const FULL_NAME: &'static str = "demo.Wait"; const TYPE_URL: &'static str = "type.googleapis.com/demo.Wait";
/// #     fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) { Int64::encode_implicit(1, &self.seconds, buf) }
/// #     fn encoded_len(&self) -> usize { Int64::encoded_len_implicit(1, &self.seconds) }
/// #     fn merge_field(&mut self, n: u32, w: WireType, d: &mut Decoder<'_>) -> Result<(), DecodeError> {
/// #         match n { 1 => Int64::merge(w, &mut self.seconds, d), _ => d.skip_field(n, w, None) }
/// #     }
/// # }
/// # #[derive(Default, Clone, Debug, PartialEq)]
/// # struct WaitView { seconds: i64 }
/// # impl<'a> MessageView<'a> for WaitView {
/// #     type Owned = Wait;
/// #     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'a>) -> Result<(), DecodeError> {
/// #         match number { 1 => Int64::merge(wire_type, &mut self.seconds, decoder), _ => Err(view::not_mine()) }
/// #     }
/// #     fn to_owned_message(&self) -> Wait { Wait { seconds: self.seconds } }
/// # }
/// # unsafe impl HasView for Wait { type View<'a> = WaitView; }
/// let bytes = protocall::bytes::Bytes::from(Wait { seconds: 9 }.encode_to_vec());
/// let held: ViewOf<Wait> = ViewOf::new(bytes.clone())?;
/// let handle = std::thread::spawn(move || held.get().seconds); // 'static + Send
/// assert_eq!(handle.join().unwrap(), 9);
/// // As a message, it writes back the bytes it came from.
/// let again = ViewOf::<Wait>::decode(bytes.clone())?;
/// assert_eq!(again.encode_to_vec(), bytes);
/// assert_eq!(again.to_owned_message(), Wait { seconds: 9 });
/// # Ok::<(), protocall::DecodeError>(())
/// ```
pub struct ViewOf<M: HasView> {
    // Declared before `bytes`, so dropped first: it points into them.
    view: M::View<'static>,
    bytes: Bytes,
}

impl<M: HasView> ViewOf<M> {
    /// Decodes a view of `bytes` with the default limits, keeping them.
    pub fn new(bytes: Bytes) -> Result<ViewOf<M>, DecodeError> {
        ViewOf::with_options(bytes, &DecodeOptions::new())
    }

    /// Decodes a view of `bytes` under `options`, keeping them.
    pub fn with_options(bytes: Bytes, options: &DecodeOptions) -> Result<ViewOf<M>, DecodeError> {
        // SAFETY: the contents of a `Bytes` never move or change while a
        // handle to them lives, and `bytes` lives in the same struct as the
        // view, dropped after it. The `'static` never leaves this type:
        // `get` gives the view back at the lifetime of a borrow of `self`.
        let input: &'static [u8] =
            unsafe { core::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) };
        let view = options.decode_view::<M::View<'static>>(input)?;
        Ok(ViewOf { view, bytes })
    }

    /// The view, borrowed from `self`.
    pub fn get(&self) -> &M::View<'_> {
        // SAFETY: `HasView` promises `View<'a>` is covariant in `'a`, so a
        // view of the input (alive as long as `self`) may be seen as one
        // of the shorter borrow; the cast changes nothing but the lifetime.
        unsafe { &*core::ptr::from_ref(&self.view).cast::<M::View<'_>>() }
    }

    /// The bytes the view was decoded from.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The owned message (`M::decode` of the same bytes).
    pub fn to_owned_message(&self) -> M {
        self.get().to_owned_message()
    }

    /// The bytes the view was decoded from, the view dropped.
    pub fn into_bytes(self) -> Bytes {
        let ViewOf { view, bytes } = self;
        drop(view);
        bytes
    }
}

impl<M: HasView> Default for ViewOf<M> {
    fn default() -> Self {
        ViewOf {
            view: Default::default(),
            bytes: Bytes::new(),
        }
    }
}

impl<M: HasView> Clone for ViewOf<M> {
    fn clone(&self) -> Self {
        // The clone's view points into the same shared bytes.
        ViewOf {
            view: self.view.clone(),
            bytes: self.bytes.clone(),
        }
    }
}

impl<M: HasView> fmt::Debug for ViewOf<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.get(), f)
    }
}

impl<M: HasView> PartialEq for ViewOf<M> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// A `ViewOf` is decoded whole, from one `Bytes` (`decode`, `merge` —
/// which decodes the concatenation, as protobuf merges — and
/// `DecodeOptions`), never field by field: as a sub-message field it
/// refuses to decode.
impl<M: HasView> Message for ViewOf<M> {
    const FULL_NAME: &'static str = M::FULL_NAME;
    const TYPE_URL: &'static str = M::TYPE_URL;

    fn encode_raw<B: BufMut + ?Sized>(&self, buf: &mut B) {
        buf.put_slice(&self.bytes);
    }

    fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    fn merge_field(
        &mut self,
        _number: u32,
        _wire_type: WireType,
        _decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        Err(DecodeError::new(crate::DecodeErrorKind::Other(
            "a ViewOf is decoded whole (ViewOf::new, Message::decode), not as a sub-message".into(),
        )))
    }

    fn merge_with_options<B: Buf>(
        &mut self,
        mut buf: B,
        options: &DecodeOptions,
    ) -> Result<(), DecodeError> {
        if self.bytes.is_empty() {
            *self = ViewOf::with_options(buf.copy_to_bytes(buf.remaining()), options)?;
            return Ok(());
        }
        // More of the message: protobuf merges a concatenation.
        let mut joined = Vec::with_capacity(self.bytes.len() + buf.remaining());
        joined.extend_from_slice(&self.bytes);
        while buf.has_remaining() {
            let chunk = buf.chunk();
            joined.extend_from_slice(chunk);
            let n = chunk.len();
            buf.advance(n);
        }
        *self = ViewOf::with_options(Bytes::from(joined), options)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::view as read;
    use crate::codec::{Int64, Str};

    /// `message Note { string text = 1; int64 stars = 2; repeated string tags = 3; }`
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Note {
        text: String,
        stars: i64,
        tags: Vec<String>,
        unknown: UnknownFields,
    }

    impl Message for Note {
        const FULL_NAME: &'static str = "demo.Note";
        const TYPE_URL: &'static str = "type.googleapis.com/demo.Note";
        fn encode_raw<B: BufMut + ?Sized>(&self, buf: &mut B) {
            Str::encode_implicit(1, &self.text, buf);
            Int64::encode_implicit(2, &self.stars, buf);
            Str::encode_repeated(3, &self.tags, buf);
            self.unknown.encode(buf);
        }
        fn encoded_len(&self) -> usize {
            Str::encoded_len_implicit(1, &self.text)
                + Int64::encoded_len_implicit(2, &self.stars)
                + Str::encoded_len_repeated(3, &self.tags)
                + self.unknown.encoded_len()
        }
        fn merge_field(
            &mut self,
            number: u32,
            wire_type: WireType,
            decoder: &mut Decoder<'_>,
        ) -> Result<(), DecodeError> {
            match number {
                1 => Str::merge(wire_type, &mut self.text, decoder),
                2 => Int64::merge(wire_type, &mut self.stars, decoder),
                3 => Str::merge_repeated(wire_type, &mut self.tags, decoder),
                _ => decoder.skip_field(number, wire_type, Some(&mut self.unknown)),
            }
        }
        fn unknown_fields_mut(&mut self) -> Option<&mut UnknownFields> {
            Some(&mut self.unknown)
        }
    }

    #[derive(Clone, Debug, Default, PartialEq)]
    struct NoteView<'a> {
        text: &'a str,
        stars: i64,
        tags: Vec<&'a str>,
        unknown: UnknownView<'a>,
    }

    impl<'a> MessageView<'a> for NoteView<'a> {
        type Owned = Note;
        fn merge_field(
            &mut self,
            number: u32,
            wire_type: WireType,
            decoder: &mut Decoder<'a>,
        ) -> Result<(), DecodeError> {
            match number {
                1 => read::merge::<Str, _>(wire_type, &mut self.text, decoder),
                2 => Int64::merge(wire_type, &mut self.stars, decoder),
                3 => read::merge_repeated::<Str, _>(wire_type, &mut self.tags, decoder),
                _ => Err(read::not_mine()),
            }
        }
        fn unknown_fields_mut(&mut self) -> Option<&mut UnknownView<'a>> {
            Some(&mut self.unknown)
        }
        fn to_owned_message(&self) -> Note {
            Note {
                text: self.text.into(),
                stars: self.stars,
                tags: self.tags.iter().map(|t| t.to_string()).collect(),
                unknown: self.unknown.to_unknown_fields(),
            }
        }
    }

    // SAFETY: shared references and scalars only: covariant.
    unsafe impl HasView for Note {
        type View<'a> = NoteView<'a>;
    }

    fn note() -> Note {
        let mut unknown = UnknownFields::new();
        unknown.push_bytes(9, b"kept");
        Note {
            text: "h\u{e9}llo".into(),
            stars: -3,
            tags: vec!["a".into(), "bc".into()],
            unknown,
        }
    }

    #[test]
    fn views_borrow_and_come_back_owned() {
        let bytes = note().encode_to_vec();
        let view = NoteView::decode(&bytes).unwrap();
        assert_eq!(view.text, "h\u{e9}llo");
        assert_eq!(view.tags, ["a", "bc"]);
        assert!(!view.unknown.is_empty());
        assert_eq!(view.to_owned_message(), note());
        assert_eq!(view.to_owned_message(), Note::decode(&bytes[..]).unwrap());
    }

    #[test]
    fn view_of_outlives_its_source_handle_and_moves_across_threads() {
        let bytes = Bytes::from(note().encode_to_vec());
        let held = ViewOf::<Note>::new(bytes.clone()).unwrap();
        drop(bytes);
        let copy = held.clone();
        let text = std::thread::spawn(move || held.get().text.to_string())
            .join()
            .unwrap();
        assert_eq!(text, "h\u{e9}llo");
        assert_eq!(copy.get().tags, ["a", "bc"]);
        assert_eq!(copy.to_owned_message(), note());
        assert_eq!(copy.encode_to_vec(), note().encode_to_vec());
        let back = copy.into_bytes();
        assert_eq!(Note::decode(back).unwrap(), note());
    }

    #[test]
    fn view_of_merges_and_rejects_what_owned_decoding_rejects() {
        let mut held = ViewOf::<Note>::default();
        held.merge(&note().encode_to_vec()[..]).unwrap();
        held.merge(&[0x10, 0x07][..]).unwrap();
        assert_eq!(held.get().stars, 7);
        assert_eq!(held.get().text, "h\u{e9}llo");
        let bad = Bytes::from_static(&[0x0a, 0x01, 0xff]);
        assert!(ViewOf::<Note>::new(bad).is_err());
    }
}
