//! Browser journeys in headless Chromium, driven through chromedriver.
