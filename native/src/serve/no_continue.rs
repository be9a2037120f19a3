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

/// A connection whose writes never start with an interim `100 Continue`.
///
/// It does not do vectored writes, so hyper flattens its output into one buffer, where the
/// `100 Continue` (queued only before the response starts) always comes first.
pub struct NoContinue<S>(pub S);

impl<S: AsyncRead + Unpin> AsyncRead for NoContinue<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for NoContinue<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let Some(rest) = buf.strip_prefix(CONTINUE) else {
            return Pin::new(&mut self.0).poll_write(cx, buf);
        };
        if rest.is_empty() {
            return Poll::Ready(Ok(buf.len()));
        }
        match Pin::new(&mut self.0).poll_write(cx, rest) {
            Poll::Ready(Ok(written)) => Poll::Ready(Ok(CONTINUE.len() + written)),
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn drops_a_leading_continue_and_keeps_everything_else() {
        let (client, server) = tokio::io::duplex(1024);
        let mut wrapped = NoContinue(server);
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
        assert_eq!(
            received,
            "HTTP/1.1 200 OK\r\n\r\nbody HTTP/1.1 100 Continue\r\n\r\n"
        );
    }
}
