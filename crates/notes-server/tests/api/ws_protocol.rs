//! WebSocket protocol errors from a client: invalid UTF-8, fragments, sizes,
//! binary messages and deeply nested JSON. Each bad session is closed with
//! the right code, and the server and other sessions keep working.

use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::helpers::{
    RECEIVE_TIMEOUT, Socket, TestApp, TestUser, close, close_code, expect_close, next_json, spawn_app,
};

/// Returns a text frame, or a continuation frame when `first` is false.
fn text_fragment(bytes: &[u8], first: bool, last: bool) -> Message {
    let opcode = if first { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
    Message::Frame(Frame::message(bytes.to_vec(), opcode, last))
}

/// Returns `levels` nested JSON arrays.
fn nested_arrays(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

/// Opens a session and reads its snapshot.
async fn open_session(app: &TestApp, user: &TestUser) -> Socket {
    let (socket, _) = app.connect_with_snapshot(user).await;
    socket
}

/// Sends frames, ignoring a connection that the server closed early.
async fn send_all(socket: &mut Socket, messages: Vec<Message>) {
    for message in messages {
        if socket.send(message).await.is_err() {
            return;
        }
    }
}

/// Checks that the server is healthy and that `observer` still receives
/// events: creates a note and expects its `note_created`.
async fn assert_others_unaffected(app: &TestApp, author: &TestUser, observer: &mut Socket, context: &str) {
    app.assert_healthy().await;
    let created = app.create_note(author, &format!("after {context}"), "").await;
    let event = next_json(observer).await;
    assert_eq!(event["type"], "note_created", "{context}: the observer still receives events");
    assert_eq!(event["data"], created, "{context}");
}

#[actix_web::test]
async fn protocol_errors_close_with_the_right_code() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut observer = open_session(&app, &app.register("observer").await).await;

    let ping_with_emoji = r#"{"type":"ping","x":"😀"}"#.as_bytes();
    let emoji_start = ping_with_emoji.iter().position(|byte| *byte == 0xF0).expect("the emoji's first byte");
    let split = emoji_start + 2;
    assert!(std::str::from_utf8(&ping_with_emoji[..split]).is_err(), "the split falls inside the emoji");
    let emoji_fragments = vec![
        text_fragment(&ping_with_emoji[..split], true, false),
        text_fragment(&ping_with_emoji[split..], false, true),
    ];

    // A message split across fragments is one message: the emoji is only
    // complete after the second fragment, and the server replies with a pong.
    let mut session = open_session(&app, &alice).await;
    send_all(&mut session, emoji_fragments).await;
    let reply = next_json(&mut session).await;
    assert_eq!(reply["type"], "pong", "an emoji split across fragments is valid: {reply}");
    close(session).await;
    assert_others_unaffected(&app, &alice, &mut observer, "split emoji").await;

    let cases: Vec<(&str, Vec<Message>, u16)> = vec![
        ("a lone 0xFF byte in a text frame", vec![text_fragment(&[0xFF], true, true)], 1007),
        (
            "invalid UTF-8 in a middle fragment",
            vec![
                text_fragment(br#"{"type":"#, true, false),
                text_fragment(&[0xC3, 0x28], false, false),
                text_fragment(br#""ping"}"#, false, true),
            ],
            1007,
        ),
        ("a 100 KiB text message", vec![Message::text("x".repeat(100 * 1024))], 1009),
        (
            "a 100 KiB message in 4 KiB fragments",
            (0..25).map(|index| text_fragment(&[b'x'; 4096], index == 0, index == 24)).collect(),
            1009,
        ),
        ("a binary message", vec![Message::binary(vec![1u8, 2, 3])], 1003),
        ("100,000 nested arrays", vec![Message::text(nested_arrays(100_000))], 1009),
    ];
    for (name, messages, expected) in cases {
        let mut session = open_session(&app, &alice).await;
        send_all(&mut session, messages).await;
        let frame = expect_close(&mut session, RECEIVE_TIMEOUT).await;
        assert_eq!(close_code(&frame), Some(expected), "{name}: close frame {frame:?}");
        assert_others_unaffected(&app, &alice, &mut observer, name).await;
    }
}

#[actix_web::test]
async fn nested_json_message_gets_an_error_reply() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut observer = open_session(&app, &app.register("observer").await).await;

    // 5,000 levels is about 10 KB, within the inbound limit, but deeper than
    // the JSON parser's recursion limit.
    let mut session = open_session(&app, &alice).await;
    session.send(Message::text(nested_arrays(5_000))).await.unwrap();
    let reply = next_json(&mut session).await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["data"]["code"], "invalid_message", "{reply}");

    // The session survives the bad message and still replies.
    session.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    let reply: Value = next_json(&mut session).await;
    assert_eq!(reply["type"], "pong");
    close(session).await;

    // A new session works too.
    let mut fresh = open_session(&app, &alice).await;
    fresh.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next_json(&mut fresh).await["type"], "pong");
    close(fresh).await;

    assert_others_unaffected(&app, &alice, &mut observer, "nested JSON message").await;
}
