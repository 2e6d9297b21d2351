//! Serving on an already bound listener, plain or over TLS.

use std::future::Future;
use std::io;
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};

use crate::tls::{HANDSHAKE_TIMEOUT, TlsAcceptor};

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

/// Accepted connections after their TLS handshake. Handshakes run concurrently (a slow or
/// silent client holds up no one) and are bounded by [`HANDSHAKE_TIMEOUT`]; a failed one is
/// logged with the peer's address (`daemon` names the server) and the connection dropped.
/// The listener is released when the returned stream is dropped.
pub fn incoming_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    daemon: &'static str,
) -> impl Stream<Item = io::Result<tokio_rustls::server::TlsStream<TcpStream>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tx.closed() => break,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, the server goes on.
                    tracing::warn!("{daemon}: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send(Ok(tls)).await;
                    }
                    // A connection closed before saying anything: a TCP probe (a load
                    // balancer's, Kubernetes'), not worth a warning.
                    Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        tracing::debug!("{daemon}: TLS handshake from {peer}: {e}");
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(
                            "{daemon}: TLS handshake from {peer} failed: {e}{}",
                            crate::tls::server_side_hint(&e)
                        );
                    }
                    Err(_) => {
                        tracing::warn!(
                            "{daemon}: TLS handshake from {peer} timed out after {HANDSHAKE_TIMEOUT:?}"
                        );
                    }
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// Serves `router` on `listener` until `shutdown` completes: over TLS with `tls`, else plain.
pub async fn serve_router(
    router: tonic::transport::server::Router,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    daemon: &'static str,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    match tls {
        Some(acceptor) => {
            router
                .serve_with_incoming_shutdown(incoming_tls(listener, acceptor, daemon), shutdown)
                .await
        }
        None => {
            router
                .serve_with_incoming_shutdown(incoming_nodelay(listener), shutdown)
                .await
        }
    }
}
