//! A faithful fake of the LINE Messaging API, served on loopback for tests and the demo. One
//! server answers both hosts' paths (`api.line.me` and `api-data.line.me`): Bearer auth, reply
//! tokens that are single-use and expire on the fake's own clock, push with `X-Line-Retry-Key`
//! (a retried key gets 409 and is never sent twice), LINE's message limits and error bodies,
//! per-endpoint token buckets and the monthly quota (both 429, told apart only by `message`),
//! 413 over 2 MB, `X-Line-Request-Id` on every answer, rich menus with image checks, message
//! content and profiles.
//!
//! It also plays LINE's side of webhooks: [`LineFake::user_sends`] builds the exact body a user's
//! action produces, signs it with the channel secret and POSTs it, redelivering in the background
//! (same `webhookEventId`, `isRedelivery: true`) until the receiver answers 2xx.
//!
//! A control API on the same server (no auth) serves the demo: `POST /control/inbound`
//! `{user_id, text}`, `POST /control/webhook` `{url}`, `GET /control/sent`.

mod server;
mod validate;
mod webhook;

use bma_domain::clock::Clock;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct LineFakeConfig {
    pub channel_secret: String,
    pub channel_access_token: String,
    /// The bot's user id, sent as `destination` (LINE's are `U` + 32 hex).
    pub bot_user_id: String,
    /// How long a reply token is accepted after its event (LINE documents one minute).
    pub reply_token_lifetime: Duration,
    /// Requests per second for each endpoint that has LINE's default limit (2,000).
    pub rate_limit_per_sec: u32,
    /// Push messages a month; `None` is unlimited. Replies are free, as at LINE.
    pub monthly_quota: Option<u64>,
    /// Delay before the first webhook redelivery; doubles each time.
    pub webhook_retry_base: Duration,
    /// Webhook attempts in all, the first included.
    pub webhook_max_attempts: u32,
    pub clock: Clock,
}

impl Default for LineFakeConfig {
    fn default() -> Self {
        Self {
            channel_secret: "fake-line-channel-secret".into(),
            channel_access_token: "fake-line-channel-access-token".into(),
            bot_user_id: "U0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
            reply_token_lifetime: Duration::from_secs(60),
            rate_limit_per_sec: 2000,
            monthly_quota: None,
            webhook_retry_base: Duration::from_millis(20),
            webhook_max_attempts: 5,
            clock: Clock::Real,
        }
    }
}

/// What a LINE user does in the chat with the bot.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEvent {
    Text(String),
    /// An image whose bytes were added with [`LineFake::add_content`].
    Image {
        message_id: String,
    },
    /// A file whose bytes were added with [`LineFake::add_content`].
    File {
        message_id: String,
        file_name: String,
    },
    Sticker {
        package_id: String,
        sticker_id: String,
    },
    Location {
        title: Option<String>,
        address: Option<String>,
        latitude: f64,
        longitude: f64,
    },
    /// A tap on a postback action. Like LINE, `display_text` only shows in the user's chat: the
    /// webhook carries `data` alone.
    Postback {
        data: String,
        display_text: Option<String>,
    },
    Follow,
    Unfollow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Reply,
    Push,
    /// One of the recipients of a multicast call (one `SentLine` per recipient).
    Multicast,
}

/// One accepted reply or push call.
#[derive(Debug, Clone, PartialEq)]
pub struct SentLine {
    pub to: String,
    pub via: Via,
    pub messages: Vec<Value>,
    pub retry_key: Option<String>,
    pub request_id: String,
    pub sent_ids: Vec<String>,
    pub at: OffsetDateTime,
}

/// One webhook POST the fake made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_ids: Vec<String>,
    pub body: String,
    pub signature: String,
    pub redelivery: bool,
    /// 1 for the first attempt of a body.
    pub attempt: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Delivery {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

pub(crate) struct ReplyToken {
    user: String,
    issued: OffsetDateTime,
    used: bool,
}

pub(crate) struct Accepted {
    request_id: String,
    sent_messages: Vec<Value>,
    at: OffsetDateTime,
}

pub(crate) struct Menu {
    id: String,
    body: Value,
    image: Option<(Vec<u8>, String)>,
}

pub(crate) struct Bucket {
    tokens: f64,
    last: OffsetDateTime,
}

#[derive(Default)]
pub(crate) struct State {
    reply_tokens: HashMap<String, ReplyToken>,
    retry_keys: HashMap<String, Accepted>,
    sent: Vec<SentLine>,
    buckets: HashMap<&'static str, Bucket>,
    monthly_used: u64,
    menus: Vec<Menu>,
    default_menu: Option<String>,
    links: HashMap<String, String>,
    contents: HashMap<String, (Vec<u8>, String)>,
    /// Friends of the bot: user id → display name.
    friends: HashMap<String, String>,
    blocked: HashSet<String>,
    fail_next: VecDeque<u16>,
    hold_next: Option<Duration>,
    webhook_url: Option<String>,
    deliveries: Vec<Delivery>,
    /// Every event the fake has sent, by webhookEventId, for redelivery.
    events: HashMap<String, Value>,
    duplicate: bool,
    next_id: u64,
    requests: u64,
    multicast_calls: u64,
}

pub(crate) struct Shared {
    cfg: LineFakeConfig,
    offset_ms: AtomicI64,
    state: Mutex<State>,
    http: reqwest::Client,
    pending: tokio::sync::watch::Sender<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> OffsetDateTime {
        self.cfg.clock.now() + time::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }

    fn next_id(st: &mut State) -> String {
        st.next_id += 1;
        format!("{}", 560_000_000_000_000_000u64 + st.next_id)
    }
}

#[derive(Clone)]
pub struct LineFake {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl LineFake {
    /// Serves the fake on 127.0.0.1 (a free port).
    pub async fn start(cfg: LineFakeConfig) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).user_agent("LineBotWebhook/2.0").build()?;
        let (pending, _) = tokio::sync::watch::channel(0usize);
        let shared = Arc::new(Shared {
            cfg,
            offset_ms: AtomicI64::new(0),
            state: Mutex::new(State { next_id: 0, ..State::default() }),
            http,
            pending,
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "line fake stopped serving");
            }
        });
        tracing::debug!(%addr, "line fake listening");
        Ok(Self { shared, addr })
    }

    /// `http://127.0.0.1:PORT`: the API and the api-data host at once.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn channel_secret(&self) -> &str {
        &self.shared.cfg.channel_secret
    }

    pub fn channel_access_token(&self) -> &str {
        &self.shared.cfg.channel_access_token
    }

    pub fn bot_user_id(&self) -> &str {
        &self.shared.cfg.bot_user_id
    }

    /// The fake's time: its configured clock plus every [`Self::advance`].
    pub fn now(&self) -> OffsetDateTime {
        self.shared.now()
    }

    /// Moves the fake's time forward (reply tokens expire, buckets refill).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.shared.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Makes `user_id` a friend of the bot with a profile.
    pub fn add_user(&self, user_id: &str, display_name: &str) {
        let mut st = self.shared.lock();
        st.friends.insert(user_id.to_owned(), display_name.to_owned());
    }

    /// Stores the bytes of an image or file a user will send; returns its message id.
    pub fn add_content(&self, bytes: Vec<u8>, mime: &str) -> String {
        let mut st = self.shared.lock();
        let id = Shared::next_id(&mut st);
        st.contents.insert(id.clone(), (bytes, mime.to_owned()));
        id
    }

    /// Every accepted reply and push, in order.
    pub fn sent(&self) -> Vec<SentLine> {
        self.shared.lock().sent.clone()
    }

    /// Messages pushed this month (what the monthly quota counts).
    /// Multicast calls LINE accepted (a 409 for a repeated retry key is not one).
    pub fn multicast_calls(&self) -> u64 {
        self.shared.lock().multicast_calls
    }

    pub fn monthly_used(&self) -> u64 {
        self.shared.lock().monthly_used
    }

    /// API requests answered (control calls excluded).
    pub fn requests(&self) -> u64 {
        self.shared.lock().requests
    }

    pub fn default_rich_menu(&self) -> Option<String> {
        self.shared.lock().default_menu.clone()
    }

    /// The rich menu linked to this user (not the default).
    pub fn rich_menu_of(&self, user_id: &str) -> Option<String> {
        self.shared.lock().links.get(user_id).cloned()
    }

    /// Every rich menu as `(richMenuId, body, has_image)`.
    pub fn rich_menus(&self) -> Vec<(String, Value, bool)> {
        self.shared.lock().menus.iter().map(|m| (m.id.clone(), m.body.clone(), m.image.is_some())).collect()
    }

    /// The next `n` API calls fail with `status` before doing anything.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.shared.lock().fail_next.extend(std::iter::repeat_n(status, n));
    }

    /// The next reply or push is carried out and recorded, but its answer waits `by`.
    pub fn hold_next(&self, by: Duration) {
        self.shared.lock().hold_next = Some(by);
    }

    pub fn set_webhook(&self, url: &str) {
        self.shared.lock().webhook_url = Some(url.to_owned());
    }

    /// Every successful first delivery is sent a second time, byte for byte, as LINE may.
    pub fn set_duplicate_deliveries(&self, on: bool) {
        self.shared.lock().duplicate = on;
    }

    /// Every webhook POST so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// The reply token issued with an event, while the fake still accepts it.
    pub fn reply_token_of(&self, webhook_event_id: &str) -> Option<String> {
        let st = self.shared.lock();
        st.events.get(webhook_event_id)?.get("replyToken")?.as_str().map(str::to_owned)
    }

    /// A user's action: the webhook body LINE would send, signed and POSTed to the webhook.
    /// Returns the `webhookEventId` once the first attempt is answered; failed deliveries are
    /// retried in the background (see [`Self::flush`]).
    pub async fn user_sends(&self, user_id: &str, event: UserEvent) -> anyhow::Result<String> {
        webhook::user_sends(&self.shared, user_id, event).await
    }

    /// Sends an event again as LINE's redelivery does: same `webhookEventId` and reply token,
    /// `isRedelivery: true`. Returns the receiver's status.
    pub async fn redeliver(&self, webhook_event_id: &str) -> anyhow::Result<u16> {
        webhook::redeliver(&self.shared, webhook_event_id).await
    }

    /// POSTs `body` with the given `x-line-signature`, as is. Returns the receiver's status.
    pub async fn deliver_raw(&self, body: &[u8], signature: &str) -> anyhow::Result<u16> {
        webhook::deliver_raw(&self.shared, body, signature).await
    }

    /// LINE's connectivity check: `{"destination":..,"events":[]}`, signed.
    pub async fn verify_empty(&self) -> anyhow::Result<u16> {
        let body = serde_json::to_vec(&serde_json::json!({ "destination": self.bot_user_id(), "events": [] }))?;
        let sig = sign(self.channel_secret(), &body);
        webhook::deliver_raw(&self.shared, &body, &sig).await
    }

    /// Waits until no redelivery is pending.
    pub async fn flush(&self) {
        let mut rx = self.shared.pending.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// `x-line-signature` for `body`: Base64(HMAC-SHA256(channel secret, raw body)).
pub fn sign(channel_secret: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, channel_secret.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, body).as_ref())
}
