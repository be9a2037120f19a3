//! An HTTP/1.1 request without `Host` must be refused (RFC 9112 section 3.2); hyper lets it
//! through and Node refuses it, so this keeps the backends alike. (A request with both
//! `Content-Length` and `Transfer-Encoding` needs nothing here: hyper lets Transfer-Encoding win,
//! drops Content-Length and closes the connection after answering, as RFC 9112 section 6.3
//! asks, so a smuggled second request never runs.)

use axum::extract::Request;
use axum::http::{header, Version};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{AppError, ErrorCode};

/// Answers 400 `bad_request` (and closes the connection) instead of running the handler.
pub async fn reject_hostless(request: Request, next: Next) -> Response {
    if request.version() == Version::HTTP_11 && !request.headers().contains_key(header::HOST) {
        return AppError::new(ErrorCode::BadRequest).into_response();
    }
    next.run(request).await
}
