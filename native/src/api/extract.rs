//! Extractors that answer the catalogue's JSON errors, never axum's text/plain rejections:
//! use these instead of axum's `Path`, `Query` and `Json` (the prelude exports them).
//!
//! - [`Path<T>`]: 400 `invalid_path_parameter` for a malformed `%` escape, an escape that
//!   decodes to bytes that are not UTF-8, or a value that does not deserialize into `T`.
//! - [`Query<T>`]: 400 `invalid_query` when the query does not deserialize into `T`.
//! - [`Json<T>`]: 415 `unsupported_media_type` unless the body is declared JSON, 413
//!   `payload_too_large` over `bodyLimit`, 408 `request_timeout`, 400 `invalid_json` for a body
//!   that is not JSON (syntax, UTF-8, nesting deeper than 127), 400 `invalid_body` for JSON that
//!   does not fit `T`.

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::body::{is_json_content_type, read_limited};
use super::error::{AppError, ErrorCode};
use super::state::AppState;

/// The route's `{parameters}`, percent-decoded once, deserialized into `T` (a `String`, a
/// tuple, or a struct with the parameters' names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = || AppError::new(ErrorCode::InvalidPathParameter);
        // axum leaves a malformed escape (`%zz`) as it is; decodeURIComponent, and so the
        // fallback, refuses it. Checked on the path as received, before anything decodes it.
        if has_malformed_escape(parts.uri.path()) {
            return Err(invalid());
        }
        // Refuses a parameter whose escapes decode to bytes that are not UTF-8 (`%FF`).
        RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid())?;
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| invalid())
    }
}

/// True when a `%` is not followed by two hexadecimal digits.
fn has_malformed_escape(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// The query string deserialized into `T` (`application/x-www-form-urlencoded`, decoded as
/// `URLSearchParams` decodes it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|_| AppError::new(ErrorCode::InvalidQuery))
    }
}

/// A JSON request body deserialized into `T` (`serde_json::Value` takes any JSON). Read with
/// the server's `bodyLimit` and request timeout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let (parts, body) = request.into_parts();
        if !is_json_content_type(&parts.headers) {
            return Err(AppError::new(ErrorCode::UnsupportedMediaType));
        }
        let config = &state.config;
        let limits = config.limits(config.body_limit);
        let bytes = read_limited(&parts.headers, Body::new(body), limits).await?;
        // Parsed in two steps, as the fallback does (JSON.parse, then the fields): text that is
        // not JSON is `invalid_json` wherever the mistake is, JSON of the wrong shape
        // `invalid_body`. serde_json refuses invalid UTF-8, a byte-order mark and nesting
        // deeper than 127, the rules the fallback applies too.
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| AppError::new(ErrorCode::InvalidJson))?;
        serde_json::from_value(value)
            .map(Self)
            .map_err(|_| AppError::new(ErrorCode::InvalidBody))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::{to_bytes, Body};
    use axum::http::{header, Request, StatusCode};
    use axum::response::Response;
    use axum::routing::{get, post};
    use axum::Router;
    use serde::Deserialize;
    use serde_json::{json, Value};
    use tower::ServiceExt;

    use super::*;
    use crate::api::config::Config;
    use crate::api::json::json;

    fn router(config: Config) -> Router {
        Router::new()
            .route(
                "/items/{id}",
                get(|Path(id): Path<String>| async move { json(StatusCode::OK, &json!({ "id": id })) }),
            )
            .route(
                "/pairs/{a}/{b}",
                get(|Path((a, b)): Path<(String, u8)>| async move {
                    json(StatusCode::OK, &json!({ "a": a, "b": b }))
                }),
            )
            .route(
                "/files/{*rest}",
                get(|Path(rest): Path<String>| async move {
                    json(StatusCode::OK, &json!({ "rest": rest }))
                }),
            )
            .route(
                "/search",
                get(|Query(q): Query<Search>| async move {
                    json(StatusCode::OK, &json!({ "q": q.q, "page": q.page }))
                }),
            )
            .route(
                "/any",
                post(|Json(value): Json<Value>| async move { json(StatusCode::OK, &value) }),
            )
            .route(
                "/item",
                post(|Json(item): Json<Item>| async move {
                    json(StatusCode::OK, &json!({ "name": item.name }))
                }),
            )
            .with_state(AppState::for_tests(config))
    }

    #[derive(Deserialize)]
    struct Search {
        q: String,
        page: Option<u32>,
    }

    #[derive(Deserialize)]
    struct Item {
        name: String,
    }

    fn app() -> Router {
        router(Config {
            body_limit: 32,
            ..Config::default()
        })
    }

    async fn answer(app: Router, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
        let response: Response = app.oneshot(request).await.expect("infallible");
        let status = response.status();
        let connection = response
            .headers()
            .get(header::CONNECTION)
            .map(|v| v.to_str().expect("ascii").to_owned());
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, connection, body)
    }

    async fn get_path(uri: &str) -> (StatusCode, Value) {
        let request = Request::get(uri).body(Body::empty()).expect("request");
        let (status, _, body) = answer(app(), request).await;
        (status, body)
    }

    async fn post_json(
        uri: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, Option<String>, Value) {
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .expect("request");
        answer(app(), request).await
    }

    fn code(body: &Value) -> &str {
        body["error"]["code"].as_str().unwrap_or("")
    }

    #[tokio::test]
    async fn path_parameters_are_decoded_once() {
        assert_eq!(
            get_path("/items/abc").await,
            (StatusCode::OK, json!({"id": "abc"}))
        );
        assert_eq!(
            get_path("/items/a%2Fb").await,
            (StatusCode::OK, json!({"id": "a/b"}))
        );
        assert_eq!(
            get_path("/items/%2541").await,
            (StatusCode::OK, json!({"id": "%41"}))
        );
        assert_eq!(
            get_path("/items/%C3%A9").await,
            (StatusCode::OK, json!({"id": "é"}))
        );
        assert_eq!(
            get_path("/items/a%20b").await,
            (StatusCode::OK, json!({"id": "a b"}))
        );
        assert_eq!(
            get_path("/files/a/b%2Fc/%C3%A9").await,
            (StatusCode::OK, json!({"rest": "a/b/c/é"}))
        );
    }

    #[tokio::test]
    async fn malformed_escapes_and_bytes_that_are_not_utf8_answer_invalid_path_parameter() {
        for uri in [
            "/items/%zz",
            "/items/%FF",
            "/items/a%",
            "/items/%4",
            "/items/%C3",
            "/files/x/%zz",
            "/files/%FF",
        ] {
            let (status, body) = get_path(uri).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::BAD_REQUEST, "invalid_path_parameter"),
                "{uri}"
            );
            assert_eq!(
                body["error"]["message"], "A path parameter is not valid.",
                "{uri}"
            );
        }
    }

    #[tokio::test]
    async fn a_parameter_that_does_not_deserialize_answers_invalid_path_parameter() {
        assert_eq!(
            get_path("/pairs/x/7").await,
            (StatusCode::OK, json!({"a": "x", "b": 7}))
        );
        let (status, body) = get_path("/pairs/x/300").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_path_parameter")
        );
    }

    #[tokio::test]
    async fn empty_segments_and_trailing_slashes_do_not_match() {
        for uri in ["/items/", "/items/a/", "/items//", "/items"] {
            assert_eq!(get_path(uri).await.0, StatusCode::NOT_FOUND, "{uri}");
        }
    }

    #[tokio::test]
    async fn a_query_that_does_not_fit_answers_invalid_query() {
        assert_eq!(
            get_path("/search?q=a+b&page=2").await,
            (StatusCode::OK, json!({"q": "a b", "page": 2}))
        );
        for uri in [
            "/search",
            "/search?page=2",
            "/search?q=x&page=-1",
            "/search?q=x&page=y",
        ] {
            let (status, body) = get_path(uri).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::BAD_REQUEST, "invalid_query"),
                "{uri}"
            );
        }
    }

    #[tokio::test]
    async fn json_bodies_are_read_within_the_limit_and_checked() {
        assert_eq!(
            post_json("/any", "application/json", r#"{"b":1.0,"a":[2]}"#).await,
            (StatusCode::OK, None, json!({"b": 1, "a": [2]}))
        );
        let (status, _, body) = post_json("/any", "text/plain", "{}").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        );
        let (status, _, body) = post_json("/any", "application/json", "{").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        let (status, _, body) = post_json("/any", "application/json", vec![b'"', 0xff, b'"']).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        let (status, connection, body) = post_json(
            "/any",
            "application/json",
            format!("\"{}\"", "x".repeat(40)),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        );
        assert_eq!(connection.as_deref(), Some("close"));
        assert_eq!(
            body["error"]["message"],
            "The request body is larger than the limit of 32 bytes."
        );
    }

    #[tokio::test]
    async fn json_of_the_wrong_shape_answers_invalid_body_and_bad_syntax_invalid_json() {
        assert_eq!(
            post_json("/item", "application/json", r#"{"name":"x"}"#).await,
            (StatusCode::OK, None, json!({"name": "x"}))
        );
        for text in [r#"{"name":1}"#, "[]", "{}"] {
            let (status, _, body) = post_json("/item", "application/json", text).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::BAD_REQUEST, "invalid_body"),
                "{text}"
            );
        }
        // A syntax error is invalid_json even after a field of the wrong type.
        let (status, _, body) = post_json("/item", "application/json", r#"{"name":1,"#).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
    }

    #[tokio::test]
    async fn a_json_body_that_trickles_answers_request_timeout() {
        let app = router(Config {
            request_timeout_ms: 50,
            ..Config::default()
        });
        let stalled = futures_util::stream::pending::<Result<bytes::Bytes, std::io::Error>>();
        let request = Request::post("/any")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(stalled))
            .expect("request");
        let started = std::time::Instant::now();
        let (status, connection, body) = answer(app, request).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::REQUEST_TIMEOUT, "request_timeout")
        );
        assert_eq!(connection.as_deref(), Some("close"));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
