//! The router driven without a socket (`tower::ServiceExt::oneshot`).

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;

/// The defaults with the test routes on: what every test starts from.
fn config() -> Config {
    Config {
        test_routes: true,
        ..Config::default()
    }
}

fn app_with(config: Config) -> Router {
    router(AppState::for_tests(config))
}

fn app(base_path: &str) -> Router {
    app_with(Config {
        base_path: base_path.to_owned(),
        body_limit: 64,
        version: "9.9.9".to_owned(),
        app: crate::app::AppSettings {
            hash_limit: 1024, // [examples]
        },
        ..config()
    })
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
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

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, "x")
        .body(Body::empty())
        .expect("request")
}

fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, "x")
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("request")
}

fn error_code(body: &Value) -> &str {
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
async fn hello_greets_and_validates_the_name() {
    let app = app("");
    assert_eq!(
        send(&app, get("/hello")).await.2,
        json!({"message": "Hello, World!"})
    );
    assert_eq!(
        send(&app, get("/hello?name=%C3%A9t%C3%A9")).await.2,
        json!({"message": "Hello, été!"})
    );
    let hundred = "é".repeat(100);
    let ok = send(&app, get(&format!("/hello?name={hundred}"))).await;
    assert_eq!(ok.0, StatusCode::OK);
    for bad in ["/hello?name=", &format!("/hello?name={hundred}x")] {
        let (status, _, body) = send(&app, get(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_code(&body), "invalid_name");
    }
}

#[tokio::test]
async fn echo_returns_the_same_value_in_the_same_key_order() {
    let app = app("");
    let (status, _, body) = send(
        &app,
        post(
            "/echo",
            "application/json",
            r#"{"b":1,"a":[true,null,"x"]}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::to_string(&body).expect("json"),
        r#"{"b":1,"a":[true,null,"x"]}"#
    );
}

#[tokio::test]
async fn echo_refuses_wrong_type_bad_json_and_big_bodies() {
    let app = app("");
    let cases = [
        (
            post("/echo", "text/plain", "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post("/echo", "application/json", "{"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            post("/echo", "application/json", vec![b'"', 0xff, b'"']),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            post(
                "/echo",
                "application/json",
                format!("\"{}\"", "x".repeat(70)),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (request, want_status, want_code) in cases {
        let (status, _, body) = send(&app, request).await;
        assert_eq!((status, error_code(&body)), (want_status, want_code));
    }
}

#[tokio::test]
async fn echo_allows_nesting_to_127_levels_only() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let router = app_with(Config {
        body_limit: 4096,
        ..config()
    });
    assert_eq!(
        send(&router, post("/echo", "application/json", nested(127)))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(&router, post("/echo", "application/json", nested(128)))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn hash_streams_and_enforces_its_limit() {
    let app = app("");
    let (status, _, body) = send(&app, post("/hash", "application/octet-stream", "abc")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "bytes": 3})
    );
    let (status, _, body) = send(&app, post("/hash", "text/plain", vec![0u8; 1025])).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

#[tokio::test]
async fn counter_counts_per_router_state() {
    let app = app("");
    assert_eq!(send(&app, get("/counter")).await.2, json!({"value": 0}));
    assert_eq!(
        send(&app, post("/counter", "text/plain", "")).await.2,
        json!({"value": 1})
    );
    assert_eq!(
        send(&app, post("/counter", "text/plain", "")).await.2,
        json!({"value": 2})
    );
    assert_eq!(send(&app, get("/counter")).await.2, json!({"value": 2}));
}

#[tokio::test]
async fn unknown_paths_404_and_wrong_methods_405_with_allow() {
    let app = app("");
    let (status, _, body) = send(&app, get("/nope")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, allow, body) = send(&app, post("/hello", "application/json", "{}")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    assert_eq!(allow.as_deref(), Some("GET,HEAD"));
    let (_, allow, _) = send(
        &app,
        Request::delete("/counter")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(allow.as_deref(), Some("GET,HEAD,POST"));
}

#[tokio::test]
async fn base_path_is_required_when_set() {
    let app = app("/api");
    assert_eq!(send(&app, get("/api/hello?name=x")).await.0, StatusCode::OK);
    assert_eq!(send(&app, get("/hello")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, get("/api")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, get("/apihello")).await.0, StatusCode::NOT_FOUND);
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
