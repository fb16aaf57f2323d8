//! The OpenAPI document. Paths come from the handlers' annotations through the router itself
//! (utoipa-axum), so a route cannot exist undocumented.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "BMA Social API",
        description = "Operations platform of a background-music provider: venues and their sound zones, the team, monitoring, messaging. Errors always have the body {\"error\": {\"code\", \"message\", \"request_id\", \"fields\"?}}.",
        version = "1"
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in, tokens, two-factor enrolment"),
        (name = "team", description = "Team members and invitations"),
        (name = "venues", description = "Venues, contacts, opening hours, CSV import"),
        (name = "zones", description = "Sound zones"),
        (name = "monitoring", description = "Zone checks and history"),
        (name = "control", description = "Remote control of a zone's player"),
        (name = "conversations", description = "The inbox: conversations, replies, notes, assignment, surveys"),
        (name = "webhooks", description = "Signed deliveries from WhatsApp, LINE and the inbound-mail provider"),
        (name = "campaigns", description = "Campaigns to venues: audience, templates with variables, sending exactly once, the delivery funnel"),
        (name = "analytics", description = "Satisfaction and conversation figures"),
        (name = "admin", description = "Audit log and background jobs"),
        (name = "system", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}
