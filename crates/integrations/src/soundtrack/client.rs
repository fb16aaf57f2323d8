//! Transport: one POST per GraphQL document, with auth, budget, retries and error mapping.

use super::bucket::{BucketModel, acquire};
use base64::Engine as _;
use bma_domain::clock::Clock;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::Mutex;

/// How we prove who we are.
#[derive(Clone)]
pub enum Auth {
    /// A ready API token: base64 of `client_id:client_secret`, sent as `Basic`.
    Token(String),
    /// A user account: `loginUser`, then `Bearer` tokens refreshed with `refreshLogin`.
    User { email: String, password: String },
}

impl Auth {
    /// The API-client token from SOUNDTRACK_CLIENT_ID and SOUNDTRACK_CLIENT_SECRET.
    pub fn client(id: &str, secret: &str) -> Self {
        Auth::Token(base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Auth::Token(***)"),
            Auth::User { .. } => f.write_str("Auth::User(***)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: String,
    pub auth: Auth,
    pub bucket_max: f64,
    pub refill_per_sec: f64,
    /// The specification's ceiling: 1,000 requests a minute.
    pub requests_per_minute: u32,
    pub timeout: Duration,
    pub max_retries: u32,
    pub backoff_base: Duration,
}

impl Settings {
    pub fn new(endpoint: impl Into<String>, auth: Auth) -> Self {
        Self {
            endpoint: endpoint.into(),
            auth,
            bucket_max: 3600.0,
            refill_per_sec: 50.0,
            requests_per_minute: 1000,
            timeout: Duration::from_secs(15),
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SoundtrackError {
    #[error("Soundtrack refused our credentials")]
    Unauthorized,
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// For control mutations this means the zone's player is offline (or the zone is unknown).
    #[error("not found (the player is offline or the zone is unknown): {0}")]
    NotFound(String),
    #[error("Soundtrack rejected the input: {0}")]
    BadInput(String),
    #[error("rate limited by Soundtrack")]
    RateLimited,
    #[error("Soundtrack is unavailable: {0}")]
    Unavailable(String),
    #[error("malformed answer from Soundtrack: {0}")]
    Malformed(String),
    #[error("GraphQL error: {0}")]
    Graphql(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct GqlError {
    pub message: String,
    #[serde(default)]
    pub path: Vec<Value>,
    #[serde(default)]
    pub extensions: Value,
}

impl GqlError {
    /// The alias or root field the error belongs to.
    pub fn root(&self) -> Option<&str> {
        self.path.first().and_then(Value::as_str)
    }

    pub fn to_error(&self) -> SoundtrackError {
        let code = self.extensions.get("code").and_then(Value::as_str).unwrap_or("");
        match code {
            "NOT_FOUND" => SoundtrackError::NotFound(self.message.clone()),
            "BAD_USER_INPUT" => SoundtrackError::BadInput(self.message.clone()),
            "RATE_LIMITED" => SoundtrackError::RateLimited,
            "UNAUTHENTICATED" => SoundtrackError::Unauthorized,
            _ if self.message.eq_ignore_ascii_case("forbidden") || code == "FORBIDDEN" => {
                SoundtrackError::Forbidden(self.message.clone())
            }
            _ => SoundtrackError::Graphql(self.message.clone()),
        }
    }
}

/// A GraphQL answer: partial data and the errors that came with it.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub data: Value,
    pub errors: Vec<GqlError>,
}

impl Answer {
    /// The data under a root alias, or the error reported for it.
    pub fn root(&self, alias: &str) -> Result<&Value, SoundtrackError> {
        if let Some(e) = self.errors.iter().find(|e| e.root() == Some(alias)) {
            let v = self.data.get(alias).unwrap_or(&Value::Null);
            if v.is_null() {
                return Err(e.to_error());
            }
        }
        match self.data.get(alias) {
            Some(v) if !v.is_null() => Ok(v),
            _ => Err(self
                .errors
                .first()
                .map_or_else(|| SoundtrackError::Malformed(format!("no data for {alias}")), GqlError::to_error)),
        }
    }
}

struct UserSession {
    token: String,
    refresh_token: String,
}

pub struct SoundtrackClient {
    http: reqwest::Client,
    settings: Settings,
    bucket: Mutex<BucketModel>,
    session: Mutex<Option<UserSession>>,
    clock: Clock,
    documents: std::sync::atomic::AtomicU64,
}

impl SoundtrackClient {
    pub fn new(settings: Settings, clock: Clock) -> Result<Self, SoundtrackError> {
        // The one TLS backend of the process; a no-op when `main` installed it already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent("bma-social/0.1")
            .build()
            .map_err(|e| SoundtrackError::Unavailable(e.to_string()))?;
        let bucket =
            BucketModel::new(settings.bucket_max, settings.refill_per_sec, settings.requests_per_minute, clock.now());
        Ok(Self {
            http,
            settings,
            bucket: Mutex::new(bucket),
            session: Mutex::new(None),
            clock,
            documents: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The budget's refill, tokens per second (what the monitor shares out).
    pub fn refill_per_sec(&self) -> f64 {
        self.settings.refill_per_sec
    }

    /// Documents sent so far, each counted once however often it was retried.
    pub fn documents_sent(&self) -> u64 {
        self.documents.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn authorization(&self) -> Result<String, SoundtrackError> {
        match &self.settings.auth {
            Auth::Token(t) => Ok(format!("Basic {t}")),
            Auth::User { .. } => {
                if let Some(s) = self.session.lock().await.as_ref() {
                    return Ok(format!("Bearer {}", s.token));
                }
                self.login().await?;
                self.session
                    .lock()
                    .await
                    .as_ref()
                    .map(|s| format!("Bearer {}", s.token))
                    .ok_or(SoundtrackError::Unauthorized)
            }
        }
    }

    async fn login(&self) -> Result<(), SoundtrackError> {
        let Auth::User { email, password } = &self.settings.auth else { return Ok(()) };
        let q = "mutation Login($email: String!, $password: String!) { loginUser(input: {email: $email, password: $password}) { token refreshToken expiresAt } }";
        let a = self.send_raw(q, json!({"email": email, "password": password}), 1.0, None).await?;
        let v = a.root("loginUser")?;
        self.store_session(v).await
    }

    async fn store_session(&self, v: &Value) -> Result<(), SoundtrackError> {
        let token = v.get("token").and_then(Value::as_str);
        let refresh = v.get("refreshToken").and_then(Value::as_str);
        match (token, refresh) {
            (Some(t), Some(r)) => {
                *self.session.lock().await = Some(UserSession { token: t.to_owned(), refresh_token: r.to_owned() });
                Ok(())
            }
            _ => Err(SoundtrackError::Malformed("login answer without tokens".into())),
        }
    }

    /// Refreshes the user session with the rotating refresh token (one refresh at a time, so a
    /// refresh token is never spent twice); falls back to a fresh login when it is refused.
    async fn refresh(&self) -> Result<(), SoundtrackError> {
        let current = self.session.lock().await.take();
        let Some(s) = current else { return self.login().await };
        let q = "mutation Refresh($r: String!) { refreshLogin(input: {refreshToken: $r}) { token refreshToken expiresAt } }";
        match self
            .send_raw(q, json!({"r": s.refresh_token}), 1.0, None)
            .await
            .and_then(|a| a.root("refreshLogin").cloned())
        {
            Ok(v) => self.store_session(&v).await,
            Err(_) => self.login().await,
        }
    }

    /// Sends one document, within budget, with retries; GraphQL errors come back inside the answer.
    pub async fn query(&self, query: &str, variables: Value, cost: f64) -> Result<Answer, SoundtrackError> {
        self.documents.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut reauthed = false;
        loop {
            let auth = self.authorization().await?;
            match self.send_raw(query, variables.clone(), cost, Some(&auth)).await {
                Err(SoundtrackError::Unauthorized) if matches!(self.settings.auth, Auth::User { .. }) && !reauthed => {
                    reauthed = true;
                    self.refresh().await?;
                }
                other => return other,
            }
        }
    }

    async fn send_raw(
        &self,
        query: &str,
        variables: Value,
        cost: f64,
        auth: Option<&str>,
    ) -> Result<Answer, SoundtrackError> {
        let body = json!({"query": query, "variables": variables});
        let mut attempt = 0_u32;
        loop {
            acquire(&self.bucket, &self.clock, cost).await;
            let mut req = self.http.post(&self.settings.endpoint).json(&body);
            if let Some(a) = auth {
                req = req.header(reqwest::header::AUTHORIZATION, a);
            }
            let started = std::time::Instant::now();
            let outcome = req.send().await;
            let retryable = match outcome {
                Ok(res) => {
                    let status = res.status();
                    let available = res
                        .headers()
                        .get("x-ratelimiting-tokens-available")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<f64>().ok());
                    self.bucket.lock().await.observe(available, self.clock.now());
                    if status == reqwest::StatusCode::UNAUTHORIZED {
                        return Err(SoundtrackError::Unauthorized);
                    }
                    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                        tracing::warn!(cost, ?available, "Soundtrack answered 429; waiting for the bucket to refill");
                        SoundtrackError::RateLimited
                    } else if status.is_server_error() {
                        SoundtrackError::Unavailable(format!("HTTP {status}"))
                    } else if !status.is_success() {
                        let text = res.text().await.unwrap_or_default();
                        return Err(SoundtrackError::Graphql(format!(
                            "HTTP {status}: {}",
                            text.chars().take(300).collect::<String>()
                        )));
                    } else {
                        let text = res.text().await.map_err(|e| SoundtrackError::Unavailable(e.to_string()))?;
                        metrics::histogram!("soundtrack_request_seconds").record(started.elapsed().as_secs_f64());
                        return parse_answer(&text);
                    }
                }
                Err(e) if e.is_timeout() => SoundtrackError::Unavailable("timed out".into()),
                Err(e) => SoundtrackError::Unavailable(e.to_string()),
            };
            metrics::counter!("soundtrack_request_failures_total").increment(1);
            attempt += 1;
            if attempt > self.settings.max_retries {
                return Err(retryable);
            }
            let wait = self.settings.backoff_base.saturating_mul(2_u32.saturating_pow(attempt - 1));
            tracing::warn!(error = %retryable, attempt, ?wait, "Soundtrack request failed; retrying");
            if self.clock.is_virtual() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            } else {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

fn parse_answer(text: &str) -> Result<Answer, SoundtrackError> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        data: Value,
        #[serde(default)]
        errors: Vec<GqlError>,
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| SoundtrackError::Malformed(e.to_string()))?;
    if raw.data.is_null() && raw.errors.is_empty() {
        return Err(SoundtrackError::Malformed("neither data nor errors".into()));
    }
    Ok(Answer { data: raw.data, errors: raw.errors })
}
