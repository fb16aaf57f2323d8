//! A faithful fake of OpenWeatherMap's Current Weather (2.5), `GET /data/2.5/weather`, served on
//! loopback. It checks `appid` (401 in the service's words), `lat`/`lon` (400 `wrong latitude`,
//! `Nothing to geocode`), honours `units` and `lang` (en, th), enforces the free plan's 60 calls a
//! minute per key (429 in the service's words), and answers each coordinate with a deterministic,
//! Bangkok-like weather drawn from a seed — or with a [`WeatherFixture`] set for it. Error bodies
//! keep the real quirk: `cod` a number on success and 401/429, a string on 400/404.

mod server;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct WeatherFakeConfig {
    /// The one `appid` accepted.
    pub api_key: String,
    /// Picks the weather of every coordinate without a fixture.
    pub seed: u64,
    /// Calls a minute per key before 429 (the free plan: 60).
    pub calls_per_minute: u32,
    /// Added to every answer, in real time.
    pub latency: Duration,
}

impl Default for WeatherFakeConfig {
    fn default() -> Self {
        Self {
            api_key: "0f3c5e7a9b1d2f4a6c8e0b2d4f6a8c1e".into(),
            seed: 7,
            calls_per_minute: 60,
            latency: Duration::ZERO,
        }
    }
}

/// The weather to answer for one coordinate (rounded to 0.01°).
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherFixture {
    /// OpenWeatherMap's condition id: 800 clear, 801–804 clouds, 5xx rain, 2xx thunderstorm, 7xx haze…
    pub condition_id: u16,
    pub main: String,
    pub description: String,
    pub temp_c: f64,
    pub humidity: u8,
    pub wind_speed: f64,
    /// Millimetres in the last hour; `rain` is left out of the answer when `None`.
    pub rain_1h: Option<f64>,
    /// Empty: the nearest known city, as for generated weather.
    pub city: String,
    /// `Some` places sunrise and sunset around the time of the request to make it day or night.
    pub is_day: Option<bool>,
}

impl WeatherFixture {
    pub fn clear(temp_c: f64) -> Self {
        Self::of(800, "Clear", "clear sky", temp_c, 55, None)
    }

    pub fn clouds(temp_c: f64) -> Self {
        Self::of(803, "Clouds", "broken clouds", temp_c, 70, None)
    }

    pub fn rain(temp_c: f64) -> Self {
        Self::of(501, "Rain", "moderate rain", temp_c, 90, Some(3.2))
    }

    pub fn thunderstorm(temp_c: f64) -> Self {
        Self::of(201, "Thunderstorm", "thunderstorm with rain", temp_c, 94, Some(8.5))
    }

    pub fn with_day(mut self, is_day: bool) -> Self {
        self.is_day = Some(is_day);
        self
    }

    pub fn with_city(mut self, city: impl Into<String>) -> Self {
        self.city = city.into();
        self
    }

    fn of(id: u16, main: &str, description: &str, temp_c: f64, humidity: u8, rain_1h: Option<f64>) -> Self {
        Self {
            condition_id: id,
            main: main.into(),
            description: description.into(),
            temp_c,
            humidity,
            wind_speed: 2.6,
            rain_1h,
            city: String::new(),
            is_day: None,
        }
    }
}

pub(crate) struct Shared {
    api_key: String,
    seed: u64,
    calls_per_minute: u32,
    latency: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
pub(crate) struct State {
    fixtures: HashMap<(i64, i64), WeatherFixture>,
    failures: VecDeque<u16>,
    window: VecDeque<Instant>,
    requests: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) fn cell(lat: f64, lon: f64) -> (i64, i64) {
    ((lat * 100.0).round() as i64, (lon * 100.0).round() as i64)
}

#[derive(Clone)]
pub struct WeatherFake {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl std::fmt::Debug for WeatherFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeatherFake").field("addr", &self.addr).finish()
    }
}

impl WeatherFake {
    /// Serves on 127.0.0.1 (a free port).
    pub async fn start(cfg: WeatherFakeConfig) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            api_key: cfg.api_key,
            seed: cfg.seed,
            calls_per_minute: cfg.calls_per_minute,
            latency: cfg.latency,
            state: Mutex::new(State::default()),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "weather fake stopped serving");
            }
        });
        tracing::debug!(%addr, "weather fake listening");
        Ok(Self { shared, addr })
    }

    /// `http://127.0.0.1:PORT`, the `base_url` of a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Answers `fixture` for every request within 0.005° of `lat`, `lon`.
    pub fn set(&self, lat: f64, lon: f64, fixture: WeatherFixture) {
        self.shared.lock().fixtures.insert(cell(lat, lon), fixture);
    }

    /// The next `n` requests with a valid key fail with `status` (404 `city not found`, 5xx
    /// `Internal error`, …).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.shared.lock().failures.extend(std::iter::repeat_n(status, n));
    }

    /// `GET /data/2.5/weather` requests received, whatever their answer.
    pub fn requests(&self) -> u64 {
        self.shared.lock().requests
    }
}
