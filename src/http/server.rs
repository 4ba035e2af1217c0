//! The connection loop: HTTP/1.1 over hyper, one task per connection, with graceful shutdown.
//!
//! Written out instead of `axum::serve` for one setting: half-closed reads. While a response
//! streams, hyper otherwise keeps reading the connection to notice the client leaving, which
//! costs a second 8 KiB read buffer per open conversation stream. A client that leaves is
//! noticed at the next write instead: conversation streams and the agents' feed send a
//! keep-alive comment every 15 seconds; a streamed reply ends with its turn.
//!
//! Each request's future is boxed: hyper keeps a slot the size of the service's future for
//! the whole life of a connection (320 bytes for the router's), and a conversation stream's
//! connection lives for hours. Boxed, the slot is a pointer and the future is freed once the
//! response has started.

use std::{io, pin::Pin, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::Request};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::limits::Peer;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

/// Accepts connections until `shutdown` is cancelled. Each connection runs on `connections`
/// and, once `shutdown` is cancelled, finishes its current response and closes; the caller
/// waits for them there.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    connections: &TaskTracker,
) {
    let mut http = http1::Builder::new();
    http.half_close(true);
    loop {
        let (tcp, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => (tcp, peer.ip()),
                Err(error) if connection_error(&error) => continue,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::error!(%error, "accept failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        // Streaming replies must not wait on Nagle's algorithm.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
        // The router and the peer's address in one allocation: the closure stays one pointer,
        // as it was with the router alone, so the connection's task stays in its size class
        // (capturing the address itself took every open stream's task from 896 bytes to
        // 1,024: 1.6 MiB more with 10,000 streams).
        let shared = Arc::new((router.clone(), Peer(peer)));
        let service = service_fn(move |mut request: Request<Incoming>| {
            let (router, peer) = &*shared;
            // Only a new conversation is limited by its address.
            if request.method() == axum::http::Method::POST
                && request.uri().path() == "/v1/conversations"
            {
                request.extensions_mut().insert(*peer);
            }
            Box::pin(router.clone().oneshot(request.map(Body::new)))
        });
        let mut connection = http.serve_connection(TokioIo::new(tcp), service);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            // The connection is run where the task holds it (it is `Unpin`): pinned into a
            // local of its own, it would take its room in the task twice. Its future is then
            // 792 bytes instead of 848, and with tokio's header the task takes 896 bytes (a
            // multiple of 128) instead of 1,024, for every open stream.
            let mut running = Pin::new(&mut connection);
            let result = tokio::select! {
                result = running.as_mut() => result,
                () = shutdown.cancelled() => {
                    running.as_mut().graceful_shutdown();
                    running.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

/// Errors of one connection that failed while being accepted; the listener is fine.
fn connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
