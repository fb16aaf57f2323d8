//! The weather client against the faithful fake (and a hand-made server for the service's quirks):
//! fields read right, day and night, each error mapped, and the mood table.

use axum::Router;
use axum::routing::get;
use bma_fakes::weather::{WeatherFake, WeatherFakeConfig, WeatherFixture};
use bma_integrations::weather::{MOODS, Weather, WeatherClient, WeatherError, WeatherSettings, mood_for};
use serde_json::{Value, json};

const BANGKOK: (f64, f64) = (13.7563, 100.5018);

async fn fake(tune: impl FnOnce(&mut WeatherFakeConfig)) -> WeatherFake {
    let mut cfg = WeatherFakeConfig::default();
    tune(&mut cfg);
    WeatherFake::start(cfg).await.expect("fake")
}

fn client(base_url: String, key: &str) -> WeatherClient {
    WeatherClient::new(WeatherSettings { base_url, api_key: key.into() }).expect("client")
}

/// Serves one fixed body at `/data/2.5/weather`.
async fn canned(status: u16, body: Value) -> String {
    let code = axum::http::StatusCode::from_u16(status).expect("status");
    let app = Router::new().route("/data/2.5/weather", get(move || async move { (code, axum::Json(body)) }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn current_weather_reads_condition_temperature_humidity_city_and_daylight() {
    let fake = fake(|_| {}).await;
    fake.set(BANGKOK.0, BANGKOK.1, WeatherFixture::rain(27.5).with_day(true));
    let before = time::OffsetDateTime::now_utc();
    let w = client(fake.base_url(), fake.api_key()).current(BANGKOK.0, BANGKOK.1).await.expect("weather");
    assert_eq!((w.main.as_str(), w.description.as_str()), ("Rain", "moderate rain"));
    assert!((w.temp_c - 27.5).abs() < 1e-9, "metric units asked for: {}", w.temp_c);
    assert_eq!(w.humidity, 90);
    assert!(w.is_day);
    assert_eq!(w.city, "Bangkok");
    let age = before - w.observed_at;
    assert!(age >= time::Duration::ZERO && age <= time::Duration::minutes(10), "{age}");
    assert_eq!(fake.requests(), 1);
}

#[tokio::test]
async fn after_sunset_the_weather_is_not_day() {
    let fake = fake(|_| {}).await;
    fake.set(7.8804, 98.3923, WeatherFixture::clear(28.0).with_day(false));
    let w = client(fake.base_url(), fake.api_key()).current(7.8804, 98.3923).await.expect("weather");
    assert!(!w.is_day);
    assert_eq!((w.main.as_str(), w.city.as_str()), ("Clear", "Phuket"));
}

#[tokio::test]
async fn generated_weather_is_the_same_for_the_same_place_and_plausibly_tropical() {
    let fake = fake(|_| {}).await;
    let c = client(fake.base_url(), fake.api_key());
    let a = c.current(18.7883, 98.9853).await.expect("weather");
    let b = c.current(18.7883, 98.9853).await.expect("weather");
    assert_eq!((a.main.clone(), a.temp_c, a.humidity), (b.main, b.temp_c, b.humidity));
    assert_eq!(a.city, "Chiang Mai");
    assert!((20.0..40.0).contains(&a.temp_c), "{}", a.temp_c);
}

#[tokio::test]
async fn a_wrong_key_is_an_invalid_key_error_that_is_not_retried() {
    let fake = fake(|_| {}).await;
    let err = client(fake.base_url(), "not-the-key").current(BANGKOK.0, BANGKOK.1).await.expect_err("401");
    assert!(matches!(&err, WeatherError::InvalidKey(m) if m.starts_with("Invalid API key")), "{err:?}");
    assert_eq!(err.status(), Some(401));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn past_the_per_minute_limit_the_error_is_a_retryable_rate_limit() {
    let fake = fake(|c| c.calls_per_minute = 2).await;
    let c = client(fake.base_url(), fake.api_key());
    c.current(BANGKOK.0, BANGKOK.1).await.expect("first");
    c.current(BANGKOK.0, BANGKOK.1).await.expect("second");
    let err = c.current(BANGKOK.0, BANGKOK.1).await.expect_err("third is over the limit");
    assert!(matches!(&err, WeatherError::RateLimited(m) if m.contains("temporary blocked")), "{err:?}");
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable());
    assert!(err.to_string().contains("60 calls a minute"));
}

#[tokio::test]
async fn an_impossible_latitude_is_a_bad_request() {
    let fake = fake(|_| {}).await;
    let err = client(fake.base_url(), fake.api_key()).current(123.0, 100.0).await.expect_err("400");
    assert!(matches!(&err, WeatherError::BadRequest(m) if m == "wrong latitude"), "{err:?}");
    assert!(!err.is_retryable());
    let err = client(fake.base_url(), fake.api_key()).current(f64::NAN, 100.0).await.expect_err("local check");
    assert!(matches!(err, WeatherError::BadRequest(_)));
    assert_eq!(fake.requests(), 1, "NaN never leaves the client");
}

#[tokio::test]
async fn server_trouble_is_retryable_and_a_missing_place_is_not() {
    let fake = fake(|_| {}).await;
    let c = client(fake.base_url(), fake.api_key());
    fake.fail_next(1, 502);
    let err = c.current(BANGKOK.0, BANGKOK.1).await.expect_err("502");
    assert!(matches!(err, WeatherError::Http { status: 502, .. }) && err.is_retryable(), "{err:?}");
    fake.fail_next(1, 404);
    let err = c.current(BANGKOK.0, BANGKOK.1).await.expect_err("404");
    assert!(matches!(&err, WeatherError::NotFound(m) if m == "city not found") && !err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_sparse_answer_with_cod_as_a_string_still_parses() {
    let url = canned(
        200,
        json!({
            "weather": [{ "id": 803, "main": "Clouds", "description": "broken clouds", "icon": "04n" }],
            "main": { "temp": 26.4, "humidity": 81.0 },
            "dt": 1_767_225_600,
            "cod": "200",
        }),
    )
    .await;
    let w = client(url, "k").current(1.29, 103.85).await.expect("weather");
    assert_eq!((w.main.as_str(), w.humidity, w.city.as_str()), ("Clouds", 81, ""));
    assert!(!w.is_day, "no sunrise/sunset: the icon's `n` decides");
    assert_eq!(w.observed_at.unix_timestamp(), 1_767_225_600);
}

#[tokio::test]
async fn an_error_inside_a_200_is_still_an_error() {
    let url = canned(200, json!({ "cod": "404", "message": "city not found" })).await;
    let err = client(url, "k").current(1.0, 1.0).await.expect_err("404 in the body");
    assert!(matches!(err, WeatherError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_body_without_the_main_block_is_malformed() {
    let url = canned(200, json!({ "cod": 200, "weather": [], "dt": 1 })).await;
    let err = client(url, "k").current(1.0, 1.0).await.expect_err("malformed");
    assert!(matches!(err, WeatherError::Malformed(_)), "{err:?}");
}

fn weather(main: &str, temp_c: f64) -> Weather {
    Weather {
        main: main.into(),
        description: String::new(),
        temp_c,
        humidity: 70,
        is_day: true,
        city: "Bangkok".into(),
        observed_at: time::OffsetDateTime::UNIX_EPOCH,
    }
}

#[test]
fn moods_follow_the_table_of_weather_and_hour() {
    let table = [
        ("Rain", 30.0, 14, "cozy"),
        ("Thunderstorm", 28.0, 21, "cozy"),
        ("Drizzle", 26.0, 3, "cozy"),
        ("Clear", 33.0, 15, "upbeat"),
        ("Clear", 26.0, 15, "bright"),
        ("Clouds", 31.0, 13, "mellow"),
        ("Haze", 31.0, 11, "mellow"),
        ("Clear", 33.0, 19, "lounge"),
        ("Clouds", 29.0, 23, "lounge"),
        ("Clear", 27.0, 7, "fresh"),
        ("Clear", 25.0, 2, "calm"),
        ("Clear", 25.0, 26, "calm"),
    ];
    for (main, temp, hour, key) in table {
        assert_eq!(mood_for(&weather(main, temp), hour).key, key, "{main} {temp}°C at {hour}h");
    }
}

#[test]
fn every_mood_has_playlist_words_and_both_languages() {
    for m in MOODS {
        assert!(!m.playlist_words.is_empty(), "{}", m.key);
        assert!(!m.en.is_empty() && m.th.chars().any(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c)), "{}", m.key);
    }
    let keys: std::collections::HashSet<_> = MOODS.iter().map(|m| m.key).collect();
    assert_eq!(keys.len(), MOODS.len(), "keys are unique");
}

#[test]
fn settings_and_client_never_print_the_api_key() {
    let s = WeatherSettings::new("0f3c5e7a9b1d2f4a-secret");
    assert!(!format!("{s:?}").contains("secret"));
    let c = WeatherClient::new(s).expect("client");
    assert!(!format!("{c:?}").contains("secret"));
}
