//! The inbox: conversations in lists by status (mine, unassigned, waiting, bot, snoozed,
//! closed), the thread with its messages, delivery ticks and the WhatsApp 24-hour window, and
//! the team's moves (reply, template outside the window, note, assign, hand to the bot, snooze,
//! close). Every move calls `bma_app::messaging::conversations` like
//! `crates/web/src/api/conversations.rs`; the list and the open thread stay live over the event
//! stream. Canned replies are a short list in the catalogue (`inbox-canned-*`), per language.

use crate::error::{PortalError, PortalResult};
use crate::layout::{Chrome, render};
use crate::pages::monitoring::query_string;
use crate::session::{Session, Visit, see_other};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::Method;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bma_app::AppContext;
use bma_app::messaging::conversations::{self as svc, Assignee};
use bma_app::messaging::outbound::OutboundBody;
use bma_domain::contact::Channel;
use bma_domain::messaging::{ConversationStatus, ServiceWindow};
use bma_store::messaging::{self as store, Conversation, ConversationFilter, Message};
use bma_web::AppState;
use futures_util::{Stream, StreamExt, stream};
use serde::Deserialize;
use std::convert::Infallible;
use time::OffsetDateTime;
use uuid::Uuid;

const READ_API: &str = "/api/v1/conversations";
const ONE_API: &str = "/api/v1/conversations/{id}";
const WRITE_API: &str = "/api/v1/conversations/{id}/messages";
const TEMPLATES_API: &str = "/api/v1/messaging/templates";
const LISTED: i64 = 50;
const MESSAGES_SHOWN: i64 = 200;
/// How many canned replies the catalogue holds (`inbox-canned-1` …).
const CANNED: usize = 4;

/// The inbox's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum List {
    #[default]
    Mine,
    Unassigned,
    Waiting,
    Bot,
    Snoozed,
    Closed,
}

impl List {
    const ALL: [List; 6] = [List::Mine, List::Unassigned, List::Waiting, List::Bot, List::Snoozed, List::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            List::Mine => "mine",
            List::Unassigned => "unassigned",
            List::Waiting => "waiting",
            List::Bot => "bot",
            List::Snoozed => "snoozed",
            List::Closed => "closed",
        }
    }

    fn filter(self, me: Uuid) -> ConversationFilter {
        let status = |s| ConversationFilter { status: Some(s), ..ConversationFilter::default() };
        match self {
            List::Mine => ConversationFilter { assignee: Some(me), ..status(ConversationStatus::Open) },
            List::Unassigned => ConversationFilter { unassigned: true, ..status(ConversationStatus::Open) },
            List::Waiting => ConversationFilter { waiting: true, ..ConversationFilter::default() },
            List::Bot => status(ConversationStatus::Pending),
            List::Snoozed => status(ConversationStatus::Snoozed),
            List::Closed => status(ConversationStatus::Closed),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
struct InboxParams {
    #[serde(default)]
    list: List,
    done: Option<String>,
    failed: Option<String>,
}

/// The WhatsApp 24-hour window of a conversation (always open on other channels).
fn window_open(c: &Conversation) -> (bool, Option<OffsetDateTime>) {
    match c.channel {
        Channel::Line | Channel::Email => (true, None),
        Channel::Whatsapp => match ServiceWindow::at(c.last_inbound_at, OffsetDateTime::now_utc()) {
            ServiceWindow::Open { closes_at } => (true, Some(closes_at)),
            ServiceWindow::Closed => (false, None),
        },
    }
}

/// A conversation's list entry.
#[derive(Template)]
#[template(path = "inbox/list.html")]
struct ListFragment<'a> {
    c: &'a Chrome,
    list: List,
    rows: &'a [Conversation],
    total: i64,
    open: Option<Uuid>,
    longest: Option<OffsetDateTime>,
}

impl ListFragment<'_> {
    fn who(&self, c: &Conversation) -> String {
        c.venue_name.clone().or_else(|| c.contact_name.clone()).unwrap_or_else(|| c.external_id.clone())
    }

    fn is_open(&self, id: &Uuid) -> bool {
        self.open.as_ref() == Some(id)
    }

    fn href(&self, id: &Uuid) -> String {
        format!("/inbox/{id}?{}", query_string([("list", self.list.as_str())]))
    }
}

/// The open thread's messages.
#[derive(Template)]
#[template(path = "inbox/messages.html")]
struct MessagesFragment<'a> {
    c: &'a Chrome,
    messages: &'a [Message],
}

#[derive(Template)]
#[template(path = "inbox/page.html")]
struct InboxPage {
    c: Chrome,
    list: List,
    list_html: String,
    thread: Option<Thread>,
    live: String,
    notice: Option<String>,
    error: Option<String>,
}

impl InboxPage {
    fn lists(&self) -> [List; 6] {
        List::ALL
    }

    /// The keyboard shortcuts (`portal.js` acts on them) and the message saying what each does.
    fn keys(&self) -> [(&'static [&'static str], &'static str); 6] {
        [
            (&["r"], "inbox-key-reply"),
            (&["n"], "inbox-key-note"),
            (&["a"], "inbox-key-assign"),
            (&["c"], "inbox-key-close"),
            (&["j", "k"], "inbox-key-next"),
            (&["?"], "inbox-key-help"),
        ]
    }
}

/// The open conversation, what may be done with it, and its rendered messages.
struct Thread {
    conv: Conversation,
    messages_html: String,
    window_open: bool,
    window_closes: Option<OffsetDateTime>,
    can_write: bool,
    templates: Vec<bma_web::api::conversations::TemplateInfo>,
    members: Vec<(Uuid, String)>,
    canned: Vec<String>,
}

struct Loaded {
    rows: Vec<Conversation>,
    total: i64,
    longest: Option<OffsetDateTime>,
}

async fn load_list(ctx: &AppContext, s: &Session, list: List) -> PortalResult<Loaded> {
    let waiting = ConversationFilter { waiting: true, ..ConversationFilter::default() };
    let shown = list.filter(s.member_id());
    let ((rows, total), (first, _)) = tokio::try_join!(
        store::list_conversations(&ctx.db, &shown, LISTED, 0),
        store::list_conversations(&ctx.db, &waiting, 1, 0)
    )?;
    Ok(Loaded { rows, total, longest: first.first().and_then(|c| c.waiting_since) })
}

fn list_html(c: &Chrome, list: List, l: &Loaded, open: Option<Uuid>) -> PortalResult<String> {
    let f = ListFragment { c, list, rows: &l.rows, total: l.total, open, longest: l.longest };
    f.render().map_err(|e| PortalError::Internal(anyhow::anyhow!("template: {e}")))
}

fn messages_html(c: &Chrome, messages: &[Message]) -> PortalResult<String> {
    MessagesFragment { c, messages }.render().map_err(|e| PortalError::Internal(anyhow::anyhow!("template: {e}")))
}

async fn thread(state: &AppState, s: &Session, c: &Chrome, id: Uuid) -> PortalResult<Thread> {
    let ctx = &state.ctx;
    let conv = store::conversation(&ctx.db, id).await?.ok_or(PortalError::NotFound)?;
    let messages = store::messages_of(&ctx.db, id, MESSAGES_SHOWN).await?;
    let (window_open, window_closes) = window_open(&conv);
    let can_write = s.can(&Method::POST, WRITE_API);
    let templates = if can_write && !window_open && s.can(&Method::GET, TEMPLATES_API) {
        bma_web::api::conversations::templates(State(state.clone())).await.map(|j| j.0).unwrap_or_else(|e| {
            tracing::warn!(error = ?e, "templates not listed");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    let members = if can_write {
        let all = bma_store::members::list(&ctx.db).await?;
        all.into_iter().filter(|m| m.active && m.id != s.member_id()).map(|m| (m.id, m.name)).collect()
    } else {
        Vec::new()
    };
    let canned = (1..=CANNED).map(|i| c.t(&format!("inbox-canned-{i}"))).collect();
    Ok(Thread {
        messages_html: messages_html(c, &messages)?,
        conv,
        window_open,
        window_closes,
        can_write,
        templates,
        members,
        canned,
    })
}

async fn page(state: &AppState, visit: &Visit, p: InboxParams, open: Option<Uuid>) -> PortalResult<Response> {
    let s = visit.member_allowed(&Method::GET, READ_API)?;
    if open.is_some() && !s.can(&Method::GET, ONE_API) {
        return Err(PortalError::Forbidden);
    }
    let c = Chrome::new(visit, "inbox-title", "/inbox");
    let l = load_list(&state.ctx, s, p.list).await?;
    let thread = match open {
        Some(id) => Some(thread(state, s, &c, id).await?),
        None => None,
    };
    let mut live = vec![("list", p.list.as_str().to_owned())];
    if let Some(id) = open {
        live.push(("open", id.to_string()));
    }
    let live = format!("/live/inbox?{}", query_string(live.iter().map(|(k, v)| (*k, v.as_str()))));
    let notice = p.done.as_deref().and_then(Move::parse).map(|m| c.t(m.done_message()));
    let error = p.failed.as_deref().and_then(Failure::parse).map(|f| c.t(f.message()));
    let page = InboxPage { list_html: list_html(&c, p.list, &l, open)?, c, list: p.list, thread, live, notice, error };
    render(&page)
}

async fn inbox(State(state): State<AppState>, visit: Visit, Query(p): Query<InboxParams>) -> PortalResult<Response> {
    page(&state, &visit, p, None).await
}

async fn conversation(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<Uuid>,
    Query(p): Query<InboxParams>,
) -> PortalResult<Response> {
    page(&state, &visit, p, Some(id)).await
}

#[derive(Debug, Clone, Default, Deserialize)]
struct LiveParams {
    #[serde(default)]
    list: List,
    open: Option<Uuid>,
}

/// Whether an event of this kind may change a list or a thread.
fn moves_the_inbox(kind: &str) -> bool {
    kind.starts_with("conversation.") || kind.starts_with("message.")
}

/// The list and the open thread, again on every conversation or message event.
async fn live(
    State(state): State<AppState>,
    visit: Visit,
    Query(p): Query<LiveParams>,
) -> PortalResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let s = visit.member_allowed(&Method::GET, READ_API)?.clone();
    let ctx = state.ctx.clone();
    let changes = crate::live::changes(&ctx, s.role(), moves_the_inbox).await?;
    let events = changes.then(move |()| {
        let (ctx, visit, s, p) = (ctx.clone(), visit.clone(), s.clone(), p.clone());
        async move {
            let c = Chrome::new(&visit, "inbox-title", "/inbox");
            let mut out = Vec::new();
            match load_list(&ctx, &s, p.list).await.and_then(|l| list_html(&c, p.list, &l, p.open)) {
                Ok(h) => out.push(Ok(Event::default().event("list").data(h))),
                Err(e) => tracing::warn!(error = %e, "live inbox list not rebuilt"),
            }
            if let Some(id) = p.open {
                let html = match store::messages_of(&ctx.db, id, MESSAGES_SHOWN).await {
                    Ok(m) => messages_html(&c, &m),
                    Err(e) => Err(e.into()),
                };
                match html {
                    Ok(h) => out.push(Ok(Event::default().event("thread").data(h))),
                    Err(e) => tracing::warn!(error = %e, "live thread not rebuilt"),
                }
            }
            stream::iter(out)
        }
    });
    Ok(Sse::new(events.flatten()).keep_alive(KeepAlive::default()))
}

/// The moves on a conversation, named in their form's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Reply,
    Note,
    Template,
    Assign,
    Bot,
    Snooze,
    Close,
}

impl Move {
    const ALL: [Move; 7] =
        [Move::Reply, Move::Note, Move::Template, Move::Assign, Move::Bot, Move::Snooze, Move::Close];

    fn as_str(self) -> &'static str {
        match self {
            Move::Reply => "reply",
            Move::Note => "note",
            Move::Template => "template",
            Move::Assign => "assign",
            Move::Bot => "bot",
            Move::Snooze => "snooze",
            Move::Close => "close",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    fn done_message(self) -> &'static str {
        match self {
            Move::Reply => "inbox-done-reply",
            Move::Note => "inbox-done-note",
            Move::Template => "inbox-done-template",
            Move::Assign => "inbox-done-assign",
            Move::Bot => "inbox-done-bot",
            Move::Snooze => "inbox-done-snooze",
            Move::Close => "inbox-done-close",
        }
    }

    /// The API call whose permission the move needs.
    fn api(self) -> &'static str {
        match self {
            Move::Reply | Move::Note | Move::Template => WRITE_API,
            Move::Assign => "/api/v1/conversations/{id}/assign",
            Move::Bot => "/api/v1/conversations/{id}/bot",
            Move::Snooze => "/api/v1/conversations/{id}/snooze",
            Move::Close => "/api/v1/conversations/{id}/close",
        }
    }
}

/// Why a move did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    WindowClosed,
    Invalid,
    Conflict,
}

impl Failure {
    fn as_str(self) -> &'static str {
        match self {
            Failure::WindowClosed => "window",
            Failure::Invalid => "invalid",
            Failure::Conflict => "conflict",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Failure::WindowClosed, Failure::Invalid, Failure::Conflict].into_iter().find(|f| f.as_str() == s)
    }

    fn message(self) -> &'static str {
        match self {
            Failure::WindowClosed => "inbox-failed-window",
            Failure::Invalid => "inbox-failed-invalid",
            Failure::Conflict => "inbox-failed-conflict",
        }
    }

    fn of(e: bma_app::Error) -> Result<Self, PortalError> {
        match e {
            bma_app::Error::Conflict { code: "whatsapp_window_closed", .. } => Ok(Failure::WindowClosed),
            bma_app::Error::Invalid(_) => Ok(Failure::Invalid),
            bma_app::Error::Conflict { .. } => Ok(Failure::Conflict),
            other => Err(other.into()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct MoveForm {
    #[serde(default)]
    text: String,
    /// `me`, `auto`, `nobody` or a member's id.
    #[serde(default)]
    to: String,
    /// `name|language` of an approved template.
    #[serde(default)]
    template: String,
    /// The template's parameters, one a line.
    #[serde(default)]
    params: String,
    /// Hours to snooze.
    hours: Option<i64>,
    #[serde(default)]
    list: List,
}

const MAX_TEXT: usize = 4096;

fn invalid() -> bma_app::Error {
    bma_app::Error::Invalid(bma_domain::Invalid::one("text", "is required"))
}

async fn act(
    State(state): State<AppState>,
    visit: Visit,
    Path((id, name)): Path<(Uuid, String)>,
    Form(f): Form<MoveForm>,
) -> PortalResult<Response> {
    let m = Move::parse(&name).ok_or(PortalError::NotFound)?;
    let s = visit.member_allowed(&Method::POST, m.api())?;
    let (ctx, actor) = (&state.ctx, visit.actor());
    let text = Some(f.text.trim()).filter(|t| !t.is_empty() && t.chars().count() <= MAX_TEXT);
    let result = match m {
        Move::Reply => match text {
            Some(t) => svc::reply(ctx, &actor, id, &OutboundBody::Text { text: t.to_owned() }).await.map(|_| ()),
            None => Err(invalid()),
        },
        Move::Note => match text {
            Some(t) => svc::add_note(ctx, &actor, id, t).await.map(|_| ()),
            None => Err(invalid()),
        },
        Move::Template => match f.template.split_once('|') {
            Some((name, language)) if !name.is_empty() => {
                let params = f.params.lines().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
                let body = OutboundBody::Template {
                    name: name.to_owned(),
                    language: language.to_owned(),
                    params,
                    quick_replies: vec![],
                    text: format!("[template {name}]"),
                };
                svc::reply(ctx, &actor, id, &body).await.map(|_| ())
            }
            _ => Err(invalid()),
        },
        Move::Assign => {
            let to = match f.to.as_str() {
                "me" => Some(Assignee::Member(s.member_id())),
                "auto" => Some(Assignee::Auto),
                "nobody" => Some(Assignee::Nobody),
                other => Uuid::parse_str(other).ok().map(Assignee::Member),
            };
            match to {
                Some(to) => svc::assign(ctx, &actor, id, to).await.map(|_| ()),
                None => Err(invalid()),
            }
        }
        Move::Bot => svc::hand_to_bot(ctx, &actor, id).await.map(|_| ()),
        Move::Snooze => match f.hours.filter(|h| (1..=24 * 30).contains(h)) {
            Some(h) => {
                svc::snooze(ctx, &actor, id, OffsetDateTime::now_utc() + time::Duration::hours(h)).await.map(|_| ())
            }
            None => Err(invalid()),
        },
        Move::Close => svc::close(ctx, &actor, id).await.map(|_| ()),
    };
    let list = f.list.as_str();
    let to = match result {
        Ok(()) => format!("/inbox/{id}?{}", query_string([("list", list), ("done", m.as_str())])),
        Err(e) => format!("/inbox/{id}?{}", query_string([("list", list), ("failed", Failure::of(e)?.as_str())])),
    };
    Ok(see_other(&to))
}

/// A photo or document a venue sent, through the API's own handler (an attachment, sandboxed).
async fn media(State(state): State<AppState>, visit: Visit, Path(id): Path<Uuid>) -> PortalResult<Response> {
    visit.member_allowed(&Method::GET, "/api/v1/messages/{id}/media")?;
    match bma_web::api::conversations::media(State(state), bma_web::extract::Id(id)).await {
        Ok(r) => Ok(r),
        Err(e) => Ok(e.into_response()),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox))
        .route("/inbox/{id}", get(conversation))
        .route("/inbox/{id}/{move}", post(act))
        .route("/inbox/media/{id}", get(media))
        .route("/live/inbox", get(live))
}
