//! The weather at a venue, cached ten minutes per venue (OpenWeatherMap refreshes no faster),
//! turned into a mood for "change the music" with no style named.

use crate::AppContext;
use bma_integrations::weather::{Mood, Weather, mood_for};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(600);

/// The mood for the venue now, when its location is known and weather is configured.
pub async fn mood(ctx: &AppContext, venue: Uuid) -> Option<Mood> {
    let client = ctx.weather.as_ref()?;
    let (lat, lon, hour) = bma_store::venues::location_and_local_hour(&ctx.db, venue).await.ok()??;
    let key = format!("weather:{venue}");
    let cached =
        ctx.kv.cache.get(&key).await.ok().flatten().and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    let (main, temp_c, is_day) = match cached {
        Some(v) => (
            v["main"].as_str().unwrap_or_default().to_owned(),
            v["temp_c"].as_f64().unwrap_or(28.0),
            v["is_day"].as_bool().unwrap_or(true),
        ),
        None => {
            let w = client
                .current(lat, lon)
                .await
                .map_err(|e| tracing::warn!(error = %e, "weather unavailable; no mood from it"))
                .ok()?;
            let v = json!({"main": w.main, "temp_c": w.temp_c, "is_day": w.is_day});
            let _ = ctx.kv.cache.set(&key, &v.to_string(), TTL).await;
            (w.main, w.temp_c, w.is_day)
        }
    };
    let weather = Weather {
        main,
        description: String::new(),
        temp_c,
        humidity: 0,
        is_day,
        city: String::new(),
        observed_at: time::OffsetDateTime::now_utc(),
    };
    Some(mood_for(&weather, u8::try_from(hour.clamp(0, 23)).unwrap_or(12)))
}
