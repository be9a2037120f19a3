//! The error catalogue: every error the API can answer with, the same on every backend.
//!
//! The TypeScript fallback keeps the same catalogue in `src/api/errors.ts`; the contract tests
//! compare both, so a code, status or message that drifts fails a test.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::json::json_response;

/// An error the API answers with: a status and a `{"error":{"code","message"}}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// No route matches the path (or it lies outside the base path).
    NotFound,
    /// The path exists but not for this method; `allow` lists the methods that are.
    MethodNotAllowed,
    /// `GET /hello` got a `name` that is empty or longer than 100 characters.
    InvalidName,
    /// `POST /echo` got a body that is not declared as JSON.
    UnsupportedMediaType,
    /// `POST /echo` got a body that does not parse as JSON.
    InvalidJson,
    /// The body is larger than the route's limit, in bytes.
    PayloadTooLarge(u64),
    /// The request body could not be read (the client went away or sent a broken body).
    BodyReadFailed,
    /// The request is incomplete in a way HTTP/1.1 says to refuse (no `Host`).
    BadRequest,
    /// The body did not arrive within the request timeout.
    RequestTimeout,
    /// Anything else: the details go to the log, never to the client.
    Internal,
}

/// One row of the catalogue, as listed in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// The machine-readable `error.code`.
    pub code: &'static str,
    /// The HTTP status sent with it.
    pub status: u16,
}

/// Every code the API can send, with its status.
pub const CATALOGUE: &[CatalogueEntry] = &[
    CatalogueEntry {
        code: "not_found",
        status: 404,
    },
    CatalogueEntry {
        code: "method_not_allowed",
        status: 405,
    },
    CatalogueEntry {
        code: "invalid_name",
        status: 400,
    },
    CatalogueEntry {
        code: "unsupported_media_type",
        status: 415,
    },
    CatalogueEntry {
        code: "invalid_json",
        status: 400,
    },
    CatalogueEntry {
        code: "payload_too_large",
        status: 413,
    },
    CatalogueEntry {
        code: "body_read_failed",
        status: 400,
    },
    CatalogueEntry {
        code: "bad_request",
        status: 400,
    },
    CatalogueEntry {
        code: "request_timeout",
        status: 408,
    },
    CatalogueEntry {
        code: "internal_error",
        status: 500,
    },
];

impl AppError {
    /// The machine-readable code sent as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidName => "invalid_name",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidJson => "invalid_json",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::BodyReadFailed => "body_read_failed",
            Self::BadRequest => "bad_request",
            Self::RequestTimeout => "request_timeout",
            Self::Internal => "internal_error",
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidName | Self::InvalidJson | Self::BodyReadFailed | Self::BadRequest => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The human-readable message sent as `error.message`.
    pub fn message(&self) -> String {
        match self {
            Self::NotFound => "No route matches this path.".to_owned(),
            Self::MethodNotAllowed => {
                "This path does not accept this method; see the Allow header.".to_owned()
            }
            Self::InvalidName => "The name parameter must be 1 to 100 characters long.".to_owned(),
            Self::UnsupportedMediaType => {
                "The request body must be sent as Content-Type: application/json.".to_owned()
            }
            Self::InvalidJson => "The request body is not valid JSON.".to_owned(),
            Self::PayloadTooLarge(limit) => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            Self::BodyReadFailed => "The request body could not be read.".to_owned(),
            Self::BadRequest => "The request is malformed.".to_owned(),
            Self::RequestTimeout => "The request body took too long to arrive.".to_owned(),
            Self::Internal => "Internal server error.".to_owned(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code(), "message": self.message() } });
        let mut response = json_response(self.status(), &body);
        if matches!(
            self,
            Self::PayloadTooLarge(_) | Self::BadRequest | Self::RequestTimeout
        ) {
            // The rest of the body is never read (or its framing cannot be trusted): this
            // connection cannot carry another request.
            response
                .headers_mut()
                .insert("connection", HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<serde_json::Error> for AppError {
    /// A body that does not parse is the client's mistake: 400, whatever serde says.
    fn from(_: serde_json::Error) -> Self {
        Self::InvalidJson
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_lists_every_variant_with_its_status() {
        let all = [
            AppError::NotFound,
            AppError::MethodNotAllowed,
            AppError::InvalidName,
            AppError::UnsupportedMediaType,
            AppError::InvalidJson,
            AppError::PayloadTooLarge(1),
            AppError::BodyReadFailed,
            AppError::BadRequest,
            AppError::RequestTimeout,
            AppError::Internal,
        ];
        assert_eq!(all.len(), CATALOGUE.len());
        for error in all {
            let entry = CATALOGUE.iter().find(|e| e.code == error.code());
            assert_eq!(entry.map(|e| e.status), Some(error.status().as_u16()));
        }
    }
}
