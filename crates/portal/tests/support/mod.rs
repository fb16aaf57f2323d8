//! What the portal's test binaries share: the whole service with the portal mounted (the API
//! tests' `TestApp`, reused as is) and a small cookie-keeping client that behaves like a browser.

#[allow(dead_code, unused_imports)]
#[path = "../../../web/tests/api/helpers.rs"]
pub mod helpers;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
pub use helpers::{Options, PASSWORD, TestApp};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The service with the portal at `/`.
pub async fn portal() -> TestApp {
    portal_with(Options::default()).await
}

pub async fn portal_with(opts: Options) -> TestApp {
    TestApp::with(Options { routes: Some(bma_portal::router), ..opts }).await
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.text.find(marker).map(|i| i + marker.len()).expect("the page has a CSRF field");
        self.text[start..].split('"').next().expect("a token").to_owned()
    }

    /// The value of the first hidden input called `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self.text.find(&marker)? + marker.len();
        self.text[start..].split('"').next().map(str::to_owned)
    }
}

fn encode(form: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// A browser's cookie jar against the in-process router.
pub struct Visitor<'a> {
    app: &'a TestApp,
    jar: Mutex<BTreeMap<String, String>>,
    pub accept_language: Option<&'static str>,
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, jar: Mutex::new(BTreeMap::new()), accept_language: None }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().expect("jar").get(name).cloned()
    }

    fn keep(&self, headers: &HeaderMap) {
        let mut jar = self.jar.lock().expect("jar");
        for v in headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let Some((name, rest)) = v.split_once('=') else { continue };
            let value = rest.split(';').next().unwrap_or("");
            if value.is_empty() || v.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<String>, extra: &[(&str, &str)]) -> Page {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, "portal.bma-social.com");
        let cookies: Vec<String> = self.jar.lock().expect("jar").iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !cookies.is_empty() {
            b = b.header(header::COOKIE, cookies.join("; "));
        }
        if let Some(l) = self.accept_language {
            b = b.header(header::ACCEPT_LANGUAGE, l);
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some(body) => b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body)),
            None => b.body(Body::empty()),
        };
        let r = self.app.send(req.expect("a valid request")).await;
        self.keep(&r.headers);
        Page { status: r.status, headers: r.headers, text: r.text }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.request(Method::GET, path, None, &[]).await
    }

    /// Posts a form from one of our own pages.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.request(Method::POST, path, Some(encode(form)), &[("sec-fetch-site", "same-origin")]).await
    }

    /// Signs in with `PASSWORD` and, when asked for it, the current code of `totp_secret`.
    pub async fn sign_in(&self, email: &str, totp_secret: Option<&[u8]>) -> Page {
        let first = self.post("/sign-in", &[("email", email), ("password", PASSWORD)]).await;
        let Some(pending) = first.field("pending") else { return first };
        let secret = totp_secret.expect("this member has two-factor sign-in");
        // The enrolment used the current step; the next one is accepted and not yet spent.
        let code = bma_app::security::totp::code_at(secret, helpers::now() + 30);
        self.post("/sign-in", &[("pending", &pending), ("code", &code)]).await
    }
}

/// An admin with two-factor sign-in enrolled (through the API); returns the email and secret.
pub async fn admin_with_mfa(app: &TestApp) -> (String, Vec<u8>) {
    let email = app.member(bma_domain::access::Role::Admin).await;
    let r = app.login(&email, None).await;
    let setup = r.body["access_token"].as_str().expect("a setup token").to_owned();
    let (_, secret) = app.enrol_mfa(&setup).await;
    (email, secret)
}

/// An open zone-silent alert on a new venue "Lotus Sukhumvit" with a lobby zone; returns its id.
pub async fn zone_alert(app: &TestApp) -> uuid::Uuid {
    let token = app.token(bma_domain::access::Role::Manager).await;
    let (_, zone) = helpers::venue_with_lobby(app, &token, helpers::venue_body("Lotus Sukhumvit")).await;
    let at = time::OffsetDateTime::now_utc();
    let (kind, severity) = (bma_domain::monitoring::AlertKind::Silent, bma_domain::monitoring::Severity::Warning);
    bma_store::monitoring::open_alert(&app.ctx.db, Some(zone), None, kind, severity, "Lobby is silent", at, at)
        .await
        .expect("insert")
        .expect("an alert")
}

/// The phone number the venue writes from in the inbox tests.
pub const VENUE_PHONE: &str = "66812345678";

/// The service with the portal, wired both ways to a WhatsApp fake, and a worker that sends.
pub struct Inbox {
    pub app: TestApp,
    pub wa: bma_fakes::whatsapp::WhatsappFake,
    pub worker: bma_app::jobs::Worker,
}

impl Inbox {
    pub async fn start() -> Inbox {
        use bma_fakes::whatsapp::{WhatsappFake, WhatsappFakeConfig};
        let wa = WhatsappFake::start(WhatsappFakeConfig::default()).await.expect("the WhatsApp fake");
        let c = wa.config().clone();
        let env = vec![
            ("WHATSAPP_APP_SECRET", c.app_secret.clone()),
            ("WHATSAPP_VERIFY_TOKEN", "verify".to_owned()),
            ("WHATSAPP_ACCESS_TOKEN", c.access_token.clone()),
            ("WHATSAPP_PHONE_NUMBER_ID", c.phone_number_id.clone()),
            ("WHATSAPP_BUSINESS_ACCOUNT_ID", c.business_account_id.clone()),
            ("WHATSAPP_API_URL", wa.base_url()),
            ("BOT_ENABLED", "false".to_owned()),
        ];
        let app = portal_with(Options { env, ..Options::default() }).await;
        let base = app.serve().await;
        wa.set_webhook(&format!("{base}/api/v1/webhooks/whatsapp"));
        let worker = bma_app::jobs::Worker::new(app.ctx.clone(), bma_app::jobs::Registry::standard())
            .with_backoff_base(std::time::Duration::ZERO);
        Inbox { app, wa, worker }
    }

    /// The venue writes `text`; returns the conversation's id.
    pub async fn venue_writes(&self, text: &str) -> uuid::Uuid {
        self.wa.user_sends(VENUE_PHONE, "Khun Somchai", bma_fakes::whatsapp::UserMessage::text(text));
        self.wa.flush().await;
        sqlx::query_scalar("SELECT id FROM conversations ORDER BY created_at DESC LIMIT 1")
            .fetch_one(&self.app.ctx.db)
            .await
            .expect("a conversation")
    }

    /// Runs the queued jobs (sending replies).
    pub async fn drain(&self) {
        for _ in 0..10 {
            if self.worker.run_once().await.expect("worker run").is_empty() {
                return;
            }
        }
    }

    /// Moves the conversation's last venue message 25 hours back, closing the WhatsApp window.
    pub async fn close_window(&self) {
        sqlx::query("UPDATE conversations SET last_inbound_at = now() - interval '25 hours'")
            .execute(&self.app.ctx.db)
            .await
            .expect("moved back");
        self.wa.advance(std::time::Duration::from_secs(25 * 3600));
    }
}
