//! Browser journeys in headless Chromium (Debian's `chromium` and `chromium-driver`, installed by
//! `scripts/services.sh ensure_chromium`), driven through chromedriver with fantoccini. Each
//! journey saves screenshots at desk and phone width under `.bma/screenshots/` and runs axe-core
//! on every page it visits, failing on serious or critical violations.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod driver;
mod inbox;
mod journeys;
mod monitoring;
mod pages2;
mod status_links;
