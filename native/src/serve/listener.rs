//! Where to listen: a Unix path, a TCP address, or an inherited listening descriptor. Binding
//! is synchronous so the caller can finish it before Passenger's listen callback returns.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use socket2::{Domain, SockAddr, Socket, Type};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// Pending connections the kernel queues before `accept` (Node's default is 511).
const BACKLOG: i32 = 1024;

/// What to bind.
#[derive(Debug, Clone)]
pub enum BindTarget {
    /// A Unix socket at this path (the file must not exist).
    Path(PathBuf),
    /// A TCP address.
    Tcp(String, u16),
    /// A socket that is already listening, such as LiteSpeed's on descriptor 0; it is
    /// duplicated, and the original is left open.
    Fd(RawFd),
}

/// A bound, listening socket, before the runtime takes it over.
#[derive(Debug)]
pub struct Bound {
    socket: Socket,
    /// Where it listens, for logs and for `server.address`.
    pub address: String,
    /// The TCP port, when it is a TCP socket.
    pub port: Option<u16>,
    /// The socket file we created, removed again when the listener closes.
    owned_path: Option<OwnedPath>,
}

#[derive(Debug)]
struct OwnedPath {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

/// Binds and listens on `target`, synchronously.
pub fn bind(target: &BindTarget) -> io::Result<Bound> {
    match target {
        BindTarget::Path(path) => {
            let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            socket.bind(&SockAddr::unix(path)?)?;
            socket.listen(BACKLOG)?;
            let meta = std::fs::metadata(path)?;
            Ok(Bound {
                socket,
                address: path.display().to_string(),
                port: None,
                owned_path: Some(OwnedPath {
                    path: path.clone(),
                    dev: meta.dev(),
                    ino: meta.ino(),
                }),
            })
        }
        BindTarget::Tcp(host, port) => {
            let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), *port))?
                .next()
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("cannot resolve {host}"),
                    )
                })?;
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
            socket.set_reuse_address(true)?;
            socket.bind(&addr.into())?;
            socket.listen(BACKLOG)?;
            let local = socket.local_addr()?.as_socket();
            Ok(Bound {
                socket,
                address: local.map_or_else(|| addr.to_string(), |a| a.to_string()),
                port: local.map(|a| a.port()),
                owned_path: None,
            })
        }
        BindTarget::Fd(fd) => {
            // SAFETY: the descriptor is only borrowed long enough to duplicate it; if it is not
            // open, the duplication fails with EBADF and nothing else happens.
            let borrowed = unsafe { BorrowedFd::borrow_raw(*fd) };
            let socket = Socket::from(borrowed.try_clone_to_owned()?);
            if !socket.is_listener()? {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("descriptor {fd} is not a listening socket"),
                ));
            }
            let local = socket.local_addr()?;
            let (address, port) = match (local.as_socket(), local.as_pathname()) {
                (Some(addr), _) => (addr.to_string(), Some(addr.port())),
                (None, Some(path)) => (path.display().to_string(), None),
                (None, None) => (format!("fd {fd}"), None),
            };
            Ok(Bound {
                socket,
                address: format!("{address} (fd {fd})"),
                port,
                owned_path: None,
            })
        }
    }
}

/// A listener owned by the runtime.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix; removes its socket file when dropped, unless it was replaced meanwhile.
    Unix(UnixListener, Option<UnixPathGuard>),
}

/// An accepted connection.
pub enum Stream {
    /// From a TCP listener, with the peer's address.
    Tcp(TcpStream, std::net::SocketAddr),
    /// From a Unix listener.
    Unix(UnixStream),
}

impl Listener {
    /// Hands a bound socket to the current runtime. Must run inside the runtime's context.
    pub fn from_bound(bound: Bound) -> io::Result<Self> {
        bound.socket.set_nonblocking(true)?;
        let is_unix = bound.socket.domain()? == Domain::UNIX;
        let fd = OwnedFd::from(bound.socket);
        if is_unix {
            let std_listener = std::os::unix::net::UnixListener::from(fd);
            let guard = bound.owned_path.map(UnixPathGuard);
            Ok(Self::Unix(UnixListener::from_std(std_listener)?, guard))
        } else {
            Ok(Self::Tcp(TcpListener::from_std(
                std::net::TcpListener::from(fd),
            )?))
        }
    }

    /// Accepts the next connection.
    pub async fn accept(&self) -> io::Result<Stream> {
        match self {
            Self::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                // Small responses go out at once rather than waiting on Nagle's algorithm.
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream, peer))
            }
            Self::Unix(listener, _) => Ok(Stream::Unix(listener.accept().await?.0)),
        }
    }
}

/// Removes the socket file this server created, but only if it is still the same file.
pub struct UnixPathGuard(OwnedPath);

impl Drop for UnixPathGuard {
    fn drop(&mut self) {
        let same = std::fs::metadata(&self.0.path)
            .map(|meta| meta.dev() == self.0.dev && meta.ino() == self.0.ino)
            .unwrap_or(false);
        if same {
            let _ = std::fs::remove_file(&self.0.path);
        }
    }
}
