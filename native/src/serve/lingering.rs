//! Lingering close: before closing a connection, read and discard what the client is still
//! sending, within limits.
//!
//! A handler may answer without reading the whole body (a 413, a route that ignores its body).
//! Closing a socket with unread input makes the kernel reset the connection, and a client
//! still writing then gets EPIPE/ECONNRESET instead of the answer already sent. Node's server
//! reads such leftovers; nginx does the same within limits ("lingering close"). hyper does
//! not, so this wrapper does it when hyper shuts the connection down.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Sleep};

/// At most this much is read and thrown away after the answer...
const MAX_BYTES: u64 = 1024 * 1024; // 1 MiB
/// ...for at most this long.
const MAX_TIME: Duration = Duration::from_secs(2);

/// A connection that drains its input for a while when shut down.
pub struct Lingering<S> {
    inner: S,
    state: State,
}

enum State {
    Open,
    /// Our side is closed for writing; reading what is left.
    Draining {
        drained: u64,
        deadline: Pin<Box<Sleep>>,
    },
    Done,
}

impl<S> Lingering<S> {
    /// Wraps a freshly accepted connection.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            state: State::Open,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Lingering<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Open => {
                    // Send our FIN first: the client has its whole answer and sees the end.
                    if let Poll::Ready(result) = Pin::new(&mut this.inner).poll_shutdown(cx) {
                        if result.is_err() {
                            this.state = State::Done;
                            continue;
                        }
                        this.state = State::Draining {
                            drained: 0,
                            deadline: Box::pin(sleep(MAX_TIME)),
                        };
                    } else {
                        return Poll::Pending;
                    }
                }
                State::Draining { drained, deadline } => {
                    if deadline.as_mut().poll(cx).is_ready() || *drained > MAX_BYTES {
                        this.state = State::Done;
                        continue;
                    }
                    // Not zeroed: what is read is thrown away, and zeroing 16 KiB per close
                    // was a measurable share of a short connection's CPU.
                    let mut scratch = [MaybeUninit::<u8>::uninit(); 16 * 1024];
                    let mut buf = ReadBuf::uninit(&mut scratch);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                        Poll::Ready(Ok(())) if buf.filled().is_empty() => this.state = State::Done,
                        Poll::Ready(Ok(())) => *drained += buf.filled().len() as u64,
                        Poll::Ready(Err(_)) => this.state = State::Done,
                        Poll::Pending => return Poll::Pending,
                    }
                }
                State::Done => return Poll::Ready(Ok(())),
            }
        }
    }
}
