//! The inbox: conversations with their messages, team replies and private notes, assignment,
//! snooze, close (with its survey), linking an unknown sender, handing back to the bot; the
//! WhatsApp templates a reply outside the 24-hour window must use; media kept from venues.

use super::{Page, Pagination};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json, Query};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bma_app::messaging::conversations::{self as svc, Assignee, Closed};
use bma_app::messaging::outbound::{Choice, OutboundBody};
use bma_domain::Invalid;
use bma_domain::contact::Channel;
use bma_domain::messaging::{ConversationStatus, ServiceWindow};
use bma_domain::page::PageRequest;
use bma_store::messaging::{self as store, Conversation, ConversationFilter, Message};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    #[param(schema_with = crate::api::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::api::schema::per_page)]
    pub per_page: Option<u32>,
    /// open, pending (the bot owns it), snoozed or closed.
    #[param(value_type = Option<bma_domain::messaging::ConversationStatus>)]
    pub status: Option<String>,
    /// whatsapp, line or email.
    #[param(value_type = Option<bma_domain::contact::Channel>)]
    pub channel: Option<String>,
    pub venue_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// Only conversations nobody holds.
    #[serde(default)]
    pub unassigned: bool,
    /// Only conversations where the venue waits for an answer, longest wait first.
    #[serde(default)]
    pub waiting: bool,
    /// Only conversations whose sender matched no venue contact.
    #[serde(default)]
    pub unknown_sender: bool,
}

/// Conversations, newest activity first (or longest waiting first with `waiting=true`).
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Page<Conversation>), (status = 400, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<Conversation>>> {
    let mut inv = Invalid::default();
    let page = inv.absorb(PageRequest::new(q.page, q.per_page));
    let status = q.status.as_deref().and_then(|s| inv.check("status", ConversationStatus::parse(s)));
    let channel = q.channel.as_deref().and_then(|c| inv.check("channel", Channel::parse(c)));
    let Some(page) = page else { return Err(ApiError::invalid_query(inv.0)) };
    if !inv.is_empty() {
        return Err(ApiError::invalid_query(inv.0));
    }
    let filter = ConversationFilter {
        status,
        channel,
        venue_id: q.venue_id,
        assignee: q.assignee_id,
        unassigned: q.unassigned,
        waiting: q.waiting,
        unknown_sender: q.unknown_sender,
    };
    let (data, total) = store::list_conversations(&state.ctx.db, &filter, page.limit(), page.offset()).await?;
    Ok(Json(Page { data, pagination: Pagination::new(page, total) }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Window {
    /// Free-form messages may be sent (always true outside WhatsApp).
    pub open: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closes_at: Option<OffsetDateTime>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// WhatsApp's 24-hour customer-service window.
    pub window: Window,
    /// The latest 200 messages, oldest first. Content is stored as received: escape it.
    pub messages: Vec<Message>,
}

fn window_of(c: &Conversation) -> Window {
    match c.channel {
        Channel::Line | Channel::Email => Window { open: true, closes_at: None },
        Channel::Whatsapp => match ServiceWindow::at(c.last_inbound_at, OffsetDateTime::now_utc()) {
            ServiceWindow::Open { closes_at } => Window { open: true, closes_at: Some(closes_at) },
            ServiceWindow::Closed => Window { open: false, closes_at: None },
        },
    }
}

/// One conversation with its messages.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ConversationDetail), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<ConversationDetail>> {
    let conversation =
        store::conversation(&state.ctx.db, id).await?.ok_or_else(|| ApiError::NotFound("conversation".into()))?;
    let messages = store::messages_of(&state.ctx.db, id, 200).await?;
    Ok(Json(ConversationDetail { window: window_of(&conversation), conversation, messages }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    pub name: String,
    /// e.g. en_US or th.
    pub language: String,
    #[serde(default)]
    pub params: Vec<String>,
}

/// A reply or a note: `text` (not blank), or an approved WhatsApp `template` (never private).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// The text (required unless a template is given).
    pub text: Option<String>,
    /// A private note for the team; never sent to the venue.
    #[serde(default)]
    pub private: bool,
    /// An approved WhatsApp template, required outside the 24-hour window.
    pub template: Option<TemplateRef>,
    /// Buttons or quick replies under the text.
    #[serde(default)]
    pub choices: Vec<Choice>,
}

impl utoipa::PartialSchema for PostMessage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::api::schema::{
            array, boolean, closed_object, exactly, exactly_one_of, non_blank_text, null, or_null, text,
        };
        use utoipa::openapi::Ref;
        let choices = || array(Ref::from_schema_name("Choice"), MAX_CHOICES, false);
        exactly_one_of(
            "A team reply or a private note with `text` (not blank, at most 4096 characters), with up to 10 \
             `choices` (buttons or quick replies) under it; or an approved WhatsApp `template`, which is never \
             private (its `text`, optional, is what the inbox shows).",
            vec![
                closed_object(
                    "text",
                    vec![
                        ("text", non_blank_text(MAX_TEXT).into()),
                        ("private", boolean().into()),
                        ("template", null().into()),
                        ("choices", choices()),
                    ],
                    &["text"],
                ),
                closed_object(
                    "a WhatsApp template",
                    vec![
                        ("template", Ref::from_schema_name("TemplateRef").into()),
                        ("text", or_null(text(MAX_TEXT)).into()),
                        ("private", exactly(false).into()),
                        ("choices", choices()),
                    ],
                    &["template"],
                ),
            ],
            vec![
                serde_json::json!({"text": "The lobby music is back on; thank you for telling us."}),
                serde_json::json!({"text": "Called the venue, waiting for the manager.", "private": true}),
                serde_json::json!({"template": {"name": "music_check", "language": "en_US", "params": ["Lobby"]}}),
            ],
        )
    }
}

impl utoipa::ToSchema for PostMessage {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        use utoipa::{PartialSchema, ToSchema};
        schemas.push((Choice::name().into_owned(), Choice::schema()));
        schemas.push((TemplateRef::name().into_owned(), TemplateRef::schema()));
        <TemplateRef as ToSchema>::schemas(schemas);
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Posted {
    pub message_id: Uuid,
    /// queued (on its way), or note (private, never sent).
    pub status: &'static str,
}

const MAX_TEXT: usize = 4096;
const MAX_CHOICES: usize = 10;

/// A team reply (sent through the conversation's channel) or a private note.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = PostMessage,
    responses((status = 202, body = Posted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "whatsapp_window_closed: send a template"), (status = 422, body = ErrorBody)))]
pub async fn post_message(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<PostMessage>,
) -> ApiResult<Response> {
    let text = body.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let mut inv = Invalid::default();
    if body.text.as_deref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
        inv.push("text", format!("must be at most {MAX_TEXT} characters"));
    }
    if body.choices.len() > MAX_CHOICES {
        inv.push("choices", format!("at most {MAX_CHOICES}"));
    }
    let outbound = match (&body.template, text) {
        (Some(_), _) if body.private => {
            inv.push("template", "a private note cannot be a template");
            None
        }
        (Some(t), text) => Some(OutboundBody::Template {
            name: t.name.clone(),
            language: t.language.clone(),
            params: t.params.clone(),
            quick_replies: vec![],
            text: text.map_or_else(|| format!("[template {}]", t.name), str::to_owned),
        }),
        (None, None) => {
            inv.push("text", "is required");
            None
        }
        (None, Some(t)) if body.choices.is_empty() => Some(OutboundBody::Text { text: t.to_owned() }),
        (None, Some(t)) => Some(OutboundBody::Choices { text: t.to_owned(), choices: body.choices.clone() }),
    };
    let Some(outbound) = outbound.filter(|_| inv.is_empty()) else {
        return Err(ApiError::Validation(inv.0));
    };
    let posted = if body.private {
        let id = svc::add_note(&state.ctx, &actor, id, &outbound.preview()).await?;
        Posted { message_id: id, status: "note" }
    } else {
        let id = svc::reply(&state.ctx, &actor, id, &outbound).await?;
        Posted { message_id: id, status: "queued" }
    };
    Ok((axum::http::StatusCode::ACCEPTED, Json(posted)).into_response())
}

/// Who gets the conversation: `member_id` names a member; without it (or null), `auto: true`
/// picks the next member in the round robin and nothing (or `auto: false`) unassigns. Both at
/// once is refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub member_id: Option<Uuid>,
    #[serde(default)]
    pub auto: bool,
}

impl utoipa::PartialSchema for AssignBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::api::schema::{boolean, closed_object, exactly, exactly_one_of, null, uuid};
        exactly_one_of(
            "Who gets the conversation: a member by id, the next member in the round robin (`auto: true`), or \
             nobody (an empty object, or `member_id: null`). `member_id` and `auto: true` together are refused.",
            vec![
                closed_object(
                    "a member",
                    vec![("member_id", uuid().into()), ("auto", exactly(false).into())],
                    &["member_id"],
                ),
                closed_object(
                    "the round robin, or nobody",
                    vec![("member_id", null().into()), ("auto", boolean().into())],
                    &[],
                ),
            ],
            vec![
                serde_json::json!({"member_id": "0191d0a2-7c4e-7b7e-8d2a-3f1c2b4a5d6e"}),
                serde_json::json!({"auto": true}),
                serde_json::json!({}),
            ],
        )
    }
}

impl utoipa::ToSchema for AssignBody {}

/// Assigns the conversation to a member, to the next member in the round robin, or to nobody.
///
/// A rule against the data, which the body's schema cannot state: `member_id` names an active
/// admin or manager; otherwise a 422 names `member_id`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/assign", tag = "conversations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = AssignBody, responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<AssignBody>,
) -> ApiResult<Json<Conversation>> {
    let to = match (body.member_id, body.auto) {
        (Some(_), true) => return Err(Invalid::one("auto", "give member_id or auto, not both").into()),
        (Some(m), false) => Assignee::Member(m),
        (None, true) => Assignee::Auto,
        (None, false) => Assignee::Nobody,
    };
    Ok(Json(svc::assign(&state.ctx, &actor, id, to).await?))
}

/// Closes the conversation and, the first time, sends the satisfaction survey.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/close", tag = "conversations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Closed), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<Closed>> {
    Ok(Json(svc::close(&state.ctx, &actor, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeBody {
    /// RFC 3339, in the future; a message from the venue wakes the conversation earlier.
    #[schema(format = DateTime, example = "2026-12-24T09:00:00+07:00")]
    pub until: String,
}

/// Snoozes the conversation until a time.
///
/// A rule against the clock, which the body's schema cannot state: `until` must be in the
/// future; otherwise a 422 names `until`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/snooze", tag = "conversations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = SnoozeBody, responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn snooze(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<SnoozeBody>,
) -> ApiResult<Json<Conversation>> {
    let until =
        OffsetDateTime::parse(&body.until, &Rfc3339).map_err(|_| Invalid::one("until", "must be an RFC 3339 time"))?;
    Ok(Json(svc::snooze(&state.ctx, &actor, id, until).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    pub contact_id: Uuid,
}

/// Links an unknown sender's conversation to a venue contact.
///
/// A rule against the data, which the body's schema cannot state: `contact_id` names an existing
/// contact; otherwise a 422 names `contact_id`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/link", tag = "conversations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = LinkBody, responses((status = 200, body = Conversation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn link(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<LinkBody>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(svc::link(&state.ctx, &actor, id, body.contact_id).await?))
}

/// Hands the conversation back to the bot: it answers the venue's next message.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/bot", tag = "conversations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
pub async fn hand_to_bot(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(svc::hand_to_bot(&state.ctx, &actor, id).await?))
}

/// A photo or document a venue sent, as kept after download. Always served as an attachment so
/// a browser never renders it in our origin.
#[utoipa::path(get, path = "/api/v1/messages/{id}/media", tag = "conversations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn media(State(state): State<AppState>, Id(id): Id) -> ApiResult<Response> {
    let (mime, bytes) = store::media_of(&state.ctx.db, id).await?.ok_or_else(|| ApiError::NotFound("media".into()))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    Ok(res)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateInfo {
    pub name: String,
    pub language: String,
    pub category: String,
    pub body: String,
    pub body_params: usize,
}

/// The approved WhatsApp templates, as the WhatsApp Business account lists them.
#[utoipa::path(get, path = "/api/v1/messaging/templates", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = Vec<TemplateInfo>), (status = 503, body = ErrorBody)))]
pub async fn templates(State(state): State<AppState>) -> ApiResult<Json<Vec<TemplateInfo>>> {
    let client = state.ctx.channels.whatsapp.as_ref().ok_or_else(|| ApiError::Unavailable {
        code: "channel_not_configured",
        message: "WhatsApp is not configured".into(),
    })?;
    let list = client.templates().await.map_err(|e| ApiError::Unavailable {
        code: "whatsapp_unavailable",
        message: format!("WhatsApp did not list the templates: {e}"),
    })?;
    Ok(Json(
        list.into_iter()
            .map(|t| TemplateInfo {
                name: t.name,
                language: t.language,
                category: t.category,
                body: t.body,
                body_params: t.body_params,
            })
            .collect(),
    ))
}
