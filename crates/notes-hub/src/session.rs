//! The session actor: one WebSocket connection.

use std::any::Any;
use std::io;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler, StreamHandler};
use actix_web::web::Bytes;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError};
use bytestring::ByteString;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use notes_core::{Seq, UserId};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, Span, debug, info, warn};

use crate::hub::Hub;
use crate::messages::{Evict, Join, Leave, SessionId};
use crate::{
    CLIENT_TIMEOUT, CLOSE_GRACE, CLOSE_TOKEN_EXPIRED, HEARTBEAT_INTERVAL, MAX_INBOUND_MESSAGE_BYTES, OUTBOX_CAPACITY,
};

/// A message waiting in a session's outbox for the writer task.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A text frame; the bytes are shared with every other session.
    Text(ByteString),
    /// A ping frame with this payload.
    Ping(Bytes),
    /// A pong frame that replies to the client's ping.
    Pong(Bytes),
}

/// Timings and limits of one session. The defaults are the production values;
/// tests shorten them.
#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// How often to ping the client.
    pub heartbeat_interval: Duration,
    /// How long the client may stay silent before it is dropped.
    pub client_timeout: Duration,
    /// Maximum messages queued for the client.
    pub outbox_capacity: usize,
    /// Maximum size of one inbound message in bytes.
    pub max_inbound_bytes: usize,
    /// Inbound messages allowed per second; 0 turns the limit off. A client
    /// over it is closed with 1008 (policy violation).
    pub inbound_rate_per_second: u32,
    /// Inbound messages allowed at once before the rate applies.
    pub inbound_burst: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            heartbeat_interval: HEARTBEAT_INTERVAL,
            client_timeout: CLIENT_TIMEOUT,
            outbox_capacity: OUTBOX_CAPACITY,
            max_inbound_bytes: MAX_INBOUND_MESSAGE_BYTES,
            inbound_rate_per_second: 10,
            inbound_burst: 20,
        }
    }
}

static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

/// The actor of one WebSocket connection. See the crate documentation for
/// how it owns the connection and what stops it.
pub struct Session {
    id: SessionId,
    user_id: UserId,
    hub: Addr<Hub>,
    settings: SessionSettings,
    /// The snapshot message and its sequence number, sent once at start.
    snapshot: Option<(ByteString, Seq)>,
    outbox: mpsc::Sender<Outbound>,
    /// Taken when the writer task is spawned at start.
    outbox_receiver: Option<mpsc::Receiver<Outbound>>,
    ws: Option<actix_ws::Session>,
    /// Tells the writer task to send a close frame and finish.
    close: Option<oneshot::Sender<CloseReason>>,
    /// When the token stops being valid.
    token_expires_in: Option<Duration>,
    last_heard: Instant,
    /// The reason the session stopped, for the disconnect log line.
    end_reason: &'static str,
    /// Limits the client's inbound messages; `None` when unlimited.
    inbound_limit: Option<DefaultDirectRateLimiter>,
    /// Held for the life of the session and dropped when it ends, such as
    /// the server's count of open connections.
    _guard: Option<Box<dyn Any>>,
    span: Span,
}

impl Session {
    /// Starts the actor for an accepted upgrade on the current worker thread.
    ///
    /// `snapshot` is the serialized `initial_notes` message and the sequence
    /// number it reflects; it is the first message the client receives.
    /// `token_expires_in` is how long the session's token stays valid.
    /// `guard` is dropped when the session ends.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        user_id: UserId,
        hub: Addr<Hub>,
        settings: SessionSettings,
        snapshot: (ByteString, Seq),
        token_expires_in: Option<Duration>,
        guard: Option<Box<dyn Any>>,
        ws: actix_ws::Session,
        stream: actix_ws::MessageStream,
    ) -> (SessionId, Addr<Session>) {
        let id = SessionId(NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed));
        let (outbox, outbox_receiver) = mpsc::channel(settings.outbox_capacity.max(1));
        let span = tracing::info_span!("ws_session", session_id = %id, user_id = %user_id);
        let stream = stream
            .max_frame_size(settings.max_inbound_bytes)
            .aggregate_continuations()
            .max_continuation_size(settings.max_inbound_bytes);
        let inbound_limit = NonZeroU32::new(settings.inbound_rate_per_second).map(|rate| {
            let burst = NonZeroU32::new(settings.inbound_burst).unwrap_or(rate);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
        });

        let session = Session {
            id,
            user_id,
            hub,
            settings,
            snapshot: Some(snapshot),
            outbox,
            outbox_receiver: Some(outbox_receiver),
            ws: Some(ws),
            close: None,
            token_expires_in,
            last_heard: Instant::now(),
            end_reason: "connection ended",
            inbound_limit,
            _guard: guard,
            span,
        };
        let addr = Session::create(|ctx| {
            add_inbound_stream(ctx, stream);
            session
        });
        (id, addr)
    }

    /// Queues a message for the client. A full outbox means the client is not
    /// reading, and the session closes with 4008 like the hub would.
    fn send(&mut self, message: Outbound, ctx: &mut Context<Self>) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outbox.try_send(message) {
            self.close_with(crate::CLOSE_TOO_SLOW, "client too slow", ctx);
        }
    }

    /// Sends a close frame (through the writer task) and stops the actor.
    fn close_with(&mut self, code: u16, reason: &'static str, ctx: &mut Context<Self>) {
        self.end_reason = reason;
        if let Some(close) = self.close.take() {
            let _ = close.send(CloseReason { code: CloseCode::from(code), description: Some(reason.to_owned()) });
        }
        ctx.stop();
    }

    fn on_protocol_error(&mut self, error: ProtocolError, ctx: &mut Context<Self>) {
        let (code, reason) = match &error {
            ProtocolError::Overflow => (1009, "message too big"),
            ProtocolError::Io(io_error) if io_error.kind() == io::ErrorKind::InvalidData => (1007, "invalid UTF-8"),
            ProtocolError::Io(io_error) if io_error.to_string().contains("continuation size") => {
                (1009, "message too big")
            }
            // A closed tab or a dropped network ends the connection without a
            // close frame; that is an ordinary disconnect, not a fault.
            ProtocolError::Io(_) => (1001, "connection lost"),
            _ => (1002, "protocol error"),
        };
        let _entered = self.span.enter();
        debug!(error = %error, code, "closing after a read error");
        drop(_entered);
        self.close_with(code, reason, ctx);
    }

    fn on_text(&mut self, text: ByteString, ctx: &mut Context<Self>) {
        // The only client message is an application-level ping, which lets a
        // browser check the connection without access to WebSocket pings.
        // Anything else gets an error message in reply and is otherwise ignored.
        let reply = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) if value.get("type").and_then(|kind| kind.as_str()) == Some("ping") => r#"{"type":"pong"}"#,
            Ok(_) => {
                r#"{"type":"error","data":{"code":"unknown_message","message":"the only message a client may send is {\"type\":\"ping\"}"}}"#
            }
            Err(_) => r#"{"type":"error","data":{"code":"invalid_message","message":"messages must be JSON objects"}}"#,
        };
        self.send(Outbound::Text(ByteString::from_static(reply)), ctx);
    }
}

fn add_inbound_stream(ctx: &mut Context<Session>, stream: AggregatedMessageStream) {
    ctx.add_stream(stream);
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let (close_sender, close_receiver) = oneshot::channel();
        self.close = Some(close_sender);
        if let (Some(ws), Some(receiver)) = (self.ws.take(), self.outbox_receiver.take()) {
            actix_web::rt::spawn(write_to_client(ws, receiver, close_receiver).instrument(self.span.clone()));
        }

        // The snapshot goes into the outbox before the hub learns of the
        // session, so every event reaches the client after it.
        let Some((snapshot, seq)) = self.snapshot.take() else { return };
        if self.outbox.try_send(Outbound::Text(snapshot)).is_err() {
            self.close_with(1011, "could not queue the snapshot", ctx);
            return;
        }
        self.hub.do_send(Join {
            id: self.id,
            user_id: self.user_id,
            after_seq: seq,
            outbox: self.outbox.clone(),
            addr: ctx.address(),
            relay: crate::relay::local_relay(&self.hub),
        });

        ctx.run_interval(self.settings.heartbeat_interval, |session, ctx| {
            if session.last_heard.elapsed() > session.settings.client_timeout {
                session.close_with(1001, "heartbeat timed out", ctx);
                return;
            }
            session.send(Outbound::Ping(Bytes::from_static(b"heartbeat")), ctx);
        });
        if let Some(expires_in) = self.token_expires_in {
            ctx.run_later(expires_in, |session, ctx| session.close_with(CLOSE_TOKEN_EXPIRED, "token expired", ctx));
        }

        let _entered = self.span.enter();
        info!(seq, "websocket connected");
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // Dropping the close sender without a message also ends the writer.
        self.close.take();
        self.hub.do_send(Leave { id: self.id });
        let _entered = self.span.enter();
        info!(reason = self.end_reason, "websocket disconnected");
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for Session {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        let counted =
            matches!(item, Ok(AggregatedMessage::Text(_) | AggregatedMessage::Binary(_) | AggregatedMessage::Ping(_)));
        if counted && self.inbound_limit.as_ref().is_some_and(|limit| limit.check().is_err()) {
            let _entered = self.span.enter();
            warn!("client sent messages faster than the limit; closing with 1008");
            drop(_entered);
            self.close_with(1008, "message rate limit exceeded", ctx);
            return;
        }
        match item {
            Ok(AggregatedMessage::Text(text)) => self.on_text(text, ctx),
            Ok(AggregatedMessage::Binary(_)) => self.close_with(1003, "binary messages are not supported", ctx),
            Ok(AggregatedMessage::Ping(payload)) => self.send(Outbound::Pong(payload), ctx),
            Ok(AggregatedMessage::Pong(_)) => {}
            Ok(AggregatedMessage::Close(reason)) => {
                let code = reason.as_ref().map_or(1000, |reason| u16::from(reason.code));
                let _entered = self.span.enter();
                debug!(code, "client sent a close frame");
                drop(_entered);
                // The reply echoes a normal close, as RFC 6455 section 5.5.1 requires.
                self.close_with(1000, "client closed the connection", ctx);
            }
            Err(error) => self.on_protocol_error(error, ctx),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        self.end_reason = "connection ended";
        ctx.stop();
    }
}

impl Handler<Evict> for Session {
    type Result = ();

    fn handle(&mut self, evict: Evict, ctx: &mut Self::Context) {
        self.close_with(evict.code, evict.reason, ctx);
    }
}

/// Writes queued messages to the client until the queue ends or a close is
/// requested. A close preempts whatever is still queued, and a client that
/// does not take the close frame within [`CLOSE_GRACE`] is dropped.
async fn write_to_client(
    mut ws: actix_ws::Session,
    mut outbox: mpsc::Receiver<Outbound>,
    mut close: oneshot::Receiver<CloseReason>,
) {
    let reason = loop {
        let message = tokio::select! {
            biased;
            reason = &mut close => break reason.ok(),
            message = outbox.recv() => match message {
                Some(message) => message,
                None => break None,
            },
        };

        let sent = async {
            match message {
                Outbound::Text(text) => ws.text(text).await,
                Outbound::Ping(payload) => ws.ping(&payload).await,
                Outbound::Pong(payload) => ws.pong(&payload).await,
            }
        };
        tokio::select! {
            biased;
            reason = &mut close => break reason.ok(),
            result = sent => if result.is_err() {
                // The connection is gone; the reader side will notice too.
                return;
            },
        }
    };

    if tokio::time::timeout(CLOSE_GRACE, ws.close(reason)).await.is_err() {
        warn!("client did not take the close frame in time; dropping the connection");
    }
}
