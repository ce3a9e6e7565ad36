//! A keep-alive connection stays usable after a response whose handler
//! did not read the request body.
//!
//! Python's `http.client` (and so urllib3 and the `cudo-compute` SDK)
//! sends a request's headers and its body in two writes. When a handler
//! answers before reading the body (an authentication error, an unknown
//! route, a route without a body extractor), hyper on its own closes the
//! connection after the response without saying so, and the client's next
//! request on the pooled connection fails with "Remote end closed
//! connection without response". The server drains such a body instead,
//! and says `connection: close` when it cannot.

mod http_support;

use std::time::Duration;

use http_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

/// The status, the lower-cased headers and the body of one response read
/// from `reader`, or `None` when the connection ended first.
async fn read_response(
    reader: &mut OwnedReadHalf,
    buffer: &mut Vec<u8>,
) -> Option<(u16, Vec<(String, String)>, Vec<u8>)> {
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut chunk)).await.ok()?.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize =
        headers.iter().find(|(name, _)| name == "content-length").map_or(0, |(_, value)| value.parse().unwrap());
    while buffer.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        let read = reader.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = buffer[head_end..head_end + length].to_vec();
    buffer.drain(..head_end + length);
    Some((status, headers, body))
}

fn has_close(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(name, value)| name == "connection" && value.eq_ignore_ascii_case("close"))
}

#[tokio::test]
async fn a_body_the_handler_does_not_read_keeps_the_connection_alive() {
    let server = Server::start().await;
    // (what, method and path, headers, body, the status expected)
    let table: &[(&str, &str, &str, &[u8], u16)] = &[
        ("no key", "POST /v1/projects/demo/vm", "", br#"{"vmId": "a"}"#, 401),
        (
            "a key without access",
            "POST /v1/projects/other/vms/x/terminate",
            "authorization: Bearer demo-key\r\n",
            b"{}",
            403,
        ),
        ("an unknown route", "POST /v1/nowhere", "authorization: Bearer demo-key\r\n", br#"{"x": 1}"#, 404),
        (
            "a route with no body extractor",
            "POST /v1/projects/demo/vms/none/terminate",
            "authorization: Bearer demo-key\r\n",
            b"{}",
            404,
        ),
    ];
    for (what, request_line, headers, body, expected) in table {
        let stream = TcpStream::connect(server.addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let head = format!(
            "{request_line} HTTP/1.1\r\nhost: emulator\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes()).await.unwrap();
        // The body follows in a second write, later, as http.client sends it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.write_all(body).await.unwrap();
        let mut buffer = Vec::new();
        let (status, headers, _) = read_response(&mut reader, &mut buffer).await.expect(what);
        assert_eq!(status, *expected, "{what}");
        assert!(!has_close(&headers), "{what}: {headers:?}");
        writer
            .write_all(b"GET /v1/projects HTTP/1.1\r\nhost: emulator\r\nauthorization: Bearer demo-key\r\n\r\n")
            .await
            .unwrap();
        let next = read_response(&mut reader, &mut buffer).await;
        assert_eq!(next.map(|(status, _, _)| status), Some(200), "{what}: the next request on the connection");
    }
}

#[tokio::test]
async fn an_unread_body_too_large_to_drain_closes_the_connection_and_says_so() {
    let server = Server::start().await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let size = canon_cloud::http::server::DRAIN_LIMIT * 2;
    let head = format!("POST /v1/projects/demo/vm HTTP/1.1\r\nhost: emulator\r\ncontent-length: {size}\r\n\r\n");
    // The server stops reading at its limit, so the writer may block or
    // fail; it runs on its own and its result does not matter.
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        writer.write_all(&vec![b' '; size]).await
    });
    let mut buffer = Vec::new();
    let (status, headers, _) = read_response(&mut reader, &mut buffer).await.expect("a response");
    // The body limit turns the request down from its content-length alone.
    assert_eq!(status, 400);
    assert!(has_close(&headers), "{headers:?}");
    sending.abort();
}
