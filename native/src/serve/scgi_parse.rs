//! The SCGI request head, parsed by hand and strictly (docs/scgi.md lists the rules; the
//! fallback's parser in `src/scgi/` follows the same ones, so both answer alike).
//!
//! Two steps, both pure (no I/O):
//! 1. [`scan`] looks at the bytes received so far and says whether the netstring
//!    `<length>:<block>,` is complete, still incomplete, or broken (a [`Framing`] error: the
//!    connection is closed without an answer). It never looks past the declared block and its
//!    comma: what follows is the body.
//! 2. [`Head::from_block`] checks the well-framed block and maps it to an HTTP request head, or
//!    says why the request is invalid (an [`Invalid`] error: answered with a 400).

use std::fmt;
use std::net::IpAddr;

use axum::http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HOST};
use axum::http::{HeaderMap, Method, Uri, Version};

/// Largest header block, in bytes: the HTTP head's limit ([`super::MAX_HEADER_BYTES`]).
pub const MAX_BLOCK_BYTES: usize = super::MAX_HEADER_BYTES;

/// Most digits in the length prefix (`65536` has 5).
pub const MAX_LENGTH_DIGITS: usize = 5;

/// Largest `CONTENT_LENGTH` (2^53 - 1, so JavaScript reads it exactly too).
pub const MAX_CONTENT_LENGTH: u64 = (1 << 53) - 1;

/// Longest possible netstring head: the digits, the colon, the block and the comma.
pub const MAX_NETSTRING_BYTES: usize = MAX_LENGTH_DIGITS + 1 + MAX_BLOCK_BYTES + 1;

/// Broken framing: the connection is closed without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The connection ended before the netstring was complete.
    Truncated,
    /// `:` with no digits before it.
    EmptyLength,
    /// A byte other than a digit or `:` in the length prefix (`+5`, ` 5`, `-1`).
    NotADigit(u8),
    /// The length prefix starts with `0` (a leading zero, or the empty block `0:`).
    LeadingZero,
    /// More than [`MAX_LENGTH_DIGITS`] digits.
    TooManyDigits,
    /// A declared length over [`MAX_BLOCK_BYTES`].
    TooLong(usize),
    /// The byte after the block is not `,`.
    MissingComma,
    /// The block does not end with NUL.
    NotNulTerminated,
    /// An odd number of NUL-terminated strings (a name without its value).
    OddStrings,
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "connection closed before the header block was complete"),
            Self::EmptyLength => write!(f, "empty length prefix"),
            Self::NotADigit(byte) => write!(f, "byte 0x{byte:02x} in the length prefix"),
            Self::LeadingZero => write!(f, "length prefix starting with 0"),
            Self::TooManyDigits => {
                write!(f, "length prefix longer than {MAX_LENGTH_DIGITS} digits")
            }
            Self::TooLong(length) => write!(
                f,
                "header block of {length} bytes (at most {MAX_BLOCK_BYTES})"
            ),
            Self::MissingComma => write!(f, "no comma after the header block"),
            Self::NotNulTerminated => write!(f, "header block not ending with NUL"),
            Self::OddStrings => write!(f, "header block with a name and no value"),
        }
    }
}

/// What [`scan`] found in the bytes received so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Not complete yet; read more.
    Incomplete,
    /// The netstring is complete: the block is `bytes[block.0..block.1]`, and the body starts
    /// at `end` (just past the comma).
    Complete {
        /// Where the block starts and ends (exclusive).
        block: (usize, usize),
        /// Bytes of the netstring, comma included.
        end: usize,
    },
}

/// Looks at the first bytes of a connection (everything received so far). An error is found
/// at the earliest byte that shows it, so the outcome does not depend on how the bytes were
/// split into reads. Bytes past the comma are never looked at.
pub fn scan(bytes: &[u8]) -> Result<Scan, Framing> {
    let mut length = 0usize;
    let mut colon = None;
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b':' if index == 0 => return Err(Framing::EmptyLength),
            b':' => {
                colon = Some(index);
                break;
            }
            b'0' if index == 0 => return Err(Framing::LeadingZero),
            b'0'..=b'9' if index >= MAX_LENGTH_DIGITS => return Err(Framing::TooManyDigits),
            b'0'..=b'9' => length = length * 10 + usize::from(byte - b'0'),
            other => return Err(Framing::NotADigit(other)),
        }
    }
    let Some(colon) = colon else {
        return Ok(Scan::Incomplete);
    };
    if length > MAX_BLOCK_BYTES {
        return Err(Framing::TooLong(length));
    }
    let start = colon + 1;
    let comma = start + length;
    match bytes.get(comma) {
        None => Ok(Scan::Incomplete),
        Some(b',') => {
            let block = &bytes[start..comma];
            if block.last() != Some(&0) {
                return Err(Framing::NotNulTerminated);
            }
            // Every string ends with NUL; names and values alternate.
            if block.iter().filter(|&&b| b == 0).count() % 2 != 0 {
                return Err(Framing::OddStrings);
            }
            Ok(Scan::Complete {
                block: (start, comma),
                end: comma + 1,
            })
        }
        Some(_) => Err(Framing::MissingComma),
    }
}

/// The `(name, value)` pairs of a block that [`scan`] accepted, in order.
pub fn pairs(block: &[u8]) -> Vec<(&[u8], &[u8])> {
    let body = block.strip_suffix(&[0]).unwrap_or(block);
    let mut strings = body.split(|&b| b == 0);
    let mut pairs = Vec::new();
    while let (Some(name), Some(value)) = (strings.next(), strings.next()) {
        pairs.push((name, value));
    }
    pairs
}

/// A well-framed request that cannot be served: answered `400 bad_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A header with an empty name.
    EmptyName,
    /// The first header is not `CONTENT_LENGTH`.
    ContentLengthNotFirst,
    /// `CONTENT_LENGTH` is not plain digits (no sign, no leading zero, at most 2^53 - 1).
    BadContentLength,
    /// `CONTENT_LENGTH` differs from the client's `Content-Length` (`HTTP_CONTENT_LENGTH`).
    ContentLengthMismatch(String, String),
    /// A name other than `HTTP_*` given twice.
    Duplicate(String),
    /// `SCGI` missing or not `1`.
    NotScgi,
    /// A value with CR, LF or another control byte (tab aside), or not UTF-8.
    BadValue(String),
    /// `REQUEST_METHOD` missing.
    NoMethod,
    /// `REQUEST_METHOD` not an HTTP token.
    BadMethod,
    /// `REQUEST_URI` missing.
    NoUri,
    /// `REQUEST_URI` not an origin-form target (`/…`, printable ASCII).
    BadUri,
    /// An `HTTP_*` name that does not make an HTTP header name.
    BadHeaderName(String),
    /// `REQUEST_URI` printable but refused by the URI parser (`<>` and a backquote in the
    /// path; `"<>` in the query): answered with the bare 400 of the HTTP server, no body.
    RefusedTarget,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyName => write!(f, "empty header name"),
            Self::ContentLengthNotFirst => write!(f, "CONTENT_LENGTH is not the first header"),
            Self::BadContentLength => write!(f, "CONTENT_LENGTH is not a plain number"),
            Self::ContentLengthMismatch(ours, client) => write!(
                f,
                "CONTENT_LENGTH {ours} is not the client's Content-Length {client} \
                 (nginx with scgi_request_buffering off?)"
            ),
            Self::Duplicate(name) => write!(f, "{name} given twice"),
            Self::NotScgi => write!(f, "SCGI missing or not 1"),
            Self::BadValue(name) => write!(f, "{name}: a control byte, or not UTF-8"),
            Self::NoMethod => write!(f, "REQUEST_METHOD missing (include scgi_params?)"),
            Self::BadMethod => write!(f, "REQUEST_METHOD is not a method"),
            Self::NoUri => write!(f, "REQUEST_URI missing"),
            Self::BadUri => write!(f, "REQUEST_URI is not a path"),
            Self::BadHeaderName(name) => write!(f, "{name} is not a header name"),
            Self::RefusedTarget => write!(f, "REQUEST_URI has a character a URI refuses"),
        }
    }
}

/// The variables a request is made of (with every `HTTP_*`): only their values are checked.
const USED: [&[u8]; 7] = [
    b"CONTENT_LENGTH",
    b"SCGI",
    b"REQUEST_METHOD",
    b"REQUEST_URI",
    b"CONTENT_TYPE",
    b"REMOTE_ADDR",
    b"REMOTE_PORT",
];

/// `HTTP_*` headers that describe the front server's own connection or framing: dropped, as
/// `CONTENT_LENGTH` alone says how long the body is.
const DROPPED: [&[u8]; 11] = [
    b"EXPECT",
    b"CONTENT_LENGTH",
    b"CONTENT_TYPE",
    b"TRANSFER_ENCODING",
    b"CONNECTION",
    b"KEEP_ALIVE",
    b"TE",
    b"TRAILER",
    b"UPGRADE",
    b"PROXY",
    b"PROXY_CONNECTION",
];

/// An SCGI request as an HTTP request head.
#[derive(Debug, Clone)]
pub struct Head {
    /// From `REQUEST_METHOD`.
    pub method: Method,
    /// `REQUEST_URI`, verbatim.
    pub uri: Uri,
    /// HTTP/1.1; HTTP/1.0 when no `HTTP_HOST` came (so it is served without a `Host`).
    pub version: Version,
    /// `HTTP_*` as headers, `content-type` from `CONTENT_TYPE`, `content-length` from
    /// `CONTENT_LENGTH`.
    pub headers: HeaderMap,
    /// Body bytes to read.
    pub content_length: u64,
    /// `REMOTE_ADDR` (and `REMOTE_PORT`, 0 when absent), when it is an IP address.
    pub remote: Option<(IpAddr, u16)>,
}

impl Head {
    /// Checks a block [`scan`] accepted and maps it (the rules in the module's header).
    pub fn from_block(block: &[u8]) -> Result<Self, Invalid> {
        let pairs = pairs(block);
        // Pair by pair, in the order the fallback checks too (the first failure is logged).
        // Only the values the request is made of are checked: nginx sends others (such as
        // DOCUMENT_URI, the decoded path) that may hold any byte.
        for (index, (name, value)) in pairs.iter().enumerate() {
            if name.is_empty() {
                return Err(Invalid::EmptyName);
            }
            if index == 0 && *name != b"CONTENT_LENGTH" {
                return Err(Invalid::ContentLengthNotFirst);
            }
            let http = name.strip_prefix(b"HTTP_");
            if (http.is_some() || USED.contains(name))
                && (std::str::from_utf8(value).is_err()
                    || value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f))
            {
                return Err(Invalid::BadValue(lossy(name)));
            }
            if let Some(suffix) = http {
                if suffix.is_empty() || !suffix.iter().all(|&b| is_tchar(b)) {
                    return Err(Invalid::BadHeaderName(lossy(name)));
                }
            } else if pairs[..index].iter().any(|(seen, _)| seen == name) {
                return Err(Invalid::Duplicate(lossy(name)));
            }
        }
        let Some((b"CONTENT_LENGTH", length)) = pairs.first() else {
            return Err(Invalid::ContentLengthNotFirst);
        };
        let content_length = plain_number(length).ok_or(Invalid::BadContentLength)?;
        // nginx 1.22 with `scgi_request_buffering off` sends as CONTENT_LENGTH only what it has
        // read so far; the client's own length then differs, and the body would be cut short.
        if let Some((_, client)) = pairs
            .iter()
            .find(|(name, value)| *name == b"HTTP_CONTENT_LENGTH" && value != length)
        {
            return Err(Invalid::ContentLengthMismatch(lossy(length), lossy(client)));
        }
        let find = |wanted: &[u8]| {
            pairs
                .iter()
                .find(|(name, _)| *name == wanted)
                .map(|(_, value)| *value)
        };
        if find(b"SCGI") != Some(b"1") {
            return Err(Invalid::NotScgi);
        }
        let method = find(b"REQUEST_METHOD").ok_or(Invalid::NoMethod)?;
        let method = if !method.is_empty() && method.iter().all(|&b| is_tchar(b)) {
            Method::from_bytes(method).map_err(|_| Invalid::BadMethod)?
        } else {
            return Err(Invalid::BadMethod);
        };
        let target = find(b"REQUEST_URI").ok_or(Invalid::NoUri)?;
        if target.first() != Some(&b'/') || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
            return Err(Invalid::BadUri);
        }
        // `<`, `>` or a backquote in the path, `"`, `<` or `>` in the query: refused as the
        // HTTP server refuses such a target (a bare 400).
        let uri = Uri::try_from(target).map_err(|_| Invalid::RefusedTarget)?;

        let mut headers = HeaderMap::new();
        for (name, value) in &pairs {
            let Some(suffix) = name.strip_prefix(b"HTTP_") else {
                continue;
            };
            if DROPPED.contains(&suffix) {
                continue;
            }
            let lower: Vec<u8> = suffix
                .iter()
                .map(|&b| {
                    if b == b'_' {
                        b'-'
                    } else {
                        b.to_ascii_lowercase()
                    }
                })
                .collect();
            let header =
                HeaderName::from_bytes(&lower).map_err(|_| Invalid::BadHeaderName(lossy(name)))?;
            let merged = match headers.get(&header) {
                None => value.to_vec(),
                Some(earlier) => {
                    let separator: &[u8] = if header == COOKIE { b"; " } else { b", " };
                    [earlier.as_bytes(), separator, value].concat()
                }
            };
            let merged =
                HeaderValue::from_bytes(&merged).map_err(|_| Invalid::BadValue(lossy(name)))?;
            headers.insert(header, merged);
        }
        if let Some(kind) = find(b"CONTENT_TYPE").filter(|v| !v.is_empty()) {
            let kind = HeaderValue::from_bytes(kind)
                .map_err(|_| Invalid::BadValue("CONTENT_TYPE".to_owned()))?;
            headers.insert(CONTENT_TYPE, kind);
        }
        headers.insert(CONTENT_LENGTH, HeaderValue::from(content_length));
        let version = if headers.contains_key(HOST) {
            Version::HTTP_11
        } else {
            Version::HTTP_10
        };
        let remote = find(b"REMOTE_ADDR")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<IpAddr>().ok())
            .map(|ip| {
                let port = find(b"REMOTE_PORT")
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse::<u16>().ok())
                    .unwrap_or(0);
                (ip, port)
            });
        Ok(Self {
            method,
            uri,
            version,
            headers,
            content_length,
            remote,
        })
    }
}

/// Digits only, no leading zero (but `0`), at most [`MAX_CONTENT_LENGTH`].
fn plain_number(text: &[u8]) -> Option<u64> {
    let plain = !text.is_empty()
        && text.len() <= 16
        && text.iter().all(u8::is_ascii_digit)
        && (text[0] != b'0' || text.len() == 1);
    plain
        .then(|| text.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
        .filter(|&n| n <= MAX_CONTENT_LENGTH)
}

/// An HTTP token character (RFC 9110 section 5.6.2).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Encodes a request head the way nginx does (`CONTENT_LENGTH` first, then `pairs`): the
/// inverse of [`scan`] and [`pairs`], for tests and the debugging tools.
pub fn encode(content_length: u64, pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let length = content_length.to_string();
    let mut block = Vec::new();
    for (name, value) in std::iter::once((&b"CONTENT_LENGTH"[..], length.as_bytes()))
        .chain(pairs.iter().map(|(n, v)| (*n, *v)))
    {
        block.extend_from_slice(name);
        block.push(0);
        block.extend_from_slice(value);
        block.push(0);
    }
    let mut out = format!("{}:", block.len()).into_bytes();
    out.extend_from_slice(&block);
    out.push(b',');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in pairs {
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(value.as_bytes());
            out.push(0);
        }
        out
    }

    fn netstring(block: &[u8]) -> Vec<u8> {
        let mut out = format!("{}:", block.len()).into_bytes();
        out.extend_from_slice(block);
        out.push(b',');
        out
    }

    const BASE: [(&str, &str); 4] = [
        ("CONTENT_LENGTH", "0"),
        ("SCGI", "1"),
        ("REQUEST_METHOD", "GET"),
        ("REQUEST_URI", "/hello?name=x"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        BASE.iter().copied().chain(extra.iter().copied()).collect()
    }

    fn head(pairs: &[(&str, &str)]) -> Result<Head, Invalid> {
        Head::from_block(&block(pairs))
    }

    #[test]
    fn scans_a_complete_netstring_and_stops_at_its_comma() {
        let mut bytes = netstring(&block(&BASE));
        let end = bytes.len();
        bytes.extend_from_slice(b"body bytes, more: 12:x");
        let Ok(Scan::Complete {
            block: (start, stop),
            end: found,
        }) = scan(&bytes)
        else {
            panic!("complete: {:?}", scan(&bytes));
        };
        assert_eq!(found, end);
        assert_eq!(&bytes[start..stop], &block(&BASE)[..]);
        for cut in 0..end {
            assert_eq!(scan(&bytes[..cut]), Ok(Scan::Incomplete), "cut at {cut}");
        }
    }

    #[test]
    fn broken_framing_is_found_at_its_first_byte() {
        let cases: [(&[u8], Framing); 14] = [
            (b":", Framing::EmptyLength),
            (b"+5:", Framing::NotADigit(b'+')),
            (b" 5:", Framing::NotADigit(b' ')),
            (b"-1:", Framing::NotADigit(b'-')),
            (b"5 :", Framing::NotADigit(b' ')),
            (b"05:", Framing::LeadingZero),
            (b"0", Framing::LeadingZero),
            (b"0:,", Framing::LeadingZero),
            (b"123456", Framing::TooManyDigits),
            (b"65537:", Framing::TooLong(65537)),
            (b"99999:", Framing::TooLong(99999)),
            (b"2:a\0;", Framing::MissingComma),
            (b"2:ab,", Framing::NotNulTerminated),
            (b"2:a\0,", Framing::OddStrings),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                scan(bytes),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        // 9000 digits and no colon: refused after the sixth, whatever follows.
        let digits = vec![b'9'; 9000];
        assert_eq!(scan(&digits), Err(Framing::TooManyDigits));
        assert_eq!(scan(b"65536:"), Ok(Scan::Incomplete));
    }

    #[test]
    fn maps_a_request_as_nginx_sends_it() {
        let head = head(&with(&[
            ("CONTENT_TYPE", ""),
            ("QUERY_STRING", "name=x"),
            ("DOCUMENT_URI", "/hello"),
            ("REMOTE_ADDR", "203.0.113.9"),
            ("REMOTE_PORT", "5555"),
            ("HTTP_HOST", "example.com"),
            ("HTTP_X_FORWARDED_FOR", "198.51.100.1"),
            ("HTTP_ACCEPT", "text/html"),
            ("HTTP_ACCEPT", "application/json"),
            ("HTTP_COOKIE", "a=1"),
            ("HTTP_COOKIE", "b=2"),
            ("HTTP_CONTENT_LENGTH", "0"),
            ("HTTP_TRANSFER_ENCODING", "chunked"),
            ("HTTP_CONNECTION", "keep-alive"),
        ]))
        .expect("valid");
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.uri, "/hello?name=x");
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.content_length, 0);
        assert_eq!(
            head.remote,
            Some(("203.0.113.9".parse().expect("ip"), 5555))
        );
        let names: Vec<&str> = head.headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(
            names,
            [
                "host",
                "x-forwarded-for",
                "accept",
                "cookie",
                "content-length"
            ]
        );
        assert_eq!(head.headers["accept"], "text/html, application/json");
        assert_eq!(head.headers["cookie"], "a=1; b=2");
        assert_eq!(head.headers["content-length"], "0");
        assert!(head.headers.get("content-type").is_none());
        assert!(head.headers.get("transfer-encoding").is_none());
    }

    #[test]
    fn content_type_and_length_come_from_the_cgi_variables() {
        let head = head(&[
            ("CONTENT_LENGTH", "12"),
            ("SCGI", "1"),
            ("REQUEST_METHOD", "POST"),
            ("REQUEST_URI", "/echo"),
            ("CONTENT_TYPE", "application/json"),
            ("HTTP_CONTENT_TYPE", "text/plain"),
        ])
        .expect("valid");
        assert_eq!(head.content_length, 12);
        assert_eq!(head.headers["content-type"], "application/json");
        assert_eq!(head.headers["content-length"], "12");
        assert_eq!(head.version, Version::HTTP_10, "no Host");
        let largest = [("CONTENT_LENGTH", "9007199254740991"), ("SCGI", "1")];
        let largest = [&largest[..], &BASE[2..]].concat();
        assert_eq!(
            Head::from_block(&block(&largest)).map(|h| h.content_length),
            Ok(MAX_CONTENT_LENGTH)
        );
        assert_eq!(head.remote, None);
    }

    #[test]
    fn well_framed_but_invalid_requests_say_why() {
        let cases: Vec<(Vec<(&str, &str)>, Invalid)> = vec![
            (with(&[("", "x")]), Invalid::EmptyName),
            (
                vec![("SCGI", "1"), ("CONTENT_LENGTH", "0")],
                Invalid::ContentLengthNotFirst,
            ),
            (
                vec![("CONTENT_LENGTH", "x"), ("SCGI", "1")],
                Invalid::BadContentLength,
            ),
            (
                vec![("CONTENT_LENGTH", "+1"), ("SCGI", "1")],
                Invalid::BadContentLength,
            ),
            (
                vec![("CONTENT_LENGTH", "01"), ("SCGI", "1")],
                Invalid::BadContentLength,
            ),
            (
                vec![("CONTENT_LENGTH", ""), ("SCGI", "1")],
                Invalid::BadContentLength,
            ),
            (
                vec![("CONTENT_LENGTH", "9007199254740992"), ("SCGI", "1")],
                Invalid::BadContentLength,
            ),
            (
                with(&[("CONTENT_LENGTH", "0")]),
                Invalid::Duplicate("CONTENT_LENGTH".to_owned()),
            ),
            (
                with(&[("REQUEST_URI", "/other")]),
                Invalid::Duplicate("REQUEST_URI".to_owned()),
            ),
            (vec![("CONTENT_LENGTH", "0")], Invalid::NotScgi),
            (
                vec![("CONTENT_LENGTH", "0"), ("SCGI", "2")],
                Invalid::NotScgi,
            ),
            (
                with(&[("HTTP_X", "a\r\nb")]),
                Invalid::BadValue("HTTP_X".to_owned()),
            ),
            (
                with(&[("HTTP_X", "a\nb")]),
                Invalid::BadValue("HTTP_X".to_owned()),
            ),
            (
                with(&[("REMOTE_ADDR", "\x01")]),
                Invalid::BadValue("REMOTE_ADDR".to_owned()),
            ),
            (
                with(&[("HTTP_CONTENT_LENGTH", "65536")]),
                Invalid::ContentLengthMismatch("0".to_owned(), "65536".to_owned()),
            ),
            (
                vec![("CONTENT_LENGTH", "0"), ("SCGI", "1"), ("REQUEST_URI", "/")],
                Invalid::NoMethod,
            ),
            (
                vec![
                    ("CONTENT_LENGTH", "0"),
                    ("SCGI", "1"),
                    ("REQUEST_METHOD", "G T"),
                    ("REQUEST_URI", "/"),
                ],
                Invalid::BadMethod,
            ),
            (
                vec![
                    ("CONTENT_LENGTH", "0"),
                    ("SCGI", "1"),
                    ("REQUEST_METHOD", "GET"),
                ],
                Invalid::NoUri,
            ),
            (
                vec![
                    ("CONTENT_LENGTH", "0"),
                    ("SCGI", "1"),
                    ("REQUEST_METHOD", "GET"),
                    ("REQUEST_URI", "hello"),
                ],
                Invalid::BadUri,
            ),
            (
                vec![
                    ("CONTENT_LENGTH", "0"),
                    ("SCGI", "1"),
                    ("REQUEST_METHOD", "GET"),
                    ("REQUEST_URI", "/a b"),
                ],
                Invalid::BadUri,
            ),
            (
                vec![
                    ("CONTENT_LENGTH", "0"),
                    ("SCGI", "1"),
                    ("REQUEST_METHOD", "GET"),
                    ("REQUEST_URI", "/a<b"),
                ],
                Invalid::RefusedTarget,
            ),
            (
                vec![
                    ("CONTENT_LENGTH", "0"),
                    ("SCGI", "1"),
                    ("REQUEST_METHOD", "GET"),
                    ("REQUEST_URI", "/a?\"b"),
                ],
                Invalid::RefusedTarget,
            ),
            (
                with(&[("HTTP_EXPECT", "x\x7f")]),
                Invalid::BadValue("HTTP_EXPECT".to_owned()),
            ),
            (
                with(&[("HTTP_", "x")]),
                Invalid::BadHeaderName("HTTP_".to_owned()),
            ),
            (
                with(&[("HTTP_A:B", "x")]),
                Invalid::BadHeaderName("HTTP_A:B".to_owned()),
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(head(&pairs).err(), Some(expected), "{pairs:?}");
        }
        // Variables not read may hold any byte (nginx's DOCUMENT_URI is the decoded path).
        let mut raw = block(&with(&[("HTTP_CONTENT_LENGTH", "0")]));
        raw.extend_from_slice(b"DOCUMENT_URI\0/a/\xff\n\0X\xff\0\x01\0");
        assert!(Head::from_block(&raw).is_ok());
        let mut raw = block(&BASE);
        raw.extend_from_slice(b"HTTP_X\0\xff\0");
        assert_eq!(
            Head::from_block(&raw).err(),
            Some(Invalid::BadValue("HTTP_X".to_owned()))
        );
    }

    #[test]
    fn encode_is_what_scan_and_pairs_read() {
        let bytes = encode(5, &[(b"SCGI", b"1"), (b"EMPTY", b"")]);
        assert_eq!(
            &bytes[..],
            b"31:CONTENT_LENGTH\x005\x00SCGI\x001\x00EMPTY\x00\x00,"
        );
        let Ok(Scan::Complete { block: (s, e), .. }) = scan(&bytes) else {
            panic!("complete");
        };
        let got = pairs(&bytes[s..e]);
        assert_eq!(
            got,
            [
                (&b"CONTENT_LENGTH"[..], &b"5"[..]),
                (b"SCGI", b"1"),
                (b"EMPTY", b""),
            ]
        );
    }
}
