//! proto2 extensions and custom options: typed constants from the
//! generator, values kept in the unknown fields, JSON and text forms, and
//! custom options read from descriptors.

use protocall::reflect::{DescriptorPool, DynamicMessage, ReflectMessage};
use protocall::{Extendable, Message};
use protocall_tests::protocall::test::ext::{self, Base, Color, Note, note};

fn sample() -> Base {
    let mut base = Base {
        id: Some(7),
        ..Default::default()
    };
    base.set_extension(&ext::LABEL, "hello".to_string());
    base.set_repeated_extension(&ext::SCORES, &[-1, 2, 300]);
    base.set_extension(
        &ext::NOTE,
        Note {
            text: Some("n".into()),
            ..Default::default()
        },
    );
    base.set_extension(&ext::COLOR, Color::Green);
    base.set_repeated_extension(&ext::TAGS, &["a".to_string(), "b".to_string()]);
    base.set_extension(
        &note::PINNED,
        Note {
            text: Some("p".into()),
            ..Default::default()
        },
    );
    base
}

#[test]
fn extensions_are_typed_and_survive_a_round_trip() {
    let base = sample();
    let decoded = Base::decode(base.encode_to_vec().as_slice()).unwrap();
    assert_eq!(
        decoded.extension(&ext::LABEL).unwrap().as_deref(),
        Some("hello")
    );
    assert_eq!(
        decoded.repeated_extension(&ext::SCORES).unwrap(),
        [-1, 2, 300]
    );
    assert_eq!(decoded.extension(&ext::NOTE).unwrap().unwrap().text(), "n");
    assert_eq!(decoded.extension(&ext::COLOR).unwrap(), Some(Color::Green));
    assert_eq!(decoded.repeated_extension(&ext::TAGS).unwrap(), ["a", "b"]);
    assert_eq!(
        decoded.extension(&note::PINNED).unwrap().unwrap().text(),
        "p"
    );
    assert_eq!(decoded.id, Some(7));

    // Setting replaces; clearing removes only that extension.
    let mut changed = decoded.clone();
    changed.set_extension(&ext::LABEL, "again".to_string());
    assert_eq!(
        changed.extension(&ext::LABEL).unwrap().as_deref(),
        Some("again")
    );
    changed.clear_extension(&ext::LABEL);
    assert!(!changed.has_extension(&ext::LABEL));
    assert_eq!(changed.extension(&ext::LABEL).unwrap(), None);
    assert_eq!(
        changed.repeated_extension(&ext::SCORES).unwrap(),
        [-1, 2, 300]
    );
}

#[test]
fn extensions_survive_a_message_that_does_not_know_them() {
    // `Base` through a dynamic message of a pool without the extensions: they
    // stay unknown fields, and come back out byte for byte.
    let bytes = sample().encode_to_vec();
    let dynamic = DynamicMessage::decode(Base::descriptor(), &bytes).unwrap();
    let back = Base::decode(dynamic.encode_to_vec().as_slice()).unwrap();
    assert_eq!(back.repeated_extension(&ext::SCORES).unwrap(), [-1, 2, 300]);
    assert_eq!(back, Base::decode(bytes.as_slice()).unwrap());
}

#[test]
fn json_and_text_name_extensions_in_brackets() {
    let base = sample();
    let json = protocall::json::to_string(&base, &Default::default()).unwrap();
    assert!(
        json.contains(r#""[protocall.test.ext.label]":"hello""#),
        "{json}"
    );
    assert!(
        json.contains(r#""[protocall.test.ext.Note.pinned]":{"text":"p"}"#),
        "{json}"
    );
    let parsed: Base = protocall::json::from_str(&json, &Default::default()).unwrap();
    assert_eq!(parsed.extension(&ext::COLOR).unwrap(), Some(Color::Green));
    assert_eq!(
        parsed.repeated_extension(&ext::SCORES).unwrap(),
        [-1, 2, 300]
    );

    let text = protocall::text::to_string(&base);
    assert!(
        text.contains("[protocall.test.ext.label]: \"hello\""),
        "{text}"
    );
    let parsed: Base = protocall::text::from_str(&text).unwrap();
    assert_eq!(
        parsed.extension(&ext::LABEL).unwrap().as_deref(),
        Some("hello")
    );
    assert_eq!(
        parsed.extension(&note::PINNED).unwrap().unwrap().text(),
        "p"
    );
}

#[test]
fn custom_options_are_read_from_descriptors() {
    // A generated message's pool: its package's embedded set plus the
    // well-known types (which the embedded set leaves to the runtime).
    let pool: DescriptorPool = Base::descriptor().pool().clone();
    let alone = DescriptorPool::decode(ext::FILE_DESCRIPTOR_SET).unwrap_err();
    assert!(
        alone
            .to_string()
            .contains("google/protobuf/descriptor.proto"),
        "{alone}"
    );
    let service = pool.service("protocall.test.ext.Notes").unwrap();
    let get = service.method("Get").unwrap();
    assert_eq!(get.path(), "/protocall.test.ext.Notes/Get");
    assert_eq!(get.input().full_name(), Base::descriptor().full_name());
    assert_eq!(get.output().full_name(), "protocall.test.ext.Note");
    assert_eq!(
        get.options().extension(&ext::ROUTE).unwrap().as_deref(),
        Some("/notes/get")
    );
    let label = pool.extension("protocall.test.ext.label").unwrap();
    assert_eq!(label.number(), 100);
    assert_eq!(
        label.containing_message().full_name(),
        "protocall.test.ext.Base"
    );
}

#[test]
fn custom_options_of_every_element_are_read_from_descriptors() {
    let pool: DescriptorPool = Base::descriptor().pool().clone();
    let file = Note::descriptor().file().clone();
    assert_eq!(
        file.options().extension(&ext::OWNER).unwrap().as_deref(),
        Some("notes-team")
    );
    let note = Note::descriptor();
    let table = note.options().extension(&ext::TABLE).unwrap().unwrap();
    assert_eq!(table.text(), "notes");
    let text = note.field_by_name("text").unwrap();
    assert_eq!(text.options().extension(&ext::SECRET).unwrap(), Some(true));
    let id = Base::descriptor().field_by_name("id").unwrap();
    assert_eq!(id.options().extension(&ext::SECRET).unwrap(), None);
    let oneof = note.oneofs().next().unwrap();
    assert_eq!(oneof.name(), "where");
    assert_eq!(oneof.options().extension(&ext::PLACEMENT).unwrap(), Some(3));
    let color = pool.enumeration("protocall.test.ext.Color").unwrap();
    assert_eq!(
        color.options().extension(&ext::PALETTE).unwrap().as_deref(),
        Some("rgb")
    );
    let red = color.value_options("RED").unwrap();
    assert_eq!(
        red.extension(&ext::LABEL_TEXT).unwrap().as_deref(),
        Some("rouge")
    );
    assert!(
        color
            .value_options("GREEN")
            .unwrap()
            .extension(&ext::LABEL_TEXT)
            .unwrap()
            .is_none()
    );
    assert!(color.value_options("BLUE").is_none());
    let service = pool.service("protocall.test.ext.Notes").unwrap();
    assert_eq!(
        service.options().repeated_extension(&ext::SCOPES).unwrap(),
        ["notes.read", "notes.write"]
    );
}

#[test]
fn custom_options_are_read_from_generated_code_without_the_pool() {
    use protocall::options::Element;
    let declared = ext::DECLARED_OPTIONS;
    // Exactly the elements with a custom option, in descriptor order.
    let elements: Vec<(Element, &str)> = declared.elements().collect();
    assert_eq!(
        elements,
        [
            (Element::File, "test/extensions.proto"),
            (Element::Message, "protocall.test.ext.Note"),
            (Element::Field, "protocall.test.ext.Note.text"),
            (Element::Oneof, "protocall.test.ext.Note.where"),
            (Element::Enum, "protocall.test.ext.Color"),
            (Element::EnumValue, "protocall.test.ext.RED"),
            (Element::Service, "protocall.test.ext.Notes"),
            (Element::Method, "protocall.test.ext.Notes.Get"),
        ]
    );
    let file = declared.file("test/extensions.proto").unwrap();
    assert_eq!(
        file.extension(&ext::OWNER).unwrap().as_deref(),
        Some("notes-team")
    );
    let message = declared.message("protocall.test.ext.Note").unwrap();
    assert_eq!(
        message.extension(&ext::TABLE).unwrap().unwrap().text(),
        "notes"
    );
    let field = declared.field("protocall.test.ext.Note.text").unwrap();
    assert_eq!(field.extension(&ext::SECRET).unwrap(), Some(true));
    let oneof = declared.oneof("protocall.test.ext.Note.where").unwrap();
    assert_eq!(oneof.extension(&ext::PLACEMENT).unwrap(), Some(3));
    let color = declared.enumeration("protocall.test.ext.Color").unwrap();
    assert_eq!(
        color.extension(&ext::PALETTE).unwrap().as_deref(),
        Some("rgb")
    );
    let red = declared.enum_value("protocall.test.ext.RED").unwrap();
    assert_eq!(
        red.extension(&ext::LABEL_TEXT).unwrap().as_deref(),
        Some("rouge")
    );
    let service = declared.service("protocall.test.ext.Notes").unwrap();
    assert_eq!(
        service.repeated_extension(&ext::SCOPES).unwrap(),
        ["notes.read", "notes.write"]
    );
    for name in [
        "protocall.test.ext.Notes.Get",
        "/protocall.test.ext.Notes/Get",
    ] {
        let method = declared.method(name).unwrap();
        assert_eq!(
            method.extension(&ext::ROUTE).unwrap().as_deref(),
            Some("/notes/get"),
            "{name}"
        );
    }
    // Elements without custom options, and names of the wrong kind.
    assert!(declared.field("protocall.test.ext.Base.id").is_none());
    assert!(declared.message("protocall.test.ext.Base").is_none());
    assert!(declared.field("protocall.test.ext.Note").is_none());
    assert!(declared.method("/protocall.test.ext.Notes/Put").is_none());
    assert!(declared.method("/protocall.test.ext/Notes.Get").is_none());
    // The same bytes the pool holds.
    let pool = Base::descriptor().pool().clone();
    let get = pool
        .service("protocall.test.ext.Notes")
        .unwrap()
        .method("Get")
        .unwrap();
    assert_eq!(
        declared.method("protocall.test.ext.Notes.Get").unwrap(),
        *get.options()
    );
}

#[test]
fn group_extensions_are_typed_constants() {
    use protocall_tests::protocall::test::ext::{Mark, Stamp};
    let mut base = Base::default();
    base.set_extension(
        &ext::STAMP,
        Stamp {
            at: Some(5),
            ..Default::default()
        },
    );
    let marks = [
        Mark {
            why: Some("a".into()),
            ..Default::default()
        },
        Mark::default(),
    ];
    base.set_repeated_extension(&ext::MARK, &marks);
    let bytes = base.encode_to_vec();
    // Groups on the wire: start key 120 (0xc3 0x07), `at: 5`, end key
    // (0xc4 0x07); then two groups of 121.
    assert_eq!(
        bytes,
        [
            0xc3, 0x07, 0x08, 0x05, 0xc4, 0x07, //
            0xcb, 0x07, 0x0a, 0x01, b'a', 0xcc, 0x07, //
            0xcb, 0x07, 0xcc, 0x07,
        ]
    );
    let back = Base::decode(bytes.as_slice()).unwrap();
    assert_eq!(back.extension(&ext::STAMP).unwrap().unwrap().at, Some(5));
    assert_eq!(back.repeated_extension(&ext::MARK).unwrap(), marks);
    // Records of another wire type are not the extension's.
    let mut odd = Base::default();
    odd._unknown_fields.push_bytes(120, b"\x08\x05");
    assert_eq!(odd.extension(&ext::STAMP).unwrap(), None);

    let json = protocall::json::to_string(&base, &Default::default()).unwrap();
    assert_eq!(
        json,
        r#"{"[protocall.test.ext.stamp]":{"at":"5"},"[protocall.test.ext.mark]":[{"why":"a"},{}]}"#
    );
    let parsed: Base = protocall::json::from_str(&json, &Default::default()).unwrap();
    assert_eq!(parsed.extension(&ext::STAMP).unwrap().unwrap().at, Some(5));
    assert_eq!(parsed.repeated_extension(&ext::MARK).unwrap(), marks);
    let text = protocall::text::to_string(&base);
    assert!(text.contains("[protocall.test.ext.stamp] {"), "{text}");
    let parsed: Base = protocall::text::from_str(&text).unwrap();
    assert_eq!(parsed.encode_to_vec(), bytes);
    let dynamic = DynamicMessage::decode(Base::descriptor(), bytes.as_slice()).unwrap();
    assert_eq!(dynamic.encode_to_vec(), bytes);
}
