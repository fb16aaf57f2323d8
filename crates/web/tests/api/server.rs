//! The server's connection clocks: slow and idle clients are cut off, and do not hold up others.

use crate::helpers::TestApp;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEAD_DEADLINE: Duration = Duration::from_millis(600);

/// The app served with a short head deadline; its address.
async fn served(app: &TestApp) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    let limits = bma_web::server::Limits { header_read: HEAD_DEADLINE };
    tokio::spawn(bma_web::server::serve_with(app.router.clone(), listener, std::future::pending(), limits));
    addr
}

/// Reads until the server closes the connection (or `within` passes); what it sent, and whether
/// it closed.
async fn until_closed(tcp: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut seen = Vec::new();
    let mut buf = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&seen).into_owned(), true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into_owned(), false),
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_request_head_is_disconnected_at_the_deadline() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let mut tcp = TcpStream::connect(addr).await.expect("connects");
    let started = Instant::now();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: bma\r\n").await.expect("writes");
    let mut closed = false;
    for i in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if tcp.write_all(format!("X-Slow-{i}: a\r\n").as_bytes()).await.is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        closed = until_closed(&mut tcp, Duration::from_secs(2)).await.1;
    }
    let took = started.elapsed();
    assert!(closed, "the connection was still open after {took:?}");
    assert!(took >= HEAD_DEADLINE, "cut off before its deadline ({took:?})");
    assert!(took < Duration::from_secs(4), "a trickle of headers extended the deadline ({took:?})");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_deadline() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let mut tcp = TcpStream::connect(addr).await.expect("connects");
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: bma\r\n\r\n").await.expect("writes");
    let (answer, closed) = until_closed(&mut tcp, Duration::from_secs(4)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "the request itself is answered: {answer:.40}");
    assert!(closed, "the idle connection was still open after 4 s");
}

#[tokio::test]
async fn slow_clients_do_not_keep_a_normal_request_waiting() {
    let app = TestApp::spawn().await;
    let addr = served(&app).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut tcp = TcpStream::connect(addr).await.expect("connects");
        tcp.write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: bma\r\n").await.expect("writes");
        slow.push(tcp);
    }
    let client = reqwest::Client::new();
    let r = client.get(format!("http://{addr}/health")).send().await.expect("answered");
    assert_eq!(r.status(), 200);
    let mut closed = 0;
    for tcp in &mut slow {
        if until_closed(tcp, Duration::from_secs(3)).await.1 {
            closed += 1;
        }
    }
    assert_eq!(closed, 200, "every slow client is cut off");
}
