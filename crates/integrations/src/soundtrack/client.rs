//! Transport: one POST per GraphQL document, with auth, budget, retries and error mapping.

use super::bucket::{BucketModel, Headers, acquire};
use base64::Engine as _;
use bma_domain::clock::Clock;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Mutex;

/// A user session is refreshed this long before its token expires (Soundtrack's own scheduler
/// app allows 60 s, Home Assistant's integration 120 s).
const REFRESH_AHEAD: time::Duration = time::Duration::minutes(2);

/// How we prove who we are.
#[derive(Clone)]
pub enum Auth {
    /// A ready API token: base64 of `client_id:client_secret`, sent as `Basic`.
    Token(String),
    /// A user account (email and password): `loginUser`, then `Bearer` tokens, refreshed with
    /// `refreshLogin` before they expire.
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
    /// `loginUser` (or a fresh login after a refused refresh) was turned down.
    #[error("Soundtrack refused the sign-in: {0}")]
    LoginRefused(String),
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

/// One entry of a GraphQL answer's `errors`. Servers leave out `path` and `locations` or send
/// them as `null` when an error belongs to no field (a document-level failure).
#[derive(Debug, Clone, Deserialize)]
pub struct GqlError {
    pub message: String,
    /// Where in `data` the error lies; empty when the server named no place.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub path: Vec<Value>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub locations: Vec<SourceLocation>,
    #[serde(default)]
    pub extensions: Value,
}

/// Where in the document an error arose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SourceLocation {
    pub line: u32,
    pub column: u32,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl GqlError {
    /// The alias or root field the error belongs to.
    pub fn root(&self) -> Option<&str> {
        self.path.first().and_then(Value::as_str)
    }

    /// Whether the error may concern the data under `alias`: it lies under it, or it names no
    /// place at all (so it may lie anywhere).
    pub fn concerns(&self, alias: &str) -> bool {
        match self.path.first() {
            None => true,
            Some(Value::String(root)) => root == alias,
            Some(_) => true,
        }
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
    /// The data under a root alias, or the error reported for it. An error anywhere under the
    /// root fails the whole root: its data is partial, and a `null` inside it (say
    /// `account.soundZones`) is a failure, never an empty answer.
    pub fn root(&self, alias: &str) -> Result<&Value, SoundtrackError> {
        if let Some(e) = self.errors.iter().find(|e| e.concerns(alias)) {
            return Err(e.to_error());
        }
        match self.data.get(alias) {
            Some(v) if !v.is_null() => Ok(v),
            _ => Err(SoundtrackError::Malformed(format!("no data for {alias}"))),
        }
    }
}

struct UserSession {
    token: String,
    refresh_token: String,
    /// When the token expires; `None` when Soundtrack did not say (then only a 401 refreshes).
    expires_at: Option<OffsetDateTime>,
}

impl UserSession {
    fn from_answer(v: &Value) -> Result<Self, SoundtrackError> {
        let token = v.get("token").and_then(Value::as_str);
        let refresh = v.get("refreshToken").and_then(Value::as_str);
        let (Some(token), Some(refresh)) = (token, refresh) else {
            return Err(SoundtrackError::Malformed("sign-in answer without tokens".into()));
        };
        let expires_at =
            v.get("expiresAt").and_then(Value::as_str).and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        if expires_at.is_none() {
            tracing::warn!("Soundtrack's sign-in answer has no readable expiresAt; refreshing only when refused");
        }
        Ok(Self { token: token.to_owned(), refresh_token: refresh.to_owned(), expires_at })
    }

    fn fresh_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_none_or(|t| now < t - REFRESH_AHEAD)
    }
}

pub struct SoundtrackClient {
    http: reqwest::Client,
    settings: Settings,
    bucket: Mutex<BucketModel>,
    /// The refill rate the bucket model has learned, as `f64` bits (read without the lock).
    refill: AtomicU64,
    /// Held across a login or refresh, so that one runs at a time.
    session: Mutex<Option<UserSession>>,
    clock: Clock,
    documents: AtomicU64,
    rate_limited: AtomicU64,
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
            refill: AtomicU64::new(settings.refill_per_sec.to_bits()),
            settings,
            bucket: Mutex::new(bucket),
            session: Mutex::new(None),
            clock,
            documents: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        })
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The budget's refill, tokens per second (what the monitor shares out): the configured
    /// first guess until the `x-ratelimiting-*` headers have shown the real one.
    pub fn refill_per_sec(&self) -> f64 {
        f64::from_bits(self.refill.load(Ordering::Relaxed))
    }

    /// Documents sent so far, each counted once however often it was retried.
    pub fn documents_sent(&self) -> u64 {
        self.documents.load(Ordering::Relaxed)
    }

    /// Answers refused with 429 so far.
    pub fn rate_limited_answers(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    async fn authorization(&self) -> Result<String, SoundtrackError> {
        match &self.settings.auth {
            Auth::Token(t) => Ok(format!("Basic {t}")),
            Auth::User { .. } => {
                // The lock is held across a login or refresh: the refresh token rotates, so two
                // refreshes at once would spend it twice.
                let mut session = self.session.lock().await;
                let now = self.clock.now();
                let current = match session.take() {
                    Some(s) if s.fresh_at(now) => s,
                    Some(s) => self.refresh(s).await?,
                    None => self.login().await?,
                };
                let header = format!("Bearer {}", current.token);
                *session = Some(current);
                Ok(header)
            }
        }
    }

    async fn login(&self) -> Result<UserSession, SoundtrackError> {
        let Auth::User { email, password } = &self.settings.auth else {
            return Err(SoundtrackError::LoginRefused("no user credential configured".into()));
        };
        let q = "mutation Login($email: String!, $password: String!) { loginUser(input: {email: $email, password: $password}) { token refreshToken expiresAt } }";
        let a = self.send_raw(q, json!({"email": email, "password": password}), 1.0, None).await?;
        match a.root("loginUser") {
            Ok(v) => UserSession::from_answer(v),
            Err(SoundtrackError::Unauthorized | SoundtrackError::Forbidden(_) | SoundtrackError::Graphql(_)) => {
                let why = a.errors.first().map_or("no reason given", |e| e.message.as_str());
                Err(SoundtrackError::LoginRefused(format!("{email}: {why}")))
            }
            Err(e) => Err(e),
        }
    }

    /// Trades the refresh token for a new session (the refresh token rotates); logs in afresh
    /// when the refresh is refused.
    async fn refresh(&self, s: UserSession) -> Result<UserSession, SoundtrackError> {
        let q = "mutation Refresh($r: String!) { refreshLogin(input: {refreshToken: $r}) { token refreshToken expiresAt } }";
        match self
            .send_raw(q, json!({"r": s.refresh_token}), 1.0, None)
            .await
            .and_then(|a| a.root("refreshLogin").and_then(UserSession::from_answer))
        {
            Ok(fresh) => Ok(fresh),
            Err(e) => {
                tracing::info!(error = %e, "Soundtrack refused the session refresh; logging in again");
                self.login().await
            }
        }
    }

    /// After a 401 on `header`, the session behind it is treated as expired (unless another
    /// request has replaced it meanwhile).
    async fn expire(&self, header: &str) {
        if let Some(s) = self.session.lock().await.as_mut()
            && header.strip_prefix("Bearer ") == Some(s.token.as_str())
        {
            s.expires_at = Some(OffsetDateTime::UNIX_EPOCH);
        }
    }

    /// Sends one document, within budget, with retries; GraphQL errors come back inside the answer.
    pub async fn query(&self, query: &str, variables: Value, cost: f64) -> Result<Answer, SoundtrackError> {
        self.documents.fetch_add(1, Ordering::Relaxed);
        let mut reauthed = false;
        loop {
            let auth = self.authorization().await?;
            match self.send_raw(query, variables.clone(), cost, Some(&auth)).await {
                Err(SoundtrackError::Unauthorized) if matches!(self.settings.auth, Auth::User { .. }) && !reauthed => {
                    reauthed = true;
                    self.expire(&auth).await;
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
                    let refused = status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                    let header = |name: &str| {
                        res.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok())
                    };
                    let available = header("x-ratelimiting-tokens-available");
                    let headers = available.map(|available| Headers {
                        available,
                        cost: header("x-ratelimiting-cost").unwrap_or(cost),
                        refused,
                    });
                    // Sign-in requests carry no credential, so their headers may speak of
                    // another bucket than ours.
                    if auth.is_some() {
                        let mut model = self.bucket.lock().await;
                        model.observe(headers, self.clock.now());
                        self.refill.store(model.refill_per_sec.to_bits(), Ordering::Relaxed);
                    }
                    if status == reqwest::StatusCode::UNAUTHORIZED {
                        return Err(SoundtrackError::Unauthorized);
                    }
                    if refused {
                        self.rate_limited.fetch_add(1, Ordering::Relaxed);
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

pub(super) fn parse_answer(text: &str) -> Result<Answer, SoundtrackError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> Answer {
        parse_answer(text).expect("a GraphQL answer")
    }

    #[test]
    fn an_error_with_a_null_path_or_no_locations_parses() {
        let a = answer(r#"{"data": null, "errors": [{"message": "Boom", "path": null, "locations": null}]}"#);
        assert!(a.errors[0].path.is_empty() && a.errors[0].locations.is_empty());
        let a = answer(
            r#"{"errors": [{"message": "Not found", "path": ["soundZone"], "extensions": {"code": "NOT_FOUND"}}]}"#,
        );
        assert_eq!(a.errors[0].root(), Some("soundZone"));
        assert!(a.errors[0].locations.is_empty());
        assert!(matches!(a.root("soundZone"), Err(SoundtrackError::NotFound(_))));
        let a = answer(
            r#"{"data": {"me": null}, "errors": [{"message": "Forbidden", "path": ["me"], "locations": [{"line": 1, "column": 3}]}]}"#,
        );
        assert_eq!(a.errors[0].locations, vec![SourceLocation { line: 1, column: 3 }]);
    }

    #[test]
    fn an_error_under_a_root_fails_that_root_and_leaves_the_others_answered() {
        let a = answer(
            r#"{"data": {"a0": {"soundZones": null}, "a1": {"soundZones": {"edges": []}}},
                "errors": [{"message": "Internal server error", "path": ["a0", "soundZones"],
                            "locations": [{"line": 1, "column": 40}], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}"#,
        );
        assert_eq!(a.root("a0"), Err(SoundtrackError::Graphql("Internal server error".into())));
        assert!(a.root("a1").is_ok());
    }

    #[test]
    fn an_error_that_names_no_place_fails_every_root() {
        let a =
            answer(r#"{"data": {"account": {"soundZones": null}}, "errors": [{"message": "Timeout", "path": null}]}"#);
        assert!(a.root("account").is_err());
    }

    #[test]
    fn a_null_root_without_an_error_is_malformed_not_empty() {
        let a = answer(r#"{"data": {"account": null}}"#);
        assert!(matches!(a.root("account"), Err(SoundtrackError::Malformed(_))));
    }
}
