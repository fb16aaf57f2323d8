//! The satisfaction survey: sent once when a conversation closes (WhatsApp buttons, or the
//! approved `csat_survey` template outside the 24-hour window; LINE quick replies; a numbered
//! list by email), answered with a 1–5 score, and a score of 2 or less is sent to the team.

use super::outbound::{self, Author, Choice, OutboundBody};
use crate::jobs::{self, tasks::EmailJob};
use crate::{AppContext, Result};
use bma_domain::contact::Channel;
use bma_domain::messaging::{Score, SenderType, ServiceWindow};
use bma_store::messaging as store;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

pub const TEMPLATE: &str = "csat_survey";
const QUESTION: &str = "How satisfied are you with our help? / คุณพอใจกับการบริการของเรามากแค่ไหน";
const LABELS: [&str; 5] = ["1 Very poor", "2 Poor", "3 Okay", "4 Good", "5 Excellent"];

fn choices() -> Vec<Choice> {
    LABELS
        .iter()
        .zip(1_i64..)
        .filter_map(|(title, n)| Score::new(n).ok().map(|s| Choice { id: s.choice_id(), title: (*title).to_owned() }))
        .collect()
}

/// Sends the survey of a conversation being closed, once. Returns whether it was sent.
pub async fn send_on_close(ctx: &AppContext, db: &mut PgConnection, conversation_id: Uuid) -> Result<bool> {
    let Some(t) = store::survey_target(&mut *db, conversation_id).await? else { return Ok(false) };
    if t.opted_out == Some(true) || t.last_inbound_at.is_none() {
        return Ok(false);
    }
    if !store::claim_survey(&mut *db, conversation_id).await? {
        return Ok(false);
    }
    let window_open = ServiceWindow::at(t.last_inbound_at, OffsetDateTime::now_utc()).is_open();
    let body = if t.channel == Channel::Whatsapp && !window_open {
        OutboundBody::Template {
            name: TEMPLATE.into(),
            language: "en_US".into(),
            params: vec![t.contact_name.clone().unwrap_or_else(|| "there".into())],
            quick_replies: choices().into_iter().map(|c| c.id).collect(),
            text: QUESTION.into(),
        }
    } else {
        OutboundBody::Choices { text: QUESTION.into(), choices: choices() }
    };
    outbound::queue(ctx, db, conversation_id, Author::System, &body).await?;
    Ok(true)
}

/// Stores an answer, notes it on the conversation, and tells the team about a low score.
pub async fn record_answer(
    ctx: &AppContext,
    db: &mut PgConnection,
    conversation_id: Uuid,
    score: Score,
    comment: Option<&str>,
) -> Result<()> {
    if !store::record_score(&mut *db, conversation_id, score.get(), comment).await? {
        return Ok(());
    }
    outbound::note(db, conversation_id, None, SenderType::System, &format!("Satisfaction score: {} of 5", score.get()))
        .await?;
    if score.is_low() {
        let (venue, assignee): (Option<String>, Option<Uuid>) = sqlx::query_as(
            "SELECT v.name, c.survey_member_id FROM conversations c LEFT JOIN venues v ON v.id = c.venue_id \
             WHERE c.id = $1",
        )
        .bind(conversation_id)
        .fetch_one(&mut *db)
        .await?;
        let to: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM team_members WHERE active AND (role IN ('admin', 'manager') OR id = $1)",
        )
        .bind(assignee)
        .fetch_all(&mut *db)
        .await?;
        let venue = venue.unwrap_or_else(|| "an unknown sender".into());
        for email in to {
            let job = EmailJob {
                to: email,
                subject: format!("Low satisfaction score ({} of 5) from {venue}", score.get()),
                text: format!(
                    "{venue} rated a closed conversation {} of 5.{}\n\nConversation: {}/conversations/{conversation_id}",
                    score.get(),
                    comment.map(|c| format!("\n\nTheir comment: {c}")).unwrap_or_default(),
                    ctx.config.public_url,
                ),
            };
            jobs::enqueue(ctx, &mut *db, &job, jobs::Options::default()).await?;
        }
        tracing::warn!(%conversation_id, score = score.get(), "low satisfaction score; team notified");
    }
    Ok(())
}
