//! Analytics over conversations and survey answers.

use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// How an analytics answer is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Channel,
    Member,
    Venue,
    Brand,
    Country,
    /// By venue contact: the key is the contact's id, for the caller to pseudonymise; never
    /// their name, number or address.
    Contact,
    Day,
    Week,
    Month,
}

/// Whose calendar the days, weeks and months of a grouping follow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PeriodZone {
    /// One IANA time zone (UTC by default; the viewer's, when they name theirs).
    Named(String),
    /// Each conversation's venue's own time zone (UTC for an unknown sender).
    Venue,
}

impl Default for PeriodZone {
    fn default() -> Self {
        PeriodZone::Named("UTC".into())
    }
}

impl PeriodZone {
    /// The value bound as the time-zone parameter.
    fn bound(&self) -> &str {
        match self {
            PeriodZone::Named(tz) => tz,
            PeriodZone::Venue => "UTC",
        }
    }

    /// The SQL time-zone expression over parameter `$n`.
    fn expr(&self, n: usize) -> String {
        match self {
            PeriodZone::Named(_) => format!("${n}::text"),
            PeriodZone::Venue => format!("COALESCE(v.timezone, ${n}::text)"),
        }
    }
}

/// Whether PostgreSQL knows the time zone `name` (a name it does not know fails any query using it).
pub async fn known_time_zone(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<bool> {
    match sqlx::query("SELECT now() AT TIME ZONE $1").bind(name).execute(db).await {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("22023") => Ok(false),
        Err(e) => Err(e),
    }
}

impl GroupBy {
    pub const ALL: [GroupBy; 9] = [
        GroupBy::Channel,
        GroupBy::Member,
        GroupBy::Venue,
        GroupBy::Brand,
        GroupBy::Country,
        GroupBy::Contact,
        GroupBy::Day,
        GroupBy::Week,
        GroupBy::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Channel => "channel",
            GroupBy::Member => "member",
            GroupBy::Venue => "venue",
            GroupBy::Brand => "brand",
            GroupBy::Country => "country",
            GroupBy::Contact => "contact",
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "channel" => GroupBy::Channel,
            "member" => GroupBy::Member,
            "venue" => GroupBy::Venue,
            "brand" => GroupBy::Brand,
            "country" => GroupBy::Country,
            "contact" => GroupBy::Contact,
            "day" => GroupBy::Day,
            "week" => GroupBy::Week,
            "month" => GroupBy::Month,
            _ => return None,
        })
    }

    fn is_period(self) -> bool {
        matches!(self, GroupBy::Day | GroupBy::Week | GroupBy::Month)
    }

    /// (key expression, label expression) over `c` (conversations), `m` (members), `v` (venues),
    /// and `t` (the timestamp being grouped); periods are of the calendar of `tz` (an expression).
    fn sql(self, member_col: &str, tz: &str) -> (String, String) {
        match self {
            GroupBy::Channel => ("c.channel".into(), "c.channel".into()),
            GroupBy::Member => (format!("{member_col}::text"), "COALESCE(m.name, 'unassigned')".into()),
            GroupBy::Venue => ("c.venue_id::text".into(), "COALESCE(v.name, 'unknown sender')".into()),
            GroupBy::Brand => ("v.brand".into(), "COALESCE(v.brand, '(none)')".into()),
            GroupBy::Country => ("v.country".into(), "COALESCE(v.country, '(none)')".into()),
            GroupBy::Contact => ("c.contact_id::text".into(), "NULL::text".into()),
            GroupBy::Day | GroupBy::Week | GroupBy::Month => {
                let unit = match self {
                    GroupBy::Day => "day",
                    GroupBy::Week => "week",
                    _ => "month",
                };
                let e = format!("to_char(date_trunc('{unit}', t AT TIME ZONE {tz}), 'YYYY-MM-DD')");
                (e.clone(), e)
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SatisfactionFigures {
    pub surveys_sent: i64,
    pub responses: i64,
    /// responses ÷ surveys sent.
    pub response_rate: Option<f64>,
    /// The share of 4s and 5s among responses.
    pub satisfied_share: Option<f64>,
    pub average: Option<f64>,
    /// Count of each score, 1 to 5.
    pub distribution: [i64; 5],
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SatisfactionGroup {
    pub key: Option<String>,
    pub label: String,
    #[serde(flatten)]
    pub figures: SatisfactionFigures,
}

#[derive(FromRow)]
struct SatisfactionRow {
    key: Option<String>,
    label: Option<String>,
    sent: i64,
    responses: i64,
    s1: i64,
    s2: i64,
    s3: i64,
    s4: i64,
    s5: i64,
}

impl SatisfactionRow {
    #[allow(clippy::cast_precision_loss)]
    fn figures(&self) -> SatisfactionFigures {
        let d = [self.s1, self.s2, self.s3, self.s4, self.s5];
        let weighted: i64 = d.iter().zip(1_i64..).map(|(n, s)| n * s).sum();
        let r = self.responses as f64;
        SatisfactionFigures {
            surveys_sent: self.sent,
            responses: self.responses,
            response_rate: (self.sent > 0).then(|| r / self.sent as f64),
            satisfied_share: (self.responses > 0).then(|| (d[3] + d[4]) as f64 / r),
            average: (self.responses > 0).then(|| weighted as f64 / r),
            distribution: d,
        }
    }
}

/// Surveys sent in `[from, to)` and their answers, overall and by `group`.
pub async fn satisfaction(
    db: impl sqlx::PgExecutor<'_>,
    from: OffsetDateTime,
    to: OffsetDateTime,
    venue: Option<Uuid>,
    group: Option<GroupBy>,
    zone: &PeriodZone,
) -> sqlx::Result<(SatisfactionFigures, Vec<SatisfactionGroup>)> {
    let (key, label) =
        group.map_or(("NULL::text".to_owned(), "'all'".to_owned()), |g| g.sql("c.survey_member_id", &zone.expr(4)));
    let sql = format!(
        "SELECT {key} AS key, {label} AS label, count(*) AS sent, count(s.id) AS responses, \
            count(*) FILTER (WHERE s.score = 1) AS s1, count(*) FILTER (WHERE s.score = 2) AS s2, \
            count(*) FILTER (WHERE s.score = 3) AS s3, count(*) FILTER (WHERE s.score = 4) AS s4, \
            count(*) FILTER (WHERE s.score = 5) AS s5 \
         FROM (SELECT *, survey_sent_at AS t FROM conversations) c \
         LEFT JOIN satisfaction_scores s ON s.conversation_id = c.id \
         LEFT JOIN team_members m ON m.id = c.survey_member_id LEFT JOIN venues v ON v.id = c.venue_id \
         WHERE c.survey_sent_at >= $1 AND c.survey_sent_at < $2 AND ($3::uuid IS NULL OR c.venue_id = $3) \
         GROUP BY 1, 2 ORDER BY 2"
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).bind(venue);
    if group.is_some_and(GroupBy::is_period) {
        q = q.bind(zone.bound().to_owned());
    }
    let rows: Vec<SatisfactionRow> = q.fetch_all(db).await?;
    let mut total =
        SatisfactionRow { key: None, label: None, sent: 0, responses: 0, s1: 0, s2: 0, s3: 0, s4: 0, s5: 0 };
    for r in &rows {
        total.sent += r.sent;
        total.responses += r.responses;
        total.s1 += r.s1;
        total.s2 += r.s2;
        total.s3 += r.s3;
        total.s4 += r.s4;
        total.s5 += r.s5;
    }
    let groups = if group.is_some() {
        rows.iter()
            .map(|r| SatisfactionGroup {
                key: r.key.clone(),
                label: r.label.clone().unwrap_or_default(),
                figures: r.figures(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok((total.figures(), groups))
}

#[derive(Debug, Clone, Default, Serialize, FromRow, utoipa::ToSchema)]
pub struct ConversationFigures {
    /// Conversations started in the range.
    pub conversations: i64,
    pub inbound_messages: i64,
    pub outbound_messages: i64,
    /// Conversations that got a first reply (bot or person).
    pub responded: i64,
    pub avg_first_response_seconds: Option<f64>,
    pub median_first_response_seconds: Option<f64>,
    pub closed: i64,
    pub avg_resolution_seconds: Option<f64>,
    pub median_resolution_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationGroup {
    pub key: Option<String>,
    pub label: String,
    #[serde(flatten)]
    pub figures: ConversationFigures,
}

#[derive(FromRow)]
struct ConversationRow {
    key: Option<String>,
    label: Option<String>,
    /// The row of the whole range, not of a group.
    total: bool,
    #[sqlx(flatten)]
    figures: ConversationFigures,
}

/// Volumes, first-response and resolution times of conversations started in `[from, to)`,
/// overall and by `group`, in one pass over them (the total's medians need every row too).
pub async fn conversation_figures(
    db: impl sqlx::PgExecutor<'_> + Copy,
    from: OffsetDateTime,
    to: OffsetDateTime,
    group: Option<GroupBy>,
    zone: &PeriodZone,
) -> sqlx::Result<(ConversationFigures, Vec<ConversationGroup>)> {
    let ((key, label), head, grouping) = match group {
        Some(g) => (
            g.sql("c.assigned_to", &zone.expr(3)),
            "g.key, g.label, GROUPING(g.key, g.label) = 3 AS total",
            "GROUP BY GROUPING SETS ((), (g.key, g.label))",
        ),
        None => (
            ("NULL::text".to_owned(), "NULL::text".to_owned()),
            "NULL::text AS key, NULL::text AS label, true AS total",
            "",
        ),
    };
    let sql = format!(
        "SELECT {head}, count(*) AS conversations, \
            COALESCE(sum(g.inbound_messages), 0)::bigint AS inbound_messages, \
            COALESCE(sum(g.outbound_messages), 0)::bigint AS outbound_messages, \
            count(g.first_response) AS responded, \
            avg(g.first_response)::float8 AS avg_first_response_seconds, \
            percentile_cont(0.5) WITHIN GROUP (ORDER BY g.first_response)::float8 AS median_first_response_seconds, \
            count(g.resolution) AS closed, \
            avg(g.resolution)::float8 AS avg_resolution_seconds, \
            percentile_cont(0.5) WITHIN GROUP (ORDER BY g.resolution)::float8 AS median_resolution_seconds \
         FROM (SELECT {key} AS key, {label} AS label, c.inbound_messages, c.outbound_messages, \
                      extract(epoch FROM c.first_response_at - c.created_at) AS first_response, \
                      extract(epoch FROM c.closed_at - c.created_at) AS resolution \
               FROM (SELECT *, created_at AS t FROM conversations) c \
               LEFT JOIN team_members m ON m.id = c.assigned_to LEFT JOIN venues v ON v.id = c.venue_id \
               WHERE c.created_at >= $1 AND c.created_at < $2) g \
         {grouping} ORDER BY 3 DESC, 2"
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(from).bind(to);
    if group.is_some_and(GroupBy::is_period) {
        q = q.bind(zone.bound().to_owned());
    }
    let rows: Vec<ConversationRow> = q.fetch_all(db).await?;
    let mut total = ConversationFigures::default();
    let mut groups = Vec::new();
    for r in rows {
        if r.total {
            total = r.figures;
        } else {
            groups.push(ConversationGroup { key: r.key, label: r.label.unwrap_or_default(), figures: r.figures });
        }
    }
    Ok((total, groups))
}
