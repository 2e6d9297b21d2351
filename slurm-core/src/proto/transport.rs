//! Serving on an already bound listener.

use std::io;
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;

/// Accepted connections with Nagle's algorithm off. tonic sets TCP_NODELAY only on
/// connections it accepts itself; without it a reply's trailers wait for the client's delayed
/// ACK, adding 40 ms to every call.
pub fn incoming_nodelay(listener: TcpListener) -> impl Stream<Item = io::Result<TcpStream>> {
    TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
}
