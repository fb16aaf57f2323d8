//! `TestApp`: the whole service wired as in production, on a database of its own.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bma_app::AppContext;
use bma_app::config::{Config, Strictness};
use bma_domain::access::Role;
use bma_domain::member::{Email, Password, PersonName};
use bma_fakes::smtp::SmtpSink;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub router: Router,
    pub ctx: AppContext,
    pub smtp: SmtpSink,
    pub db_url: String,
    pub openapi: utoipa::openapi::OpenApi,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

#[derive(Default)]
pub struct Options {
    pub env: Vec<(&'static str, String)>,
    pub redis_prefix: Option<String>,
    /// Reuse this database instead of making a fresh one (two instances of the service).
    pub db_url: Option<String>,
    /// Talk to this Soundtrack (the fake) for checks and control.
    pub soundtrack: Option<bma_integrations::soundtrack::Settings>,
    /// The clock the Soundtrack client runs on (a virtual one shared with the fake).
    pub clock: Option<bma_domain::clock::Clock>,
    /// More routes behind the API's outer layers (the portal's tests add the portal).
    pub routes: Option<fn(&bma_web::AppState) -> Router<bma_web::AppState>>,
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL")
        .or_else(|_| std::env::var("REDIS_URL"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(opts: Options) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (db, db_url) = match &opts.db_url {
            Some(url) => (bma_store::connect(url, 10).await.expect("connect to the shared test database"), url.clone()),
            None => bma_store::testing::fresh_database().await.expect("a fresh test database"),
        };
        let smtp = SmtpSink::start(0, None).await.expect("smtp sink");
        let smtp_port = smtp.port.to_string();
        let mut env: HashMap<&str, &str> = HashMap::from([
            ("JWT_SECRET_KEY", "test-secret-test-secret-test-secret-0123"),
            ("DATA_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
            ("BCRYPT_COST", "4"),
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &smtp_port),
            ("CORS_ORIGINS", r#"["https://portal.bma-social.com"]"#),
            ("PUBLIC_URL", "https://portal.bma-social.com"),
        ]);
        for (k, v) in &opts.env {
            env.insert(k, v);
        }
        let config = Config::from_source(&env, Strictness::Production).expect("test config");
        let kv = match &opts.redis_prefix {
            Some(prefix) => bma_kv::Kv::redis(&redis_url(), prefix).await.expect("redis for tests"),
            None => bma_kv::Kv::memory(),
        };
        let mailer = Arc::new(
            bma_integrations::email::SmtpMailer::new(&bma_integrations::email::SmtpSettings {
                host: "127.0.0.1".into(),
                port: smtp.port,
                user: None,
                password: None,
                from: "BMA Social <no-reply@bma-social.test>".into(),
                security: bma_integrations::email::SmtpSecurity::None,
            })
            .expect("mailer"),
        );
        let mut ctx =
            AppContext::new(db, kv, mailer, config).with_read_replica().await.expect("the read pool connects");
        if let Some(clock) = &opts.clock {
            ctx = ctx.with_clock(clock.clone());
        }
        if let Some(settings) = opts.soundtrack.clone() {
            let client = bma_integrations::soundtrack::SoundtrackClient::new(
                settings,
                opts.clock.clone().unwrap_or(bma_domain::clock::Clock::Real),
            )
            .expect("soundtrack client");
            ctx = ctx.with_soundtrack(Arc::new(client));
        }
        let state =
            bma_web::AppState { trust_proxy: false, metrics_token: None, ..bma_web::AppState::new(ctx.clone()) };
        let (router, openapi) = match opts.routes {
            Some(extra) => {
                let routes = extra(&state);
                bma_web::build_with_extra(state, routes)
            }
            None => bma_web::build_with_openapi(state),
        };
        Self { router, ctx, smtp, db_url, openapi }
    }

    pub async fn send(&self, req: Request<Body>) -> Response {
        let mut req = req;
        req.extensions_mut().insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40_000))));
        let res = self.router.clone().oneshot(req).await.expect("the router answers");
        let status = res.status();
        let headers = res.headers().clone();
        // A live feed never ends; its status and headers are the answer.
        if headers.get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream")) {
            return Response { status, headers, body: Value::Null, text: String::new() };
        }
        let bytes = res.into_body().collect().await.map(|b| b.to_bytes()).expect("the body reads");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response { status, headers, body, text }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.expect("a valid request")).await
    }

    /// POSTs raw bytes with the given headers, as a provider's webhook would.
    pub async fn post_raw(&self, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> Response {
        let mut b = Request::builder().method(Method::POST).uri(path).header("content-type", "application/json");
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        self.send(b.body(Body::from(body)).expect("a valid request")).await
    }

    /// Serves the router on a loopback port (for fakes that call our webhooks over HTTP).
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = self.router.clone().into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Creates an active member with `PASSWORD`.
    pub async fn member(&self, role: Role) -> String {
        let email = format!("{}-{}@bma.test", role.as_str(), uuid::Uuid::new_v4().simple());
        bma_app::services::team::create_with_password(
            &self.ctx,
            &Email::parse(&email).expect("email"),
            &PersonName::parse("Test Member").expect("name"),
            role,
            &Password::parse(PASSWORD).expect("password"),
        )
        .await
        .expect("member created");
        email
    }

    pub async fn login(&self, email: &str, totp: Option<&str>) -> Response {
        self.post("/api/v1/auth/login", None, json!({"email": email, "password": PASSWORD, "totp_code": totp})).await
    }

    /// An access token of a member with this role (admins with MFA enrolled and confirmed).
    pub async fn token(&self, role: Role) -> String {
        let email = self.member(role).await;
        let r = self.login(&email, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let token = r.body["access_token"].as_str().expect("access token").to_owned();
        if role != Role::Admin {
            return token;
        }
        let (full, _) = self.enrol_mfa(&token).await;
        full
    }

    /// Enrols and confirms TOTP with a setup token; returns the full access token and the secret.
    pub async fn enrol_mfa(&self, setup_token: &str) -> (String, Vec<u8>) {
        let r = self.post("/api/v1/auth/mfa/enroll", Some(setup_token), json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let secret = base32_decode(r.body["secret"].as_str().expect("secret"));
        let code = bma_app::security::totp::code_at(&secret, now());
        let r = self.post("/api/v1/auth/mfa/confirm", Some(setup_token), json!({"code": code})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        (r.body["access_token"].as_str().expect("token").to_owned(), secret)
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.ctx.db).await.expect("count query")
    }
}

pub fn now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).expect("after 1970")
}

pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0_u32, 0_u32, Vec::new());
    for c in s.chars() {
        let v = u32::try_from(ALPHABET.find(c).expect("base32 character")).expect("under 32");
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).expect("one byte"));
        }
    }
    out
}

pub fn venue_body(name: &str) -> Value {
    json!({
        "name": name,
        "brand": "Lotus Grand",
        "country": "TH",
        "timezone": "Asia/Bangkok",
        "soundtrack_account_id": "QWNjb3VudCwsMXRlc3Q",
        "opening_hours": [{"weekday": 0, "opens": "08:00", "closes": "23:00"}, {"weekday": 5, "opens": "18:00", "closes": "02:00"}]
    })
}

/// The service wired to a Soundtrack fake on a virtual clock that starts at noon in Bangkok on the
/// test's day (so venues with ordinary hours are open): the fake refills `refill` tokens a second
/// while the client's setting believes `believed`; discovery has linked every zone.
pub async fn with_soundtrack(
    accounts: usize,
    zones: usize,
    refill: f64,
    believed: f64,
) -> (TestApp, bma_fakes::soundtrack::SoundtrackFake, bma_domain::clock::Clock) {
    with_soundtrack_and(accounts, zones, refill, believed, Options::default()).await
}

/// [`with_soundtrack`] with more options (the Soundtrack and clock ones are set here).
pub async fn with_soundtrack_and(
    accounts: usize,
    zones: usize,
    refill: f64,
    believed: f64,
    opts: Options,
) -> (TestApp, bma_fakes::soundtrack::SoundtrackFake, bma_domain::clock::Clock) {
    use bma_fakes::soundtrack::{FleetConfig, SoundtrackFake};
    use bma_integrations::soundtrack::{Auth, Settings};
    let clock = bma_domain::clock::Clock::virtual_at(bma_domain::clock::test_day_at(0, 5, 0));
    let fake = SoundtrackFake::start(FleetConfig {
        accounts,
        zones,
        refill_per_sec: refill,
        clock: clock.clone(),
        ..FleetConfig::default()
    })
    .await
    .expect("the Soundtrack fake starts");
    let mut settings = Settings::new(fake.url(), Auth::client(fake.client_id(), fake.client_secret()));
    settings.backoff_base = std::time::Duration::from_millis(5);
    settings.refill_per_sec = believed;
    let app = TestApp::with(Options { soundtrack: Some(settings), clock: Some(clock.clone()), ..opts }).await;
    let client = app.ctx.soundtrack.clone().expect("a Soundtrack client");
    let found = bma_app::monitoring::discovery::sync(&app.ctx, &client, "Asia/Bangkok").await.expect("discovery");
    assert_eq!(found.zones_created, zones);
    (app, fake, clock)
}

/// The venue `body` describes, with one lobby zone, made through the API; returns both ids.
pub async fn venue_with_lobby(app: &TestApp, token: &str, body: Value) -> (uuid::Uuid, uuid::Uuid) {
    let venue = app.post("/api/v1/venues", Some(token), body).await;
    let venue = venue.body["id"].as_str().expect("the venue is created").to_owned();
    let zone = app
        .post(&format!("/api/v1/venues/{venue}/zones"), Some(token), json!({"name": "Lobby", "zone_type": "lobby"}))
        .await;
    let zone = zone.body["id"].as_str().expect("the zone is created");
    (uuid::Uuid::parse_str(&venue).expect("a venue id"), uuid::Uuid::parse_str(zone).expect("a zone id"))
}

/// `base` with the settings of a service that talks to these WhatsApp and LINE fakes both ways
/// (their secrets replace any in `base`).
pub fn fake_channels_env_over(
    mut env: Vec<(&'static str, String)>,
    wa: &bma_fakes::whatsapp::WhatsappFake,
    line: &bma_fakes::line::LineFake,
) -> Vec<(&'static str, String)> {
    let c = wa.config().clone();
    env.retain(|(k, _)| !matches!(*k, "WHATSAPP_APP_SECRET" | "LINE_CHANNEL_SECRET"));
    env.extend([
        ("WHATSAPP_APP_SECRET", c.app_secret.clone()),
        ("WHATSAPP_ACCESS_TOKEN", c.access_token.clone()),
        ("WHATSAPP_PHONE_NUMBER_ID", c.phone_number_id.clone()),
        ("WHATSAPP_BUSINESS_ACCOUNT_ID", c.business_account_id.clone()),
        ("WHATSAPP_API_URL", wa.base_url()),
        ("LINE_CHANNEL_SECRET", line.channel_secret().to_owned()),
        ("LINE_CHANNEL_ACCESS_TOKEN", line.channel_access_token().to_owned()),
        ("LINE_API_URL", line.url()),
        ("LINE_DATA_URL", line.url()),
    ]);
    env
}
