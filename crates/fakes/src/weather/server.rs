//! The HTTP face of the weather fake and its climate: key, rate limit, injected failures and
//! coordinates are checked in that order, then the weather of the cell is rendered in the asked
//! units and language.

use super::{Shared, WeatherFixture, cell};
use axum::Router;
use axum::extract::{Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const INVALID_KEY: &str = "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.";
const BLOCKED: &str = "Your account is temporary blocked due to exceeding of requests limitation of your subscription \
                       type. Please choose the proper subscription http://openweathermap.org/price";

/// Known places: name, country, lat, lon, UTC offset in seconds.
const CITIES: &[(&str, &str, f64, f64, i64)] = &[
    ("Bangkok", "TH", 13.7563, 100.5018, 25200),
    ("Chiang Mai", "TH", 18.7883, 98.9853, 25200),
    ("Phuket", "TH", 7.8804, 98.3923, 25200),
    ("Pattaya", "TH", 12.9236, 100.8825, 25200),
    ("Hua Hin", "TH", 12.5684, 99.9577, 25200),
    ("Ko Samui", "TH", 9.512, 100.0136, 25200),
    ("Krabi", "TH", 8.0863, 98.9063, 25200),
    ("Singapore", "SG", 1.2897, 103.8501, 28800),
    ("Kuala Lumpur", "MY", 3.139, 101.6869, 28800),
    ("Ho Chi Minh City", "VN", 10.8231, 106.6297, 25200),
    ("Hanoi", "VN", 21.0278, 105.8342, 25200),
    ("Jakarta", "ID", -6.2088, 106.8456, 25200),
    ("Denpasar", "ID", -8.65, 115.2167, 28800),
    ("Manila", "PH", 14.5995, 120.9842, 28800),
    ("Hong Kong", "HK", 22.3193, 114.1694, 28800),
    ("Phnom Penh", "KH", 11.5564, 104.9282, 25200),
    ("Vientiane", "LA", 17.9757, 102.6331, 25200),
    ("Yangon", "MM", 16.8409, 96.1735, 23400),
];

/// Condition id, group, description (en, th), weight in a Bangkok-like year.
const CONDITIONS: &[(u16, &str, &str, &str, u32)] = &[
    (800, "Clear", "clear sky", "ท้องฟ้าแจ่มใส", 25),
    (801, "Clouds", "few clouds", "เมฆบางส่วน", 15),
    (802, "Clouds", "scattered clouds", "เมฆกระจาย", 12),
    (803, "Clouds", "broken clouds", "เมฆเป็นหย่อม", 10),
    (804, "Clouds", "overcast clouds", "เมฆครึ้ม", 5),
    (500, "Rain", "light rain", "ฝนตกเล็กน้อย", 10),
    (501, "Rain", "moderate rain", "ฝนตกปานกลาง", 6),
    (502, "Rain", "heavy intensity rain", "ฝนตกหนัก", 3),
    (201, "Thunderstorm", "thunderstorm with rain", "พายุฝนฟ้าคะนอง", 5),
    (211, "Thunderstorm", "thunderstorm", "ฟ้าคะนอง", 2),
    (721, "Haze", "haze", "หมอกควัน", 4),
    (701, "Mist", "mist", "หมอก", 3),
];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().route("/data/2.5/weather", get(weather)).with_state(shared)
}

async fn weather(AxumState(shared): AxumState<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (status, body) = answer(&shared, &q);
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

fn answer(shared: &Shared, q: &HashMap<String, String>) -> (u16, Value) {
    let mut st = shared.lock();
    st.requests += 1;
    if q.get("appid").map(String::as_str) != Some(shared.api_key.as_str()) {
        return (401, json!({ "cod": 401, "message": INVALID_KEY }));
    }
    let now = Instant::now();
    while st.window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
        st.window.pop_front();
    }
    if st.window.len() >= shared.calls_per_minute as usize {
        return (429, json!({ "cod": 429, "message": BLOCKED }));
    }
    st.window.push_back(now);
    if let Some(status) = st.failures.pop_front() {
        return match status {
            404 => (404, json!({ "cod": "404", "message": "city not found" })),
            400 => (400, json!({ "cod": "400", "message": "Nothing to geocode" })),
            s => (s, json!({ "cod": s, "message": "Internal error" })),
        };
    }
    let (lat, lon) = match (q.get("lat"), q.get("lon"), q.get("q")) {
        (Some(lat), Some(lon), _) => {
            let Some(lat) = lat.trim().parse::<f64>().ok().filter(|l| (-90.0..=90.0).contains(l)) else {
                return (400, json!({ "cod": "400", "message": "wrong latitude" }));
            };
            let Some(lon) = lon.trim().parse::<f64>().ok().filter(|l| (-180.0..=180.0).contains(l)) else {
                return (400, json!({ "cod": "400", "message": "wrong longitude" }));
            };
            (lat, lon)
        }
        (None, None, Some(name)) => {
            let wanted = name.split(',').next().unwrap_or_default().trim().to_lowercase();
            match CITIES.iter().find(|c| c.0.to_lowercase() == wanted) {
                Some(c) => (c.2, c.3),
                None => return (404, json!({ "cod": "404", "message": "city not found" })),
            }
        }
        _ => return (400, json!({ "cod": "400", "message": "Nothing to geocode" })),
    };
    let fixture = st.fixtures.get(&cell(lat, lon)).cloned();
    drop(st);
    let fixture = fixture.unwrap_or_else(|| generated(shared.seed, lat, lon));
    let units = q.get("units").map_or("standard", String::as_str);
    let thai = q.get("lang").is_some_and(|l| l.eq_ignore_ascii_case("th"));
    (200, render(&fixture, lat, lon, units, thai, OffsetDateTime::now_utc()))
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A value in `[lo, hi)` from the `n`-th draw of `h`.
fn draw(h: u64, n: u64, lo: f64, hi: f64) -> f64 {
    let unit = (mix(h ^ n.wrapping_mul(0xA24B_AED4_963E_E407)) >> 11) as f64 / (1_u64 << 53) as f64;
    lo + unit * (hi - lo)
}

fn generated(seed: u64, lat: f64, lon: f64) -> WeatherFixture {
    let (a, b) = cell(lat, lon);
    let h = mix(seed ^ mix(a as u64) ^ mix((b as u64).rotate_left(32)));
    let total: u32 = CONDITIONS.iter().map(|c| c.4).sum();
    let mut pick = (h % u64::from(total)) as u32;
    let &(id, main, description, _, _) = CONDITIONS
        .iter()
        .find(|c| {
            if pick < c.4 {
                true
            } else {
                pick -= c.4;
                false
            }
        })
        .unwrap_or(&CONDITIONS[0]);
    let wet = matches!(main, "Rain" | "Thunderstorm");
    let (t_lo, t_hi, h_lo, h_hi) = match main {
        "Clear" => (29.0, 36.0, 45.0, 65.0),
        "Clouds" | "Haze" | "Mist" => (27.0, 33.0, 60.0, 80.0),
        _ => (24.0, 29.0, 80.0, 97.0),
    };
    let rain = match id {
        500 => Some(draw(h, 4, 0.2, 1.0)),
        501 | 201 => Some(draw(h, 4, 1.0, 4.0)),
        502 => Some(draw(h, 4, 4.0, 12.0)),
        _ => None,
    };
    WeatherFixture {
        condition_id: id,
        main: main.into(),
        description: description.into(),
        temp_c: (draw(h, 1, t_lo, t_hi) * 100.0).round() / 100.0,
        humidity: draw(h, 2, h_lo, h_hi).round() as u8,
        wind_speed: (draw(h, 3, if wet { 2.0 } else { 0.8 }, if wet { 7.5 } else { 4.5 }) * 100.0).round() / 100.0,
        rain_1h: rain.map(|r| (r * 100.0).round() / 100.0),
        city: String::new(),
        is_day: None,
    }
}

fn nearest_city(lat: f64, lon: f64) -> Option<&'static (&'static str, &'static str, f64, f64, i64)> {
    CITIES.iter().find(|c| (c.2 - lat).abs() < 0.5 && (c.3 - lon).abs() < 0.5)
}

fn icon(id: u16, day: bool) -> String {
    let code = match id {
        800 => "01",
        801 => "02",
        802 => "03",
        803 | 804 => "04",
        300..=321 | 520..=531 => "09",
        500..=504 => "10",
        200..=232 => "11",
        511 | 600..=622 => "13",
        _ => "50",
    };
    format!("{code}{}", if day { 'd' } else { 'n' })
}

fn render(f: &WeatherFixture, lat: f64, lon: f64, units: &str, thai: bool, now: OffsetDateTime) -> Value {
    let city = nearest_city(lat, lon);
    let name = if f.city.is_empty() { city.map_or("", |c| c.0) } else { f.city.as_str() };
    let country = city.map_or("", |c| c.1);
    let tz = city.map_or_else(|| (lon / 15.0).round() as i64 * 3600, |c| c.4);
    let now_s = now.unix_timestamp();
    let h = mix((now_s as u64 / 600) ^ mix(cell(lat, lon).0 as u64));
    let dt = now_s - (h % 600) as i64;
    let (sunrise, sunset) = match f.is_day {
        Some(true) => (dt - 3 * 3600, dt + 3 * 3600),
        Some(false) => (dt + 3 * 3600, dt + 15 * 3600),
        None => {
            let midnight = now_s - now_s.rem_euclid(86_400);
            let mut noon = midnight + 43_200 - (lon * 240.0) as i64;
            if noon - now_s > 43_200 {
                noon -= 86_400;
            } else if now_s - noon > 43_200 {
                noon += 86_400;
            }
            (noon - 6 * 3600 - 300, noon + 6 * 3600 + 600)
        }
    };
    let day = (sunrise..sunset).contains(&dt);
    let temp = |c: f64| {
        let t = match units {
            "metric" => c,
            "imperial" => c * 9.0 / 5.0 + 32.0,
            _ => c + 273.15,
        };
        (t * 100.0).round() / 100.0
    };
    let speed = |ms: f64| {
        let s = if units == "imperial" { ms * 2.236_936 } else { ms };
        (s * 100.0).round() / 100.0
    };
    let description = if thai {
        CONDITIONS.iter().find(|c| c.0 == f.condition_id).map_or(f.description.as_str(), |c| c.3)
    } else {
        f.description.as_str()
    };
    let feels = f.temp_c + (f64::from(f.humidity) - 50.0) / 12.0;
    let clouds = match f.condition_id {
        800 => 0,
        801 => 20,
        802 => 40,
        803 => 75,
        _ => 100,
    };
    let mut body = json!({
        "coord": { "lon": lon, "lat": lat },
        "weather": [{ "id": f.condition_id, "main": f.main, "description": description, "icon": icon(f.condition_id, day) }],
        "base": "stations",
        "main": {
            "temp": temp(f.temp_c),
            "feels_like": temp(feels),
            "temp_min": temp(f.temp_c - 1.2),
            "temp_max": temp(f.temp_c + 0.9),
            "pressure": 1008,
            "humidity": f.humidity,
            "sea_level": 1008,
            "grnd_level": 1006,
        },
        "visibility": if f.rain_1h.is_some() || f.condition_id >= 700 && f.condition_id < 800 { 6000 } else { 10000 },
        "wind": { "speed": speed(f.wind_speed), "deg": (h % 360) },
        "clouds": { "all": clouds },
        "dt": dt,
        "sys": { "type": 2, "id": 2_000_000 + (h % 90_000), "country": country, "sunrise": sunrise, "sunset": sunset },
        "timezone": tz,
        "id": 1_600_000 + (h % 100_000),
        "name": name,
        "cod": 200,
    });
    if let Some(mm) = f.rain_1h {
        body["rain"] = json!({ "1h": mm });
    }
    if f.wind_speed > 4.0 {
        body["wind"]["gust"] = json!(speed(f.wind_speed * 1.6));
    }
    body
}
