//! The committed SCGI corpus (`tests/scgi-corpus/*.bin`): interesting and hostile request bytes,
//! each sent on its own connection to the whole API (test routes on) through the SCGI server
//! (`serve::scgi::serve`), with the connection's end after the bytes. The file name says what
//! must come back: `closed-*` nothing (broken framing: the connection is closed unanswered),
//! `<status>-*` an answer with that status, CGI style. A new case is a new file.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

/// Sends `input` on a fresh connection, ends it, and returns everything the server wrote.
fn exchange(input: &[u8]) -> Vec<u8> {
    let app = common::test_app("", 1024);
    common::block_on(async {
        let (mut client, server) = tokio::io::duplex(1024 * 1024);
        let serving = handoff::serve::scgi::serve(server, None, app, Duration::from_secs(5));
        let talking = async {
            client.write_all(input).await.expect("write");
            client.shutdown().await.expect("shutdown");
            let mut output = Vec::new();
            client.read_to_end(&mut output).await.expect("read");
            output
        };
        let ((), output) = tokio::join!(serving, talking);
        output
    })
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scgi-corpus");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "bin"))
        .map(|path| {
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_gets_the_answer_its_name_says() {
    let files = corpus();
    assert!(
        files.len() >= 40,
        "the corpus is there ({} files)",
        files.len()
    );
    for (name, input) in files {
        let output = exchange(&input);
        let text = String::from_utf8_lossy(&output);
        let expected = name.split('-').next().expect("prefix");
        if expected == "closed" {
            assert!(
                output.is_empty(),
                "{name}: expected no answer, got {text:?}"
            );
            continue;
        }
        let status: u16 = expected.parse().expect("status prefix");
        assert!(
            text.starts_with(&format!("Status: {status} ")),
            "{name}: {text:?}"
        );
        let (head, body) = text.split_once("\r\n\r\n").expect("blank line");
        assert!(!head.contains("HTTP/1."), "{name}: {head}");
        assert!(!head.contains("transfer-encoding"), "{name}: {head}");
        assert!(!head.contains("connection:"), "{name}: {head}");
        assert!(head.contains("\r\ndate: "), "{name}: {head}");
        if name.starts_with("200-head-") {
            assert!(body.is_empty(), "{name}: HEAD has no body");
            continue;
        }
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .expect("content-length")
            .parse()
            .expect("number");
        assert_eq!(body.len(), length, "{name}: {text:?}");
        match name.as_str() {
            "400-body-shorter-then-eof" => assert!(body.contains("body_read_failed"), "{body}"),
            // A target the HTTP server cannot parse: its bare 400, as over HTTP.
            "400-refused-target-bare" => assert_eq!(body, ""),
            n if n.starts_with("400-") => {
                assert_eq!(
                    body,
                    r#"{"error":{"code":"bad_request","message":"The request is malformed."}}"#
                );
                assert!(head.contains("\r\ncache-control: no-store"), "{head}");
            }
            "200-bytes-after-body" => assert_eq!(body, r#"{"bytes":5}"#),
            "200-body-in-head-read" => assert_eq!(body, r#"{"bytes":3}"#),
            "200-framing-headers-dropped" => assert_eq!(body, r#"{"bytes":4}"#),
            _ => {}
        }
    }
}
