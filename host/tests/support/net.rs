//! Local ports and HTTP: free ports, a router served on 127.0.0.1 for clients outside the
//! process under test (CLI runs, plugins, webhooks), and a plain GET.

use std::net::SocketAddr;
use std::time::Duration;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves `router` on a free port of 127.0.0.1 (with the peer address, as `sdmd serve` does)
/// until the runtime ends; returns its address.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// Fetches `http://127.0.0.1:{port}/` and returns the body, if it answers.
pub async fn http_get(port: u16) -> Option<String> {
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    resp.text().await.ok()
}
