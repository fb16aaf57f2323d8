//! The OpenWeatherMap fake over raw HTTP: the service's error bodies word for word, its 60 calls a
//! minute, units and language, fixtures, and a deterministic, tropical generated climate.

use bma_fakes::weather::{WeatherFake, WeatherFakeConfig, WeatherFixture};
use serde_json::{Value, json};
use std::collections::HashMap;

const BANGKOK: (f64, f64) = (13.7563, 100.5018);

async fn start(tune: impl FnOnce(&mut WeatherFakeConfig)) -> WeatherFake {
    let mut cfg = WeatherFakeConfig::default();
    tune(&mut cfg);
    WeatherFake::start(cfg).await.expect("fake")
}

async fn get(fake: &WeatherFake, query: &str) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!("{}/data/2.5/weather?{query}", fake.base_url());
    let res = reqwest::get(url).await.expect("send");
    let status = res.status().as_u16();
    (status, res.json().await.expect("json"))
}

async fn at(fake: &WeatherFake, lat: f64, lon: f64, extra: &str) -> (u16, Value) {
    get(fake, &format!("lat={lat}&lon={lon}&appid={}{extra}", fake.api_key())).await
}

#[tokio::test]
async fn a_missing_or_wrong_appid_gets_the_services_401_body() {
    let fake = start(|_| {}).await;
    let expected = json!({
        "cod": 401,
        "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."
    });
    assert_eq!(get(&fake, "lat=13.75&lon=100.5").await, (401, expected.clone()));
    assert_eq!(get(&fake, "lat=13.75&lon=100.5&appid=nope").await, (401, expected));
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn bad_coordinates_get_400_with_cod_as_a_string() {
    let fake = start(|_| {}).await;
    let key = fake.api_key().to_owned();
    let (status, body) = get(&fake, &format!("lat=91&lon=100&appid={key}")).await;
    assert_eq!((status, body), (400, json!({ "cod": "400", "message": "wrong latitude" })));
    let (_, body) = get(&fake, &format!("lat=abc&lon=100&appid={key}")).await;
    assert_eq!(body["message"], "wrong latitude");
    let (_, body) = get(&fake, &format!("lat=10&lon=181&appid={key}")).await;
    assert_eq!(body["message"], "wrong longitude");
    let (status, body) = get(&fake, &format!("appid={key}")).await;
    assert_eq!((status, body), (400, json!({ "cod": "400", "message": "Nothing to geocode" })));
}

#[tokio::test]
async fn a_city_by_name_is_found_and_an_unknown_one_is_404() {
    let fake = start(|_| {}).await;
    let key = fake.api_key().to_owned();
    let (status, body) = get(&fake, &format!("q=Bangkok,TH&appid={key}&units=metric")).await;
    assert_eq!((status, body["name"].clone(), body["sys"]["country"].clone()), (200, json!("Bangkok"), json!("TH")));
    let (status, body) = get(&fake, &format!("q=Atlantis&appid={key}")).await;
    assert_eq!((status, body), (404, json!({ "cod": "404", "message": "city not found" })));
}

#[tokio::test]
async fn sixty_calls_a_minute_then_the_services_429_body() {
    let fake = start(|_| {}).await;
    for i in 0..60 {
        assert_eq!(at(&fake, BANGKOK.0, BANGKOK.1, "").await.0, 200, "call {i}");
    }
    let (status, body) = at(&fake, BANGKOK.0, BANGKOK.1, "").await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({
            "cod": 429,
            "message": "Your account is temporary blocked due to exceeding of requests limitation of your \
                        subscription type. Please choose the proper subscription http://openweathermap.org/price"
        })
    );
    assert_eq!(fake.requests(), 61);
}

#[tokio::test]
async fn an_answer_has_the_documented_shape_in_metric_units() {
    let fake = start(|_| {}).await;
    let (status, b) = at(&fake, BANGKOK.0, BANGKOK.1, "&units=metric&lang=en").await;
    assert_eq!(status, 200);
    assert_eq!(b["cod"], 200, "a number on success");
    assert_eq!((b["coord"]["lat"].as_f64(), b["coord"]["lon"].as_f64()), (Some(BANGKOK.0), Some(BANGKOK.1)));
    let w = &b["weather"][0];
    assert!(w["id"].is_u64() && w["main"].is_string() && w["description"].is_string());
    assert!(w["icon"].as_str().is_some_and(|i| i.len() == 3 && (i.ends_with('d') || i.ends_with('n'))));
    for field in ["temp", "feels_like", "temp_min", "temp_max", "pressure", "humidity"] {
        assert!(b["main"][field].is_number(), "main.{field}");
    }
    assert!((20.0..40.0).contains(&b["main"]["temp"].as_f64().expect("a temperature")));
    assert!(b["dt"].is_i64() && b["sys"]["sunrise"].is_i64() && b["sys"]["sunset"].is_i64());
    assert_eq!(
        (b["name"].clone(), b["timezone"].clone(), b["base"].clone()),
        (json!("Bangkok"), json!(25200), json!("stations"))
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let dt = b["dt"].as_i64().expect("a dt");
    assert!(now - dt >= 0 && now - dt <= 600, "observed within the last 10 minutes");
    let day = (b["sys"]["sunrise"].as_i64() < Some(dt)) && (Some(dt) < b["sys"]["sunset"].as_i64());
    assert_eq!(w["icon"].as_str().is_some_and(|i| i.ends_with('d')), day, "icon agrees with the sun");
}

#[tokio::test]
async fn units_default_to_kelvin_and_imperial_is_fahrenheit() {
    let fake = start(|_| {}).await;
    fake.set(BANGKOK.0, BANGKOK.1, WeatherFixture::clear(30.0));
    let temp = |b: &Value| b["main"]["temp"].as_f64().expect("a temperature");
    let metric = temp(&at(&fake, BANGKOK.0, BANGKOK.1, "&units=metric").await.1);
    let kelvin = temp(&at(&fake, BANGKOK.0, BANGKOK.1, "").await.1);
    let fahrenheit = temp(&at(&fake, BANGKOK.0, BANGKOK.1, "&units=imperial").await.1);
    assert_eq!((metric, kelvin, fahrenheit), (30.0, 303.15, 86.0));
}

#[tokio::test]
async fn a_fixture_answers_for_its_coordinate_in_english_or_thai() {
    let fake = start(|_| {}).await;
    fake.set(7.88, 98.39, WeatherFixture::rain(26.0).with_city("Patong").with_day(false));
    let (_, b) = at(&fake, 7.8804, 98.3923, "&units=metric").await;
    assert_eq!(b["weather"][0], json!({ "id": 501, "main": "Rain", "description": "moderate rain", "icon": "10n" }));
    assert_eq!((b["name"].clone(), b["main"]["humidity"].clone()), (json!("Patong"), json!(90)));
    assert_eq!(b["rain"]["1h"], 3.2);
    assert!(b["dt"].as_i64() < b["sys"]["sunrise"].as_i64(), "night: before sunrise");
    let (_, th) = at(&fake, 7.8804, 98.3923, "&units=metric&lang=th").await;
    assert_eq!(th["weather"][0]["description"], "ฝนตกปานกลาง");
    let (_, clear) = at(&fake, 7.8804, 98.3923, "").await;
    assert_eq!(clear["weather"][0]["id"], 501, "same cell without units");
}

#[tokio::test]
async fn generated_weather_is_deterministic_per_seed_and_mostly_tropical() {
    let a = start(|_| {}).await;
    let b = start(|_| {}).await;
    let other = start(|c| c.seed = 99).await;
    let mut groups: HashMap<String, usize> = HashMap::new();
    let mut differs = 0;
    for i in 0..50 {
        let (lat, lon) = (5.0 + f64::from(i) * 0.31, 98.0 + f64::from(i % 7) * 0.9);
        let x = at(&a, lat, lon, "&units=metric").await.1;
        let y = at(&b, lat, lon, "&units=metric").await.1;
        let z = at(&other, lat, lon, "&units=metric").await.1;
        assert_eq!((&x["weather"], &x["main"]["temp"]), (&y["weather"], &y["main"]["temp"]), "same seed, same weather");
        differs += usize::from(x["main"]["temp"] != z["main"]["temp"]);
        *groups.entry(x["weather"][0]["main"].as_str().expect("a string field").to_owned()).or_default() += 1;
        assert_eq!(
            x["rain"].is_object(),
            matches!(x["weather"][0]["main"].as_str(), Some("Rain") | Some("Thunderstorm"))
                && x["weather"][0]["id"] != 211
        );
    }
    assert!(differs > 40, "another seed, another climate draw");
    for group in ["Clear", "Clouds", "Rain"] {
        assert!(groups.get(group).is_some_and(|n| *n >= 3), "{group} in {groups:?}");
    }
}

#[tokio::test]
async fn injected_failures_come_before_the_weather() {
    let fake = start(|_| {}).await;
    fake.fail_next(1, 500);
    assert_eq!(at(&fake, 1.0, 1.0, "").await, (500, json!({ "cod": 500, "message": "Internal error" })));
    assert_eq!(at(&fake, 1.0, 1.0, "").await.0, 200);
}
