//! Campaigns through the API: templates and variables checked when saved, audiences resolved
//! with opt-outs and unreachable venues, one message per recipient through the real outbound
//! path (a second send refused with nothing new), the funnel from WhatsApp status webhooks and
//! replies, pause and resume, and who may do what.

use crate::helpers::{Options, TestApp, venue_body};
use crate::webhooks::VENUE_PHONE;
use axum::http::StatusCode;
use bma_app::jobs::{Registry, Worker};
use bma_domain::access::Role;
use bma_fakes::line::{LineFake, LineFakeConfig};
use bma_fakes::whatsapp::{UserMessage, WhatsappFake, WhatsappFakeConfig};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

pub(crate) struct Rig {
    pub(crate) app: TestApp,
    pub(crate) wa: WhatsappFake,
    pub(crate) line: LineFake,
    pub(crate) worker: Worker,
    pub(crate) token: String,
}

pub(crate) async fn rig() -> Rig {
    rig_with(WhatsappFakeConfig::default()).await
}

pub(crate) async fn rig_with(wa_config: WhatsappFakeConfig) -> Rig {
    let wa = WhatsappFake::start(wa_config).await.expect("whatsapp fake");
    let line = LineFake::start(LineFakeConfig::default()).await.expect("line fake");
    let env = crate::webhooks::fake_channels_env(&wa, &line);
    let app = TestApp::with(Options { env, ..Options::default() }).await;
    let base = app.serve().await;
    wa.set_webhook(&format!("{base}/api/v1/webhooks/whatsapp"));
    line.set_webhook(&format!("{base}/api/v1/webhooks/line"));
    let worker = Worker::new(app.ctx.clone(), Registry::standard()).with_backoff_base(Duration::ZERO);
    let token = app.token(Role::Manager).await;
    Rig { app, wa, line, worker, token }
}

impl Rig {
    pub(crate) async fn drain(&self) {
        for _ in 0..20 {
            if self.worker.run_once().await.expect("worker run").is_empty() {
                return;
            }
        }
    }

    /// A venue with `zones` lobby zones, made through the API.
    pub(crate) async fn venue(&self, name: &str, brand: &str, zones: usize) -> Uuid {
        let mut body = venue_body(name);
        body["brand"] = json!(brand);
        let v = self.app.post("/api/v1/venues", Some(&self.token), body).await;
        assert_eq!(v.status, StatusCode::CREATED, "{}", v.text);
        let id = v.body["id"].as_str().expect("a venue id").to_owned();
        for i in 0..zones {
            let z = self
                .app
                .post(
                    &format!("/api/v1/venues/{id}/zones"),
                    Some(&self.token),
                    json!({"name": format!("Zone {i}"), "zone_type": if i == 0 { "lobby" } else { "restaurant" }}),
                )
                .await;
            assert_eq!(z.status, StatusCode::CREATED, "{}", z.text);
        }
        Uuid::parse_str(&id).expect("a venue id")
    }

    pub(crate) async fn contact(&self, venue: Uuid, body: Value) -> Uuid {
        let c = self.app.post(&format!("/api/v1/venues/{venue}/contacts"), Some(&self.token), body).await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
        Uuid::parse_str(c.body["id"].as_str().expect("a contact id")).expect("a contact id")
    }

    pub(crate) async fn create(&self, body: Value) -> String {
        let c = self.app.post("/api/v1/campaigns", Some(&self.token), body).await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
        c.body["id"].as_str().expect("a campaign id").to_owned()
    }

    pub(crate) async fn post(&self, path: &str) -> crate::helpers::Response {
        self.app.post(path, Some(&self.token), json!({})).await
    }

    pub(crate) async fn analytics(&self, id: &str) -> Value {
        let a = self.app.get(&format!("/api/v1/campaigns/{id}/analytics"), &self.token).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.body
    }

    pub(crate) async fn count(&self, sql: &'static str) -> i64 {
        self.app.count(sql).await
    }
}

pub(crate) fn whatsapp_campaign(venues: &[Uuid]) -> Value {
    json!({
        "name": "Maintenance notice",
        "type": "service",
        "channel": "whatsapp",
        "target_venues": venues,
        "message_template": "Hello {{contact.name}}, maintenance of the {{zone.count}} zones at {{venue.name}} tonight.",
        "whatsapp_template": {"name": "alert_notice", "language": "en_US",
                              "params": ["{{venue.name}}", "maintenance of {{zone.count}} zones tonight"]}
    })
}

#[tokio::test]
async fn a_whatsapp_campaign_sends_one_message_per_recipient_and_a_second_send_is_refused_with_nothing_new() {
    let r = rig().await;
    let hilton = r.venue("Hilton Pattaya", "Hilton", 2).await;
    let marriott = r.venue("Marriott Sukhumvit", "Marriott", 1).await;
    let mail_only = r.venue("Mail Only Cafe", "Indie", 1).await;
    r.contact(hilton, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678"})).await;
    let quitter =
        r.contact(hilton, json!({"name": "Quitter", "channel": "whatsapp", "whatsapp_number": "+66812345679"})).await;
    r.contact(marriott, json!({"name": "Nattaya", "channel": "whatsapp", "whatsapp_number": "+66898765432"})).await;
    r.contact(mail_only, json!({"name": "Owner", "channel": "email", "email": "owner@cafe.test"})).await;
    sqlx::query("UPDATE venue_contacts SET opted_out = true WHERE id = $1")
        .bind(quitter)
        .execute(&r.app.ctx.db)
        .await
        .expect("opt the contact out");
    let id = r.create(whatsapp_campaign(&[hilton, marriott, mail_only])).await;

    let aud = r.app.get(&format!("/api/v1/campaigns/{id}/audience"), &r.token).await;
    assert_eq!(aud.status, StatusCode::OK, "{}", aud.text);
    assert_eq!(aud.body["venues"], 3);
    assert_eq!(aud.body["recipients"], 2, "the opted-out contact and the email-only venue are not counted");
    assert_eq!(aud.body["opted_out"], 1);
    assert_eq!(aud.body["unreachable"].as_array().map(Vec::len), Some(1));
    assert_eq!(aud.body["unreachable"][0]["venue_name"], "Mail Only Cafe");
    assert_eq!(aud.body["unreachable"][0]["reason"], "no contact on whatsapp");
    assert_eq!(aud.body["sample"].as_array().map(Vec::len), Some(2));

    let sent = r.post(&format!("/api/v1/campaigns/{id}/send")).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text);
    assert_eq!(sent.body["recipients"], 2);
    assert_eq!(sent.body["campaign"]["status"], "sending");
    assert_eq!(sent.body["unreachable"][0]["venue_name"], "Mail Only Cafe", "reported per venue, not a failure");
    r.drain().await;

    let out = r.wa.sent();
    assert_eq!(out.len(), 2, "one message per reachable contact");
    let mut to: Vec<&str> = out.iter().map(|m| m.to.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["66812345678", "66898765432"], "never to the opted-out contact");
    let hilton_msg = out.iter().find(|m| m.to == "66812345678").expect("Hilton's message");
    assert_eq!(hilton_msg.kind, "template", "outside the 24-hour window only a template may go");
    assert_eq!(hilton_msg.summary(), "alert_notice");
    let params = hilton_msg.body["template"]["components"][0]["parameters"].to_string();
    assert!(params.contains("Hilton Pattaya") && params.contains("maintenance of 2 zones tonight"), "{params}");

    let done = r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await;
    assert_eq!(done.body["status"], "sent");
    assert_eq!(r.count("SELECT count(*) FROM campaign_recipients WHERE message_id IS NOT NULL").await, 2);
    let stored = r.count("SELECT count(*) FROM messages WHERE direction = 'out'").await;
    assert_eq!(stored, 2, "each recipient's message is a stored outbound message");

    let again = r.post(&format!("/api/v1/campaigns/{id}/send")).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.code(), "campaign_already_sent");
    r.drain().await;
    assert_eq!(r.wa.sent().len(), 2, "the second send sent nothing");
    assert_eq!(r.count("SELECT count(*) FROM messages WHERE direction = 'out'").await, 2);
    assert_eq!(r.count("SELECT count(*) FROM campaign_recipients").await, 4, "2 queued, 1 opted out, 1 skipped");

    let path = format!("/api/v1/campaigns/{id}");
    let edit = r.app.call(axum::http::Method::PUT, &path, Some(&r.token), Some(whatsapp_campaign(&[hilton]))).await;
    assert_eq!(edit.status, StatusCode::CONFLICT, "{}", edit.text);
    assert_eq!(edit.code(), "campaign_read_only");
    let a = r.analytics(&id).await;
    assert_eq!(a["recipients"], 4);
    assert_eq!(a["funnel"]["opted_out"], 1);
    assert_eq!(a["funnel"]["skipped"], 1);
    let brand = |name: &str| a["by_brand"].as_array().and_then(|l| l.iter().find(|g| g["key"] == name)).cloned();
    assert_eq!(brand("Hilton").expect("Hilton's funnel")["funnel"]["opted_out"], 1);
    assert_eq!(brand("Indie").expect("the cafe's funnel")["funnel"]["skipped"], 1);
    assert_eq!(a["by_country"].as_array().map(Vec::len), Some(1), "every venue is in TH: {a}");
    assert_eq!(r.count("SELECT count(*) FROM audit_log WHERE action LIKE 'campaign.%'").await, 3, "create, send, sent");

    let csv = r.app.get(&format!("/api/v1/campaigns/{id}/recipients.csv"), &r.token).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers.get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/csv")));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 5, "a header and four recipients: {}", csv.text);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Mail Only Cafe") && l.contains("skipped") && l.contains("no contact on whatsapp"))
    );
    assert!(lines.iter().any(|l| l.contains("Quitter") && l.contains("opted_out")));
}

#[tokio::test]
async fn the_funnel_follows_whatsapp_status_webhooks_and_a_reply_marks_the_recipient_replied() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    r.contact(venue, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": format!("+{VENUE_PHONE}")}))
        .await;
    let id = r.create(whatsapp_campaign(&[venue])).await;
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    assert_eq!(r.analytics(&id).await["funnel"]["queued"], 1, "written down, not yet handed to WhatsApp");
    r.drain().await;
    r.wa.flush().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    r.wa.flush().await;
    let a = r.analytics(&id).await;
    assert_eq!(a["funnel"]["read"], 1, "sent, delivered and read came back by webhook: {a}");
    assert_eq!(a["by_channel"][0]["channel"], "whatsapp");
    assert_eq!(a["rates"]["read"], 1.0);

    r.wa.user_sends(VENUE_PHONE, "Khun Somchai", UserMessage::text("Thanks, noted"));
    r.wa.flush().await;
    let a = r.analytics(&id).await;
    assert_eq!(a["funnel"]["replied"], 1, "{a}");
    assert_eq!(a["funnel"]["read"], 0);
    assert_eq!(a["timeline"].as_array().map(Vec::len), Some(1), "one hour of sending: {a}");
    assert_eq!(a["timeline"][0]["handed"], 1);
    assert_eq!(a["timeline"][0]["delivered"], 1);
    assert_eq!(a["timeline"][0]["replied"], 1);
    let rec = r.app.get(&format!("/api/v1/campaigns/{id}/recipients"), &r.token).await;
    assert_eq!(rec.body[0]["status"], "replied");
    let conv = rec.body[0]["conversation_id"].as_str().expect("the recipient's conversation");
    let inbox = r.app.get(&format!("/api/v1/conversations/{conv}"), &r.token).await;
    assert_eq!(inbox.status, StatusCode::OK, "the reply lands in the inbox with the campaign's message");
}

#[tokio::test]
async fn templates_and_variables_are_checked_when_a_campaign_is_saved_and_nothing_bad_is_stored() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 3).await;
    r.contact(
        venue,
        json!({"name": "Somchai", "role": "Manager", "channel": "line",
                            "line_user_id": "U0123456789abcdef0123456789abcdef"}),
    )
    .await;
    let line = |template: &str| {
        json!({"name": "Songkran", "type": "holiday", "channel": "line", "target_venues": [venue],
               "message_template": template})
    };
    let unknown = r.app.post("/api/v1/campaigns", Some(&r.token), line("Hi {{venue.nmae}}")).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.text);
    assert_eq!(unknown.body["error"]["fields"][0]["field"], "message_template");
    assert!(unknown.text.contains("{{venue.nmae}}"), "the variable is named: {}", unknown.text);

    let mut pending = whatsapp_campaign(&[venue]);
    pending["whatsapp_template"] = json!({"name": "holiday_promo", "language": "en_US", "params": []});
    let res = r.app.post("/api/v1/campaigns", Some(&r.token), pending).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "a pending template is not approved: {}", res.text);
    assert_eq!(res.body["error"]["fields"][0]["field"], "whatsapp_template.name");

    let mut missing = whatsapp_campaign(&[venue]);
    missing["whatsapp_template"]["name"] = json!("no_such_template");
    let res = r.app.post("/api/v1/campaigns", Some(&r.token), missing).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);

    let mut arity = whatsapp_campaign(&[venue]);
    arity["whatsapp_template"]["params"] = json!(["{{venue.name}}"]);
    let res = r.app.post("/api/v1/campaigns", Some(&r.token), arity).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert_eq!(res.body["error"]["fields"][0]["field"], "whatsapp_template.params");

    let mut no_template = whatsapp_campaign(&[venue]);
    no_template.as_object_mut().expect("an object").remove("whatsapp_template");
    let res = r.app.post("/api/v1/campaigns", Some(&r.token), no_template).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);

    let mut past = line("Hi");
    past["scheduled_at"] = json!("2020-01-01T00:00:00Z");
    let res = r.app.post("/api/v1/campaigns", Some(&r.token), past).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert_eq!(res.body["error"]["fields"][0]["field"], "scheduled_at");

    let mut stranger = line("Hi");
    stranger["target_venues"] = json!([Uuid::now_v7()]);
    let res = r.app.post("/api/v1/campaigns", Some(&r.token), stranger).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert_eq!(res.body["error"]["fields"][0]["field"], "target_venues");
    assert_eq!(r.count("SELECT count(*) FROM campaigns").await, 0, "nothing bad was stored");

    let id = r
        .create(line("Happy Songkran {{contact.name}} ({{contact.role}}): {{zone.count}} zones at {{venue.name}}"))
        .await;
    let p = r.app.get(&format!("/api/v1/campaigns/{id}/preview?venue_id={venue}"), &r.token).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["text"], "Happy Songkran Somchai (Manager): 3 zones at Hilton Pattaya");
    assert_eq!(p.body["channel"], "line");
    let stranger = r.app.get(&format!("/api/v1/campaigns/{id}/preview?venue_id={}", Uuid::now_v7()), &r.token).await;
    // The campaign exists; the venue is the bad field (schemathesis read a 404 as the campaign
    // gone).
    assert_eq!(stranger.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", stranger.text);
    assert_eq!(stranger.body["error"]["fields"][0]["field"], "venue_id");

    let res = r
        .app
        .call(axum::http::Method::PUT, &format!("/api/v1/campaigns/{id}"), Some(&r.token), Some(line("{{oops}}")))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let kept = r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await;
    assert!(kept.body["message_template"].as_str().is_some_and(|t| t.starts_with("Happy Songkran")));
}

#[tokio::test]
async fn a_filtered_audience_reaches_matching_venues_contacts_of_the_chosen_role_on_line() {
    let r = rig().await;
    let a = r.venue("Hilton Pattaya", "Hilton", 2).await; // lobby + restaurant
    let b = r.venue("Hilton Phuket", "Hilton", 1).await; // lobby only
    let c = r.venue("Marriott Sukhumvit", "Marriott", 2).await;
    r.contact(
        a,
        json!({"name": "Owner A", "role": "owner", "channel": "line",
                        "line_user_id": "U0000000000000000000000000000000a"}),
    )
    .await;
    r.contact(
        a,
        json!({"name": "Staff A", "role": "barista", "channel": "line",
                        "line_user_id": "U0000000000000000000000000000000b"}),
    )
    .await;
    r.contact(
        b,
        json!({"name": "Owner B", "role": "owner", "channel": "line",
                        "line_user_id": "U0000000000000000000000000000000c"}),
    )
    .await;
    r.contact(
        c,
        json!({"name": "Owner C", "role": "owner", "channel": "line",
                        "line_user_id": "U0000000000000000000000000000000d"}),
    )
    .await;
    let id = r
        .create(json!({
            "name": "New restaurant playlists", "type": "marketing", "channel": "line",
            "audience_filter": {"brand": "Hilton", "zone_type": "restaurant"}, "contacts": "role:Owner",
            "message_template": "Dear {{contact.name}}, new dinner playlists for {{venue.name}}."
        }))
        .await;
    let saved = r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await;
    assert_eq!(saved.body["audience_filter"]["brand"], "Hilton", "{}", saved.text);
    assert_eq!(saved.body["contacts"], "role:Owner");
    let aud = r.app.get(&format!("/api/v1/campaigns/{id}/audience"), &r.token).await;
    assert_eq!(aud.body["venues"], 1, "only the Hilton with a restaurant zone: {}", aud.text);
    assert_eq!(aud.body["recipients"], 1, "only its owner");
    assert_eq!(aud.body["sample"][0]["contact_name"], "Owner A");

    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;
    let sent = r.line.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "U0000000000000000000000000000000a");
    assert_eq!(
        sent[0].messages[0]["text"],
        "Dear Owner A, new dinner playlists for Hilton Pattaya.\n\nReply STOP to stop these messages.",
        "a promotional message ends with how to opt out"
    );
    assert_eq!(r.analytics(&id).await["funnel"]["sent"], 1);
}

#[tokio::test]
async fn an_audience_nobody_in_can_be_reached_is_refused_and_nothing_is_sent() {
    let r = rig().await;
    let venue = r.venue("Mail Only Cafe", "Indie", 1).await;
    r.contact(venue, json!({"name": "Owner", "channel": "email", "email": "owner@cafe.test"})).await;
    let id = r.create(whatsapp_campaign(&[venue])).await;
    let res = r.post(&format!("/api/v1/campaigns/{id}/send")).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert_eq!(res.body["error"]["fields"][0]["field"], "audience");
    assert!(res.text.contains("Mail Only Cafe: no contact on whatsapp"), "the venue is named: {}", res.text);

    let empty = r
        .create(json!({"name": "Nobody", "type": "service", "channel": "email",
                       "audience_filter": {"country": "JP"}, "message_template": "Hi"}))
        .await;
    let res = r.post(&format!("/api/v1/campaigns/{empty}/send")).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    r.drain().await;
    assert!(r.wa.sent().is_empty());
    assert_eq!(r.count("SELECT count(*) FROM campaign_recipients").await, 0);
    assert_eq!(r.count("SELECT count(*) FROM campaigns WHERE status = 'draft'").await, 2, "both stay drafts");
}

#[tokio::test]
async fn a_paused_campaign_queues_nothing_until_it_is_resumed() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    r.contact(venue, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678"})).await;
    r.contact(venue, json!({"name": "Nattaya", "channel": "whatsapp", "whatsapp_number": "+66898765432"})).await;
    let id = r.create(whatsapp_campaign(&[venue])).await;
    let early = r.post(&format!("/api/v1/campaigns/{id}/pause")).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "a draft is not sending: {}", early.text);

    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    let paused = r.post(&format!("/api/v1/campaigns/{id}/pause")).await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.text);
    assert_eq!(paused.body["status"], "paused");
    r.drain().await;
    assert!(r.wa.sent().is_empty(), "nothing goes out while paused");
    assert_eq!(r.analytics(&id).await["funnel"]["queued"], 2);
    let twice = r.post(&format!("/api/v1/campaigns/{id}/send")).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "a paused campaign resumes, it is not sent again");

    let resumed = r.post(&format!("/api/v1/campaigns/{id}/resume")).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.text);
    assert_eq!(resumed.body["status"], "sending");
    r.drain().await;
    assert_eq!(r.wa.sent().len(), 2, "each recipient once after resuming");
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await.body["status"], "sent");
    let again = r.post(&format!("/api/v1/campaigns/{id}/resume")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let copy = r.post(&format!("/api/v1/campaigns/{id}/duplicate")).await;
    assert_eq!(copy.status, StatusCode::CREATED, "{}", copy.text);
    assert_eq!(copy.body["status"], "draft");
    assert_eq!(copy.body["name"], "Copy of Maintenance notice");
    let copy_id = copy.body["id"].as_str().expect("the copy's id");
    let cancelled = r.post(&format!("/api/v1/campaigns/{copy_id}/cancel")).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(r.post(&format!("/api/v1/campaigns/{copy_id}/send")).await.status, StatusCode::CONFLICT);
    r.drain().await;
    assert_eq!(r.wa.sent().len(), 2, "the cancelled copy sent nothing");
    let listed = r.app.get("/api/v1/campaigns?status=cancelled", &r.token).await;
    assert_eq!(listed.body["pagination"]["total"], 1);
    let bad = r.app.get("/api/v1/campaigns?status=archived", &r.token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn viewers_read_campaigns_but_may_not_create_change_or_send_them() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    r.contact(venue, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678"})).await;
    let id = r.create(whatsapp_campaign(&[venue])).await;
    let viewer = r.app.token(Role::Viewer).await;
    let create = r.app.post("/api/v1/campaigns", Some(&viewer), whatsapp_campaign(&[venue])).await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    for action in ["send", "pause", "resume", "cancel", "duplicate"] {
        let res = r.app.post(&format!("/api/v1/campaigns/{id}/{action}"), Some(&viewer), json!({})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{action}");
    }
    r.drain().await;
    assert!(r.wa.sent().is_empty());
    for path in ["", "/analytics", "/audience", "/recipients"] {
        let res = r.app.get(&format!("/api/v1/campaigns/{id}{path}"), &viewer).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text);
    }
    assert_eq!(r.app.get("/api/v1/campaigns", &viewer).await.body["pagination"]["total"], 1);
}

#[tokio::test]
async fn two_runs_of_the_send_job_after_a_worker_died_still_send_each_recipient_once() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    for (name, phone) in [("Somchai", "+66812345678"), ("Nattaya", "+66898765432"), ("Malee", "+66811112222")] {
        r.contact(venue, json!({"name": name, "channel": "whatsapp", "whatsapp_number": phone})).await;
    }
    let id = r.create(whatsapp_campaign(&[venue])).await;
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    // The stalled run handed back by requeue_stalled, next to the one still queued.
    let campaign_id = Uuid::parse_str(&id).expect("a campaign id");
    let job = bma_app::jobs::tasks::CampaignSendJob { campaign_id };
    bma_app::jobs::enqueue(&r.app.ctx, &r.app.ctx.db, &job, bma_app::jobs::Options::default())
        .await
        .expect("a second run is queued");
    assert_eq!(r.count("SELECT count(*) FROM jobs WHERE kind = 'campaign.send'").await, 2);
    r.drain().await;
    assert_eq!(r.wa.sent().len(), 3, "three recipients, three messages");
    assert_eq!(r.count("SELECT count(*) FROM messages WHERE direction = 'out'").await, 3);
    assert_eq!(r.count("SELECT count(*) FROM jobs").await, 0, "both runs finished cleanly");
}

#[tokio::test]
async fn a_scheduled_campaign_goes_out_once_when_due_and_one_nobody_can_receive_is_marked_failed() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    r.contact(venue, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678"})).await;
    let ahead = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a timestamp");
    let mut body = whatsapp_campaign(&[venue]);
    body["scheduled_at"] = json!(ahead);
    let id = r.create(body).await;
    let nobody = r
        .create(json!({"name": "Email nobody has", "type": "service", "channel": "email",
                       "target_venues": [venue], "message_template": "Hi", "scheduled_at": ahead}))
        .await;
    let got = r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await;
    assert_eq!(got.body["status"], "scheduled");

    let due = || async {
        let job = bma_app::jobs::tasks::DueCampaignsJob::default();
        bma_app::jobs::enqueue(&r.app.ctx, &r.app.ctx.db, &job, bma_app::jobs::Options::default())
            .await
            .expect("the periodic job is queued");
        r.drain().await;
    };
    due().await;
    assert!(r.wa.sent().is_empty(), "not before its time");
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await.body["status"], "scheduled");

    sqlx::query("UPDATE campaigns SET scheduled_at = now() - interval '1 minute'")
        .execute(&r.app.ctx.db)
        .await
        .expect("the time comes");
    due().await;
    due().await;
    assert_eq!(r.wa.sent().len(), 1, "sent once, however often the scheduler looks");
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await.body["status"], "sent");
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{nobody}"), &r.token).await.body["status"], "failed");
    assert_eq!(r.count("SELECT count(*) FROM audit_log WHERE action = 'campaign.fail'").await, 1);
}

#[tokio::test]
async fn a_stop_reply_in_thai_or_english_ends_promotions_for_that_contact_but_not_service_notices() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    let contact = r
        .contact(venue, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": format!("+{VENUE_PHONE}")}))
        .await;
    let promo_flag = || async {
        sqlx::query_scalar::<_, bool>("SELECT promotions_opted_out FROM venue_contacts WHERE id = $1")
            .bind(contact)
            .fetch_one(&r.app.ctx.db)
            .await
            .expect("the contact")
    };
    let wa = &r.wa;
    let says = |text: &'static str| async move {
        wa.user_sends(VENUE_PHONE, "Khun Somchai", UserMessage::text(text));
        wa.flush().await;
    };
    let confirmations = || {
        r.wa.sent()
            .into_iter()
            .filter(|m| m.summary().starts_with("You will") || m.summary().starts_with("คุณจะ"))
            .count()
    };

    says("stop").await;
    assert!(!promo_flag().await, "a bare stop outside a campaign is the bot's 'stop the music'");
    says("ยกเลิก").await;
    assert!(promo_flag().await, "ยกเลิก opts out of promotions");
    r.drain().await;
    let thai = r.wa.sent().into_iter().find(|m| m.summary().starts_with("คุณจะไม่ได้รับ"));
    assert!(thai.is_some(), "the contact is told, in Thai");
    says("START").await;
    assert!(!promo_flag().await, "START opts back in");
    says("Unsubscribe!").await;
    assert!(promo_flag().await, "unsubscribe opts out in English");
    says("start").await;
    assert!(!promo_flag().await);

    let service = r.create(whatsapp_campaign(&[venue])).await;
    assert_eq!(r.post(&format!("/api/v1/campaigns/{service}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;
    says("please don't stop the music").await;
    assert!(!promo_flag().await, "a sentence with 'stop' in it is a message, not a keyword");
    says("STOP").await;
    assert!(promo_flag().await, "a bare STOP answering the campaign opts out");
    r.drain().await;
    assert_eq!(confirmations(), 5, "ยกเลิก, START, unsubscribe, start and STOP each confirmed once");

    let mut marketing = whatsapp_campaign(&[venue]);
    marketing["type"] = json!("marketing");
    let promo = r.create(marketing).await;
    let aud = r.app.get(&format!("/api/v1/campaigns/{promo}/audience"), &r.token).await;
    assert_eq!(aud.body["recipients"], 0, "{}", aud.text);
    assert_eq!(aud.body["opted_out"], 1);
    let again = r.create(whatsapp_campaign(&[venue])).await;
    let aud = r.app.get(&format!("/api/v1/campaigns/{again}/audience"), &r.token).await;
    assert_eq!(aud.body["recipients"], 1, "a service notice still reaches them: {}", aud.text);
}

#[tokio::test]
async fn nine_oclock_local_goes_out_zone_by_zone_across_three_time_zones() {
    let r = rig().await;
    let mut venues = Vec::new();
    for (name, tz, phone) in [
        ("Park Hyatt Tokyo", "Asia/Tokyo", "+81312345678"),
        ("Hilton Bangkok", "Asia/Bangkok", "+66812345678"),
        ("Halekulani Honolulu", "Pacific/Honolulu", "+18085550100"),
    ] {
        let mut body = venue_body(name);
        body["timezone"] = json!(tz);
        let v = r.app.post("/api/v1/venues", Some(&r.token), body).await;
        assert_eq!(v.status, StatusCode::CREATED, "{}", v.text);
        let id = Uuid::parse_str(v.body["id"].as_str().expect("a venue id")).expect("a venue id");
        r.contact(id, json!({"name": "GM", "channel": "whatsapp", "whatsapp_number": phone})).await;
        venues.push(id);
    }
    let day = (time::OffsetDateTime::now_utc() + time::Duration::days(3)).date();
    let mut body = whatsapp_campaign(&venues);
    body["send_at_local"] = json!(format!("{day}T09:00"));
    let id = r.create(body).await;
    let c = r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await;
    assert_eq!(c.body["status"], "scheduled");
    assert_eq!(c.body["send_at_local"], format!("{day}T09:00"));
    let nine_utc = day.with_hms(9, 0, 0).expect("09:00").assume_utc();
    let first = nine_utc - time::Duration::hours(14);
    let starts = time::OffsetDateTime::parse(
        c.body["scheduled_at"].as_str().expect("a start"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("an RFC 3339 start");
    assert_eq!(starts, first, "it starts when the first zone on Earth reaches 09:00");

    let past = r.app.post("/api/v1/campaigns", Some(&r.token), {
        let mut b = whatsapp_campaign(&venues);
        b["send_at_local"] = json!("2020-01-01T09:00");
        b
    });
    assert_eq!(past.await.status, StatusCode::UNPROCESSABLE_ENTITY, "a local time already past is refused");

    // The start comes: the scheduler starts it and each recipient is due at 09:00 in its zone.
    sqlx::query("UPDATE campaigns SET scheduled_at = now() - interval '1 second'")
        .execute(&r.app.ctx.db)
        .await
        .expect("the start comes");
    let job = bma_app::jobs::tasks::DueCampaignsJob::default();
    bma_app::jobs::enqueue(&r.app.ctx, &r.app.ctx.db, &job, bma_app::jobs::Options::default())
        .await
        .expect("the periodic job");
    r.drain().await;
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await.body["status"], "sending");
    assert!(r.wa.sent().is_empty(), "09:00 has come nowhere yet");
    let due: Vec<(String, time::OffsetDateTime)> = sqlx::query_as(
        "SELECT v.timezone, r.due_at FROM campaign_recipients r JOIN venues v ON v.id = r.venue_id ORDER BY r.due_at",
    )
    .fetch_all(&r.app.ctx.db)
    .await
    .expect("the recipients");
    let hours = |h: i64| nine_utc + time::Duration::hours(h);
    assert_eq!(
        due,
        vec![
            ("Asia/Tokyo".to_owned(), hours(-9)),
            ("Asia/Bangkok".to_owned(), hours(-7)),
            ("Pacific/Honolulu".to_owned(), hours(10)),
        ]
    );

    // Time passes until 09:00 in Bangkok: Tokyo and Bangkok get it, Honolulu waits.
    sqlx::query("UPDATE campaign_recipients SET due_at = due_at - ($1 - now()) - interval '1 second'")
        .bind(hours(-7))
        .execute(&r.app.ctx.db)
        .await
        .expect("time passes");
    let wake = || async {
        sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'campaign.send'")
            .execute(&r.app.ctx.db)
            .await
            .expect("the wake-up comes");
        r.drain().await;
    };
    wake().await;
    let mut to: Vec<String> = r.wa.sent().into_iter().map(|m| m.to).collect();
    to.sort();
    assert_eq!(to, ["66812345678", "81312345678"]);
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await.body["status"], "sending");
    assert_eq!(r.count("SELECT count(*) FROM jobs WHERE kind = 'campaign.send' AND run_at > now()").await, 1);

    sqlx::query("UPDATE campaign_recipients SET due_at = now() - interval '1 second' WHERE message_id IS NULL")
        .execute(&r.app.ctx.db)
        .await
        .expect("09:00 in Honolulu");
    wake().await;
    assert_eq!(r.wa.sent().len(), 3, "each venue once, at its own 09:00");
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await.body["status"], "sent");
}

#[tokio::test]
async fn a_test_send_reaches_only_the_members_own_inbox_and_progress_shows_on_the_live_feed() {
    use futures_util::StreamExt;
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 2).await;
    r.contact(venue, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678"})).await;
    let id = r.create(whatsapp_campaign(&[venue])).await;

    let test = r.app.post(&format!("/api/v1/campaigns/{id}/test"), Some(&r.token), json!({"venue_id": venue})).await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{}", test.text);
    r.drain().await;
    let mails = r.app.smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec![test.body["to"].as_str().expect("the member's address").to_owned()]);
    assert!(mails[0].body().contains("maintenance of the 2 zones at Hilton Pattaya"), "{}", mails[0].body());
    assert!(r.wa.sent().is_empty(), "no venue hears of a test");
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await.body["status"], "draft");

    let mut feed = r.app.ctx.kv.pubsub.subscribe("events").await.expect("the live feed");
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;
    let mut seen = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(500), feed.next()).await {
        let e: Value = serde_json::from_str(&e).expect("an event is JSON");
        if e["type"] == "campaign.progress" {
            seen.push((e["status"].as_str().unwrap_or_default().to_owned(), e["handed"].as_u64().unwrap_or(0)));
        }
    }
    assert_eq!(
        seen,
        vec![("sending".to_owned(), 0), ("sending".to_owned(), 1), ("sent".to_owned(), 0)],
        "started, one recipient handed over, finished"
    );
}

#[tokio::test]
async fn a_message_due_in_the_venues_quiet_hours_waits_for_their_end() {
    let r = rig().await;
    let venue = r.venue("Hilton Bangkok", "Hilton", 1).await; // Asia/Bangkok, UTC+7 all year
    r.contact(venue, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678"})).await;
    let now = time::OffsetDateTime::now_utc();
    let bangkok = |t: time::OffsetDateTime| {
        let local = t.to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("UTC+7"));
        format!("{:02}:{:02}", local.hour(), local.minute())
    };
    let end_utc =
        (now + time::Duration::hours(2)).replace_second(0).expect("minute").replace_nanosecond(0).expect("ns");
    let mut body = whatsapp_campaign(&[venue]);
    body["quiet_hours"] = json!({"start": bangkok(now - time::Duration::hours(1)), "end": bangkok(end_utc)});
    let id = r.create(body).await;
    let c = r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await;
    assert_eq!(c.body["quiet_end"], bangkok(end_utc));

    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;
    assert!(r.wa.sent().is_empty(), "it is quiet hours in Bangkok");
    let due: time::OffsetDateTime = sqlx::query_scalar("SELECT due_at FROM campaign_recipients")
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("the recipient");
    assert_eq!(due, end_utc, "due when the quiet hours end, venue-local");
    assert_eq!(r.app.get(&format!("/api/v1/campaigns/{id}"), &r.token).await.body["status"], "sending");

    let bad = r.app.post("/api/v1/campaigns", Some(&r.token), {
        let mut b = whatsapp_campaign(&[venue]);
        b["quiet_hours"] = json!({"start": "25:00", "end": "08:00"});
        b
    });
    let bad = bad.await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.body["error"]["fields"][0]["field"], "quiet_hours.start");
}

#[tokio::test]
async fn the_demo_has_a_sent_campaign_with_a_funnel_and_a_draft() {
    let r = rig().await;
    let hilton = r.venue("Hilton Pattaya", "Hilton", 2).await;
    let marriott = r.venue("Marriott Sukhumvit", "Marriott", 1).await;
    r.contact(hilton, json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678"})).await;
    r.contact(
        marriott,
        json!({"name": "Nattaya", "channel": "line", "line_user_id": "U0000000000000000000000000000000a"}),
    )
    .await;
    let manager: Uuid = sqlx::query_scalar("SELECT id FROM team_members WHERE role = 'manager' LIMIT 1")
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("the rig's manager");
    let (sent, draft) = bma_app::campaigns::demo::ensure(&r.app.ctx, manager)
        .await
        .expect("the demo campaigns")
        .expect("made on an empty database");
    r.drain().await;
    r.wa.flush().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    r.wa.flush().await;
    let a = r.analytics(&sent.to_string()).await;
    assert_eq!(a["status"], "sent");
    assert_eq!(a["recipients"], 2);
    assert_eq!(a["funnel"]["queued"], 0, "both went out: {a}");
    assert_eq!(a["by_channel"].as_array().map(Vec::len), Some(2), "each venue on its own channel: {a}");
    assert_eq!(r.wa.sent().len() + r.line.sent().len(), 2);
    let d = r.app.get(&format!("/api/v1/campaigns/{draft}"), &r.token).await;
    assert_eq!(d.body["status"], "draft");
    let again = bma_app::campaigns::demo::ensure(&r.app.ctx, manager).await.expect("a second start");
    assert!(again.is_none(), "a restarted demo adds nothing");
}

#[tokio::test]
async fn a_whatsapp_message_that_fails_moves_the_recipient_to_its_line_fallback_once() {
    let r = rig_with(WhatsappFakeConfig { undeliverable: vec!["66812345678".into()], ..WhatsappFakeConfig::default() })
        .await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    r.contact(
        venue,
        json!({"name": "Somchai", "channel": "whatsapp", "whatsapp_number": "+66812345678",
               "line_user_id": "U0000000000000000000000000000000a"}),
    )
    .await;
    r.contact(venue, json!({"name": "Nattaya", "channel": "whatsapp", "whatsapp_number": "+66898765432"})).await;
    let mut body = whatsapp_campaign(&[venue]);
    body["channel_fallback"] = json!(["line"]);
    let id = r.create(body).await;
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;
    assert_eq!(r.wa.sent().len(), 2, "WhatsApp accepted both");
    for _ in 0..3 {
        r.wa.flush().await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    r.drain().await;
    let line = r.line.sent();
    assert_eq!(line.len(), 1, "the undeliverable one went by LINE instead");
    assert_eq!(line[0].to, "U0000000000000000000000000000000a");
    assert!(line[0].messages[0]["text"].as_str().is_some_and(|t| t.starts_with("Hello Somchai")));
    assert_eq!(r.wa.sent().len(), 2, "nothing was repeated on WhatsApp");

    let rec = r.app.get(&format!("/api/v1/campaigns/{id}/recipients"), &r.token).await;
    let somchai = rec.body.as_array().and_then(|l| l.iter().find(|x| x["contact_name"] == "Somchai")).cloned();
    let somchai = somchai.expect("Somchai's row");
    assert_eq!(somchai["channel"], "line");
    assert!(somchai["error"].as_str().is_some_and(|e| e.starts_with("whatsapp failed")), "{somchai}");
    let a = r.analytics(&id).await;
    assert_eq!(a["funnel"]["failed"], 0, "the recipient was reached after all: {a}");
    assert_eq!(a["recipients"], 2);
}
