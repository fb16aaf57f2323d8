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
        (name = "status-links", description = "Public status links: the music status of one brand or venue under an unguessable URL (admins only)"),
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

/// Adds to every operation the error answers the edge can give whatever the handler does: 401,
/// 403 and 429 from the access table, 400 for ids and query strings that do not parse, 400, 413,
/// 415 and 422 for JSON bodies, and 404 for paths that name a resource. Each uses the error body.
pub fn complete_responses(doc: &mut utoipa::openapi::OpenApi) {
    use crate::access::{Access, rule_for};
    use axum::http::Method;
    for (path, item) in &mut doc.paths.paths {
        let operations = [
            (Method::GET, &mut item.get),
            (Method::POST, &mut item.post),
            (Method::PUT, &mut item.put),
            (Method::PATCH, &mut item.patch),
            (Method::DELETE, &mut item.delete),
        ];
        for (method, op) in operations {
            let Some(op) = op.as_mut() else { continue };
            let mut add = |status: &str, why: &str| {
                op.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(why));
            };
            match rule_for(&method, path) {
                Some(Access::Member { .. }) => {
                    add("401", "Not signed in, or the access token is invalid, expired or revoked.");
                    add("403", "The member's role may not do this, or an admin has yet to enrol a second factor.");
                    add("429", "Too many requests from this member or address; see Retry-After.");
                }
                Some(Access::Public) if !crate::access::is_webhook(path) => {
                    add("429", "Too many requests from this address; see Retry-After.");
                }
                _ => {}
            }
            let has_query = op.parameters.as_ref().is_some_and(|ps| {
                ps.iter().any(|p| {
                    matches!(p, utoipa::openapi::RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
                })
            });
            if path.contains('{') || has_query {
                add("400", "An id in the path or a query parameter does not parse; `fields` names it.");
            }
            if path.contains('{') {
                add("404", "Nothing with this id.");
            }
            if op.request_body.is_some() {
                add("400", "The body is not valid JSON.");
                add("413", "The body is larger than the limit.");
                add("415", "The body is not sent as application/json.");
                add("422", "A field is missing, of the wrong type or out of range; `fields` names each.");
            }
        }
    }
}

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::to_value(crate::router::api_routes().1).unwrap_or_default()
    }

    #[test]
    fn request_bodies_state_what_the_server_requires() {
        let doc = doc();
        let venue = &doc["components"]["schemas"]["VenueInput"];
        let required: Vec<&str> =
            venue["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        assert!(required.contains(&"name") && required.contains(&"timezone"), "{venue:#}");
        assert_eq!(venue["properties"]["name"]["minLength"], 1, "{venue:#}");
        assert!(
            venue["properties"]["timezone"]["enum"].as_array().is_some_and(|z| z.iter().any(|z| z == "Asia/Bangkok"))
        );
        let volume = &doc["components"]["schemas"]["VolumeRequest"]["properties"]["volume"];
        assert_eq!((volume["minimum"].as_i64(), volume["maximum"].as_i64()), (Some(0), Some(16)), "{volume:#}");
    }

    #[test]
    fn every_operation_lists_the_error_answers_of_its_access_rule() {
        let doc = doc();
        let venues = &doc["paths"]["/api/v1/venues/{id}"]["put"]["responses"];
        for status in ["400", "401", "403", "404", "413", "415", "422", "429"] {
            assert!(venues.get(status).is_some(), "PUT /venues/{{id}} lacks {status}");
        }
        assert!(doc["paths"]["/api/v1/webhooks/line"]["post"]["responses"].get("401").is_some());
        assert!(doc["paths"]["/api/v1/webhooks/line"]["post"]["responses"].get("429").is_none());
    }
}
