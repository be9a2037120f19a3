//! Reading request bodies within a limit, and recognising JSON content types.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use bytes::BytesMut;
use http_body_util::BodyExt;

use super::error::{AppError, ErrorCode};

/// Refuses at once a body whose declared `Content-Length` is over `limit`, before reading it.
pub fn check_declared_length(headers: &HeaderMap, limit: u64) -> Result<(), AppError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// 413 `payload_too_large`, naming `limit`.
fn too_large(limit: u64) -> AppError {
    AppError::new(ErrorCode::PayloadTooLarge).with("limit", limit)
}

/// How much of a body may arrive, and how fast.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Bytes at most.
    pub bytes: u64,
    /// Time at most, from the first read.
    pub time: std::time::Duration,
}

/// Calls `on_chunk` for each chunk of `body`, failing with 413 once it passes `limit` bytes.
/// Returns the number of bytes read.
pub async fn stream_limited(
    headers: &HeaderMap,
    body: &mut Body,
    limits: BodyLimits,
    mut on_chunk: impl FnMut(&Bytes),
) -> Result<u64, AppError> {
    let limit = limits.bytes;
    check_declared_length(headers, limit)?;
    let deadline = tokio::time::Instant::now() + limits.time;
    let mut total: u64 = 0;
    loop {
        // A client trickling its body (or stalling) gets a 408, as Node's requestTimeout does.
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => return Err(AppError::new(ErrorCode::RequestTimeout)),
        };
        let frame = frame.map_err(|_| AppError::new(ErrorCode::BodyReadFailed))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        total += chunk.len() as u64;
        if total > limit {
            // The rest stays unread; the connection's lingering close lets the client finish
            // sending and read this answer (serve/lingering.rs).
            return Err(too_large(limit));
        }
        on_chunk(&chunk);
    }
    Ok(total)
}

/// Reads the whole body, failing with 413 once it passes `limit` bytes.
pub async fn read_limited(
    headers: &HeaderMap,
    mut body: Body,
    limits: BodyLimits,
) -> Result<Bytes, AppError> {
    let mut buffer = BytesMut::new();
    stream_limited(headers, &mut body, limits, |chunk| {
        buffer.extend_from_slice(chunk)
    })
    .await?;
    Ok(buffer.freeze())
}

/// True for `application/json` and `application/<anything>+json`, parameters ignored.
pub fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let media_type = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media_type.strip_prefix("application/") {
        Some(subtype) => subtype == "json" || (subtype.len() > 5 && subtype.ends_with("+json")),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_type(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn recognises_json_media_types() {
        assert!(is_json_content_type(&with_type("application/json")));
        assert!(is_json_content_type(&with_type(
            "Application/JSON; charset=utf-8"
        )));
        assert!(is_json_content_type(&with_type("application/problem+json")));
        assert!(!is_json_content_type(&with_type("application/+json")));
        assert!(!is_json_content_type(&with_type("text/json")));
        assert!(!is_json_content_type(&with_type("text/plain")));
        assert!(!is_json_content_type(&HeaderMap::new()));
    }
}
