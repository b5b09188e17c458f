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
