//! The examples driven without a socket, with the helpers of the core's router tests.

use axum::http::StatusCode;
use serde_json::json;

use crate::api::config::Config;
use crate::api::tests::{app_with, config, error_code, get, post, raw, send};
use crate::app::AppSettings;

/// The whole API under `base_path`: bodies up to 64 bytes, hashes up to 1024.
fn app(base_path: &str) -> axum::Router {
    app_with(Config {
        base_path: base_path.to_owned(),
        body_limit: 64,
        app: AppSettings {
            hash_limit: 1024,
            ..AppSettings::default()
        },
        ..config()
    })
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
    // 100 code points, percent-encoded as a client sends them (raw bytes outside ASCII are a bare 400).
    let hundred = "%C3%A9".repeat(100);
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
async fn every_answer_prints_numbers_like_javascript() {
    let (status, _, body) = raw(
        &app(""),
        post(
            "/echo",
            "application/json",
            r#"{"n":1.0,"m":[2.50,-0.0,1e21]}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"n":1,"m":[2.5,0,1e+21]}"#);
}

#[tokio::test]
async fn hello_takes_the_name_from_the_path_too() {
    let app = app("/api");
    assert_eq!(
        send(&app, get("/api/hello/%C3%A9t%C3%A9")).await.2,
        json!({"message": "Hello, été!"})
    );
    assert_eq!(
        send(&app, get("/api/hello/a%2Fb")).await.2,
        json!({"message": "Hello, a/b!"})
    );
    let long = format!("/api/hello/{}", "x".repeat(101));
    let (status, _, body) = send(&app, get(&long)).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_name")
    );
    let (status, _, body) = send(&app, get("/api/hello/%zz")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_path_parameter")
    );
    assert_eq!(
        send(&app, get("/api/hello/")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, get("/api/hello/x/")).await.0,
        StatusCode::NOT_FOUND
    );
}
