//! JSON responses: [`json`] is the one way every handler and every error answers, so the bytes
//! are those the TypeScript fallback prints (`JSON.stringify`) for the same value.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

/// The `Content-Type` of every JSON response, byte for byte the same on every backend.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A response with `status`, the JSON content type and already serialised `bytes`.
fn json_bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// Serialises `value` as JavaScript's `JSON.stringify` would after `JSON.parse`: every number
/// is a double, printed like `Number.prototype.toString` (`1.0` → `1`, `-0` → `0`,
/// `9007199254740993` → `9007199254740992`). The fallback echoes through JavaScript, so this
/// is what makes `POST /echo` answer the same bytes on every backend.
pub fn to_js_json(value: &Value) -> Vec<u8> {
    // Most answers are small: one allocation rather than a few growing ones.
    let mut out = Vec::with_capacity(128);
    write_js_json(value, &mut out);
    out
}

fn write_js_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            // Without serde_json's arbitrary_precision every number converts; a non-finite one
            // cannot come out of the parser, which refuses it.
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.is_finite() {
                out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
            } else {
                out.extend_from_slice(b"null");
            }
        }
        Value::String(s) => write_js_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_js_json(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // JavaScript lists integer-like keys ("0", "7", "42") first, ascending, then the
            // others in insertion order (ECMA-262 OrdinaryOwnPropertyKeys).
            out.push(b'{');
            if map.keys().any(|key| array_index(key).is_some()) {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by_key(|(key, _)| array_index(key).map_or((1, 0), |index| (0, index)));
                write_js_entries(entries.into_iter(), out);
            } else {
                // No integer-like key (the usual case): insertion order, nothing to sort.
                write_js_entries(map.iter(), out);
            }
            out.push(b'}');
        }
    }
}

fn write_js_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    for (i, (key, item)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_js_string(key, out);
        out.push(b':');
        write_js_json(item, out);
    }
}

/// `Some(n)` when `key` is a canonical array index (0 to 2^32 - 2, no leading zero).
fn array_index(key: &str) -> Option<u32> {
    let canonical =
        key == "0" || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
    key.parse::<u32>()
        .ok()
        .filter(|&n| canonical && n != u32::MAX)
}

fn write_js_string(s: &str, out: &mut Vec<u8>) {
    // serde_json escapes exactly the characters JSON.stringify escapes, in the same way.
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// Answers `status` with `value` as JSON, printed as JavaScript prints it (numbers like
/// `Number.prototype.toString`, integer-like keys first), with the JSON content type. Every
/// route answers through this, so no route can drift from the fallback's bytes.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    // Serialising a plain struct or a `serde_json::Value` cannot fail; one that can (a map with
    // keys that are not strings) answers 500 rather than panic.
    match serde_json::to_value(value) {
        Ok(value) => json_bytes_response(status, to_js_json(&value)),
        Err(_) => json_bytes_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":{"code":"internal_error","message":"Internal server error."}}"#.to_vec(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn js(text: &str) -> String {
        let value: Value = serde_json::from_str(text).expect("valid json");
        String::from_utf8(to_js_json(&value)).expect("utf-8")
    }

    #[test]
    fn prints_numbers_like_javascript() {
        assert_eq!(
            js("[1.0,1e2,-0,-0.0,0.1,1E-7,1e21,123456789012,2.5e-300]"),
            "[1,100,0,0,0.1,1e-7,1e+21,123456789012,2.5e-300]"
        );
        assert_eq!(js("9007199254740993"), "9007199254740992");
        assert_eq!(js("18446744073709551616123"), "1.8446744073709552e+22");
    }

    #[test]
    fn orders_integer_like_keys_first_like_javascript() {
        assert_eq!(
            js(r#"{"b":1,"2":2,"10":3,"1":4,"01":5,"-1":6,"4294967295":7,"4294967294":8}"#),
            r#"{"1":4,"2":2,"10":3,"4294967294":8,"b":1,"01":5,"-1":6,"4294967295":7}"#
        );
    }

    #[tokio::test]
    async fn json_answers_with_javascript_numbers_and_the_content_type() {
        #[derive(Serialize)]
        struct Reading {
            b: f64,
            a: u64,
            #[serde(rename = "7")]
            seven: i32,
        }
        let response = json(
            StatusCode::CREATED,
            &Reading {
                b: 1.0,
                a: 2,
                seven: -0,
            },
        );
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(&bytes[..], br#"{"7":0,"b":1,"a":2}"#);
        let mut keys = std::collections::HashMap::new();
        keys.insert((1, 2), 3);
        let response = json(StatusCode::OK, &keys);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn keeps_key_order_and_escapes_like_json_stringify() {
        assert_eq!(
            js(r#"{"b":1,"a":{"\u0000\n":"\u2028/"}}"#),
            "{\"b\":1,\"a\":{\"\\u0000\\n\":\"\u{2028}/\"}}"
        );
    }
}
