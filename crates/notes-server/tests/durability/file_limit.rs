//! The WebSocket limit under a low open-file limit. A process cannot accept
//! a connection once its file descriptors run out, and a client would then
//! wait at connect until it times out. The server lowers its WebSocket limit
//! to fit under the file limit, so the upgrade past it gets a 503 at once.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::process::Deployment;

/// The file limit the server runs under. The server keeps 256 descriptors
/// for everything else, so 64 WebSockets fit.
const FILE_LIMIT: u64 = 320;

/// WebSockets that fit under [`FILE_LIMIT`].
const ROOM: usize = 64;

/// How long the refused upgrade may take: far less than a client's connect
/// timeout, so a hung accept fails the test.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test]
async fn websocket_limit_fits_under_the_open_file_limit() {
    let deployment = Deployment::sqlite();
    let mut command = deployment.command();
    command.env("NOTES_MAX_WS_CONNECTIONS", "10000").env("NOTES_MAX_WS_PER_USER", "0");
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls setrlimit, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| rlimit::setrlimit(rlimit::Resource::NOFILE, FILE_LIMIT, FILE_LIMIT));
    }
    let server = deployment.start_command(command).await;
    let api = &server.api;
    assert!(
        server.stderr().contains("does not fit under the open file limit"),
        "the server did not warn about the file limit; stderr:\n{}",
        server.stderr()
    );

    let user = api.register("fd-limit").await;
    let mut open = Vec::with_capacity(ROOM);
    for _ in 0..ROOM {
        open.push(api.connect(&user.token).await.0);
    }

    let mut request = api.url("/ws").replacen("http", "ws", 1).into_client_request().expect("valid WebSocket URL");
    let header = HeaderValue::from_str(&format!("Bearer {}", user.token)).expect("token is a valid header value");
    request.headers_mut().insert("authorization", header);
    let attempt = tokio::time::timeout(ANSWER_WITHIN, tokio_tungstenite::connect_async(request.clone()))
        .await
        .unwrap_or_else(|_| panic!("the upgrade past the limit got no answer within {ANSWER_WITHIN:?}"));
    match attempt {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503, "status of the upgrade past the limit");
            let body = response.body().clone().unwrap_or_default();
            let body: serde_json::Value = serde_json::from_slice(&body).expect("the 503 body is JSON");
            assert_eq!(body["error"]["code"], "unavailable", "{body}");
        }
        Ok(_) => panic!("the upgrade past the limit was accepted"),
        Err(other) => panic!("the upgrade past the limit failed without an HTTP answer: {other}"),
    }

    // The server still responds, and a freed connection slot can be reused.
    assert_eq!(api.me(&user.token).await.status(), 200);
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
    loop {
        match tokio_tungstenite::connect_async(request.clone()).await {
            Ok(_) => break,
            Err(error) => {
                assert!(tokio::time::Instant::now() < deadline, "no connection slot was freed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    server.terminate().await;
}
