//! Serving SCGI (`HANDOFF_PROTOCOL=scgi`): one request per connection, from a front server
//! such as nginx (`scgi_pass`) or Apache (`mod_proxy_scgi`).
//!
//! The head is read and checked by [`super::scgi_parse`] within the header timeout; broken
//! framing closes the connection without an answer, an invalid request gets a 400
//! `bad_request`. A valid one becomes an HTTP request whose body streams from the socket,
//! exactly `CONTENT_LENGTH` bytes, and goes to the same router as HTTP requests (request log,
//! panics answered 500, body limits and timeouts alike). The answer is written CGI style:
//! `Status: 200 OK`, the headers, a blank line, the body; never chunked; then the connection
//! is closed (with the lingering close of [`super::lingering`]).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf};
use tower::ServiceExt;

use super::log::PeerAddr;
use super::scgi_parse::{scan, Framing, Head, Invalid, Scan, MAX_NETSTRING_BYTES};
use crate::api::{AppError, ErrorCode};

/// Bytes asked of the socket per read, for the head and for the body.
const READ_CHUNK: usize = 64 * 1024;

/// Writes one `[scgi] <message>` line to stderr in a single write, on one line whatever the
/// message holds (see [`super::log::log_as`]).
pub fn log_scgi(message: &str) {
    super::log::log_as("scgi", message);
}

/// How the connection's peer is named in `[scgi]` lines: its IP on TCP, `-` on a Unix socket.
fn peer_name(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "-".to_owned(), |addr| addr.ip().to_string())
}

/// Why reading the head stopped.
#[derive(Debug)]
pub enum HeadError {
    /// Broken framing, or the end of the connection before the netstring was complete.
    Framing(Framing),
    /// The connection failed.
    Io(io::Error),
}

/// Reads into `buffer` until [`scan`] finds the netstring complete; returns where its block
/// is and where the body starts in `buffer` (which may hold body bytes past that).
pub async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut BytesMut,
) -> Result<((usize, usize), usize), HeadError> {
    loop {
        match scan(buffer).map_err(HeadError::Framing)? {
            Scan::Complete { block, end } => return Ok((block, end)),
            Scan::Incomplete => {}
        }
        // Never more than the longest netstring, body bytes included in the last read.
        let room = MAX_NETSTRING_BYTES + READ_CHUNK - buffer.len();
        let mut chunk = vec![0u8; room.min(READ_CHUNK)];
        let read = stream.read(&mut chunk).await.map_err(HeadError::Io)?;
        if read == 0 {
            return Err(HeadError::Framing(Framing::Truncated));
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// Serves one SCGI connection to its end: the request, the answer, the close.
pub async fn serve<S>(
    stream: S,
    peer: Option<SocketAddr>,
    app: impl super::App,
    header_timeout: std::time::Duration,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    let head = tokio::time::timeout(header_timeout, read_head(&mut reader, &mut buffer)).await;
    let (block, end) = match head {
        Ok(Ok(found)) => found,
        Ok(Err(HeadError::Framing(Framing::Truncated))) if buffer.is_empty() => {
            // A connection closed before sending anything (a health probe of the port).
            return;
        }
        Ok(Err(HeadError::Framing(framing))) => {
            log_scgi(&format!("{framing} from {}", peer_name(peer)));
            let _ = writer.shutdown().await;
            return;
        }
        Ok(Err(HeadError::Io(error))) => {
            log_scgi(&format!("read failed: {error} from {}", peer_name(peer)));
            return;
        }
        Err(_) => {
            log_scgi(&format!(
                "header block not complete within {} ms from {}",
                header_timeout.as_millis(),
                peer_name(peer)
            ));
            let _ = writer.shutdown().await;
            return;
        }
    };
    let head = match Head::from_block(&buffer[block.0..block.1]) {
        Ok(head) => head,
        Err(invalid) => {
            log_scgi(&format!("{invalid} from {}: 400", peer_name(peer)));
            let _ = write_response(&mut writer, bad_request(&invalid), false).await;
            let _ = writer.shutdown().await;
            return;
        }
    };
    let prefix = buffer.split_off(end).freeze();
    let is_head = head.method == Method::HEAD;
    let remote = head.remote.map(|(ip, port)| SocketAddr::new(ip, port));
    let body = ScgiBody {
        prefix,
        reader: Some(reader),
        remaining: head.content_length,
    };
    let mut request = Request::new(Body::new(body));
    *request.method_mut() = head.method;
    *request.uri_mut() = head.uri;
    *request.version_mut() = head.version;
    *request.headers_mut() = head.headers;
    request.extensions_mut().insert(PeerAddr(remote));
    let Ok(response) = app.oneshot(request).await;
    if write_response(&mut writer, response, is_head).await.is_ok() {
        // FIN, then what the front server still sends is read and dropped (lingering close).
        let _ = writer.shutdown().await;
    }
}

/// The 400 `bad_request` answer, with the headers the router adds to every answer; for a
/// target the HTTP server would not parse, its bare 400 (no body).
fn bad_request(why: &Invalid) -> Response {
    if *why == Invalid::RefusedTarget {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    }
    let mut response = AppError::new(ErrorCode::BadRequest).into_response();
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Writes `response` CGI style: `Status:` line, the headers in their order (the connection's
/// own left out), then `content-length` (the response's, or the body's length when known, as
/// hyper adds it), then `date`, a blank line, and the body as it comes (none for HEAD). An
/// error means the connection is broken.
async fn write_response<W: AsyncWrite + Unpin>(
    writer: &mut W,
    response: Response,
    is_head: bool,
) -> io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    let mut head = Vec::with_capacity(256);
    let reason = status.canonical_reason().unwrap_or("Unknown");
    head.extend_from_slice(format!("Status: {} {reason}\r\n", status.as_u16()).as_bytes());
    for (name, value) in &parts.headers {
        if name == TRANSFER_ENCODING
            || name == CONNECTION
            || name == "keep-alive"
            || name == CONTENT_LENGTH
        {
            continue;
        }
        push_header(&mut head, name.as_str(), value.as_bytes());
    }
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if let Some(length) = parts.headers.get(CONTENT_LENGTH) {
        push_header(&mut head, "content-length", length.as_bytes());
    } else if !bodiless {
        if let Some(length) = hyper::body::Body::size_hint(&body).exact() {
            push_header(&mut head, "content-length", length.to_string().as_bytes());
        }
    }
    push_header(
        &mut head,
        "date",
        httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes(),
    );
    head.extend_from_slice(b"\r\n");
    if is_head || bodiless {
        return writer.write_all(&head).await;
    }
    // The first piece of the body goes out with the head: one write for a small answer.
    let mut pending = head;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // The body failed after the head was sent: nothing to do but close.
            writer.write_all(&pending).await?;
            return Err(io::Error::other("response body failed"));
        };
        if let Ok(data) = frame.into_data() {
            if pending.is_empty() {
                writer.write_all(&data).await?;
            } else {
                pending.extend_from_slice(&data);
                writer.write_all(&pending).await?;
                pending = Vec::new();
            }
        }
    }
    if !pending.is_empty() {
        writer.write_all(&pending).await?;
    }
    writer.flush().await
}

fn push_header(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}

/// The request body: what came with the head past its comma, then the socket, exactly
/// `CONTENT_LENGTH` bytes in all (bytes past them are never read). An early end of the
/// connection is an error, as an aborted HTTP body is.
struct ScgiBody<S> {
    prefix: Bytes,
    reader: Option<ReadHalf<S>>,
    remaining: u64,
}

impl<S: AsyncRead + Unpin> hyper::body::Body for ScgiBody<S> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        if !this.prefix.is_empty() {
            let take = usize::try_from(this.remaining)
                .unwrap_or(usize::MAX)
                .min(this.prefix.len());
            let chunk = this.prefix.split_to(take);
            this.prefix = Bytes::new();
            this.remaining -= take as u64;
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        let Some(reader) = this.reader.as_mut() else {
            return Poll::Ready(Some(Err(io::ErrorKind::UnexpectedEof.into())));
        };
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(READ_CHUNK);
        let mut chunk = vec![0u8; want];
        let mut buf = ReadBuf::new(&mut chunk);
        match Pin::new(reader).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => {
                this.reader = None;
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len();
                if read == 0 {
                    this.reader = None;
                    return Poll::Ready(Some(Err(io::ErrorKind::UnexpectedEof.into())));
                }
                chunk.truncate(read);
                this.remaining -= read as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
