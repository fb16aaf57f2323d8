//! A faithful fake of the Anthropic Messages API (`POST /v1/messages`), served on loopback so the
//! bot, its tests and the benchmark run without a key or a network. It checks what the real API
//! checks (`x-api-key`, `anthropic-version`, the body's required fields, roles, tool definitions,
//! and that every `tool_use` is answered by a `tool_result` in the next turn), answers in the real
//! envelopes with `request-id` and `anthropic-ratelimit-requests-*` headers, and replies from a
//! script or, when the script is empty, from a small deterministic venue-support policy
//! ([`policy`]). Faults (429 with `retry-after`, 529, 500, …) are injected with
//! [`ClaudeFake::fail_next`] or scripted.

mod policy;
mod server;

use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ClaudeFakeConfig {
    /// The one key accepted in `x-api-key`.
    pub api_key: String,
    /// Added to every answer, in real time.
    pub latency: Duration,
    /// Requests a minute before 429 `rate_limit_error`; `None` never limits (the headers then
    /// report 4000, a tier-4 organisation).
    pub requests_per_minute: Option<u32>,
    /// The `retry-after` sent with the 429s of [`ClaudeFake::fail_next`], in whole seconds.
    pub retry_after_secs: u64,
}

impl Default for ClaudeFakeConfig {
    fn default() -> Self {
        Self {
            api_key: "sk-ant-api03-fake-key-for-tests".into(),
            latency: Duration::ZERO,
            requests_per_minute: None,
            retry_after_secs: 1,
        }
    }
}

/// One scripted answer, consumed in order by valid requests.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptedReply {
    /// A text answer ending the turn.
    Text(String),
    /// A `tool_use` block (`stop_reason: tool_use`) with a fresh `toolu_…` id.
    ToolUse { name: String, input: Value },
    /// An error answer in the API's envelope; `retry_after` becomes the `retry-after` header.
    Error { status: u16, error_type: String, message: String, retry_after: Option<Duration> },
}

pub(crate) struct Shared {
    api_key: String,
    retry_after_secs: u64,
    requests_per_minute: Option<u32>,
    state: Mutex<State>,
}

#[derive(Default)]
pub(crate) struct State {
    latency: Duration,
    script: VecDeque<ScriptedReply>,
    failures: VecDeque<u16>,
    requests: Vec<Value>,
    window: VecDeque<Instant>,
    answered: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
pub struct ClaudeFake {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl std::fmt::Debug for ClaudeFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaudeFake").field("addr", &self.addr).finish()
    }
}

impl ClaudeFake {
    /// Serves on 127.0.0.1 (a free port).
    pub async fn start(cfg: ClaudeFakeConfig) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            api_key: cfg.api_key,
            retry_after_secs: cfg.retry_after_secs,
            requests_per_minute: cfg.requests_per_minute,
            state: Mutex::new(State { latency: cfg.latency, ..State::default() }),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "claude fake stopped serving");
            }
        });
        tracing::debug!(%addr, "claude fake listening");
        Ok(Self { shared, addr })
    }

    /// `http://127.0.0.1:PORT`, the `base_url` of a client (`/v1/messages` is under it).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Queues answers after any already queued.
    pub fn script(&self, replies: Vec<ScriptedReply>) {
        self.shared.lock().script.extend(replies);
    }

    /// Scripted answers not yet used.
    pub fn scripted_left(&self) -> usize {
        self.shared.lock().script.len()
    }

    /// The next `n` valid requests fail with `status`: 429 `rate_limit_error` with `retry-after`,
    /// 529 `overloaded_error`, 500 `api_error`, or the error type the API uses for that status.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.shared.lock().failures.extend(std::iter::repeat_n(status, n));
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Every `POST /v1/messages` body received (parsed JSON; `null` when it was not JSON), in order.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.lock().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// Requests answered with a message (not an error).
    pub fn messages_answered(&self) -> u64 {
        self.shared.lock().answered
    }
}
