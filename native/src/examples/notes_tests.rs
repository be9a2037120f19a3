//! `/notes` driven without a socket, on a real SQLite file in a fresh temporary directory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

use super::notes::iso_time;
use super::notes_db::NotesDb;
use crate::api::config::Config;
use crate::api::tests::{config, error_code, get, post, raw, send};
use crate::api::{router, AppState};
use crate::app::Resources;

/// A directory of its own under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "handoff-notes-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The API with the notes on `database_url`, under `base_path`.
async fn app_on(database_url: &str, base_path: &str) -> axum::Router {
    let notes = NotesDb::open(database_url).expect("url");
    notes.start().await;
    let resources = Resources { notes: Some(notes) };
    router(AppState::new(
        Config {
            base_path: base_path.to_owned(),
            body_limit: 64 * 1024,
            ..config()
        },
        Arc::new(resources),
    ))
}

/// The API on a SQLite file in `dir` (created by the first request: `data/` does not exist).
async fn app(dir: &TempDir) -> axum::Router {
    app_on(
        &format!("sqlite:{}", dir.0.join("data/app.db").display()),
        "",
    )
    .await
}

fn send_json(method: &str, uri: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "x")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request")
}

fn delete(uri: &str) -> Request<Body> {
    Request::delete(uri)
        .header(header::HOST, "x")
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn notes_are_created_read_listed_updated_and_deleted() {
    let dir = TempDir::new();
    let app = app(&dir).await;
    let (status, headers, text) = raw(
        &app,
        post("/notes", "application/json", r#"{"title":"a","body":"b"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(headers["location"], "/notes/1");
    let note: Value = serde_json::from_str(&text).expect("json");
    let keys: Vec<_> = note.as_object().expect("object").keys().cloned().collect();
    assert_eq!(keys, ["id", "title", "body", "createdAt", "updatedAt"]);
    assert_eq!(
        (note["id"].clone(), note["title"].clone()),
        (json!(1), json!("a"))
    );
    assert_eq!(note["createdAt"], note["updatedAt"]);
    assert!(
        dir.0.join("data/app.db").is_file(),
        "data/ and the file are created"
    );

    assert_eq!(send(&app, get("/notes/1")).await.2, note);
    let (status, _, updated) = send(
        &app,
        send_json("PUT", "/notes/1", r#"{"title":"c","body":""}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["title"], "c");
    assert_eq!(updated["body"], "");
    assert_eq!(updated["createdAt"], note["createdAt"]);

    let (status, headers, text) = raw(&app, delete("/notes/1")).await;
    assert_eq!((status, text.as_str()), (StatusCode::NO_CONTENT, ""));
    assert!(headers.get(header::CONTENT_TYPE).is_none());
    let (status, _, body) = send(&app, get("/notes/1")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "note_not_found")
    );
    assert_eq!(body["error"]["message"], "No note has this id.");
    let (status, _, body) = send(&app, delete("/notes/1")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "note_not_found")
    );
    let (status, _, body) = send(
        &app,
        send_json("PUT", "/notes/1", r#"{"title":"c","body":""}"#),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "note_not_found")
    );
}

#[tokio::test]
async fn pages_go_newest_first_with_next() {
    let dir = TempDir::new();
    let app = app(&dir).await;
    for i in 1..=5 {
        let body = format!(r#"{{"title":"t{i}","body":"b"}}"#);
        assert_eq!(
            send(&app, post("/notes", "application/json", body)).await.0,
            StatusCode::CREATED
        );
    }
    let ids = |page: &Value| -> Vec<i64> {
        page["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .map(|n| n["id"].as_i64().expect("id"))
            .collect()
    };
    let (_, _, page) = send(&app, get("/notes")).await;
    assert_eq!(
        (ids(&page), page["next"].clone()),
        (vec![5, 4, 3, 2, 1], Value::Null)
    );
    let (_, _, page) = send(&app, get("/notes?limit=2&x=y")).await;
    assert_eq!((ids(&page), page["next"].clone()), (vec![5, 4], json!(4)));
    let (_, _, page) = send(&app, get("/notes?limit=2&after=4")).await;
    assert_eq!((ids(&page), page["next"].clone()), (vec![3, 2], json!(2)));
    let (_, _, page) = send(&app, get("/notes?limit=2&after=2")).await;
    assert_eq!((ids(&page), page["next"].clone()), (vec![1], Value::Null));
    // Exactly `limit` left: no next page.
    let (_, _, page) = send(&app, get("/notes?limit=3&after=4")).await;
    assert_eq!(
        (ids(&page), page["next"].clone()),
        (vec![3, 2, 1], Value::Null)
    );
    // The first of a repeated parameter counts.
    let (_, _, page) = send(&app, get("/notes?limit=1&limit=x")).await;
    assert_eq!(ids(&page), vec![5]);
    let (status, _, page) = send(&app, get("/notes?limit=100&after=9007199254740991")).await;
    assert_eq!((status, ids(&page).len()), (StatusCode::OK, 5));
    for bad in [
        "limit=0",
        "limit=101",
        "limit=01",
        "limit=",
        "limit=-1",
        "limit=1.0",
        "limit=%201",
        "after=0",
        "after=9007199254740992",
        "after=abc",
        "after=",
        "after=1e3",
    ] {
        let (status, _, body) = send(&app, get(&format!("/notes?{bad}"))).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn bodies_ids_titles_and_lengths_are_validated_in_order() {
    let dir = TempDir::new();
    let app = app(&dir).await;
    let check =
        |method: &'static str, uri: &'static str, content_type: &'static str, body: String| {
            let app = app.clone();
            async move {
                let request = Request::builder()
                    .method(method)
                    .uri(uri)
                    .header(header::HOST, "x")
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body))
                    .expect("request");
                let (status, _, body) = send(&app, request).await;
                (status.as_u16(), error_code(&body).to_owned())
            }
        };
    let json_type = "application/json";
    let cases: Vec<(&str, &str, &str, String, u16, &str)> = vec![
        (
            "POST",
            "/notes",
            "text/plain",
            "{}".into(),
            415,
            "unsupported_media_type",
        ),
        ("POST", "/notes", json_type, "{".into(), 400, "invalid_json"),
        (
            "POST",
            "/notes",
            json_type,
            r#"["a","b"]"#.into(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/notes",
            json_type,
            r#"{"title":"a"}"#.into(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/notes",
            json_type,
            r#"{"title":"a","body":"b","x":1}"#.into(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/notes",
            json_type,
            r#"{"title":"a","extra":"b"}"#.into(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/notes",
            json_type,
            r#"{"title":1,"body":"b"}"#.into(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/notes",
            json_type,
            r#"{"title":"a","body":null}"#.into(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/notes",
            json_type,
            "null".into(),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/notes",
            json_type,
            r#"{"title":"","body":"b"}"#.into(),
            400,
            "invalid_note_title",
        ),
        (
            "POST",
            "/notes",
            json_type,
            format!(r#"{{"title":"{}","body":"b"}}"#, "é".repeat(201)),
            400,
            "invalid_note_title",
        ),
        (
            "POST",
            "/notes",
            json_type,
            format!(r#"{{"title":"","body":"{}"}}"#, "x".repeat(10_001)),
            400,
            "invalid_note_title",
        ),
        (
            "POST",
            "/notes",
            json_type,
            format!(r#"{{"title":"a","body":"{}"}}"#, "😀".repeat(10_001)),
            400,
            "invalid_note_body",
        ),
        (
            "PUT",
            "/notes/0",
            json_type,
            "{".into(),
            400,
            "invalid_note_id",
        ),
        (
            "PUT",
            "/notes/01",
            "text/plain",
            "{}".into(),
            400,
            "invalid_note_id",
        ),
        (
            "PUT",
            "/notes/9007199254740992",
            json_type,
            "{".into(),
            400,
            "invalid_note_id",
        ),
        (
            "PUT",
            "/notes/1",
            json_type,
            "{".into(),
            400,
            "invalid_json",
        ),
        (
            "PUT",
            "/notes/1",
            json_type,
            r#"{"title":"","body":""}"#.into(),
            400,
            "invalid_note_title",
        ),
        (
            "PUT",
            "/notes/1",
            json_type,
            r#"{"title":"a","body":""}"#.into(),
            404,
            "note_not_found",
        ),
        (
            "GET",
            "/notes/abc",
            json_type,
            String::new(),
            400,
            "invalid_note_id",
        ),
        (
            "GET",
            "/notes/-1",
            json_type,
            String::new(),
            400,
            "invalid_note_id",
        ),
        (
            "GET",
            "/notes/1.0",
            json_type,
            String::new(),
            400,
            "invalid_note_id",
        ),
        (
            "DELETE",
            "/notes/+1",
            json_type,
            String::new(),
            400,
            "invalid_note_id",
        ),
        (
            "GET",
            "/notes/9007199254740991",
            json_type,
            String::new(),
            404,
            "note_not_found",
        ),
    ];
    for (method, uri, content_type, body, status, code) in cases {
        let what = format!(
            "{method} {uri} {}",
            body.chars().take(40).collect::<String>()
        );
        assert_eq!(
            check(method, uri, content_type, body).await,
            (status, code.to_owned()),
            "{what}"
        );
    }
    // At the limits: 200 code points of title, 10000 of body (astral characters count once).
    let title = "😀".repeat(200);
    let body = "😀".repeat(10_000);
    let text = serde_json::to_string(&json!({"title": title, "body": body})).expect("json");
    let (status, _, note) = send(&app, post("/notes", json_type, text)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (note["title"].as_str(), note["body"].as_str()),
        (Some(&*title), Some(&*body))
    );
}

#[tokio::test]
async fn strings_are_stored_as_sent_and_sql_stays_data() {
    let dir = TempDir::new();
    let app = app(&dir).await;
    for (title, body) in [
        ("'); DROP TABLE notes; --", "\" OR 1=1 --"),
        ("  spaces kept  ", "nul \u{0} inside\nand é 😀 \\"),
        ("Robert'); DELETE FROM notes WHERE ('1'='1", "%_?"),
    ] {
        let text = serde_json::to_string(&json!({"title": title, "body": body})).expect("json");
        let (status, _, note) = send(&app, post("/notes", "application/json", text)).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, _, read) = send(&app, get(&format!("/notes/{}", note["id"]))).await;
        assert_eq!(
            (read["title"].as_str(), read["body"].as_str()),
            (Some(title), Some(body))
        );
    }
    let (_, _, page) = send(&app, get("/notes")).await;
    assert_eq!(page["notes"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn the_location_carries_the_base_path() {
    let dir = TempDir::new();
    let url = format!("sqlite:{}", dir.0.join("app.db").display());
    let app = app_on(&url, "/api").await;
    let (status, headers, _) = raw(
        &app,
        post(
            "/api/notes",
            "application/json",
            r#"{"title":"a","body":"b"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers["location"], "/api/notes/1");
}

#[tokio::test]
async fn health_reports_the_database_and_an_unwritable_directory_answers_503() {
    let dir = TempDir::new();
    let app = app(&dir).await;
    let (_, _, health) = send(&app, get("/health")).await;
    assert_eq!(
        (health["status"].clone(), health["checks"].clone()),
        (json!("ok"), json!({"database": "up"}))
    );
    let keys: Vec<_> = health
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        ["status", "backend", "version", "pid", "uptimeMs", "checks"]
    );

    // A regular file where the data directory should be: SQLite cannot create its file.
    let blocked = dir.0.join("blocked");
    std::fs::write(&blocked, "not a directory").expect("file");
    let app = app_on(&format!("sqlite:{}", blocked.join("app.db").display()), "").await;
    let (_, _, health) = send(&app, get("/health")).await;
    assert_eq!(
        (health["status"].clone(), health["checks"].clone()),
        (json!("degraded"), json!({"database": "down"}))
    );
    let (status, _, body) = send(
        &app,
        post("/notes", "application/json", r#"{"title":"a","body":"b"}"#),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
    );
    // Validation still comes first.
    let (status, _, body) = send(&app, get("/notes/0")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_note_id")
    );
    // Once the directory can be made, the same server serves the notes: no restart.
    std::fs::remove_file(&blocked).expect("rm");
    let (status, _, _) = send(
        &app,
        post("/notes", "application/json", r#"{"title":"a","body":"b"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, health) = send(&app, get("/health")).await;
    assert_eq!(health["checks"], json!({"database": "up"}));
}

#[tokio::test]
async fn a_mysql_server_that_refuses_answers_503_it_did_not_answer() {
    // Port 1 on loopback: nothing listens there, the connection is refused.
    let app = app_on("mysql://u:secret@127.0.0.1:1/db", "").await;
    let (status, _, body) = send(&app, get("/notes")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
    );
    assert_eq!(
        body["error"]["message"],
        "The database is not available: it did not answer; try again shortly."
    );
    let (_, _, health) = send(&app, get("/health")).await;
    assert_eq!(health["checks"], json!({"database": "down"}));
}

#[test]
fn times_print_like_to_iso_string() {
    assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso_time(1_795_980_000_123), "2026-11-29T19:20:00.123Z");
    assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(iso_time(-1), "1969-12-31T23:59:59.999Z");
    assert_eq!(iso_time(253_402_300_800_000), "+010000-01-01T00:00:00.000Z");
    assert_eq!(iso_time(-62_198_755_200_000), "-000001-01-01T00:00:00.000Z");
}
