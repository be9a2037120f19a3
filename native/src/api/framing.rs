//! An HTTP/1.1 request without `Host` must be refused (RFC 9112 section 3.2); hyper lets it
//! through and Node refuses it, so this keeps the backends alike. (A request with both
//! `Content-Length` and `Transfer-Encoding` needs nothing here: hyper lets Transfer-Encoding win,
//! drops Content-Length and closes the connection after answering, as RFC 9112 section 6.3
//! asks, so a smuggled second request never runs.)
//!
//! A request target with raw bytes outside ASCII (`GET /hello/\xc3\xa9`, not `/hello/%C3%A9`) is
//! not valid HTTP (RFC 3986 allows only ASCII); hyper passes it on and Node's parser refuses it
//! with a bare 400, so this answers that same bare 400 and closes the connection.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};

use super::error::{AppError, ErrorCode};

/// The answer to a request no route may see: 400 `bad_request` for an HTTP/1.1 request without
/// `Host`, a bare 400 (closing the connection) for a target with raw non-ASCII bytes; `None`
/// for every other request.
pub fn refusal(request: &Request) -> Option<Response> {
    if request.version() == Version::HTTP_11 && !request.headers().contains_key(header::HOST) {
        return Some(AppError::new(ErrorCode::BadRequest).into_response());
    }
    if has_raw_non_ascii(request.uri()) {
        return Some(bare(StatusCode::BAD_REQUEST));
    }
    None
}

/// True when the path or query holds a byte outside ASCII, sent raw.
fn has_raw_non_ascii(uri: &axum::http::Uri) -> bool {
    uri.path_and_query()
        .is_some_and(|target| !target.as_str().is_ascii())
}

/// A status with no body that closes the connection: what every backend sends for a request it
/// cannot parse.
fn bare(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_raw_bytes_outside_ascii_in_the_path_and_query() {
        let raw = |target: &[u8]| {
            axum::http::Uri::from_maybe_shared(bytes::Bytes::copy_from_slice(target))
                .map(|uri| has_raw_non_ascii(&uri))
        };
        assert_eq!(raw(b"/hello/\xc3\xa9").ok(), Some(true));
        assert_eq!(raw(b"/hello?name=\xc3\xa9").ok(), Some(true));
        assert_eq!(raw(b"/hello/%C3%A9?name=%C3%A9").ok(), Some(false));
    }
}
