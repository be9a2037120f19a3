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
    // The usual answer is printed straight from `value` ([`JsFormatter`]); one that needs
    // JavaScript's key order, repeats a key, or holds what only `to_value` can judge goes the
    // long way round, through a `serde_json::Value`.
    if let Some(bytes) = to_js_json_direct(value) {
        return json_bytes_response(status, bytes);
    }
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

/// `value` printed as [`to_js_json`] prints `serde_json::to_value(value)`, without building the
/// `Value` (its map of owned keys, hashed): `None` when that shortcut cannot promise the same
/// bytes (an integer-like or repeated key, a non-string or 128-bit key or number, a raw value,
/// deeper or wider objects than it tracks, an error). The formatter stops the printing at the
/// first of those, with an error.
fn to_js_json_direct<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, JsFormatter::new());
    value.serialize(&mut serializer).ok()?;
    Some(out)
}

/// Deepest nesting of objects, and most keys open at once across it, that [`JsFormatter`]
/// checks for repeats; beyond, the long way.
const MAX_DEPTH: usize = 16;
const MAX_OPEN_KEYS: usize = 64;

/// A `serde_json` formatter printing numbers as JavaScript does, which gives up (an error) at
/// whatever only the `Value` route prints right ([`to_js_json_direct`]). Strings and escapes
/// are serde_json's, as in [`write_js_string`].
struct JsFormatter {
    /// Inside an object key: its hash so far, and whether it is all ASCII digits so far.
    in_key: bool,
    key_hash: u64,
    key_digits: bool,
    key_len: usize,
    /// The hashes of the keys of the objects open now, and where each open object's start.
    keys: [u64; MAX_OPEN_KEYS],
    open_keys: usize,
    starts: [usize; MAX_DEPTH],
    /// Objects open now (never more than `MAX_DEPTH`: deeper gives up).
    depth: usize,
}

/// The error that stops the direct route: the `Value` route prints this one.
fn long_way() -> std::io::Error {
    std::io::Error::other("printed the long way")
}

impl JsFormatter {
    fn new() -> Self {
        Self {
            in_key: false,
            key_hash: 0,
            key_digits: true,
            key_len: 0,
            keys: [0; MAX_OPEN_KEYS],
            open_keys: 0,
            starts: [0; MAX_DEPTH],
            depth: 0,
        }
    }

    fn number<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: f64,
    ) -> std::io::Result<()> {
        if self.in_key {
            // A number as a key (a map keyed by integers): integer-like, so JavaScript's order.
            return Err(long_way());
        }
        if value.is_finite() {
            writer.write_all(ryu_js::Buffer::new().format_finite(value).as_bytes())
        } else {
            writer.write_all(b"null")
        }
    }
}

/// FNV-1a, continued over `bytes`.
fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

macro_rules! js_numbers {
    ($($method:ident: $t:ty),*) => {$(
        fn $method<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, value: $t) -> std::io::Result<()> {
            // Every number is a double in JavaScript (and in `serde_json::Value::as_f64`).
            #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
            self.number(writer, value as f64)
        }
    )*};
}

impl serde_json::ser::Formatter for JsFormatter {
    js_numbers!(write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64, write_u8: u8,
        write_u16: u16, write_u32: u32, write_u64: u64, write_f32: f32, write_f64: f64);

    fn write_i128<W: ?Sized + std::io::Write>(
        &mut self,
        _: &mut W,
        _: i128,
    ) -> std::io::Result<()> {
        // `to_value` refuses some of these; let it judge.
        Err(long_way())
    }

    fn write_u128<W: ?Sized + std::io::Write>(
        &mut self,
        _: &mut W,
        _: u128,
    ) -> std::io::Result<()> {
        Err(long_way())
    }

    fn write_bool<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: bool,
    ) -> std::io::Result<()> {
        if self.in_key {
            // A bool as a key: let `to_value` judge.
            return Err(long_way());
        }
        writer.write_all(if value { b"true" } else { b"false" })
    }

    fn write_raw_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        _: &mut W,
        _: &str,
    ) -> std::io::Result<()> {
        Err(long_way())
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if self.in_key {
            self.key_hash = fnv(self.key_hash, fragment.as_bytes());
            self.key_digits &= fragment.bytes().all(|b| b.is_ascii_digit());
            self.key_len += fragment.len();
        }
        writer.write_all(fragment.as_bytes())
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        let mut escaped = Vec::with_capacity(6);
        serde_json::ser::CompactFormatter.write_char_escape(&mut escaped, char_escape)?;
        if self.in_key {
            // Hashed as written: two keys that print the same are the same key.
            self.key_hash = fnv(self.key_hash, &escaped);
            self.key_digits = false;
            self.key_len += escaped.len();
        }
        writer.write_all(&escaped)
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        if self.depth == MAX_DEPTH {
            return Err(long_way());
        }
        self.starts[self.depth] = self.open_keys;
        self.depth += 1;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        // Always after a `begin_object`, unless a hand-written `Serialize` lies about its length.
        self.depth = self.depth.checked_sub(1).ok_or_else(long_way)?;
        self.open_keys = self.starts[self.depth];
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.in_key = true;
        self.key_hash = 0xcbf2_9ce4_8422_2325;
        self.key_digits = true;
        self.key_len = 0;
        if first {
            Ok(())
        } else {
            writer.write_all(b",")
        }
    }

    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.in_key = false;
        // An all-digit key may be an array index ("7"; not "07", not 2^32 - 1): JavaScript's
        // order, decided by the long way.
        if self.key_digits && self.key_len > 0 {
            return Err(long_way());
        }
        // A key outside any object (a `Serialize` that said its map was empty, then wrote
        // entries): the long way, which judges it.
        let Some(start) = self.depth.checked_sub(1).map(|open| self.starts[open]) else {
            return Err(long_way());
        };
        // A key seen before in this object (or a hash that collides with one): a JavaScript
        // object keeps one entry, at the first one's place, with the last value. Too many keys
        // open at once to track: the long way too.
        if self.open_keys == MAX_OPEN_KEYS
            || self.keys[start..self.open_keys].contains(&self.key_hash)
        {
            return Err(long_way());
        }
        self.keys[self.open_keys] = self.key_hash;
        self.open_keys += 1;
        Ok(())
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

    /// What [`json`] prints for `value`, and whether the direct route printed it.
    fn both_ways<T: Serialize>(value: &T) -> (Option<String>, String) {
        let direct = to_js_json_direct(value).map(|b| String::from_utf8(b).expect("utf-8"));
        let long = to_js_json(&serde_json::to_value(value).expect("to_value"));
        (direct, String::from_utf8(long).expect("utf-8"))
    }

    #[test]
    fn the_direct_route_prints_what_the_value_route_prints_or_steps_aside() {
        #[derive(Serialize)]
        struct Inner {
            a: f32,
            b: Option<u8>,
            #[serde(rename = "é\n\u{2028}")]
            odd: &'static str,
        }
        #[derive(Serialize)]
        struct Outer {
            message: String,
            big: u64,
            negative: i64,
            nan: f64,
            items: Vec<Inner>,
            bytes: &'static [u8],
            unit: (),
        }
        let outer = Outer {
            message: "Hello, \"World\"!\u{1}".to_owned(),
            big: u64::MAX,
            negative: -9_007_199_254_740_993,
            nan: f64::NAN,
            items: vec![
                Inner {
                    a: 0.1,
                    b: None,
                    odd: "x",
                },
                Inner {
                    a: -0.0,
                    b: Some(7),
                    odd: "",
                },
            ],
            bytes: b"ab",
            unit: (),
        };
        let (direct, long) = both_ways(&outer);
        assert_eq!(direct.as_deref(), Some(long.as_str()));
        let (direct, long) = both_ways(&serde_json::json!({"message": "Hello, World!"}));
        assert_eq!(direct.as_deref(), Some(long.as_str()));

        // Integer-like keys, map keys that are numbers, a repeated key, 128-bit numbers: the
        // long way (JavaScript's order, one entry per key, `to_value`'s judgement).
        #[derive(Serialize)]
        struct Repeats {
            a: u8,
            #[serde(flatten)]
            more: std::collections::BTreeMap<&'static str, u8>,
        }
        let repeated = Repeats {
            a: 1,
            more: [("a", 2), ("b", 3)].into_iter().collect(),
        };
        assert_eq!(to_js_json_direct(&repeated), None);
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&repeated).expect("json")).expect("utf-8"),
            r#"{"a":1,"a":2,"b":3}"#
        );
        assert_eq!(both_ways(&repeated).1, r#"{"a":2,"b":3}"#);
        assert_eq!(
            to_js_json_direct(&serde_json::json!({"b": 1, "7": 2})),
            None
        );
        assert_eq!(
            to_js_json_direct(
                &[(1u32, 2u8)]
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>()
            ),
            None
        );
        assert_eq!(to_js_json_direct(&[1u128]), None);
        // "07" and "-1" are not integer-like, yet all-digit keys are left to the long way.
        assert_eq!(to_js_json_direct(&serde_json::json!({"07": 1})), None);
        let (direct, long) =
            both_ways(&serde_json::json!({"-1": 1, "b": {"b": 2}, "c": [{"b": 3}]}));
        assert_eq!(direct.as_deref(), Some(long.as_str()));
    }

    #[test]
    fn deep_and_wide_objects_step_aside_past_what_the_direct_route_tracks() {
        // `{"k":[{"k":[…]}]}`, nested around MAX_DEPTH and far past it (the example's echo
        // takes 128 levels): printed right either way, never a panic.
        for depth in [
            1,
            MAX_DEPTH - 1,
            MAX_DEPTH,
            MAX_DEPTH + 1,
            MAX_DEPTH + 2,
            64,
            127,
        ] {
            let mut value = serde_json::json!({"k": 1});
            for _ in 1..depth {
                value = serde_json::json!({"k": [value]});
            }
            let (direct, long) = both_ways(&value);
            assert_eq!(direct.is_some(), depth <= MAX_DEPTH, "depth {depth}");
            if let Some(direct) = direct {
                assert_eq!(direct, long, "depth {depth}");
            }
        }
        // Keys open at once: up to MAX_OPEN_KEYS, then the long way.
        for width in [MAX_OPEN_KEYS, MAX_OPEN_KEYS + 1] {
            let object: serde_json::Map<String, Value> = (0..width)
                .map(|i| (format!("k{i}"), Value::from(i)))
                .collect();
            let (direct, long) = both_ways(&Value::Object(object));
            assert_eq!(direct.is_some(), width <= MAX_OPEN_KEYS, "width {width}");
            if let Some(direct) = direct {
                assert_eq!(direct, long, "width {width}");
            }
        }
    }

    #[test]
    fn a_map_that_says_it_is_empty_then_writes_entries_takes_the_long_way() {
        // serde_json opens and closes the object at once for `Some(0)`, then writes the entry
        // outside it: the direct route must step aside, not index its tables at depth 0.
        struct Lies;
        impl Serialize for Lies {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(0))?;
                map.serialize_entry("a", &1)?;
                map.end()
            }
        }
        assert_eq!(to_js_json_direct(&Lies), None);
        assert_eq!(both_ways(&Lies).1, r#"{"a":1}"#);
    }

    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            "\\PC{0,6}|[\\x00-\\x1f\"\\\\\u{2028}]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(
                    ("[ab]{0,2}|[0-9]{1,3}|-[0-9]|\\PC{0,3}|[\\x00\"\n]", inner),
                    0..6
                )
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn the_direct_route_agrees_with_the_value_route_on_any_value(value in any_value()) {
            let (direct, long) = both_ways(&value);
            if let Some(direct) = direct {
                proptest::prop_assert_eq!(direct, long);
            }
        }
    }

    #[test]
    fn keeps_key_order_and_escapes_like_json_stringify() {
        assert_eq!(
            js(r#"{"b":1,"a":{"\u0000\n":"\u2028/"}}"#),
            "{\"b\":1,\"a\":{\"\\u0000\\n\":\"\u{2028}/\"}}"
        );
    }
}
