//! JSON responses with the one content type every backend sends.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;

/// The `Content-Type` of every JSON response, byte for byte the same on every backend.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Serialises `value` into a response with `status` and the JSON content type.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    // Serialising a `serde_json::Value` or a plain struct cannot fail; if a future type can,
    // answer 500 rather than panic.
    let (status, bytes) = match serde_json::to_vec(value) {
        Ok(bytes) => (status, bytes),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":{"code":"internal_error","message":"Internal server error."}}"#.to_vec(),
        ),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}
