//! The generator's error type.

use std::fmt;

/// Why code generation failed: a schema error (with file, line, column and
/// the offending source line when protox reports one), a bad builder
/// option, or an I/O failure writing the output.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("demo.proto"), "syntax = \"proto3\";\nmessage Ping { int64 id = 1 }\n")?;
/// let err: protocall_codegen::Error = protocall_codegen::configure()
///     .out_dir(dir.path())
///     .compile(&[dir.path().join("demo.proto")], &[dir.path()])
///     .unwrap_err();
/// // file:line:col, the message, then the offending line
/// assert!(err.to_string().starts_with("demo.proto:2:"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Error {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
