//! Behind Passenger, never send an interim `100 Continue`.
//!
//! Passenger Standalone forwards a client's `Expect: 100-continue` to the app without answering
//! it, and relays an app's `HTTP/1.1 100 Continue` without its blank line, glued to the final
//! response, which the client then cannot parse (seen with Passenger 6.0.17, builtin engine).
//! hyper sends that line by itself when a handler first reads such a body and has no switch
//! to turn it off, so this wrapper drops it on the way out. The client goes on with its body
//! after its own wait (curl waits 1 s), as HTTP allows.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A connection that never sends an interim `100 Continue`.
///
/// It does not do vectored writes, so hyper flattens its output into one buffer, where the
/// `100 Continue` (queued only before the response starts) always comes first. Only output
/// before the first response byte is looked at: a body that happens to hold those bytes is sent
/// as it is.
pub struct NoContinue<S> {
    inner: S,
    responding: bool,
}

impl<S> NoContinue<S> {
    /// Wraps a connection on which nothing has been written yet.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            responding: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for NoContinue<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for NoContinue<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let (skipped, rest) = match buf.strip_prefix(CONTINUE) {
            Some(rest) if !self.responding => (CONTINUE.len(), rest),
            _ => (0, buf),
        };
        if rest.is_empty() {
            return Poll::Ready(Ok(buf.len()));
        }
        match Pin::new(&mut self.inner).poll_write(cx, rest) {
            Poll::Ready(Ok(written)) => {
                self.responding = true;
                Poll::Ready(Ok(skipped + written))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn drops_a_continue_only_before_the_response() {
        let (client, server) = tokio::io::duplex(1024);
        let mut wrapped = NoContinue::new(server);
        wrapped
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")
            .await
            .expect("write");
        wrapped.write_all(CONTINUE).await.expect("write");
        wrapped
            .write_all(b"body HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .expect("write");
        drop(wrapped);
        let mut received = String::new();
        let mut client = client;
        client.read_to_string(&mut received).await.expect("read");
        // Once the response has started, the same bytes pass untouched (a body may hold them).
        assert_eq!(
            received,
            "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nbody HTTP/1.1 100 Continue\r\n\r\n"
        );
    }
}
