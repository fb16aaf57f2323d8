//! OpenWeatherMap Current Weather (2.5) for a venue's coordinates, so the bot and the music
//! suggestions can say "it's raining in Phuket — something cozy?". One call, `units=metric`,
//! lenient about the quirks of the real service (`cod` a number or a string, optional
//! `rain`/`snow`/`gust`/`sea_level`), with its errors mapped to what a caller can act on. Caching per
//! location (≥10 min, the service's refresh period) is the caller's job.

mod mood;

pub use mood::{MOODS, Mood, mood_for};

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct WeatherSettings {
    /// `https://api.openweathermap.org`; `/data/2.5/weather` is appended.
    pub base_url: String,
    pub api_key: String,
}

impl WeatherSettings {
    pub fn new(api_key: impl Into<String>) -> Self {
        Self { base_url: "https://api.openweathermap.org".into(), api_key: api_key.into() }
    }
}

impl std::fmt::Debug for WeatherSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeatherSettings").field("base_url", &self.base_url).field("api_key", &"***").finish()
    }
}

/// The current weather at a place, in °C.
#[derive(Debug, Clone, PartialEq)]
pub struct Weather {
    /// The condition group: `Rain`, `Clear`, `Clouds`, `Thunderstorm`, `Drizzle`, `Snow`, `Mist`…
    pub main: String,
    pub description: String,
    pub temp_c: f64,
    pub humidity: u8,
    /// Between sunrise and sunset at the time of observation.
    pub is_day: bool,
    /// The nearest named place (may be empty at sea).
    pub city: String,
    pub observed_at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum WeatherError {
    #[error("OpenWeatherMap refused the API key (401): {0}")]
    InvalidKey(String),
    #[error("OpenWeatherMap found no such place (404): {0}")]
    NotFound(String),
    #[error("OpenWeatherMap rejected the request (400): {0}")]
    BadRequest(String),
    #[error("OpenWeatherMap rate limit reached (429; the free plan allows 60 calls a minute): {0}")]
    RateLimited(String),
    #[error("OpenWeatherMap answered {status}: {message}")]
    Http { status: u16, message: String },
    #[error("OpenWeatherMap did not answer within {0:?}")]
    Timeout(Duration),
    #[error("OpenWeatherMap unreachable: {0}")]
    Transport(String),
    #[error("OpenWeatherMap answered something unreadable: {0}")]
    Malformed(String),
    #[error("weather client misconfigured: {0}")]
    Config(String),
}

impl WeatherError {
    /// Worth asking again later (rate limit, server trouble, network); never a bad key or place.
    pub fn is_retryable(&self) -> bool {
        match self {
            WeatherError::RateLimited(_) | WeatherError::Timeout(_) | WeatherError::Transport(_) => true,
            WeatherError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            WeatherError::InvalidKey(_) => Some(401),
            WeatherError::NotFound(_) => Some(404),
            WeatherError::BadRequest(_) => Some(400),
            WeatherError::RateLimited(_) => Some(429),
            WeatherError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub struct WeatherClient {
    http: reqwest::Client,
    url: String,
    api_key: String,
}

impl std::fmt::Debug for WeatherClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeatherClient").field("url", &self.url).finish_non_exhaustive()
    }
}

impl WeatherClient {
    pub fn new(settings: WeatherSettings) -> Result<Self, WeatherError> {
        let api_key = settings.api_key.trim().to_owned();
        if api_key.is_empty() {
            return Err(WeatherError::Config("the API key is empty".into()));
        }
        let base = settings.base_url.trim_end_matches('/');
        let url = format!("{base}/data/2.5/weather");
        reqwest::Url::parse(&url).map_err(|e| WeatherError::Config(format!("base_url {base:?}: {e}")))?;
        // The one TLS backend of the process; a no-op when `main` installed it already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent("bma-social/0.1")
            .build()
            .map_err(|e| WeatherError::Config(e.without_url().to_string()))?;
        Ok(Self { http, url, api_key })
    }

    /// The weather now at `lat`, `lon` (degrees).
    pub async fn current(&self, lat: f64, lon: f64) -> Result<Weather, WeatherError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(WeatherError::BadRequest("coordinates must be finite numbers".into()));
        }
        let (lat, lon) = (lat.to_string(), lon.to_string());
        let query =
            [("lat", lat.as_str()), ("lon", &lon), ("appid", &self.api_key), ("units", "metric"), ("lang", "en")];
        let url = reqwest::Url::parse_with_params(&self.url, query).map_err(|e| WeatherError::Config(e.to_string()))?;
        // `transport` drops the URL from errors: it carries the key.
        let res = self.http.get(url).send().await.map_err(transport)?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await.map_err(transport)?;
        let body: Option<Value> = serde_json::from_slice(&bytes).ok();
        let cod = body.as_ref().and_then(|b| b.get("cod")).and_then(cod_number);
        let code = match cod {
            Some(c) if status == 200 && c != 200 => c,
            _ => status,
        };
        if code != 200 {
            let message = body
                .as_ref()
                .and_then(|b| b.get("message"))
                .and_then(Value::as_str)
                .map_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect(), str::to_owned);
            return Err(match code {
                401 => WeatherError::InvalidKey(message),
                404 => WeatherError::NotFound(message),
                400 => WeatherError::BadRequest(message),
                429 => WeatherError::RateLimited(message),
                _ => WeatherError::Http { status: code, message },
            });
        }
        let body = body.ok_or_else(|| WeatherError::Malformed("not JSON".into()))?;
        parse(body)
    }
}

fn transport(e: reqwest::Error) -> WeatherError {
    if e.is_timeout() { WeatherError::Timeout(TIMEOUT) } else { WeatherError::Transport(e.without_url().to_string()) }
}

fn cod_number(v: &Value) -> Option<u16> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    weather: Vec<Condition>,
    main: Main,
    dt: i64,
    #[serde(default)]
    sys: Option<Sys>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Condition {
    #[serde(default)]
    main: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    icon: Option<String>,
}

#[derive(Deserialize)]
struct Main {
    temp: f64,
    #[serde(default)]
    humidity: Option<f64>,
}

#[derive(Deserialize)]
struct Sys {
    #[serde(default)]
    sunrise: Option<i64>,
    #[serde(default)]
    sunset: Option<i64>,
}

fn parse(body: Value) -> Result<Weather, WeatherError> {
    let raw: Raw = serde_json::from_value(body).map_err(|e| WeatherError::Malformed(e.to_string()))?;
    let observed_at =
        OffsetDateTime::from_unix_timestamp(raw.dt).map_err(|e| WeatherError::Malformed(e.to_string()))?;
    let condition = raw.weather.into_iter().next();
    let by_sun = raw.sys.and_then(|s| Some((s.sunrise?, s.sunset?))).filter(|(rise, set)| rise < set);
    let by_icon = condition.as_ref().and_then(|c| c.icon.as_deref()).and_then(|i| i.chars().last()).map(|c| c == 'd');
    let is_day = match by_sun {
        Some((rise, set)) => (rise..set).contains(&raw.dt),
        None => by_icon.unwrap_or(true),
    };
    let (main, description) = condition.map_or_else(|| (String::new(), String::new()), |c| (c.main, c.description));
    Ok(Weather {
        main,
        description,
        temp_c: raw.main.temp,
        humidity: raw.main.humidity.map_or(0, |h| h.round().clamp(0.0, 100.0) as u8),
        is_day,
        city: raw.name.unwrap_or_default(),
        observed_at,
    })
}
