//! Running the router: an accept loop over hyper's HTTP/1 connections with a header-read
//! timeout (a slow-loris client is disconnected without holding up anyone else) and a graceful
//! shutdown (stop accepting, answer 503 on `/readyz`, let in-flight requests finish within the
//! grace period).

use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::{router, AppState, ServerError};

/// Serves `state` on `listener` until `shutdown` completes, then waits (up to
/// `limits.shutdown_grace_ms`) for the requests in flight to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let limits = state.config().limits;
    let app = router(state.clone());
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms.max(1)));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, _peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(target: "ragcore_server", error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let conn = builder.serve_connection(
                    TokioIo::new(tcp),
                    TowerToHyperService::new(app.clone()),
                );
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = watched.await {
                        tracing::debug!(target: "ragcore_server", error = %e, "connection ended");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    state.set_draining();
    drop(listener);
    tracing::info!(target: "ragcore_server", "shutting down; waiting for requests in flight");
    let grace = Duration::from_millis(limits.shutdown_grace_ms);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(target: "ragcore_server", "requests still running after the grace period were cut");
    }
    Ok(())
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = futures::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
