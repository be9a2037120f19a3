//! The router driven without a socket (`tower::ServiceExt::oneshot`).

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;

/// The defaults with the test routes on: what every test starts from.
pub(crate) fn config() -> Config {
    Config {
        test_routes: true,
        ..Config::default()
    }
}

pub(crate) fn app_with(config: Config) -> Router {
    router(AppState::for_tests(config))
}

pub(crate) fn app(base_path: &str) -> Router {
    app_with(Config {
        base_path: base_path.to_owned(),
        body_limit: 64,
        version: "9.9.9".to_owned(),
        ..config()
    })
}

pub(crate) async fn send(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, Option<String>, Value) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let allow = response
        .headers()
        .get(header::ALLOW)
        .map(|v| v.to_str().expect("ascii").to_owned());
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/json; charset=utf-8"[..])
    );
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        allow,
        serde_json::from_slice(&bytes).expect("json body"),
    )
}

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, "x")
        .body(Body::empty())
        .expect("request")
}

pub(crate) fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, "x")
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("request")
}

pub(crate) fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().expect("error code")
}

#[tokio::test]
async fn health_reports_native_and_version() {
    let (status, _, body) = send(&app(""), get("/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["backend"], "native");
    assert_eq!(body["version"], "9.9.9");
    assert_eq!(body["pid"], std::process::id());
    assert!(body["uptimeMs"].is_u64());
}

#[tokio::test]
async fn unknown_paths_404_and_wrong_methods_405_with_allow() {
    let app = app("");
    let (status, _, body) = send(&app, get("/nope")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, allow, body) = send(&app, post("/health", "application/json", "{}")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    assert_eq!(allow.as_deref(), Some("GET,HEAD"));
    let (_, allow, _) = send(
        &app,
        Request::delete("/__test/count")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(allow.as_deref(), Some("GET,HEAD,POST"));
}

#[tokio::test]
async fn base_path_is_required_when_set() {
    let app = app("/api");
    assert_eq!(send(&app, get("/api/health")).await.0, StatusCode::OK);
    for outside in [
        "/health",
        "/api",
        "/api/",
        "/apihealth",
        "/api/health/",
        "/API/health",
    ] {
        assert_eq!(
            send(&app, get(outside)).await.0,
            StatusCode::NOT_FOUND,
            "{outside}"
        );
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_next_request_is_served() {
    let app = catch_panics(
        Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    if std::process::id() > 0 {
                        panic!("boom");
                    }
                    "unreachable"
                }),
            )
            .route("/ok", axum::routing::get(|| async { "fine" })),
    );
    let response = app.clone().oneshot(get("/boom")).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(error_code(&body), "internal_error");
    let response = app.oneshot(get("/ok")).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn refuses_an_http11_request_without_host() {
    let hostless = Request::get("/health")
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(&app(""), hostless).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
}

pub(crate) async fn raw(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        headers,
        String::from_utf8(bytes.to_vec()).expect("utf-8"),
    )
}

#[tokio::test]
async fn the_upload_test_route_counts_bytes_within_the_body_limit() {
    let app = app("");
    let (status, _, body) = send(&app, post("/__test/upload", "text/plain", "x".repeat(64))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"bytes": 64})));
    let (status, headers, body) = raw(
        &app,
        post("/__test/upload", "application/octet-stream", vec![0u8; 65]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers["connection"], "close");
    assert_eq!(
        body,
        r#"{"error":{"code":"payload_too_large","message":"The request body is larger than the limit of 64 bytes."}}"#
    );
    // A declared length over the limit is refused before the body is read.
    let declared = Request::post("/__test/upload")
        .header(header::HOST, "x")
        .header(header::CONTENT_LENGTH, "1000")
        .body(Body::from_stream(futures_util::stream::pending::<
            Result<bytes::Bytes, std::io::Error>,
        >()))
        .expect("request");
    let (status, _, body) = send(&app, declared).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

#[tokio::test]
async fn a_trickling_upload_answers_408() {
    let app = app_with(Config {
        request_timeout_ms: 50,
        ..config()
    });
    let stalled = Request::post("/__test/upload")
        .header(header::HOST, "x")
        .body(Body::from_stream(futures_util::stream::pending::<
            Result<bytes::Bytes, std::io::Error>,
        >()))
        .expect("request");
    let (status, headers, _) = raw(&app, stalled).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(headers["connection"], "close");
}

#[tokio::test]
async fn the_count_test_route_counts_per_router() {
    let first = app("");
    let second = app("");
    assert_eq!(
        send(&first, get("/__test/count")).await.2,
        json!({"value": 0})
    );
    assert_eq!(
        send(&first, post("/__test/count", "text/plain", ""))
            .await
            .2,
        json!({"value": 1})
    );
    assert_eq!(
        send(&first, get("/__test/count")).await.2,
        json!({"value": 1})
    );
    assert_eq!(
        send(&second, get("/__test/count")).await.2,
        json!({"value": 0})
    );
    let (status, allow, _) = send(
        &first,
        Request::put("/__test/count")
            .header(header::HOST, "x")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(allow.as_deref(), Some("GET,HEAD,POST"));
}

#[tokio::test]
async fn path_parameters_decode_once_and_the_path_is_relative_to_the_base() {
    for base in ["", "/api"] {
        let app = app(base);
        let cases = [
            (
                "/__test/params/x/y",
                json!({"a": "x", "b": "y", "path": "/__test/params/x/y"}),
            ),
            (
                "/__test/params/a%2Fb/%2541",
                json!({"a": "a/b", "b": "%41", "path": "/__test/params/a%2Fb/%2541"}),
            ),
            (
                "/__test/params/%C3%A9/a%20b",
                json!({"a": "é", "b": "a b", "path": "/__test/params/%C3%A9/a%20b"}),
            ),
            (
                "/__test/files/a/b%2Fc/",
                json!({"rest": "a/b/c/", "path": "/__test/files/a/b%2Fc/"}),
            ),
        ];
        for (path, want) in cases {
            let (status, _, body) = send(&app, get(&format!("{base}{path}"))).await;
            assert_eq!((status, body), (StatusCode::OK, want), "{base}{path}");
        }
        for bad in [
            "/__test/params/%zz/y",
            "/__test/params/x/%FF",
            "/__test/files/%zz",
        ] {
            let (status, _, body) = send(&app, get(&format!("{base}{bad}"))).await;
            assert_eq!(
                (status, error_code(&body)),
                (StatusCode::BAD_REQUEST, "invalid_path_parameter"),
                "{base}{bad}"
            );
        }
        // An empty segment in the middle is an empty parameter (matchit, the reference).
        let (status, _, body) = send(&app, get(&format!("{base}/__test/params//y"))).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::OK,
                json!({"a": "", "b": "y", "path": "/__test/params//y"})
            )
        );
        for missing in [
            "/__test/params/x/",
            "/__test/params/x/y/",
            "/__test/params/x",
            "/__test/files/",
            "/__test/files",
        ] {
            let (status, _, body) = send(&app, get(&format!("{base}{missing}"))).await;
            assert_eq!(
                (status, error_code(&body)),
                (StatusCode::NOT_FOUND, "not_found"),
                "{base}{missing}"
            );
        }
    }
}

#[tokio::test]
async fn test_routes_are_mounted_only_when_asked() {
    let app = app_with(Config::default());
    for path in ["/__test/panic", "/__test/count", "/__test/params/a/b"] {
        assert_eq!(
            send(&app, get(path)).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(send(&app, get("/health")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_panic_test_route_answers_500_internal_error() {
    let (status, _, body) = send(&app("/api"), get("/api/__test/panic")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
    );
}
