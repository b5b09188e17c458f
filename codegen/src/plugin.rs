//! The `protoc` plugin protocol: a `CodeGeneratorRequest` in, a
//! `CodeGeneratorResponse` out, through the same model and emitter as
//! `build.rs`.

use protocall::Message as _;
use protocall::types::compiler::code_generator_response::{Feature, File};
use protocall::types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use protocall::types::{Edition, FileDescriptorSet};

use crate::Builder;

/// Runs the plugin over an encoded `CodeGeneratorRequest` and returns the
/// encoded `CodeGeneratorResponse`. Every failure, from unreadable input to
/// a bad parameter, becomes the response's `error`, which protoc prints.
///
/// ```
/// use protocall::Message;
/// use protocall::types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
/// let request = CodeGeneratorRequest { parameter: Some("no_such_option=1".into()), ..Default::default() };
/// let response = CodeGeneratorResponse::decode(
///     protocall_codegen::run_plugin(&request.encode_to_vec()).as_slice(),
/// ).unwrap();
/// assert!(response.error().contains("no_such_option"));
/// ```
pub fn run_plugin(request: &[u8]) -> Vec<u8> {
    let mut response = match CodeGeneratorRequest::decode(request) {
        Ok(request) => respond(&request),
        Err(e) => error(format!(
            "protoc-gen-protocall: cannot read the CodeGeneratorRequest: {e}"
        )),
    };
    response.supported_features =
        Some(Feature::Proto3Optional as u64 | Feature::SupportsEditions as u64);
    response.minimum_edition = Some(Edition::Proto2 as i32);
    response.maximum_edition = Some(crate::features::MAX_EDITION as i32);
    response.encode_to_vec()
}

fn error(message: String) -> CodeGeneratorResponse {
    CodeGeneratorResponse {
        error: Some(message),
        ..Default::default()
    }
}

fn respond(request: &CodeGeneratorRequest) -> CodeGeneratorResponse {
    let builder = match parse_parameters(request.parameter()) {
        Ok(builder) => builder,
        Err(message) => return error(format!("protoc-gen-protocall: {message}")),
    };
    let set = FileDescriptorSet {
        file: request.proto_file.clone(),
        ..Default::default()
    };
    match builder.generate(&set, &request.file_to_generate) {
        Ok(files) => CodeGeneratorResponse {
            file: files
                .into_iter()
                .map(|f| File {
                    name: Some(f.name),
                    content: Some(f.content),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        Err(e) => error(format!("protoc-gen-protocall: {e}")),
    }
}

/// Splits `--protocall_opt` text on commas not escaped as `\,`.
fn split_parameters(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Builds the generator options from `key=value` parameters.
pub(crate) fn parse_parameters(text: &str) -> Result<Builder, String> {
    let mut builder = crate::configure().emit_rerun_if_changed(false);
    for parameter in split_parameters(text) {
        let (key, value) = parameter
            .split_once('=')
            .ok_or_else(|| format!("parameter `{parameter}` is not of the form key=value"))?;
        let pair = || {
            value
                .split_once('=')
                .ok_or_else(|| format!("parameter `{parameter}`: expected {key}=PROTO_PATH=VALUE"))
        };
        let flag = || match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("parameter `{parameter}`: expected true or false")),
        };
        builder = match key {
            "bytes" => builder.bytes([value]),
            "btree_map" => builder.btree_map([value]),
            "disable_comments" => builder.disable_comments([value]),
            "discard_unknown_fields" => builder.discard_unknown_fields([value]),
            "views" => builder.views([value]),
            "view_requests" => builder.view_requests([value]),
            "view_responses" => builder.view_responses([value]),
            "extern_path" => {
                let (proto, rust) = pair()?;
                builder.extern_path(proto, rust)
            }
            "type_attribute" => {
                let (path, attribute) = pair()?;
                builder.type_attribute(path, attribute)
            }
            "message_attribute" => {
                let (path, attribute) = pair()?;
                builder.message_attribute(path, attribute)
            }
            "enum_attribute" => {
                let (path, attribute) = pair()?;
                builder.enum_attribute(path, attribute)
            }
            "field_attribute" => {
                let (path, attribute) = pair()?;
                builder.field_attribute(path, attribute)
            }
            "build_server" => builder.build_server(flag()?),
            "build_client" => builder.build_client(flag()?),
            "include_file" if !value.is_empty() => builder.include_file(value),
            "include_file" => return Err("parameter `include_file=` needs a file name".into()),
            _ => return Err(format!("unknown parameter `{key}` (in `{parameter}`)")),
        };
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_split_on_unescaped_commas() {
        assert_eq!(
            split_parameters(
                r"bytes=.a,type_attribute=.b=#[derive(Eq\, Hash)], ,build_server=false"
            ),
            [
                "bytes=.a",
                "type_attribute=.b=#[derive(Eq, Hash)]",
                "build_server=false"
            ]
        );
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (text, expected) in [
            ("frobnicate=1", "unknown parameter `frobnicate`"),
            ("bytes", "`bytes` is not of the form key=value"),
            ("build_client=maybe", "expected true or false"),
            ("extern_path=.a", "expected extern_path=PROTO_PATH=VALUE"),
            ("include_file=", "needs a file name"),
        ] {
            let err = parse_parameters(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
        assert!(parse_parameters("").is_ok());
    }

    #[test]
    fn garbage_input_is_an_error_response() {
        let response = CodeGeneratorResponse::decode(run_plugin(&[0xff, 0xff]).as_slice()).unwrap();
        assert!(
            response.error().contains("cannot read"),
            "{:?}",
            response.error
        );
        assert_eq!(response.supported_features, Some(3));
    }
}
