//! Errors the API answers with: one catalogue for every backend, `src/api/errors.json`.
//!
//! `build.rs` turns that file into [`ErrorCode`] (one variant per entry, in file order); the
//! TypeScript fallback imports the same file, so a code, status or message cannot drift. Adding
//! an error is one JSON entry plus the place that returns it:
//!
//! ```ignore
//! return Err(AppError::new(ErrorCode::PayloadTooLarge).with("limit", limit));
//! ```

use std::fmt;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::json::json;

include!(concat!(env!("OUT_DIR"), "/error_code.rs"));

impl ErrorCode {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        // build.rs only lets 400 to 599 through, which are all valid statuses.
        StatusCode::from_u16(self.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error answer: a catalogued code, the values of its message's `{placeholders}`, and any
/// extra headers. Its response is `{"error":{"code","message"}}` with the code's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// Which catalogue entry.
    pub code: ErrorCode,
    /// Values for the message's `{placeholders}`, by name.
    pub params: Vec<(&'static str, String)>,
    /// Headers sent with the answer (405's `allow`, for one).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl AppError {
    /// The error `code`, with no placeholder filled and no extra header.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Fills the `{name}` placeholder of the message with `value`.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    /// Sends the header `name: value` with the answer.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The message sent as `error.message`: the template with its placeholders filled (one
    /// without a value stays as written).
    pub fn message(&self) -> String {
        let mut message = self.code.template().to_owned();
        for (name, value) in &self.params {
            message = message.replace(&format!("{{{name}}}"), value);
        }
        message
    }
}

impl From<ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message())
    }
}

impl std::error::Error for AppError {}

/// The body of every error answer.
#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let message = self.message();
        let body = Body {
            error: Detail {
                code: self.code.code(),
                message: &message,
            },
        };
        let mut response = json(self.status(), &body);
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        if self.code.closes() {
            // The rest of the body is never read (or its framing cannot be trusted): this
            // connection cannot carry another request.
            headers.insert("connection", HeaderValue::from_static("close"));
        }
        response
    }
}

/// One catalogue row as the napi `errorCatalogue()` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueEntry {
    /// The machine-readable `error.code`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The message template, `{placeholders}` unfilled.
    pub message: &'static str,
}

/// The whole catalogue, in file order.
pub fn catalogue() -> Vec<CatalogueEntry> {
    ErrorCode::ALL
        .iter()
        .map(|code| CatalogueEntry {
            code: code.code(),
            status: code.status_code(),
            message: code.template(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_generated_in_file_order_with_valid_statuses() {
        let codes: Vec<_> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.first(), Some(&"not_found"));
        assert_eq!(codes[1], "method_not_allowed");
        for code in ErrorCode::ALL {
            assert_eq!(code.status().as_u16(), code.status_code());
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
        assert_eq!(
            ErrorCode::PayloadTooLarge.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert!(ErrorCode::PayloadTooLarge.closes());
        assert!(!ErrorCode::NotFound.closes());
    }

    #[test]
    fn fills_placeholders_and_keeps_the_messages_byte_identical() {
        let error = AppError::new(ErrorCode::PayloadTooLarge).with("limit", 64);
        assert_eq!(
            error.message(),
            "The request body is larger than the limit of 64 bytes."
        );
        assert_eq!(
            AppError::new(ErrorCode::MethodNotAllowed).message(),
            "This path does not accept this method; see the Allow header."
        );
        assert_eq!(
            AppError::new(ErrorCode::InternalError).message(),
            "Internal server error."
        );
    }

    #[tokio::test]
    async fn answers_json_with_its_headers_and_closes_when_the_catalogue_says_so() {
        let response = AppError::new(ErrorCode::MethodNotAllowed)
            .header(
                axum::http::header::ALLOW,
                HeaderValue::from_static("GET,HEAD"),
            )
            .into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "GET,HEAD");
        assert!(response.headers().get("connection").is_none());
        let response = AppError::new(ErrorCode::RequestTimeout).into_response();
        assert_eq!(response.headers()["connection"], "close");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(
            &bytes[..],
            br#"{"error":{"code":"request_timeout","message":"The request body took too long to arrive."}}"#
        );
    }
}
