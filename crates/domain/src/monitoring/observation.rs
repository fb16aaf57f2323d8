//! What one check of a sound zone saw, reduced to one value. Soundtrack describes a zone with
//! several overlapping signals (`online`, `isPaired`, `playback.state`, `playback.volume`,
//! `subscription.state`, `status.code`); the rest of monitoring reasons about this single
//! [`Observation`], so the precedence between those signals is decided here and only here.
//!
//! "Offline" does not mean "silent": a player with the offline-playback entitlement keeps playing
//! its cache, which is [`Observation::OfflineCached`] and counts as music playing. A check that
//! failed (API error, timeout) is [`Observation::Unknown`] and says nothing about the zone.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    Playing,
    /// The player is offline but plays its cached music.
    OfflineCached,
    Offline,
    Paused,
    Muted,
    Unpaired,
    SubscriptionExpired,
    /// The check itself failed (API error, timeout): no evidence either way.
    Unknown,
}

crate::sql::text_column!(Observation, Observation::parse);

impl Observation {
    pub const ALL: [Observation; 8] = [
        Observation::Playing,
        Observation::OfflineCached,
        Observation::Offline,
        Observation::Paused,
        Observation::Muted,
        Observation::Unpaired,
        Observation::SubscriptionExpired,
        Observation::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Observation::Playing => "playing",
            Observation::OfflineCached => "offline_cached",
            Observation::Offline => "offline",
            Observation::Paused => "paused",
            Observation::Muted => "muted",
            Observation::Unpaired => "unpaired",
            Observation::SubscriptionExpired => "subscription_expired",
            Observation::Unknown => "unknown",
        }
    }

    /// The inverse of [`Observation::as_str`], ignoring surrounding space and ASCII case.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|o| o.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether music is audible: playing, live or from the offline cache.
    pub fn is_healthy(self) -> bool {
        matches!(self, Observation::Playing | Observation::OfflineCached)
    }

    /// What an alert about this observation would be about; `None` when music plays or nothing
    /// is known.
    pub fn problem(self) -> Option<Problem> {
        match self {
            Observation::Offline => Some(Problem::Silent),
            Observation::Paused => Some(Problem::Paused),
            Observation::Muted => Some(Problem::Muted),
            Observation::Unpaired => Some(Problem::Unpaired),
            Observation::SubscriptionExpired => Some(Problem::SubscriptionExpired),
            Observation::Playing | Observation::OfflineCached | Observation::Unknown => None,
        }
    }
}

/// What a zone alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Offline without cached music.
    Silent,
    Paused,
    Muted,
    Unpaired,
    SubscriptionExpired,
}

impl Problem {
    pub const ALL: [Problem; 5] =
        [Problem::Silent, Problem::Paused, Problem::Muted, Problem::Unpaired, Problem::SubscriptionExpired];

    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Silent => "silent",
            Problem::Paused => "paused",
            Problem::Muted => "muted",
            Problem::Unpaired => "unpaired",
            Problem::SubscriptionExpired => "subscription_expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

/// Derives the observation from Soundtrack fields as the client reads them (`SoundZone.online`,
/// `isPaired`, `playback.state`, `playback.volume` 0–16, `subscription.state`, `status.code`;
/// strings compared ignoring ASCII case). Precedence, first match wins:
///
/// 1. subscription expired: `subscription.state` EXPIRED or INACTIVE, or `status.code`
///    SUBSCRIPTION_EXPIRED, SUBSCRIPTION_INACTIVE or INACTIVE (CANCELLED and PAUSED
///    subscriptions are judged by what the player does: a cancelled one plays until its end);
/// 2. unpaired: not `isPaired`, playback state `unpaired`, or code NOT_PAIRED, UNPAIRED, NOT_SETUP;
/// 3. offline: not `online`, playback state `offline`, or code PLAYER_DISCONNECTED; it is
///    [`Observation::OfflineCached`] when the playback state still says `playing`;
/// 4. paused: playback state `paused`;
/// 5. muted: volume 0 or code PLAYER_MUTED;
/// 6. otherwise playing, including players that report no playback state (`not_supported`).
pub fn classify(
    online: bool,
    is_paired: bool,
    playback_state: Option<&str>,
    volume: Option<u8>,
    subscription_state: Option<&str>,
    status_code: Option<&str>,
) -> Observation {
    let one_of =
        |value: Option<&str>, set: &[&str]| value.is_some_and(|v| set.iter().any(|s| v.trim().eq_ignore_ascii_case(s)));
    let state = |s: &str| one_of(playback_state, &[s]);
    let code = |set: &[&str]| one_of(status_code, set);

    if one_of(subscription_state, &["EXPIRED", "INACTIVE"])
        || code(&["SUBSCRIPTION_EXPIRED", "SUBSCRIPTION_INACTIVE", "INACTIVE"])
    {
        Observation::SubscriptionExpired
    } else if !is_paired || state("unpaired") || code(&["NOT_PAIRED", "UNPAIRED", "NOT_SETUP"]) {
        Observation::Unpaired
    } else if !online || state("offline") || code(&["PLAYER_DISCONNECTED"]) {
        if state("playing") { Observation::OfflineCached } else { Observation::Offline }
    } else if state("paused") {
        Observation::Paused
    } else if volume == Some(0) || code(&["PLAYER_MUTED"]) {
        Observation::Muted
    } else {
        Observation::Playing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(online: bool, paired: bool, state: &str, volume: u8) -> Observation {
        classify(online, paired, Some(state), Some(volume), Some("ACTIVE"), Some("ALL_OK"))
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_rejected() {
        for o in Observation::ALL {
            assert_eq!(Observation::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_value(o).ok(), Some(serde_json::json!(o.as_str())));
        }
        for p in Problem::ALL {
            assert_eq!(Problem::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).ok(), Some(serde_json::json!(p.as_str())));
        }
        assert_eq!(Observation::parse(" Offline_Cached "), Some(Observation::OfflineCached));
        assert_eq!(Observation::parse("stopped"), None);
        assert_eq!(Problem::parse(""), None);
    }

    #[test]
    fn only_playing_and_cached_playback_count_as_music() {
        let healthy: Vec<_> = Observation::ALL.into_iter().filter(|o| o.is_healthy()).collect();
        assert_eq!(healthy, [Observation::Playing, Observation::OfflineCached]);
    }

    #[test]
    fn every_unhealthy_known_observation_names_a_problem_and_the_others_none() {
        for o in Observation::ALL {
            let expect_problem = !o.is_healthy() && o != Observation::Unknown;
            assert_eq!(o.problem().is_some(), expect_problem, "{o:?}");
        }
        assert_eq!(Observation::Offline.problem(), Some(Problem::Silent));
    }

    #[test]
    fn a_healthy_online_zone_is_playing() {
        assert_eq!(zone(true, true, "playing", 8), Observation::Playing);
        assert_eq!(classify(true, true, Some("not_supported"), None, None, None), Observation::Playing);
        assert_eq!(classify(true, true, None, None, None, Some("ALL_OK")), Observation::Playing);
    }

    #[test]
    fn an_offline_player_still_playing_its_cache_is_offline_cached_not_silent() {
        assert_eq!(zone(false, true, "playing", 8), Observation::OfflineCached);
        assert_eq!(zone(false, true, "offline", 8), Observation::Offline);
        assert_eq!(
            classify(false, true, None, None, Some("ACTIVE"), Some("PLAYER_DISCONNECTED")),
            Observation::Offline
        );
        assert_eq!(
            classify(true, true, Some("paused"), Some(5), None, Some("PLAYER_DISCONNECTED")),
            Observation::Offline
        );
    }

    #[test]
    fn an_expired_subscription_outranks_every_other_signal() {
        assert_eq!(
            classify(false, false, Some("paused"), Some(0), Some("EXPIRED"), Some("NOT_PAIRED")),
            Observation::SubscriptionExpired
        );
        assert_eq!(zone(true, true, "playing", 8), Observation::Playing);
        assert_eq!(
            classify(true, true, Some("playing"), Some(8), Some("ACTIVE"), Some("subscription_inactive")),
            Observation::SubscriptionExpired
        );
        assert_eq!(classify(true, true, Some("playing"), Some(8), Some("CANCELLED"), None), Observation::Playing);
    }

    #[test]
    fn unpaired_outranks_offline_which_outranks_paused_which_outranks_muted() {
        assert_eq!(zone(false, false, "paused", 0), Observation::Unpaired);
        assert_eq!(classify(true, true, Some("unpaired"), None, None, None), Observation::Unpaired);
        assert_eq!(classify(true, true, Some("playing"), Some(8), None, Some("NOT_PAIRED")), Observation::Unpaired);
        assert_eq!(zone(false, true, "paused", 0), Observation::Offline);
        assert_eq!(zone(true, true, "paused", 0), Observation::Paused);
        assert_eq!(zone(true, true, "playing", 0), Observation::Muted);
        assert_eq!(classify(true, true, Some("PLAYING"), Some(9), None, Some("player_muted")), Observation::Muted);
    }
}
