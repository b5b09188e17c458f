//! Transport failures as statuses users can act on: a refused, reset or
//! closed connection is `UNAVAILABLE`, a cancelled stream `CANCELLED`, never
//! `UNKNOWN`.

use std::error::Error as _;

use super::status::{Code, Status};

/// The status for an HTTP/2 stream reset with `reason` (grpc/grpc
/// `doc/PROTOCOL-HTTP2.md`, "Errors").
pub(crate) fn from_reason(reason: h2::Reason) -> Code {
    match reason {
        h2::Reason::NO_ERROR
        | h2::Reason::PROTOCOL_ERROR
        | h2::Reason::INTERNAL_ERROR
        | h2::Reason::FLOW_CONTROL_ERROR
        | h2::Reason::SETTINGS_TIMEOUT
        | h2::Reason::FRAME_SIZE_ERROR
        | h2::Reason::COMPRESSION_ERROR
        | h2::Reason::CONNECT_ERROR => Code::Internal,
        h2::Reason::REFUSED_STREAM => Code::Unavailable,
        h2::Reason::CANCEL => Code::Cancelled,
        h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
        h2::Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
        _ => Code::Internal,
    }
}

/// The code and message for an h2 error that says what happened: the
/// connection went away (GOAWAY, I/O) or the stream was reset.
fn from_h2(h2: &h2::Error) -> Option<(Code, String)> {
    if h2.is_go_away() || h2.is_io() {
        return Some((Code::Unavailable, format!("connection lost: {h2}")));
    }
    let reason = h2.reason()?;
    Some((from_reason(reason), format!("stream reset: {reason:?}")))
}

/// Maps an h2 error to a status that keeps the error as its source;
/// `context` says what failed when h2's error names neither a reset nor a
/// lost connection.
pub(crate) fn from_h2_error(error: h2::Error, context: &str) -> Status {
    match from_h2(&error) {
        Some((code, message)) => Status::from_error(code, message, error),
        None => Status::from_error(Code::Unavailable, format!("{context}: {error}"), error),
    }
}

/// Maps a hyper error (connection or stream level) to a status that keeps
/// the error as its source.
pub(crate) fn from_hyper(error: hyper::Error) -> Status {
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(inner) = source {
        if let Some((code, message)) = inner.downcast_ref::<h2::Error>().and_then(from_h2) {
            return Status::from_error(code, message, error);
        }
        if inner.downcast_ref::<std::io::Error>().is_some() {
            return Status::from_error(
                Code::Unavailable,
                format!("connection error: {inner}"),
                error,
            );
        }
        source = inner.source();
    }
    if error.is_canceled() {
        // hyper gave the request up before sending it, because the
        // connection closed or went away (GOAWAY): nothing reached the
        // server, the call can be retried — UNAVAILABLE, not CANCELLED
        // (the application cancelling never yields an error here).
        return Status::from_error(
            Code::Unavailable,
            format!("request not sent: {error}"),
            error,
        );
    }
    if error.is_closed() || error.is_incomplete_message() || error.is_timeout() {
        return Status::from_error(
            Code::Unavailable,
            format!("connection closed: {error}"),
            error,
        );
    }
    Status::from_error(
        Code::Unavailable,
        format!("transport error: {error}"),
        error,
    )
}

/// Maps the error of any body or tower service to a status: a `Status`
/// stays as it is, hyper and h2 errors map as [`from_hyper`] does, tower's
/// timeout is `DEADLINE_EXCEEDED`, and I/O errors and anything else are
/// `UNAVAILABLE` (the call did not complete at the transport).
pub(crate) fn from_box(error: super::body::BoxError) -> Status {
    let error = match error.downcast::<Status>() {
        Ok(status) => return *status,
        Err(error) => error,
    };
    let error = match error.downcast::<hyper::Error>() {
        Ok(error) => return from_hyper(*error),
        Err(error) => error,
    };
    if let Some(h2) = error.downcast_ref::<h2::Error>() {
        let (code, message) =
            from_h2(h2).unwrap_or_else(|| (Code::Unavailable, format!("connection lost: {h2}")));
        return Status::from_boxed(code, message, error);
    }
    if error.is::<tower::timeout::error::Elapsed>() {
        return Status::from_boxed(Code::DeadlineExceeded, "request timed out", error);
    }
    let message = format!("transport error: {error}");
    Status::from_boxed(Code::Unavailable, message, error)
}
