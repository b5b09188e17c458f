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
///
/// `Debug` prints the same readable text as `Display` (plus the chain of
/// causes the text does not already show), so `fn main() -> Result<(),
/// Box<dyn Error>>` in `build.rs` shows the diagnostic, not a struct dump.
pub struct Error {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    /// The message already shows what the source says (schema diagnostics).
    source_in_message: bool,
}

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            source: None,
            source_in_message: false,
        }
    }

    pub(crate) fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            message: message.into(),
            source: Some(Box::new(source)),
            source_in_message: false,
        }
    }

    /// A schema error whose rendered `message` already says everything
    /// `source` (the compiler's own error) does.
    #[cfg(feature = "protox")]
    pub(crate) fn schema(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            source_in_message: true,
            ..Error::with_source(message, source)
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.source_in_message {
            return Ok(());
        }
        let mut cause = std::error::Error::source(self);
        if cause.is_some() {
            f.write_str("\n\nCaused by:")?;
        }
        while let Some(error) = cause {
            write!(f, "\n    {error}")?;
            cause = error.source();
        }
        Ok(())
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
