//! One headless Chromium per journey, behind a chromedriver this test starts on a free port.
//! Journeys run one at a time (two cores; a browser each is plenty).

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
const AXE: &str = include_str!("../vendor/axe.min.js");
pub const DESK: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

pub struct Browser {
    pub client: Client,
    pub base: String,
    journey: &'static str,
    _driver: Child,
    _turn: MutexGuard<'static, ()>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.bma/screenshots")
}

impl Browser {
    /// A fresh browser (no cookies) for the portal at `base`.
    pub async fn open(base: &str, journey: &'static str) -> Browser {
        let turn = ONE_AT_A_TIME.lock().await;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts (scripts/services.sh ensure_chromium installs it)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--lang=en-GB"]}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::rustls().expect("a TLS client").capabilities(caps.clone()).connect(&url).await {
                Ok(client) => {
                    return Browser { client, base: base.to_owned(), journey, _driver: driver, _turn: turn };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer: {last:?}");
    }

    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("the page opens");
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} on {}: {e}", self.journey))
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
    }

    pub async fn fill(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.expect("typed");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("clicked");
    }

    /// The element's text; a live swap may replace the element between finding and reading it,
    /// so a stale one is looked up again.
    pub async fn text(&self, css: &str) -> String {
        let mut tries = 0;
        loop {
            match self.find(css).await.text().await {
                Ok(t) => return t,
                Err(_) if tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("{css}: {e}"),
            }
        }
    }

    /// The text of the element `id`, read in one step: safe while a live fragment is swapped in
    /// under the driver (where `text` can meet a stale element).
    pub async fn live_text(&self, id: &str) -> String {
        let js = "const e = document.getElementById(arguments[0]); return e ? e.textContent : '';";
        self.client.execute(js, vec![json!(id)]).await.expect("read").as_str().unwrap_or_default().to_owned()
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default()
    }

    pub async fn script(&self, js: &str, args: Vec<Value>) -> Value {
        self.client.execute_async(js, args).await.expect("the script runs")
    }

    /// Screenshots of the page at desk and at phone width.
    pub async fn screenshots(&self, step: &str) {
        let dir = screenshots();
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        for (label, (w, h)) in [("desk", DESK), ("phone", PHONE)] {
            self.client.set_window_size(w, h).await.expect("resized");
            tokio::time::sleep(Duration::from_millis(150)).await;
            let png = self.client.screenshot().await.expect("a screenshot");
            std::fs::write(dir.join(format!("{}-{step}-{label}.png", self.journey)), png).expect("saved");
        }
        self.client.set_window_size(DESK.0, DESK.1).await.expect("resized");
    }

    /// Runs axe-core on the page, at desk and phone width; serious or critical violations fail.
    pub async fn accessible(&self) {
        self.client.execute(&format!("{AXE}\n;return true;"), vec![]).await.expect("axe loads");
        for (w, h) in [DESK, PHONE] {
            self.client.set_window_size(w, h).await.expect("resized");
            let found = self
                .script(
                    "const done = arguments[arguments.length - 1];
                     axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations
                       .filter(v => v.impact === 'serious' || v.impact === 'critical')
                       .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
                    vec![],
                )
                .await;
            let path = self.path().await;
            assert_eq!(found, json!([]), "axe on {path} at {w}px in {}", self.journey);
        }
        self.client.set_window_size(DESK.0, DESK.1).await.expect("resized");
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
