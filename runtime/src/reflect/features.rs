//! Resolved protobuf features: what `syntax = "proto2"`, `"proto3"` or an
//! `edition` (plus `features` options down the scope chain) mean for
//! presence, enum openness, packing, message encoding and UTF-8 checks.
//! Shared by the descriptor pool and the code generator.

use crate::types::FeatureSet;
use crate::types::feature_set::{
    EnumType, FieldPresence, MessageEncoding, RepeatedFieldEncoding, Utf8Validation,
};
use crate::types::{Edition, FileDescriptorProto};

/// Field presence after resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Set and unset are told apart.
    Explicit,
    /// The default value means unset (proto3 singular scalars).
    Implicit,
    /// proto2 `required`.
    LegacyRequired,
}

/// The features the generator acts on, resolved for one scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// Field presence.
    pub presence: Presence,
    /// Enums reject unknown numbers (proto2, `CLOSED`).
    pub closed_enums: bool,
    /// Repeated scalars are written packed.
    pub packed: bool,
    /// Messages use group (delimited) encoding.
    pub delimited: bool,
    /// `utf8_validation = VERIFY`: a `string` field is a Rust `String`.
    /// With `NONE` it is raw bytes (`Vec<u8>`), as Python's upb gives them.
    pub verify_utf8: bool,
}

/// proto2 strings are checked, unlike protobuf's own proto2 default: a
/// proto2 `string` stays a Rust `String`, as prost makes it. Only an
/// explicit `utf8_validation = NONE` (editions) turns checking off.
const PROTO2: Features = Features {
    presence: Presence::Explicit,
    closed_enums: true,
    packed: false,
    delimited: false,
    verify_utf8: true,
};

const PROTO3: Features = Features {
    presence: Presence::Implicit,
    closed_enums: false,
    packed: true,
    delimited: false,
    verify_utf8: true,
};

/// Editions 2023 and 2024 share these defaults for the features above.
const EDITION_2023: Features = Features {
    presence: Presence::Explicit,
    closed_enums: false,
    packed: true,
    delimited: false,
    verify_utf8: true,
};

/// The newest edition the generator understands.
pub const MAX_EDITION: Edition = Edition::Edition2024;

impl Features {
    /// The features of a file: its syntax or edition's defaults, overridden
    /// by its `option features`.
    pub fn of_file(file: &FileDescriptorProto) -> Features {
        let base = match file.syntax() {
            "proto3" => PROTO3,
            "editions" => match file.edition() {
                Edition::Proto3 => PROTO3,
                Edition::Proto2 | Edition::Legacy => PROTO2,
                _ => EDITION_2023,
            },
            _ => PROTO2,
        };
        base.with(file.options.as_ref().and_then(|o| o.features.as_ref()))
    }

    /// These features overridden by a nested scope's `features` option.
    pub fn with(mut self, set: Option<&FeatureSet>) -> Features {
        let Some(set) = set else { return self };
        match set.field_presence {
            Some(FieldPresence::Explicit) => self.presence = Presence::Explicit,
            Some(FieldPresence::Implicit) => self.presence = Presence::Implicit,
            Some(FieldPresence::LegacyRequired) => self.presence = Presence::LegacyRequired,
            _ => {}
        }
        match set.enum_type {
            Some(EnumType::Open) => self.closed_enums = false,
            Some(EnumType::Closed) => self.closed_enums = true,
            _ => {}
        }
        match set.repeated_field_encoding {
            Some(RepeatedFieldEncoding::Packed) => self.packed = true,
            Some(RepeatedFieldEncoding::Expanded) => self.packed = false,
            _ => {}
        }
        match set.message_encoding {
            Some(MessageEncoding::Delimited) => self.delimited = true,
            Some(MessageEncoding::LengthPrefixed) => self.delimited = false,
            _ => {}
        }
        match set.utf8_validation {
            Some(Utf8Validation::Verify) => self.verify_utf8 = true,
            Some(Utf8Validation::None) => self.verify_utf8 = false,
            _ => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::FileOptions;

    fn file(syntax: &str, edition: Option<Edition>) -> FileDescriptorProto {
        FileDescriptorProto {
            syntax: Some(syntax.into()),
            edition,
            ..Default::default()
        }
    }

    #[test]
    fn syntax_defaults() {
        assert_eq!(Features::of_file(&file("proto2", None)), PROTO2);
        assert_eq!(Features::of_file(&file("", None)), PROTO2);
        assert_eq!(Features::of_file(&file("proto3", None)), PROTO3);
        assert_eq!(
            Features::of_file(&file("editions", Some(Edition::Edition2023))),
            EDITION_2023
        );
    }

    #[test]
    fn options_override_defaults() {
        let mut f = file("editions", Some(Edition::Edition2023));
        f.options = Some(FileOptions {
            features: Some(FeatureSet {
                field_presence: Some(FieldPresence::Implicit),
                enum_type: Some(EnumType::Closed),
                ..Default::default()
            }),
            ..Default::default()
        });
        let features = Features::of_file(&f);
        assert_eq!(features.presence, Presence::Implicit);
        assert!(features.closed_enums);
        assert!(features.packed);
        let field = features.with(Some(&FeatureSet {
            repeated_field_encoding: Some(RepeatedFieldEncoding::Expanded),
            message_encoding: Some(MessageEncoding::Delimited),
            utf8_validation: Some(Utf8Validation::None),
            ..Default::default()
        }));
        assert!(!field.packed);
        assert!(field.delimited);
        assert!(features.verify_utf8);
        assert!(!field.verify_utf8);
    }
}
