//! How campaigns reach their channels: LINE by multicast in calls of at most 500 user ids under
//! retry keys that a retry repeats; email with HTML and text parts and a one-click unsubscribe
//! that a forged link cannot trigger; and the funnel compared across campaigns.

use crate::campaigns::rig;
use axum::http::StatusCode;
use bma_fakes::line::Via;
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

/// `n` contacts at `venue` on `channel` (line or whatsapp), numbered 1…n in their names and
/// addresses, written straight to the table (the API would take minutes).
async fn bulk_contacts(db: &sqlx::PgPool, venue: Uuid, n: i64, channel: &str) {
    sqlx::query(
        "INSERT INTO venue_contacts (id, venue_id, name, channel, line_user_id, whatsapp_number) \
         SELECT gen_random_uuid(), $1, 'Contact ' || g, $3, \
                CASE WHEN $3 = 'line' THEN 'U' || lpad(to_hex(g), 32, '0') END, \
                CASE WHEN $3 = 'whatsapp' THEN '+6681' || lpad(g::text, 7, '0') END \
         FROM generate_series(1, $2) g",
    )
    .bind(venue)
    .bind(n)
    .bind(channel)
    .execute(db)
    .await
    .expect("contacts inserted");
}

#[tokio::test]
async fn a_line_campaign_to_501_contacts_goes_out_in_two_multicast_calls_and_a_retry_reuses_its_key() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    bulk_contacts(&r.app.ctx.db, venue, 501, "line").await;
    let id = r
        .create(json!({
            "name": "Songkran greetings", "type": "service", "channel": "line", "target_venues": [venue],
            "message_template": "Happy Songkran from BMA to everyone at {{venue.name}}!"
        }))
        .await;
    let campaign_id = Uuid::parse_str(&id).expect("a campaign id");
    // LINE's first three answers are 503: the client's own retries give up, the job keeps the
    // batch `sending` and runs again under the same key.
    r.line.fail_next(3, 503);
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;

    assert_eq!(r.line.multicast_calls(), 2, "500 + 1 user ids");
    let sent = r.line.sent();
    assert_eq!(sent.len(), 501);
    assert!(sent.iter().all(|s| s.via == Via::Multicast));
    let users: HashSet<&str> = sent.iter().map(|s| s.to.as_str()).collect();
    assert_eq!(users.len(), 501, "each contact once");
    let keys: HashSet<String> = sent.iter().filter_map(|s| s.retry_key.clone()).collect();
    let expected: HashSet<String> = [1, 2]
        .into_iter()
        .map(|b| bma_app::campaigns::multicast::retry_key(campaign_id, b).hyphenated().to_string())
        .collect();
    assert_eq!(keys, expected, "one key per call, derived from campaign and batch");
    assert_eq!(
        r.count("SELECT count(*) FROM messages WHERE direction = 'out' AND delivery_status = 'sent'").await,
        501
    );

    // A worker that died after LINE took batch 1 but before recording it: the batch is still
    // `sending`, and the job runs again. LINE answers 409 for the key; nothing goes out twice.
    sqlx::query(
        "UPDATE messages SET delivery_status = 'sending' WHERE id IN \
         (SELECT message_id FROM campaign_recipients WHERE campaign_id = $1 AND multicast_batch = 1)",
    )
    .bind(campaign_id)
    .execute(&r.app.ctx.db)
    .await
    .expect("batch 1 back to sending");
    let job = bma_app::jobs::tasks::CampaignMulticastJob { campaign_id, batch: 1 };
    bma_app::jobs::enqueue(&r.app.ctx, &r.app.ctx.db, &job, bma_app::jobs::Options::default()).await.expect("queued");
    r.drain().await;
    assert_eq!(r.line.multicast_calls(), 2, "the repeated key was not executed again");
    assert_eq!(r.line.sent().len(), 501);
    assert_eq!(
        r.count("SELECT count(*) FROM messages WHERE direction = 'out' AND delivery_status = 'sent'").await,
        501
    );
    assert_eq!(r.analytics(&id).await["funnel"]["sent"], 501);
}

#[tokio::test]
async fn recipients_whose_texts_differ_are_multicast_separately_each_with_its_own_text() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    bulk_contacts(&r.app.ctx.db, venue, 3, "line").await;
    let id = r
        .create(json!({
            "name": "Playlist", "type": "marketing", "channel": "line", "target_venues": [venue],
            "message_template": "Dear {{contact.name}}, new playlists."
        }))
        .await;
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;
    assert_eq!(r.line.multicast_calls(), 3, "three different texts");
    for s in r.line.sent() {
        let text = s.messages[0]["text"].as_str().unwrap_or_default().to_owned();
        let n = u64::from_str_radix(&s.to[1..], 16).expect("hex user id");
        assert!(text.starts_with(&format!("Dear Contact {n}, new playlists.")), "{text}");
    }
}

#[tokio::test]
async fn two_workers_sharing_the_redis_pace_keep_to_the_numbers_throughput_and_send_each_recipient_once() {
    use bma_app::jobs::{Registry, Worker};
    use bma_fakes::whatsapp::{WhatsappFake, WhatsappFakeConfig};
    // 10/s: slots 105 ms apart, so the 5 % headroom is 100 ms of tolerance in a loaded test run.
    let wa = WhatsappFake::start(WhatsappFakeConfig { throughput_per_second: 10, ..WhatsappFakeConfig::default() })
        .await
        .expect("whatsapp fake");
    let line = bma_fakes::line::LineFake::start(bma_fakes::line::LineFakeConfig::default()).await.expect("line fake");
    let mut env = crate::webhooks::fake_channels_env(&wa, &line);
    env.push(("WHATSAPP_MESSAGES_PER_SECOND", "10".into()));
    let prefix = format!("bma-test-{}:", Uuid::new_v4().simple());
    let opts = |db_url| crate::helpers::Options {
        env: env.clone(),
        redis_prefix: Some(prefix.clone()),
        db_url,
        ..crate::helpers::Options::default()
    };
    let a = crate::helpers::TestApp::with(opts(None)).await;
    let b = crate::helpers::TestApp::with(opts(Some(a.db_url.clone()))).await;
    let token = a.token(bma_domain::access::Role::Manager).await;
    let v = a.post("/api/v1/venues", Some(&token), crate::helpers::venue_body("Hilton Pattaya")).await;
    let venue = Uuid::parse_str(v.body["id"].as_str().expect("a venue id")).expect("a venue id");
    bulk_contacts(&a.ctx.db, venue, 30, "whatsapp").await;
    let c = a.post("/api/v1/campaigns", Some(&token), crate::campaigns::whatsapp_campaign(&[venue])).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let id = c.body["id"].as_str().expect("a campaign id").to_owned();
    assert_eq!(
        a.post(&format!("/api/v1/campaigns/{id}/send"), Some(&token), json!({})).await.status,
        StatusCode::ACCEPTED
    );

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let workers = [&a, &b].map(|app| {
        let w = Worker::new(app.ctx.clone(), Registry::standard()).with_backoff_base(std::time::Duration::ZERO);
        tokio::spawn(w.run(shutdown.clone()))
    });
    for _ in 0..300 {
        if wa.sent().len() >= 30 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    for w in workers {
        w.await.expect("worker stopped");
    }
    let sent = wa.sent();
    assert_eq!(sent.len(), 30, "every recipient reached");
    assert_eq!(sent.iter().map(|m| m.to.as_str()).collect::<HashSet<_>>().len(), 30, "each once");
    // The pace spaces the two workers' slots 105 ms apart; what reaches the fake can still bunch
    // by scheduling jitter on a loaded machine (a refusal is retried, never lost or repeated).
    // Without a shared pace two workers would send all 30 at once and be refused 20 times.
    assert!(wa.throughput_refusals() <= 2, "{} sends over the number's 10/s", wa.throughput_refusals());
    let span = sent[29].at - sent[0].at;
    assert!(span >= time::Duration::milliseconds(2_900), "30 sends at 10/s take about 3 s, not {span}");
}

async fn flag(db: &sqlx::PgPool, contact: Uuid, column: &'static str) -> bool {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {column} FROM venue_contacts WHERE id = $1")))
        .bind(contact)
        .fetch_one(db)
        .await
        .expect("the contact")
}

#[tokio::test]
async fn a_campaign_email_has_html_and_text_and_a_one_click_unsubscribe_that_a_forged_link_cannot_trigger() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    let contact =
        r.contact(venue, json!({"name": "Somchai", "channel": "email", "email": "somchai@hilton.test"})).await;
    let body = json!({
        "name": "New playlists", "type": "marketing", "channel": "email", "target_venues": [venue],
        "message_template": "Dear {{contact.name}},\n\nnew <dinner> playlists for {{venue.name}}."
    });
    let id = r.create(body.clone()).await;
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;

    let mails = r.app.smtp.messages();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.header("Subject").as_deref(), Some("New playlists"), "a campaign starts its thread");
    assert_eq!(mail.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let list = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
    let (url, mailto) = list.split_once(", ").expect("two addresses");
    assert!(mailto.starts_with("<mailto:") && mailto.ends_with('>'), "{list}");
    let url = url.trim_start_matches('<').trim_end_matches('>');
    let path = &url[url.find("/api/v1/unsubscribe/").expect("the unsubscribe path")..];
    let ct = mail.header("Content-Type").unwrap_or_default();
    assert!(ct.starts_with("multipart/alternative"), "{ct}");
    let raw = mail.body();
    assert!(raw.contains("text/plain") && raw.contains("text/html"), "both parts");
    assert!(raw.contains("new &lt;dinner&gt; playlists"), "the HTML part is escaped");
    assert!(raw.contains("Unsubscribe: http"), "the text part ends with the link");

    // Looking is not unsubscribing (mail scanners follow links).
    let look = r.app.call(axum::http::Method::GET, path, None, None).await;
    assert_eq!(look.status, StatusCode::OK, "{}", look.text);
    assert_eq!(look.body["unsubscribed"], false);
    assert_eq!(look.body["kind"], "marketing");
    assert!(!flag(&r.app.ctx.db, contact, "promotions_opted_out").await);

    // A forged token: another contact's id under the same tag, or a changed tag.
    let token = path.rsplit('/').next().expect("the token");
    let (payload, tag) = token.split_once('.').expect("payload.tag");
    let flipped = match tag.strip_suffix('A') {
        Some(rest) => format!("{rest}B"),
        None => format!("{}A", &tag[..tag.len() - 1]),
    };
    for forged in
        [format!("{payload}.{flipped}"), format!("{}x.{tag}", &payload[..payload.len() - 1]), "nonsense".into()]
    {
        let p = format!("/api/v1/unsubscribe/{forged}");
        let refused = r.app.post_raw(&p, &[], b"List-Unsubscribe=One-Click".to_vec()).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{forged}: {}", refused.text);
        assert_eq!(refused.body["error"]["code"], "not_found", "{}", refused.text);
    }
    assert!(!flag(&r.app.ctx.db, contact, "promotions_opted_out").await, "nothing changed");

    let done = r.app.post_raw(path, &[], b"List-Unsubscribe=One-Click".to_vec()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["unsubscribed"], true);
    assert!(flag(&r.app.ctx.db, contact, "promotions_opted_out").await);
    assert!(!flag(&r.app.ctx.db, contact, "service_opted_out").await, "service notices continue");
    assert_eq!(r.count("SELECT count(*) FROM audit_log WHERE action = 'contact.unsubscribe'").await, 1);

    let again = r.create(body).await;
    let aud = r.app.get(&format!("/api/v1/campaigns/{again}/audience"), &r.token).await;
    assert_eq!((aud.body["recipients"].as_i64(), aud.body["opted_out"].as_i64()), (Some(0), Some(1)), "{}", aud.text);
}

/// A contact: name, channel, LINE user id, email, promotions opted out.
type ContactRow<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, bool);

/// Contacts at `venue`, written straight to the table.
async fn contacts(db: &sqlx::PgPool, venue: Uuid, rows: &[ContactRow<'_>]) {
    for (name, channel, line, email, out) in rows {
        sqlx::query(
            "INSERT INTO venue_contacts (id, venue_id, name, channel, line_user_id, email, promotions_opted_out) \
             VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6)",
        )
        .bind(venue)
        .bind(name)
        .bind(channel)
        .bind(line)
        .bind(email)
        .bind(out)
        .execute(db)
        .await
        .expect("contact inserted");
    }
}

#[tokio::test]
async fn analytics_across_campaigns_count_and_rate_each_channel_brand_and_template() {
    let r = rig().await;
    let hilton = r.venue("Hilton Pattaya", "Hilton", 1).await;
    let marriott = r.venue("Marriott Sukhumvit", "Marriott", 1).await;
    let indie = r.venue("Indie Cafe", "Indie", 1).await;
    let db = &r.app.ctx.db;
    contacts(
        db,
        hilton,
        &[
            ("Somchai", "line", Some("U00000000000000000000000000000001"), None, false),
            ("Quitter", "line", Some("U00000000000000000000000000000002"), None, true),
        ],
    )
    .await;
    contacts(db, marriott, &[("Nattaya", "line", Some("U00000000000000000000000000000003"), None, false)]).await;
    contacts(db, indie, &[("Malee", "email", None, Some("malee@indie.test"), false)]).await;
    let line = r
        .create(json!({"name": "Promo", "type": "marketing", "channel": "line", "target_venues": [hilton, marriott],
                       "message_template": "New playlists."}))
        .await;
    let mail = r
        .create(json!({"name": "Notice", "type": "service", "channel": "email", "target_venues": [indie],
                       "message_template": "Maintenance tonight."}))
        .await;
    for id in [&line, &mail] {
        assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    }
    r.drain().await;
    // The Marriott's message failed, as a status would say.
    sqlx::query(
        "UPDATE messages SET delivery_status = 'failed' WHERE id = (SELECT r.message_id FROM campaign_recipients r \
         JOIN venue_contacts c ON c.id = r.contact_id WHERE c.name = 'Nattaya')",
    )
    .execute(db)
    .await
    .expect("failed");

    let viewer = r.app.token(bma_domain::access::Role::Viewer).await;
    let by = |g: &'static str| {
        let viewer = viewer.clone();
        let app = &r.app;
        async move {
            let a = app.get(&format!("/api/v1/campaigns/analytics?group={g}"), &viewer).await;
            assert_eq!(a.status, StatusCode::OK, "viewers read: {}", a.text);
            a.body
        }
    };
    let channel = by("channel").await;
    assert_eq!(channel["group"], "channel");
    let groups = channel["groups"].as_array().expect("groups");
    let line_g = groups.iter().find(|g| g["key"] == "line").expect("line");
    // 3 recipients: 1 sent, 1 failed, 1 opted out; 2 handed to LINE.
    assert_eq!(line_g["recipients"], 3);
    assert_eq!((line_g["funnel"]["sent"].as_i64(), line_g["funnel"]["failed"].as_i64()), (Some(1), Some(1)));
    assert_eq!(line_g["funnel"]["opted_out"], 1);
    let rate = |g: &serde_json::Value, k: &str| g["rates"][k].as_f64().expect("a rate");
    assert!((rate(line_g, "sent") - 2.0 / 3.0).abs() < 1e-9);
    assert!((rate(line_g, "failed") - 0.5).abs() < 1e-9);
    assert!((rate(line_g, "delivered") - 0.0).abs() < 1e-9);
    assert!((rate(line_g, "opted_out") - 1.0 / 3.0).abs() < 1e-9);
    let email_g = groups.iter().find(|g| g["key"] == "email").expect("email");
    assert_eq!(email_g["recipients"], 1);
    assert_eq!(email_g["funnel"]["sent"], 1);
    assert!((rate(email_g, "sent") - 1.0).abs() < 1e-9 && rate(email_g, "failed").abs() < 1e-9);

    let brand = by("brand").await;
    let count = |key: &str, field: &str| {
        brand["groups"].as_array().and_then(|l| l.iter().find(|g| g["key"] == key)).map(|g| g["funnel"][field].clone())
    };
    assert_eq!(count("Hilton", "sent"), Some(json!(1)));
    assert_eq!(count("Hilton", "opted_out"), Some(json!(1)));
    assert_eq!(count("Marriott", "failed"), Some(json!(1)));
    assert_eq!(count("Indie", "sent"), Some(json!(1)));
    let template = by("template").await;
    assert_eq!(template["groups"].as_array().map(Vec::len), Some(1), "no campaign used a WhatsApp template");
    assert_eq!(template["groups"][0]["key"], serde_json::Value::Null);
    assert_eq!(template["groups"][0]["recipients"], 4);
    let country = by("country").await;
    assert_eq!(country["groups"][0]["key"], "TH");

    let bad = r.app.get("/api/v1/campaigns/analytics?group=weather", &viewer).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    // The grouping is required, as the document says.
    let none = r.app.get("/api/v1/campaigns/analytics", &viewer).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.text);
    assert_eq!(none.body["error"]["fields"][0]["field"], "group", "{}", none.text);
}
