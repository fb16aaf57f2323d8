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

/// Says of every free-text string in the document (one with no pattern, enumeration or format of
/// its own) that it holds no NUL character: PostgreSQL's text cannot, so the server refuses a body
/// carrying one (422) and never answers with one.
pub fn forbid_nul(doc: &mut utoipa::openapi::OpenApi) {
    if let Some(components) = doc.components.as_mut() {
        for schema in components.schemas.values_mut() {
            no_nul(schema);
        }
    }
    for item in doc.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            for p in op.parameters.iter_mut().flatten() {
                if let utoipa::openapi::RefOr::T(p) = p
                    && let Some(schema) = p.schema.as_mut()
                {
                    no_nul(schema);
                }
            }
            for response in op.responses.responses.values_mut() {
                if let utoipa::openapi::RefOr::T(response) = response {
                    for content in response.content.values_mut() {
                        if let utoipa::openapi::RefOr::T(content) = content
                            && let Some(schema) = content.schema.as_mut()
                        {
                            no_nul(schema);
                        }
                    }
                }
            }
            if let Some(utoipa::openapi::RefOr::T(body)) = op.request_body.as_mut() {
                for content in body.content.values_mut() {
                    if let utoipa::openapi::RefOr::T(content) = content
                        && let Some(schema) = content.schema.as_mut()
                    {
                        no_nul(schema);
                    }
                }
            }
        }
    }
}

fn no_nul(schema: &mut utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema, SchemaType, Type};
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            let is_string = match &o.schema_type {
                SchemaType::Type(t) => *t == Type::String,
                SchemaType::Array(ts) => ts.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if is_string && o.pattern.is_none() && o.enum_values.is_none() && o.format.is_none() {
                o.pattern = Some("^[^\\x00]*$".to_owned());
            }
            for p in o.properties.values_mut() {
                no_nul(p);
            }
            if let Some(AdditionalProperties::RefOr(p)) = o.additional_properties.as_deref_mut() {
                no_nul(p);
            }
            if let Some(Schema::Object(names)) = o.property_names.as_deref_mut()
                && names.pattern.is_none()
                && names.enum_values.is_none()
            {
                names.pattern = Some("^[^\\x00]*$".to_owned());
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                no_nul(items);
            }
        }
        Schema::OneOf(o) => o.items.iter_mut().for_each(no_nul),
        Schema::AllOf(o) => o.items.iter_mut().for_each(no_nul),
        Schema::AnyOf(o) => o.items.iter_mut().for_each(no_nul),
        _ => {}
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

    fn titles(schema: &Value, key: &str) -> Vec<String> {
        schema[key].as_array().into_iter().flatten().filter_map(|a| a["title"].as_str().map(str::to_owned)).collect()
    }

    #[test]
    fn bodies_with_alternatives_state_each_one() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(titles(&schemas["AssignBody"], "oneOf"), ["a member", "the round robin, or nobody"]);
        let member = &schemas["AssignBody"]["oneOf"][0];
        assert_eq!(member["properties"]["auto"]["enum"], serde_json::json!([false]), "{member:#}");
        assert_eq!(member["additionalProperties"], false);
        assert_eq!(titles(&schemas["PostMessage"], "oneOf"), ["text", "a WhatsApp template"]);
        assert_eq!(schemas["PostMessage"]["oneOf"][1]["properties"]["private"]["enum"], serde_json::json!([false]));
        assert_eq!(
            titles(&schemas["ContactInput"], "oneOf"),
            ["a WhatsApp contact", "a LINE contact", "an email contact"]
        );
        let line = &schemas["ContactInput"]["oneOf"][1];
        assert!(line["required"].as_array().is_some_and(|r| r.contains(&"line_user_id".into())), "{line:#}");
        assert_eq!(titles(&schemas["MaintenanceRequest"], "anyOf"), ["a venue", "a zone"]);
        for name in ["AssignBody", "PostMessage", "ContactInput", "MaintenanceRequest", "CampaignInput"] {
            let s = &schemas[name];
            assert!(s["examples"].as_array().is_some_and(|e| !e.is_empty()) || s.get("example").is_some(), "{name}");
        }
    }

    #[test]
    fn the_campaign_body_states_its_field_constraints() {
        let doc = doc();
        let c = &doc["components"]["schemas"]["CampaignInput"];
        let required: Vec<&str> = c["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for f in ["name", "type", "channel", "message_template"] {
            assert!(required.contains(&f), "{f} not required: {c:#}");
        }
        let p = &c["properties"];
        assert_eq!((p["name"]["minLength"].as_u64(), p["name"]["maxLength"].as_u64()), (Some(1), Some(255)));
        assert_eq!(p["message_template"]["maxLength"], 4096);
        assert_eq!(p["channel_fallback"]["uniqueItems"], true);
        assert_eq!(p["target_venues"]["maxItems"], 50_000);
        assert_eq!(
            (p["reply_window_hours"]["minimum"].as_i64(), p["reply_window_hours"]["maximum"].as_i64()),
            (Some(1), Some(720))
        );
        assert!(p["contacts"]["pattern"].as_str().is_some_and(|r| r.contains("role:")), "{:#}", p["contacts"]);
        assert!(p["send_at_local"]["type"].as_array().is_some_and(|t| t.contains(&"null".into())));
        let text = doc["paths"]["/api/v1/campaigns"]["post"]["description"].as_str().unwrap_or_default();
        assert!(text.contains("target_venues") && text.contains("scheduled_at"), "{text}");
    }

    /// Every string in the document without a pattern, enumeration or format of its own.
    fn free_strings(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                let string = o
                    .get("type")
                    .is_some_and(|t| t == "string" || t.as_array().is_some_and(|a| a.contains(&"string".into())));
                if string && !["pattern", "enum", "format", "const"].iter().any(|k| o.contains_key(*k)) {
                    out.push(at.to_owned());
                }
                for (k, child) in o {
                    if k != "examples" && k != "example" {
                        free_strings(child, &format!("{at}/{k}"), out);
                    }
                }
            }
            Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| free_strings(c, &format!("{at}/{i}"), out)),
            _ => {}
        }
    }

    #[test]
    fn no_string_in_the_document_may_hold_a_nul() {
        let doc = doc();
        let mut free = Vec::new();
        free_strings(&doc["components"], "#/components", &mut free);
        free_strings(&doc["paths"], "#/paths", &mut free);
        // Response bodies of other media types (CSV, files) are text the server makes itself.
        free.retain(|at| !at.contains("/content/text/csv") && !at.contains("/content/application/octet-stream"));
        assert!(free.is_empty(), "strings that may hold a NUL: {free:#?}");
    }

    #[test]
    fn the_campaign_comparison_requires_its_grouping() {
        let doc = doc();
        let params =
            doc["paths"]["/api/v1/campaigns/analytics"]["get"]["parameters"].as_array().cloned().unwrap_or_default();
        let group = params.iter().find(|p| p["name"] == "group").cloned().unwrap_or_default();
        assert_eq!(group["required"], true, "{group:#}");
        assert_eq!(group["schema"]["enum"], serde_json::json!(["template", "country", "brand", "channel"]));
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
