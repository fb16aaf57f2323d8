//! WhatsApp's customer-service window: free-form messages may be sent for 24 hours after the
//! venue last wrote; outside it only approved templates. Our own messages never reopen it.

use time::{Duration, OffsetDateTime};

pub const WHATSAPP_WINDOW: Duration = Duration::hours(24);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceWindow {
    Open { closes_at: OffsetDateTime },
    Closed,
}

impl ServiceWindow {
    pub fn at(last_inbound_at: Option<OffsetDateTime>, now: OffsetDateTime) -> ServiceWindow {
        match last_inbound_at {
            Some(t) if now < t + WHATSAPP_WINDOW => ServiceWindow::Open { closes_at: t + WHATSAPP_WINDOW },
            _ => ServiceWindow::Closed,
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, ServiceWindow::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_window_closes_exactly_24_hours_after_the_last_inbound_message() {
        let t = datetime!(2026-11-26 10:00 UTC);
        assert!(ServiceWindow::at(Some(t), t + Duration::hours(23) + Duration::minutes(59)).is_open());
        assert!(!ServiceWindow::at(Some(t), t + Duration::hours(24)).is_open());
        assert!(!ServiceWindow::at(None, t).is_open());
    }
}
