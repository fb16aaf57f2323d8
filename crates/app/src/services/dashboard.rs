//! The operations dashboard: what the support team and managers look at all day, in independent
//! sections (fleet, alerts, conversations, response times, messages, satisfaction, uptime,
//! campaigns), each one struct filled by one query on the analytics read pool, all run at once
//! and each cached on its own. A new section is a new field and one more future in [`build`].
//!
//! "Today" is the UTC day of the moment the dashboard is made, up to that moment.

use crate::campaigns::Funnel;
use crate::services::uptime::Seconds;
use crate::{AppContext, Result};
use bma_domain::analytics::{AlertAge, FleetState, Trend};
use bma_domain::campaign::{CampaignStatus, ChannelChoice};
use bma_domain::contact::Channel;
use bma_domain::monitoring::Severity;
use bma_store::dashboard as store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// The whole dashboard as of `generated_at`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dashboard {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Start of "today": midnight UTC of `generated_at`'s day.
    #[serde(with = "time::serde::rfc3339")]
    pub today_since: OffsetDateTime,
    pub fleet: FleetSection,
    pub alerts: AlertsSection,
    pub conversations: ConversationsSection,
    pub response_times: ResponseTimesSection,
    pub messages: MessagesSection,
    pub satisfaction: SatisfactionSection,
    pub uptime: UptimeSection,
    pub campaigns: CampaignsSection,
}

/// Zones per state. The fleet is every live zone (neither it nor its venue archived) linked to
/// a Soundtrack player; its state comes from its latest observation: `playing` (music heard,
/// online or from the player's offline cache), `silent` (the player answers but is paused,
/// muted or its subscription expired), `offline` (no player answers, or none is paired),
/// `unknown` (never observed, or the last check failed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateCounts {
    pub zones: i64,
    pub playing: i64,
    pub silent: i64,
    pub offline: i64,
    pub unknown: i64,
}

impl StateCounts {
    pub fn add(&mut self, state: FleetState, n: i64) {
        self.zones += n;
        *match state {
            FleetState::Playing => &mut self.playing,
            FleetState::Silent => &mut self.silent,
            FleetState::Offline => &mut self.offline,
            FleetState::Unknown => &mut self.unknown,
        } += n;
    }
}

/// The zones of one brand or one country (`key` null: venues with none set).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateGroup {
    pub key: Option<String>,
    #[serde(flatten)]
    pub counts: StateCounts,
}

/// A venue with zones silent or offline.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VenueStates {
    pub venue_id: uuid::Uuid,
    pub name: String,
    #[serde(flatten)]
    pub counts: StateCounts,
}

/// The fleet now: totals, the same counts by brand and by country (ordered by key, none first),
/// and the venues with problems: those with a zone silent or offline, most such zones first (then
/// by name), at most [`PROBLEM_VENUES`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FleetSection {
    pub total: StateCounts,
    pub by_brand: Vec<StateGroup>,
    pub by_country: Vec<StateGroup>,
    pub venues_with_problems: Vec<VenueStates>,
}

/// How many venues with problems the dashboard lists.
pub const PROBLEM_VENUES: usize = 50;

/// Open alerts of one severity by age (now − when the alert was opened; each lower bound
/// inclusive): under 1 hour, 1–24 hours, 1–7 days, 7 days or more.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeverityAlerts {
    pub severity: Severity,
    pub open: i64,
    pub under_one_hour: i64,
    pub one_to_twenty_four_hours: i64,
    pub one_to_seven_days: i64,
    pub seven_days_or_more: i64,
}

/// Alerts not yet resolved, every severity listed (info, warning, critical) even at zero.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertsSection {
    pub open: i64,
    pub by_severity: Vec<SeverityAlerts>,
    /// When the oldest open alert was opened; null with none open.
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest_opened_at: Option<OffsetDateTime>,
}

/// Conversations now. `open` counts every conversation not closed: `with_people` (status open),
/// `with_bot` (pending: the bot holds it) and `snoozed`. `unassigned`: with people but assigned to
/// no member. `waiting`: not closed, with a venue message nobody (person or bot) has answered yet;
/// `longest_wait_seconds` is now − the oldest such unanswered message (null: nobody waits).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationsSection {
    pub open: i64,
    pub with_people: i64,
    pub with_bot: i64,
    pub snoozed: i64,
    pub unassigned: i64,
    pub waiting: i64,
    pub longest_wait_seconds: Option<i64>,
}

pub use store::ResponseTimes as ResponseTimesSection;

/// Messages exchanged with venues today on one channel: `inbound` from venues, `outbound` to
/// them (team, bot, notices, surveys); private notes are not messages to anyone and are left out.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelCount {
    pub channel: Channel,
    pub inbound: i64,
    pub outbound: i64,
}

/// Messages today, every channel listed (whatsapp, line, email) even at zero.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessagesSection {
    pub inbound: i64,
    pub outbound: i64,
    pub by_channel: Vec<ChannelCount>,
}

/// Survey answers received in the last `days` days (now − days to now), and how the average
/// moved from the `days` days before that. `satisfied_share`: the share of 4s and 5s.
/// `change`: average − previous average; `trend`: up, down, or flat when the change is under
/// 0.05 either way; both null unless both periods have answers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SatisfactionWindow {
    pub days: i64,
    pub answers: i64,
    pub average: Option<f64>,
    pub satisfied_share: Option<f64>,
    pub previous_answers: i64,
    pub previous_average: Option<f64>,
    pub change: Option<f64>,
    pub trend: Option<Trend>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SatisfactionSection {
    pub last_7_days: SatisfactionWindow,
    pub last_30_days: SatisfactionWindow,
}

/// Uptime of the fleet over the last `hours` whole hours and the current hour so far (from
/// `since`, on the hour, to the dashboard's time), as `/api/v1/analytics/uptime` defines it: only
/// opening hours count, maintenance is excluded, time without evidence is unknown;
/// `uptime_percentage` = up / (up + down) × 100, null when nothing was measured. Whole UTC days
/// and hours are read from the uptime rollups where they exist, the rest from the status log.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UptimeWindow {
    pub hours: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
    pub up_seconds: i64,
    pub down_seconds: i64,
    pub unknown_seconds: i64,
    pub excluded_seconds: i64,
    pub uptime_percentage: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UptimeSection {
    pub last_24_hours: UptimeWindow,
    pub last_7_days: UptimeWindow,
    pub last_30_days: UptimeWindow,
}

/// A campaign in flight and its funnel so far, as the campaign's own analytics count it: each
/// recipient once, in the stage it stands at (`queued`: not yet accepted by a channel; `sent`:
/// accepted, no further news; `delivered`; `read`; `replied`: the contact wrote back within the
/// campaign's reply window; `failed`; `opted_out` before sending; `skipped`: no reachable contact,
/// or cancelled before it went). `recipients`: everyone written down for it when sending started
/// (zero while scheduled).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CampaignInFlight {
    pub id: uuid::Uuid,
    pub name: String,
    pub channel: ChannelChoice,
    pub status: CampaignStatus,
    pub recipients: i64,
    pub funnel: Funnel,
}

/// Campaigns now and today. `in_flight`: campaigns scheduled, sending or paused, oldest first.
/// Today's totals are over every campaign (including those finished or cancelled since
/// midnight): `sent_today` counts campaign messages handed to a channel today, `delivered_today`
/// and `replied_today` those of them delivered (or further) and replied to, as they stand now.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CampaignsSection {
    pub in_flight: Vec<CampaignInFlight>,
    pub sent_today: i64,
    pub delivered_today: i64,
    pub replied_today: i64,
}

/// Campaign statuses counted as in flight.
pub const IN_FLIGHT: [CampaignStatus; 3] = [CampaignStatus::Scheduled, CampaignStatus::Sending, CampaignStatus::Paused];

/// The dashboard as of the context's clock, every section read concurrently from the read pool
/// through the query cache. Each section is cached on its own under the scopes whose writes
/// change it, so a zone changing state rebuilds the fleet section and nothing else; sections of
/// "today" are keyed by the day. `generated_at` is when the oldest section shown was made.
pub async fn build(ctx: &AppContext) -> Result<Dashboard> {
    assemble(ctx, Fetch::Cached).await
}

/// Every section made afresh and cached, so that members find them made: the scheduler runs it
/// more often than entries expire ([`RefreshDashboard`]).
pub async fn refresh(ctx: &AppContext) -> Result<Dashboard> {
    assemble(ctx, Fetch::Afresh).await
}

/// Whether a section may come from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    Cached,
    Afresh,
}

async fn assemble(ctx: &AppContext, fetch: Fetch) -> Result<Dashboard> {
    use crate::cache::{ALERTS, CAMPAIGNS, FLEET, INBOX, SCORES, UPTIME, VENUE_LISTS};
    let now = ctx.clock.now();
    let today_since = now.replace_time(time::Time::MIDNIGHT);
    let day = today_since.date();
    let s = |scopes, name| Section { ctx, scopes, name, day, fetch };
    let (fleet, alerts, conversations, response_times, messages, satisfaction, uptime, campaigns) = tokio::try_join!(
        s(&[FLEET, VENUE_LISTS], "fleet").get(|| fleet(ctx)),
        s(&[ALERTS], "alerts").get(|| alerts(ctx, now)),
        s(&[INBOX], "conversations").get(|| conversations(ctx, now)),
        s(&[INBOX], "response_times").get(|| response_times(ctx, today_since, now)),
        s(&[INBOX], "messages").get(|| messages(ctx, today_since, now)),
        s(&[SCORES], "satisfaction").get(|| satisfaction(ctx, now)),
        s(&[UPTIME, VENUE_LISTS], "uptime").get(|| uptime(ctx, now)),
        s(&[CAMPAIGNS], "campaigns").get(|| campaigns(ctx, today_since, now)),
    )?;
    let made =
        [fleet.0, alerts.0, conversations.0, response_times.0, messages.0, satisfaction.0, uptime.0, campaigns.0];
    Ok(Dashboard {
        generated_at: made.into_iter().min().unwrap_or(now),
        today_since,
        fleet: fleet.1,
        alerts: alerts.1,
        conversations: conversations.1,
        response_times: response_times.1,
        messages: messages.1,
        satisfaction: satisfaction.1,
        uptime: uptime.1,
        campaigns: campaigns.1,
    })
}

/// The periodic job that keeps the dashboard made ([`refresh`]).
pub struct RefreshDashboard;

#[async_trait::async_trait]
impl crate::jobs::Handler for RefreshDashboard {
    type Job = crate::jobs::tasks::DashboardRefreshJob;

    async fn run(&self, ctx: &AppContext, _job: Self::Job) -> anyhow::Result<()> {
        let d = refresh(ctx).await?;
        tracing::debug!(zones = d.fleet.total.zones, "dashboard made afresh");
        Ok(())
    }
}

/// A section as cached: the figures and when they were made.
#[derive(Serialize, Deserialize)]
struct Made<T> {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    figures: T,
}

/// One section of the dashboard, where it is cached.
struct Section<'a> {
    ctx: &'a AppContext,
    scopes: &'a [&'a str],
    name: &'a str,
    day: time::Date,
    fetch: Fetch,
}

impl Section<'_> {
    /// The section from the query cache (or made now, and cached, when absent, unreadable or
    /// asked for afresh), with when it was made.
    async fn get<T, F, Fut>(self, compute: F) -> Result<(OffsetDateTime, T)>
    where
        T: Serialize + serde::de::DeserializeOwned,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let ctx = self.ctx;
        let key = format!("dashboard:{}:{}", self.name, self.day);
        let make = || async {
            let made = Made { at: ctx.clock.now(), figures: compute().await? };
            serde_json::to_string(&made).map_err(|e| crate::Error::Internal(e.into()))
        };
        let json = match self.fetch {
            Fetch::Cached => crate::cache::json_over(ctx, self.scopes, &key, make).await?,
            Fetch::Afresh => crate::cache::refresh_over(ctx, self.scopes, &key, make).await?,
        };
        match serde_json::from_str::<Made<T>>(&json) {
            Ok(made) => Ok((made.at, made.figures)),
            Err(e) => {
                tracing::warn!(error = %e, section = self.name, "cached dashboard section unreadable; made afresh");
                Ok((ctx.clock.now(), compute().await?))
            }
        }
    }
}

async fn fleet(ctx: &AppContext) -> Result<FleetSection> {
    let mut section = FleetSection::default();
    let mut brands: BTreeMap<Option<String>, StateCounts> = BTreeMap::new();
    let mut countries: BTreeMap<Option<String>, StateCounts> = BTreeMap::new();
    let mut venues: BTreeMap<uuid::Uuid, VenueStates> = BTreeMap::new();
    for row in store::fleet_now(&ctx.read_db).await? {
        let state = FleetState::of(row.observation);
        section.total.add(state, row.zones);
        brands.entry(row.brand).or_default().add(state, row.zones);
        countries.entry(row.country).or_default().add(state, row.zones);
        venues
            .entry(row.venue_id)
            .or_insert_with(|| VenueStates {
                venue_id: row.venue_id,
                name: row.venue_name,
                counts: StateCounts::default(),
            })
            .counts
            .add(state, row.zones);
    }
    let troubled = |v: &VenueStates| v.counts.silent + v.counts.offline;
    let mut problems: Vec<VenueStates> = venues.into_values().filter(|v| troubled(v) > 0).collect();
    problems.sort_by(|a, b| troubled(b).cmp(&troubled(a)).then_with(|| a.name.cmp(&b.name)));
    problems.truncate(PROBLEM_VENUES);
    section.venues_with_problems = problems;
    let groups = |m: BTreeMap<Option<String>, StateCounts>| {
        m.into_iter().map(|(key, counts)| StateGroup { key, counts }).collect::<Vec<_>>()
    };
    section.by_brand = groups(brands);
    section.by_country = groups(countries);
    Ok(section)
}

async fn alerts(ctx: &AppContext, now: OffsetDateTime) -> Result<AlertsSection> {
    let rows = store::open_alerts(&ctx.read_db, now, AlertAge::BOUNDS).await?;
    let by_severity: Vec<SeverityAlerts> = Severity::ALL
        .iter()
        .map(|s| {
            let r = rows.iter().find(|r| r.severity == *s);
            let n = |f: fn(&store::OpenAlertCount) -> i64| r.map_or(0, f);
            let (a, b, c, d) = (
                n(|r| r.under_one_hour),
                n(|r| r.one_to_twenty_four_hours),
                n(|r| r.one_to_seven_days),
                n(|r| r.seven_days_or_more),
            );
            SeverityAlerts {
                severity: *s,
                open: a + b + c + d,
                under_one_hour: a,
                one_to_twenty_four_hours: b,
                one_to_seven_days: c,
                seven_days_or_more: d,
            }
        })
        .collect();
    Ok(AlertsSection {
        open: by_severity.iter().map(|s| s.open).sum(),
        by_severity,
        oldest_opened_at: rows.iter().filter_map(|r| r.oldest_opened_at).min(),
    })
}

async fn conversations(ctx: &AppContext, now: OffsetDateTime) -> Result<ConversationsSection> {
    let c = store::conversations_now(&ctx.read_db).await?;
    Ok(ConversationsSection {
        open: c.with_people + c.with_bot + c.snoozed,
        with_people: c.with_people,
        with_bot: c.with_bot,
        snoozed: c.snoozed,
        unassigned: c.unassigned,
        waiting: c.waiting,
        longest_wait_seconds: c.oldest_waiting_since.map(|t| (now - t).whole_seconds().max(0)),
    })
}

async fn response_times(ctx: &AppContext, from: OffsetDateTime, to: OffsetDateTime) -> Result<ResponseTimesSection> {
    Ok(store::response_times(&ctx.read_db, from, to).await?)
}

async fn messages(ctx: &AppContext, from: OffsetDateTime, to: OffsetDateTime) -> Result<MessagesSection> {
    let rows = store::messages_by_channel(&ctx.read_db, from, to).await?;
    let by_channel: Vec<ChannelCount> = [Channel::Whatsapp, Channel::Line, Channel::Email]
        .into_iter()
        .map(|channel| {
            let r = rows.iter().find(|r| r.channel == channel);
            ChannelCount { channel, inbound: r.map_or(0, |r| r.inbound), outbound: r.map_or(0, |r| r.outbound) }
        })
        .collect();
    Ok(MessagesSection {
        inbound: by_channel.iter().map(|c| c.inbound).sum(),
        outbound: by_channel.iter().map(|c| c.outbound).sum(),
        by_channel,
    })
}

async fn satisfaction(ctx: &AppContext, now: OffsetDateTime) -> Result<SatisfactionSection> {
    let (d7, d30) = (Duration::days(7), Duration::days(30));
    let periods = [(now - d7, now), (now - d7 * 2, now - d7), (now - d30, now), (now - d30 * 2, now - d30)];
    let a = store::answers_in(&ctx.read_db, &periods).await?;
    let get = |i: usize| a.get(i).cloned().unwrap_or_default();
    Ok(SatisfactionSection { last_7_days: window(7, get(0), get(1)), last_30_days: window(30, get(2), get(3)) })
}

#[allow(clippy::cast_precision_loss)]
fn window(days: i64, now: store::Answers, before: store::Answers) -> SatisfactionWindow {
    let moved = Trend::between(before.average, now.average);
    SatisfactionWindow {
        days,
        answers: now.answers,
        average: now.average,
        satisfied_share: (now.answers > 0).then(|| now.satisfied as f64 / now.answers as f64),
        previous_answers: before.answers,
        previous_average: before.average,
        change: moved.map(|m| m.0),
        trend: moved.map(|m| m.1),
    }
}

async fn uptime(ctx: &AppContext, now: OffsetDateTime) -> Result<UptimeSection> {
    use crate::services::uptime::{per_zone, sums_over};
    use bma_store::dashboard::{GroupScope, Rolled};
    // Windows start on the hour, so that each is whole days and hours of rollups plus the current
    // hour so far, computed from the status log once for all three.
    let hour = bma_domain::monitoring::RollupPeriod::Hour.floor(now);
    let hours = [24, 24 * 7, 24 * 30];
    let ranges = hours.map(|h| (hour - Duration::hours(h), hour));
    let (rolled, current) = tokio::try_join!(
        sums_over(&ctx.read_db, Rolled::Groups(GroupScope::Fleet), &ranges, |_| String::new()),
        async {
            let mut s = Seconds::default();
            if hour < now {
                for z in per_zone(&ctx.read_db, hour, now).await? {
                    s.add(&z.uptime);
                }
            }
            Ok(s)
        }
    )?;
    let window = |i: usize| {
        let mut s = rolled.get(i).and_then(|sums| sums.get("")).copied().unwrap_or_default();
        s.plus(current);
        UptimeWindow {
            hours: hours[i],
            since: ranges[i].0,
            up_seconds: s.up,
            down_seconds: s.down,
            unknown_seconds: s.unknown,
            excluded_seconds: s.excluded,
            uptime_percentage: s.percentage(),
        }
    };
    Ok(UptimeSection { last_24_hours: window(0), last_7_days: window(1), last_30_days: window(2) })
}

async fn campaigns(ctx: &AppContext, from: OffsetDateTime, to: OffsetDateTime) -> Result<CampaignsSection> {
    let mut section = CampaignsSection::default();
    for row in store::campaigns(&ctx.read_db, &IN_FLIGHT, from, to).await? {
        section.sent_today += row.handed_in_range;
        section.delivered_today += row.delivered_in_range;
        section.replied_today += row.replied_in_range;
        if !IN_FLIGHT.contains(&row.status) {
            continue;
        }
        if section.in_flight.last().is_none_or(|c| c.id != row.id) {
            section.in_flight.push(CampaignInFlight {
                id: row.id,
                name: row.name,
                channel: row.channel,
                status: row.status,
                recipients: 0,
                funnel: Funnel::default(),
            });
        }
        if let (Some(c), Some(stage)) = (section.in_flight.last_mut(), row.stage) {
            c.recipients += row.recipients;
            c.funnel.add(stage, row.recipients);
        }
    }
    Ok(section)
}
