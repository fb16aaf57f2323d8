//! A faithful fake of the WhatsApp Business Cloud API (Meta Graph API), served on loopback for
//! tests, benchmarks and the demo. It speaks Meta's wire format: `POST /{version}/{phone}/messages`
//! with Bearer auth, body validation, templates, the 24-hour customer-service window, throughput
//! and pair rate limits, and Meta's error envelope; two-step media download with 5-minute URLs;
//! `GET /{version}/{waba}/message_templates`. Users "write" through [`WhatsappFake::user_sends`],
//! which posts the exact webhook envelope, signed with the app secret (`X-Hub-Signature-256`,
//! non-ASCII and `/` escaped as Meta does), retrying with backoff like Meta; every accepted message
//! gets `sent` / `delivered` / `read` (or `failed`) status webhooks. The fake keeps its own clock
//! (real time plus an offset a test can [`advance`](WhatsappFake::advance)).
//!
//! A control API on the same server (no auth) lets the demo and humans steer it:
//! `POST /control/inbound {from, name, text}`, `GET /control/sent`, `POST /control/webhook {url}`,
//! `GET /control/deliveries`.

mod graph;
mod hooks;
mod server;

use bma_domain::clock::Clock;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// A template the fake business account owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTemplate {
    pub name: String,
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`; only approved ones can be sent.
    pub status: String,
    /// With `{{1}}`, `{{2}}` … placeholders.
    pub body: String,
    /// Texts of its quick-reply buttons.
    pub quick_replies: Vec<String>,
}

impl FakeTemplate {
    pub fn new(name: &str, language: &str, category: &str, body: &str, quick_replies: &[&str]) -> Self {
        Self {
            name: name.into(),
            language: language.into(),
            category: category.into(),
            status: "APPROVED".into(),
            body: body.into(),
            quick_replies: quick_replies.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Distinct placeholders in the body.
    pub fn body_params(&self) -> usize {
        let mut seen = HashSet::new();
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            if !after[..end].trim().is_empty() {
                seen.insert(after[..end].trim().to_owned());
            }
            rest = &after[end + 2..];
        }
        seen.len()
    }

    /// The account's default templates: `csat_survey` (1 parameter, 5 quick replies),
    /// `alert_notice` (2 parameters), `conversation_reopen` (none), each in `en_US` and `th`, and a
    /// pending `holiday_promo`.
    pub fn defaults() -> Vec<FakeTemplate> {
        let scores = ["1", "2", "3", "4", "5"];
        let mut pending = FakeTemplate::new(
            "holiday_promo",
            "en_US",
            "MARKETING",
            "Season's greetings from BMA, {{1}}! Ask us about festive playlists.",
            &[],
        );
        pending.status = "PENDING".into();
        vec![
            FakeTemplate::new(
                "csat_survey",
                "en_US",
                "UTILITY",
                "Hi {{1}}, how satisfied are you with how we handled your request? Tap a score from 1 (poor) to 5 (excellent).",
                &scores,
            ),
            FakeTemplate::new(
                "csat_survey",
                "th",
                "UTILITY",
                "สวัสดีคุณ {{1}} คุณพึงพอใจกับการดูแลคำขอของคุณแค่ไหน กดคะแนน 1 (ต้องปรับปรุง) ถึง 5 (ดีมาก)",
                &scores,
            ),
            FakeTemplate::new(
                "alert_notice",
                "en_US",
                "UTILITY",
                "Music alert at {{1}}: {{2}}. Our team is on it and will update you here.",
                &[],
            ),
            FakeTemplate::new(
                "alert_notice",
                "th",
                "UTILITY",
                "แจ้งเตือนเพลงที่ {{1}}: {{2}} ทีมงานกำลังดำเนินการและจะแจ้งความคืบหน้าที่นี่",
                &[],
            ),
            FakeTemplate::new(
                "conversation_reopen",
                "en_US",
                "UTILITY",
                "Hello from BMA! We have an update on your request. Reply to this message to continue.",
                &[],
            ),
            FakeTemplate::new(
                "conversation_reopen",
                "th",
                "UTILITY",
                "สวัสดีจาก BMA เรามีความคืบหน้าเกี่ยวกับคำขอของคุณ ตอบกลับข้อความนี้เพื่อคุยต่อ",
                &[],
            ),
            pending,
        ]
    }
}

/// How Meta retries a webhook POST that failed (non-2xx or no answer): the first pause, doubling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { first_delay: Duration::from_millis(50), max_attempts: 5 }
    }
}

/// The status webhooks that follow an accepted message, in real time after the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusProgression {
    pub enabled: bool,
    pub sent_after: Duration,
    pub delivered_after: Duration,
    /// `None`: the recipient never reads it.
    pub read_after: Option<Duration>,
    /// Deliver them last-first (read, delivered, sent), as Meta may.
    pub out_of_order: bool,
}

impl Default for StatusProgression {
    fn default() -> Self {
        Self {
            enabled: true,
            sent_after: Duration::from_millis(20),
            delivered_after: Duration::from_millis(60),
            read_after: Some(Duration::from_millis(120)),
            out_of_order: false,
        }
    }
}

impl StatusProgression {
    pub fn off() -> Self {
        Self { enabled: false, ..Self::default() }
    }
}

#[derive(Debug, Clone)]
pub struct WhatsappFakeConfig {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub business_account_id: String,
    pub access_token: String,
    pub app_secret: String,
    /// Messages a second the number may send (Meta's default is 80); beyond → 130429.
    pub throughput_per_second: u32,
    /// Messages a minute to one recipient; beyond → 131056.
    pub pair_limit_per_minute: u32,
    /// 400 as in Meta's table; 429 to test a client's robustness.
    pub rate_limit_http_status: u16,
    pub templates: Vec<FakeTemplate>,
    /// Recipients (digits) whose messages are accepted, then fail with 131026.
    pub undeliverable: Vec<String>,
    pub webhook_retry: RetryPolicy,
    pub statuses: StatusProgression,
    /// Chance (0–1) that a delivered webhook is delivered a second time, as Meta sometimes does.
    pub duplicate_rate: f64,
    /// The clock the fake's own offset is added to (the real one by default).
    pub clock: Clock,
}

impl Default for WhatsappFakeConfig {
    fn default() -> Self {
        Self {
            phone_number_id: "106540352242922".into(),
            display_phone_number: "15550783881".into(),
            business_account_id: "102290129340398".into(),
            access_token: "fake-whatsapp-access-token".into(),
            app_secret: "fake-whatsapp-app-secret".into(),
            throughput_per_second: 80,
            pair_limit_per_minute: 20,
            rate_limit_http_status: 400,
            templates: FakeTemplate::defaults(),
            undeliverable: Vec::new(),
            webhook_retry: RetryPolicy::default(),
            statuses: StatusProgression::default(),
            duplicate_rate: 0.0,
            clock: Clock::Real,
        }
    }
}

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// Digits, as the recipient's `wa_id`.
    pub to: String,
    /// The body's `type`: `text`, `template`, `interactive`, `image`, …
    pub kind: String,
    /// The request body as received.
    pub body: Value,
    pub wamid: String,
    pub biz_opaque_callback_data: Option<String>,
    pub at: OffsetDateTime,
}

impl SentMessage {
    /// `text.body`, `template.name` or `interactive.body.text`, whichever applies.
    pub fn summary(&self) -> String {
        let b = &self.body;
        let s = match self.kind.as_str() {
            "text" => b["text"]["body"].as_str(),
            "template" => b["template"]["name"].as_str(),
            "interactive" => b["interactive"]["body"]["text"].as_str(),
            k => b[k]["caption"].as_str().or_else(|| b[k]["link"].as_str()),
        };
        s.unwrap_or_default().to_owned()
    }
}

/// One webhook POST the fake made (or is still making) to the configured URL.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    /// `message`, `status` or `batch`.
    pub what: String,
    pub payload: Vec<u8>,
    /// The `X-Hub-Signature-256` header sent.
    pub signature: String,
    pub attempts: u32,
    /// The last HTTP status received; `None` when no answer came (or no attempt yet).
    pub last_status: Option<u16>,
    pub delivered: bool,
    /// Delivered, or given up after the last attempt (or no webhook URL was set).
    pub finished: bool,
    /// Delivered a second time on purpose (a Meta redelivery).
    pub duplicated: bool,
}

impl DeliveryRecord {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

/// What a user can send to the business number.
#[derive(Debug, Clone, PartialEq)]
pub enum UserMessage {
    Text(String),
    /// `media_id` from [`WhatsappFake::add_media`].
    Image {
        media_id: String,
        caption: Option<String>,
    },
    Document {
        media_id: String,
        filename: String,
        caption: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
    /// A tapped interactive reply button.
    ButtonReply {
        id: String,
        title: String,
    },
    /// A chosen list row.
    ListReply {
        id: String,
        title: String,
    },
    /// A tapped template quick-reply button.
    TemplateButton {
        payload: String,
        text: String,
    },
    /// A type the Cloud API does not support (arrives as `unsupported` with error 131051).
    Unsupported,
}

impl UserMessage {
    pub fn text(s: &str) -> Self {
        UserMessage::Text(s.to_owned())
    }
}

/// Real time (or the configured clock) plus an offset a test moves forward.
#[derive(Debug, Clone)]
pub(crate) struct FakeClock {
    base: Clock,
    offset_ms: Arc<AtomicI64>,
}

impl FakeClock {
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.base.now() + time::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

pub(crate) struct Media {
    bytes: Vec<u8>,
    mime: String,
    sha256: String,
    created: OffsetDateTime,
}

#[derive(Default)]
pub(crate) struct State {
    webhook: Option<String>,
    sent: Vec<SentMessage>,
    reads: Vec<String>,
    last_inbound: HashMap<String, OffsetDateTime>,
    inbound_ids: HashSet<String>,
    recent_sends: VecDeque<OffsetDateTime>,
    pair: HashMap<String, VecDeque<OffsetDateTime>>,
    media: HashMap<String, Media>,
    media_urls: HashMap<String, (String, OffsetDateTime)>,
    expire_next_urls: usize,
    fail_next: (usize, u16),
    hold_next: (usize, Duration),
    hold_all: Duration,
    deliveries: Vec<DeliveryRecord>,
    undeliverable: HashSet<String>,
    requests: u64,
    throughput_refusals: u64,
}

pub(crate) struct Shared {
    cfg: WhatsappFakeConfig,
    clock: FakeClock,
    base_url: String,
    http: reqwest::Client,
    state: Mutex<State>,
    pending: AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
pub struct WhatsappFake {
    shared: Arc<Shared>,
}

impl WhatsappFake {
    /// Serves the fake on 127.0.0.1 (a free port).
    pub async fn start(cfg: WhatsappFakeConfig) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).user_agent("facebookexternalua").build()?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = State { undeliverable: cfg.undeliverable.iter().cloned().collect(), ..State::default() };
        let clock = FakeClock { base: cfg.clock.clone(), offset_ms: Arc::new(AtomicI64::new(0)) };
        let shared = Arc::new(Shared {
            cfg,
            clock,
            base_url: format!("http://{addr}"),
            http,
            state: Mutex::new(state),
            pending: AtomicUsize::new(0),
            idle: tokio::sync::Notify::new(),
        });
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "whatsapp fake stopped serving");
            }
        });
        tracing::debug!(%addr, "whatsapp fake listening");
        Ok(Self { shared })
    }

    /// What the client uses as `graph_url`: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn config(&self) -> &WhatsappFakeConfig {
        &self.shared.cfg
    }

    pub fn now(&self) -> OffsetDateTime {
        self.shared.clock.now()
    }

    /// Moves the fake's clock forward (the 24-hour window, media URL expiry, timestamps).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.shared.clock.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Where webhooks go (our server's `/api/v1/webhooks/whatsapp`).
    pub fn set_webhook(&self, url: &str) {
        self.shared.lock().webhook = Some(url.to_owned());
    }

    pub fn clear_webhook(&self) {
        self.shared.lock().webhook = None;
    }

    /// Registers the webhook as Meta does: the `hub.challenge` handshake must echo the challenge.
    pub async fn subscribe(&self, url: &str, verify_token: &str) -> anyhow::Result<()> {
        let challenge = rand::random::<u32>().to_string();
        let sep = if url.contains('?') { '&' } else { '?' };
        let probe = format!("{url}{sep}hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge={challenge}");
        let response = self.shared.http.get(probe).send().await?;
        let status = response.status();
        let body = response.text().await?;
        anyhow::ensure!(status.is_success() && body == challenge, "the webhook did not echo the challenge ({status})");
        self.set_webhook(url);
        Ok(())
    }

    /// `X-Hub-Signature-256` for `body`, keyed with the app secret.
    pub fn sign(&self, body: &[u8]) -> String {
        hooks::sign(&self.shared.cfg.app_secret, body)
    }

    /// A user writes to the business number: opens their 24-hour window and posts the signed
    /// webhook in the background (with retries). Returns the message's wamid.
    pub fn user_sends(&self, from: &str, name: &str, msg: UserMessage) -> String {
        let (wamid, payload) = hooks::user_message(&self.shared, from, name, &msg);
        hooks::enqueue(&self.shared, "message", payload, Duration::ZERO, false);
        wamid
    }

    /// Like [`Self::user_sends`], but the same bytes are delivered twice (Meta redelivers).
    pub fn deliver_twice(&self, from: &str, name: &str, msg: UserMessage) -> String {
        let (wamid, payload) = hooks::user_message(&self.shared, from, name, &msg);
        hooks::enqueue(&self.shared, "message", payload, Duration::ZERO, true);
        wamid
    }

    /// Several user messages in one POST, split across two entries. Returns their wamids in order.
    pub fn deliver_batch(&self, messages: Vec<(String, String, UserMessage)>) -> Vec<String> {
        let (wamids, payload) = hooks::batch(&self.shared, &messages);
        hooks::enqueue(&self.shared, "batch", payload, Duration::ZERO, false);
        wamids
    }

    /// One POST of `body` to the webhook, now, without retries; `signature` is sent verbatim as
    /// `X-Hub-Signature-256` (`None`: no header). Returns the HTTP status.
    pub async fn deliver_raw(&self, body: Vec<u8>, signature: Option<String>) -> anyhow::Result<u16> {
        let url = self.shared.lock().webhook.clone().ok_or_else(|| anyhow::anyhow!("no webhook set"))?;
        hooks::post(&self.shared, &url, body, signature.as_deref()).await.ok_or_else(|| anyhow::anyhow!("no answer"))
    }

    /// A status webhook for a message the fake accepted (`sent`, `delivered`, `read`, `failed`).
    pub fn push_status(&self, wamid: &str, status: &str) -> anyhow::Result<()> {
        let sent = self.shared.lock().sent.iter().find(|s| s.wamid == wamid).cloned();
        let sent = sent.ok_or_else(|| anyhow::anyhow!("no message {wamid}"))?;
        let error = (status == "failed").then_some(hooks::UNDELIVERABLE);
        let payload = hooks::status(&self.shared, &sent, status, self.now(), error);
        hooks::enqueue(&self.shared, "status", payload, Duration::ZERO, false);
        Ok(())
    }

    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared.lock().deliveries.clone()
    }

    /// Waits until every queued webhook is delivered or given up.
    pub async fn flush(&self) {
        loop {
            let idle = self.shared.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.shared.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Sends refused with 130429 because the number's throughput was reached.
    pub fn throughput_refusals(&self) -> u64 {
        self.shared.lock().throughput_refusals
    }

    /// How many messages were accepted: what a poller reads without copying them under the lock
    /// every send waits on.
    pub fn sent_count(&self) -> usize {
        self.shared.lock().sent.len()
    }

    /// Every message accepted, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }

    /// The wamids marked as read.
    pub fn reads(&self) -> Vec<String> {
        self.shared.lock().reads.clone()
    }

    /// Stores media a user can send; returns its media id.
    pub fn add_media(&self, bytes: Vec<u8>, mime: &str) -> String {
        let id = format!("{}", 1_000_000_000_000_000u64 + rand::random::<u64>() % 8_999_999_999_999_999);
        let sha256 = hooks::hex(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref());
        let media = Media { bytes, mime: mime.to_owned(), sha256, created: self.now() };
        self.shared.lock().media.insert(id.clone(), media);
        id
    }

    /// Opens (or refreshes) a user's 24-hour window without a webhook, as if they had written.
    pub fn open_window(&self, wa_id: &str) {
        let now = self.now();
        self.shared.lock().last_inbound.insert(wa_id.trim_start_matches('+').to_owned(), now);
    }

    pub fn last_inbound(&self, wa_id: &str) -> Option<OffsetDateTime> {
        self.shared.lock().last_inbound.get(wa_id.trim_start_matches('+')).copied()
    }

    pub fn window_open(&self, wa_id: &str) -> bool {
        self.last_inbound(wa_id).is_some_and(|t| self.now() - t < time::Duration::hours(24))
    }

    /// Messages to this number are accepted, then fail with 131026.
    pub fn set_undeliverable(&self, wa_id: &str) {
        self.shared.lock().undeliverable.insert(wa_id.trim_start_matches('+').to_owned());
    }

    /// The next `n` Graph API calls answer `status` (5xx) with Meta's transient error, recording
    /// nothing.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.shared.lock().fail_next = (n, status);
    }

    /// Every accepted send is recorded at once but answered `by` later (`ZERO` turns it off).
    pub fn hold_responses(&self, by: Duration) {
        self.shared.lock().hold_all = by;
    }

    /// Like [`Self::hold_responses`] for the next `n` accepted sends only.
    pub fn hold_next(&self, n: usize, by: Duration) {
        self.shared.lock().hold_next = (n, by);
    }

    /// The next `n` media URLs handed out are already expired.
    pub fn expire_next_media_urls(&self, n: usize) {
        self.shared.lock().expire_next_urls = n;
    }

    /// Graph API requests received, whatever their answer.
    pub fn requests(&self) -> u64 {
        self.shared.lock().requests
    }
}
