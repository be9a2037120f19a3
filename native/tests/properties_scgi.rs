//! Property tests of the SCGI head parser (`serve::scgi_parse`) and of its reading loop
//! (`serve::scgi::read_head`): any split of the bytes into reads gives the same outcome; any
//! bytes never panic and the outcome never depends on bytes past the declared block; a request
//! encoded as nginx does parses back to itself.
//!
//! `PROPTEST_CASES` sets the cases per property (default 256); `npm run fuzz:long` runs many.
//! A failure is saved to `properties_scgi.proptest-regressions` and replayed first on every run.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use handoff::serve::scgi::{read_head, HeadError};
use handoff::serve::scgi_parse::{encode, pairs, scan, Framing, Head, Scan};
use proptest::prelude::*;
use tokio::io::{AsyncRead, ReadBuf};

mod common;

/// A connection that hands out `chunks` one read at a time (split further when a read asks
/// for less), then ends.
struct Chunks {
    chunks: std::collections::VecDeque<Vec<u8>>,
}

impl AsyncRead for Chunks {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(mut chunk) = self.chunks.pop_front() {
            let take = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..take]);
            if take < chunk.len() {
                self.chunks.push_front(chunk.split_off(take));
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Splits `bytes` at `cuts` (positions, any order, out of range ones ignored).
fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        if cut > start {
            pieces.push(bytes[start..cut].to_vec());
            start = cut;
        }
    }
    pieces
}

/// What the reading loop makes of `pieces`: the netstring (bytes up to the body) or the error.
fn read_pieces(pieces: Vec<Vec<u8>>) -> Result<Vec<u8>, Framing> {
    let mut reader = Chunks {
        chunks: pieces.into(),
    };
    let mut buffer = BytesMut::new();
    match common::block_on(read_head(&mut reader, &mut buffer)) {
        Ok((_, end)) => Ok(buffer[..end].to_vec()),
        Err(HeadError::Framing(framing)) => Err(framing),
        Err(HeadError::Io(error)) => panic!("no I/O error here: {error}"),
    }
}

/// The outcome of scanning all of `bytes` at once: the netstring, or the error (`Truncated`
/// when incomplete, as the reading loop says at the end of the connection).
fn scan_whole(bytes: &[u8]) -> Result<Vec<u8>, Framing> {
    match scan(bytes)? {
        Scan::Complete { end, .. } => Ok(bytes[..end].to_vec()),
        Scan::Incomplete => Err(Framing::Truncated),
    }
}

/// Names that matter to the parser, and any others.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"CONTENT_LENGTH".to_vec()),
        Just(b"SCGI".to_vec()),
        Just(b"REQUEST_METHOD".to_vec()),
        Just(b"REQUEST_URI".to_vec()),
        Just(b"CONTENT_TYPE".to_vec()),
        Just(b"REMOTE_ADDR".to_vec()),
        Just(b"HTTP_HOST".to_vec()),
        Just(b"HTTP_COOKIE".to_vec()),
        Just(b"HTTP_TRANSFER_ENCODING".to_vec()),
        "HTTP_[A-Z0-9_]{0,12}".prop_map(String::into_bytes),
        proptest::collection::vec(1u8..=255, 0..12),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"1".to_vec()),
        Just(b"0".to_vec()),
        Just(b"GET".to_vec()),
        Just(b"/health?x=1".to_vec()),
        "[0-9]{1,17}".prop_map(String::into_bytes),
        "[ -~]{0,20}".prop_map(String::into_bytes),
        proptest::collection::vec(1u8..=255, 0..20),
    ]
}

/// Bytes that look like SCGI often enough to get deep: a netstring of arbitrary pairs (with a
/// valid or broken prefix and comma), then body bytes, or just any bytes.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let block = proptest::collection::vec((name(), value()), 0..8).prop_map(|pairs| {
        let mut block = Vec::new();
        for (name, value) in pairs {
            block.extend(name);
            block.push(0);
            block.extend(value);
            block.push(0);
        }
        block
    });
    let framed = (
        block,
        prop_oneof![Just(None), "[-+ 0-9:]{0,7}".prop_map(Some)],
        prop_oneof![Just(b','), any::<u8>()],
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<usize>(),
    )
        .prop_map(|(block, prefix, comma, body, cut)| {
            let mut out = prefix
                .unwrap_or_else(|| format!("{}:", block.len()))
                .into_bytes();
            out.extend(&block);
            out.push(comma);
            out.extend(body);
            // Sometimes the connection ends early.
            if cut % 4 == 0 {
                out.truncate(cut % (out.len() + 1));
            }
            out
        });
    prop_oneof![
        3 => framed,
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => "[0-9:]{0,12}".prop_map(String::into_bytes),
    ]
}

/// A valid request as nginx would send it.
#[derive(Debug, Clone)]
struct Valid {
    method: String,
    uri: String,
    content_length: u64,
    headers: Vec<(String, String)>,
}

fn valid() -> impl Strategy<Value = Valid> {
    (
        prop_oneof![
            Just("GET".to_owned()),
            Just("POST".to_owned()),
            "[A-Z]{1,10}"
        ],
        // Printable ASCII but `#` (a fragment is not sent) and what a URI refuses (`<>\``, and
        // `"` in the query).
        "/[!-~&&[^#<>`\"]]{0,40}",
        0u64..1_000_000_000_000_000,
        proptest::collection::vec(("[A-Z][A-Z0-9]{0,10}", "[ -~]{0,30}"), 0..10),
    )
        .prop_map(|(method, uri, content_length, headers)| Valid {
            method,
            uri,
            content_length,
            headers,
        })
}

proptest! {
    #[test]
    fn any_split_into_reads_gives_the_same_outcome(
        bytes in input(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        prop_assert_eq!(read_pieces(split(&bytes, &cuts)), scan_whole(&bytes));
        // Byte by byte (a trickling client) too.
        let trickle = bytes.iter().map(|&b| vec![b]).collect();
        prop_assert_eq!(read_pieces(trickle), scan_whole(&bytes));
    }

    #[test]
    fn any_bytes_never_panic_and_nothing_past_the_block_counts(
        bytes in input(),
        after in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let outcome = scan(&bytes);
        if let Ok(Scan::Complete { block: (start, stop), end }) = outcome {
            prop_assert!(start <= stop && stop < end && end <= bytes.len());
            prop_assert_eq!(end, stop + 1);
            prop_assert!(stop - start <= handoff::serve::scgi_parse::MAX_BLOCK_BYTES);
            // Whatever follows the comma (the body), the outcome is the same.
            let mut other = bytes[..end].to_vec();
            other.extend(&after);
            prop_assert_eq!(scan(&other), outcome);
            // The block checks and the mapping never panic; what they accept is clean.
            let block = &bytes[start..stop];
            let pairs = pairs(block);
            prop_assert_eq!(pairs.len() * 2, block.iter().filter(|&&b| b == 0).count());
            if let Ok(head) = Head::from_block(block) {
                prop_assert_eq!(pairs[0].0, b"CONTENT_LENGTH");
                let length = head.content_length.to_string();
                prop_assert_eq!(head.headers["content-length"].to_str().ok(), Some(length.as_str()));
                for (name, value) in &head.headers {
                    prop_assert!(!value.as_bytes().iter().any(|&b| b == b'\r' || b == b'\n'));
                    prop_assert!(!matches!(
                        name.as_str(),
                        "transfer-encoding" | "connection" | "keep-alive" | "te" | "trailer" | "upgrade"
                    ));
                }
            }
        }
        // An incomplete head stays incomplete as more bytes come, or fails; it never "un-fails".
        if let Err(error) = outcome {
            let mut longer = bytes.clone();
            longer.extend(&after);
            prop_assert_eq!(scan(&longer), Err(error));
        }
    }

    #[test]
    fn an_encoded_request_parses_back_to_itself(request in valid(), body in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut fields: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"SCGI".to_vec(), b"1".to_vec()),
            (b"REQUEST_METHOD".to_vec(), request.method.clone().into_bytes()),
            (b"REQUEST_URI".to_vec(), request.uri.clone().into_bytes()),
        ];
        for (name, value) in &request.headers {
            fields.push((format!("HTTP_{name}").into_bytes(), value.clone().into_bytes()));
        }
        let borrowed: Vec<(&[u8], &[u8])> =
            fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())).collect();
        let head_bytes = encode(request.content_length, &borrowed);
        let mut bytes = head_bytes.clone();
        bytes.extend(&body);
        let Ok(Scan::Complete { block: (start, stop), end }) = scan(&bytes) else {
            return Err(TestCaseError::fail(format!("not complete: {:?}", scan(&bytes))));
        };
        prop_assert_eq!(end, head_bytes.len());
        let parsed = pairs(&bytes[start..stop]);
        prop_assert_eq!(parsed.len(), borrowed.len() + 1);
        prop_assert_eq!(&parsed[1..], &borrowed[..]);
        let head = Head::from_block(&bytes[start..stop]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(head.method.as_str(), request.method.as_str());
        prop_assert_eq!(head.uri.to_string(), request.uri.clone());
        prop_assert_eq!(head.content_length, request.content_length);
        for (name, value) in &request.headers {
            let header = name.to_ascii_lowercase().replace('_', "-");
            if ["content-length", "content-type", "transfer-encoding", "connection",
                "keep-alive", "te", "trailer", "upgrade", "proxy", "proxy-connection"]
                .contains(&header.as_str()) {
                continue;
            }
            let got = head.headers[header.as_str()].to_str().expect("ascii");
            prop_assert!(got.split(", ").any(|part| part == value) || got.contains(value.as_str()),
                "{} = {:?}, sent {:?}", header, got, value);
        }
    }
}
