//! Campaigns: the list (status, channel, counts), a campaign's page with its live funnel
//! (queued, sent, delivered, read, replied, failed, opted out — swapped in over the event
//! stream on every campaign or delivery event, no polling), its audience, the controls its
//! status allows (send, pause, resume, cancel, duplicate, test send), its recipients and their
//! CSV. Every handler calls `app::campaigns`, as `/api/v1/campaigns` does; the form is in `form.rs`.

mod form;

use crate::error::{PortalError, PortalResult};
use crate::forms::{Pager, page_of};
use crate::layout::{Chrome, render};
use crate::session::{Visit, see_other};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{Method, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bma_app::AppContext;
use bma_app::campaigns::{self as svc, Analytics, AudiencePreview, Funnel};
use bma_app::events::{CHANNEL, Incoming};
use bma_domain::campaign::{CampaignAction, CampaignStatus};
use bma_store::campaigns::{Campaign, Recipient};
use bma_web::AppState;
use futures_util::{Stream, StreamExt, stream};
use serde::Deserialize;
use std::convert::Infallible;
use uuid::Uuid;

const LIST_API: &str = "/api/v1/campaigns";
const ONE_API: &str = "/api/v1/campaigns/{id}";
const ANALYTICS_API: &str = "/api/v1/campaigns/{id}/analytics";
const RECIPIENTS_API: &str = "/api/v1/campaigns/{id}/recipients";
const CSV_API: &str = "/api/v1/campaigns/{id}/recipients.csv";
const PER_PAGE: u32 = 25;
const RECIPIENTS_PER_PAGE: u32 = 50;

#[derive(Deserialize, Default)]
struct ListQuery {
    page: Option<u32>,
    #[serde(default)]
    status: String,
}

/// A campaign of the list with its funnel.
pub struct Row {
    pub c: Campaign,
    pub funnel: Funnel,
    pub recipients: i64,
}

#[derive(Template)]
#[template(path = "campaigns/list.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    statuses: Vec<(String, String, bool)>,
    pager: Pager,
    can_create: bool,
}

async fn list(State(state): State<AppState>, visit: Visit, Query(q): Query<ListQuery>) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, LIST_API)?;
    let ctx = &state.ctx;
    let status = CampaignStatus::parse(&q.status);
    let at = page_of(q.page, PER_PAGE);
    let (campaigns, total) = svc::list(ctx, status, at.limit(), at.offset()).await?;
    let mut rows = Vec::with_capacity(campaigns.len());
    for c in campaigns {
        let a = svc::analytics(ctx, c.id).await?;
        rows.push(Row { c, funnel: a.funnel, recipients: a.recipients });
    }
    let chrome = Chrome::new(&visit, "campaigns-title", "/campaigns");
    let statuses = CampaignStatus::ALL
        .iter()
        .map(|st| (st.as_str().to_owned(), chrome.tk("campaigns-status-", st.as_str()), Some(*st) == status))
        .collect();
    let pager = Pager::new("/campaigns", &[("status", q.status.clone())], at, total);
    render(&ListPage { c: chrome, rows, statuses, pager, can_create: s.can(&Method::POST, LIST_API) })
}

#[derive(Template)]
#[template(path = "campaigns/funnel.html")]
struct FunnelFragment<'a> {
    c: &'a Chrome,
    a: &'a Analytics,
}

/// The controls the member's role and the campaign's status allow.
pub struct Controls {
    pub edit: bool,
    pub send: bool,
    pub pause: bool,
    pub resume: bool,
    pub cancel: bool,
    pub duplicate: bool,
    pub test: bool,
}

impl Controls {
    /// The post-only controls: allowed, the action (its path), its label.
    pub fn buttons(&self) -> Vec<(bool, &'static str, &'static str)> {
        vec![
            (self.send, "send", "campaigns-send"),
            (self.pause, "pause", "campaigns-pause"),
            (self.resume, "resume", "campaigns-resume"),
            (self.cancel, "cancel", "campaigns-cancel"),
            (self.duplicate, "duplicate", "campaigns-duplicate"),
        ]
    }
}

#[derive(Template)]
#[template(path = "campaigns/detail.html")]
struct DetailPage {
    c: Chrome,
    camp: Campaign,
    a: Analytics,
    audience: Option<AudiencePreview>,
    recipients: Vec<Recipient>,
    pager: Pager,
    can: Controls,
    can_csv: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    page: Option<u32>,
    #[serde(default)]
    done: String,
}

/// Messages shown after a control was used (`?done=`).
const DONE: [&str; 7] = ["sent", "paused", "resumed", "cancelled", "duplicated", "tested", "refused"];

async fn detail(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<Uuid>,
    Query(q): Query<DetailQuery>,
) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, ONE_API)?;
    let ctx = &state.ctx;
    let camp = svc::get(ctx, id).await?;
    let a = if s.can(&Method::GET, ANALYTICS_API) {
        svc::analytics(ctx, id).await?
    } else {
        return Err(PortalError::Forbidden);
    };
    let at = page_of(q.page, RECIPIENTS_PER_PAGE);
    let recipients = if s.can(&Method::GET, RECIPIENTS_API) {
        svc::recipients(ctx, id, at.limit(), at.offset()).await?
    } else {
        Vec::new()
    };
    let editable = camp.status.after(CampaignAction::Edit).is_some();
    let audience = if editable { Some(svc::audience(ctx, id).await?) } else { None };
    let write = |action: &str| s.can(&Method::POST, &format!("/api/v1/campaigns/{{id}}/{action}"));
    let can = Controls {
        edit: editable && s.can(&Method::PUT, ONE_API),
        send: write("send") && camp.status.after(CampaignAction::Send).is_some(),
        pause: write("pause") && camp.status.after(CampaignAction::Pause).is_some(),
        resume: write("resume") && camp.status.after(CampaignAction::Resume).is_some(),
        cancel: write("cancel") && camp.status.after(CampaignAction::Cancel).is_some(),
        duplicate: write("duplicate"),
        test: write("test") && audience.as_ref().is_some_and(|p| !p.sample.is_empty()),
    };
    let c = Chrome::new(&visit, "campaigns-detail-title", "/campaigns");
    let notice = DONE.iter().find(|d| **d == q.done).map(|d| c.tk("campaigns-done-", d));
    let pager = Pager::new(&format!("/campaigns/{id}"), &[], at, a.recipients);
    render(&DetailPage { can_csv: s.can(&Method::GET, CSV_API), c, camp, a, audience, recipients, pager, can, notice })
}

/// One of the controls, through the same service call as its API route.
async fn act(state: &AppState, visit: &Visit, id: Uuid, action: &str) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, &format!("/api/v1/campaigns/{{id}}/{action}"))?;
    let (ctx, actor) = (&state.ctx, visit.actor());
    let result = match action {
        "send" => svc::send::start(ctx, &actor, id).await.map(|_| id),
        "pause" => svc::change(ctx, &actor, id, CampaignAction::Pause).await.map(|_| id),
        "resume" => svc::change(ctx, &actor, id, CampaignAction::Resume).await.map(|_| id),
        "cancel" => svc::change(ctx, &actor, id, CampaignAction::Cancel).await.map(|_| id),
        "duplicate" => svc::duplicate(ctx, &actor, id).await.map(|c| c.id),
        _ => return Err(PortalError::NotFound),
    };
    let done = match action {
        "send" => "sent",
        "pause" => "paused",
        "resume" => "resumed",
        "cancel" => "cancelled",
        _ => "duplicated",
    };
    match result {
        Ok(to) => Ok(see_other(&format!("/campaigns/{to}?done={done}"))),
        Err(bma_app::Error::Conflict { .. } | bma_app::Error::Invalid(_)) => {
            Ok(see_other(&format!("/campaigns/{id}?done=refused")))
        }
        Err(e) => Err(e.into()),
    }
}

async fn control(
    State(state): State<AppState>,
    visit: Visit,
    Path((id, action)): Path<(Uuid, String)>,
) -> PortalResult<Response> {
    act(&state, &visit, id, &action).await
}

#[derive(Deserialize)]
struct TestForm {
    venue_id: Uuid,
}

async fn test_send(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<Uuid>,
    Form(f): Form<TestForm>,
) -> PortalResult<Response> {
    visit.member_allowed(&Method::POST, "/api/v1/campaigns/{id}/test")?;
    svc::test_send(&state.ctx, &visit.actor(), id, f.venue_id).await?;
    Ok(see_other(&format!("/campaigns/{id}?done=tested")))
}

async fn recipients_csv(State(state): State<AppState>, visit: Visit, Path(id): Path<Uuid>) -> PortalResult<Response> {
    visit.member_allowed(&Method::GET, CSV_API)?;
    let body = svc::recipients_csv(&state.ctx, id).await?;
    let disposition = format!("attachment; filename=\"campaign-{id}.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

/// Whether an event may move this campaign's funnel: its own progress, a delivery or read
/// receipt (`message.status`), or a reply on a conversation (where the recipients' messages live).
fn moves_the_funnel(e: &Incoming, id: Uuid) -> bool {
    match e.kind.as_str() {
        "campaign.progress" => e.json.contains(&id.to_string()),
        k => k.starts_with("conversation.") || k == "message.status",
    }
}

async fn funnel_event(ctx: &AppContext, visit: &Visit, id: Uuid) -> Option<Event> {
    let a = svc::analytics(ctx, id).await.map_err(|e| tracing::warn!(error = %e, "live funnel not rebuilt")).ok()?;
    let c = Chrome::new(visit, "campaigns-detail-title", "/campaigns");
    FunnelFragment { c: &c, a: &a }.render().ok().map(|h| Event::default().event("funnel").data(h))
}

async fn live(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<Uuid>,
) -> PortalResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    visit.member_allowed(&Method::GET, ANALYTICS_API)?;
    let ctx = state.ctx.clone();
    let feed = ctx.kv.pubsub.subscribe(CHANNEL).await.map_err(|e| PortalError::Internal(anyhow::anyhow!("{e}")))?;
    let changes = feed.filter_map(move |raw| {
        let show = moves_the_funnel(&Incoming::parse(&raw), id);
        async move { show.then_some(()) }
    });
    let events = stream::once(async {}).chain(changes).filter_map(move |()| {
        let (ctx, visit) = (ctx.clone(), visit.clone());
        async move { funnel_event(&ctx, &visit, id).await.map(Ok) }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(form::create))
        .route("/campaigns/new", get(form::new_form))
        .route("/campaigns/audience", post(form::audience))
        .route("/campaigns/{id}", get(detail).post(form::update))
        .route("/campaigns/{id}/edit", get(form::edit_form))
        .route("/campaigns/{id}/test", post(test_send))
        .route("/campaigns/{id}/recipients.csv", get(recipients_csv))
        .route("/campaigns/{id}/do/{action}", post(control))
        .route("/live/campaigns/{id}", get(live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_its_own_progress_or_a_conversation_event_moves_a_funnel() {
        let id = Uuid::new_v4();
        let own = Incoming::parse(&format!(r#"{{"type":"campaign.progress","id":"{id}"}}"#));
        let other = Incoming::parse(&format!(r#"{{"type":"campaign.progress","id":"{}"}}"#, Uuid::new_v4()));
        let delivery = Incoming::parse(r#"{"type":"message.status","count":1}"#);
        let zone = Incoming::parse(r#"{"type":"zone.changed"}"#);
        assert!(moves_the_funnel(&own, id) && moves_the_funnel(&delivery, id));
        assert!(!moves_the_funnel(&other, id) && !moves_the_funnel(&zone, id));
    }
}
