use crate::support::helpers::{venue_body, venue_with_lobby};
use crate::support::{Inbox, Visitor};
use axum::http::StatusCode;
use bma_domain::access::Role;

async fn member<'a>(rig: &'a Inbox, role: Role) -> Visitor<'a> {
    let v = Visitor::new(&rig.app);
    v.sign_in(&rig.app.member(role).await, None).await;
    v
}

#[tokio::test]
async fn a_venue_message_waits_unassigned_then_moves_to_mine_and_the_reply_reaches_whatsapp() {
    let rig = Inbox::start().await;
    let conv = rig.venue_writes("The music stopped in the lobby").await;
    let v = member(&rig, Role::Manager).await;
    let list = v.get("/inbox?list=unassigned").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains(&format!(r#"id="conv-{conv}""#)) && list.text.contains(r#"class="badge whatsapp""#));
    assert!(list.text.contains("Longest wait since") && list.text.contains("Waiting since"));
    assert!(!v.get("/inbox?list=mine").await.text.contains(&conv.to_string()));

    let thread = v.get(&format!("/inbox/{conv}?list=unassigned")).await;
    assert!(thread.text.contains("The music stopped in the lobby") && thread.text.contains("reply window open"));
    let csrf = thread.csrf();
    let r = v.post(&format!("/inbox/{conv}/assign"), &[("csrf", &csrf), ("to", "me"), ("list", "unassigned")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().ends_with("done=assign"), "{}", r.location());
    assert!(v.get("/inbox?list=mine").await.text.contains(&conv.to_string()), "the assignment moves it to mine");
    assert!(!v.get("/inbox?list=unassigned").await.text.contains(&format!("conv-{conv}")));

    let r = v.post(&format!("/inbox/{conv}/reply"), &[("csrf", &csrf), ("text", "We are restarting it now")]).await;
    assert!(r.location().ends_with("done=reply"), "{}", r.location());
    let r = v.post(&format!("/inbox/{conv}/note"), &[("csrf", &csrf), ("text", "VIP venue")]).await;
    assert!(r.location().ends_with("done=note"));
    rig.drain().await;
    let sent = rig.wa.sent();
    assert_eq!(sent.len(), 1, "the note is never sent");
    assert_eq!(sent[0].summary(), "We are restarting it now");
    let after = v.get(&format!("/inbox/{conv}")).await;
    assert!(after.text.contains("VIP venue") && after.text.contains("private note"));
    assert!(after.text.contains(r#"class="tick "#), "the reply shows its delivery tick");

    let empty = v.post(&format!("/inbox/{conv}/reply"), &[("csrf", &csrf), ("text", "  ")]).await;
    assert!(empty.location().ends_with("failed=invalid"));
    let closed = v.post(&format!("/inbox/{conv}/close"), &[("csrf", &csrf)]).await;
    assert!(closed.location().ends_with("done=close"));
    assert!(v.get("/inbox?list=closed").await.text.contains(&conv.to_string()));
}

#[tokio::test]
async fn outside_the_window_the_thread_offers_the_approved_templates_and_one_goes_out() {
    let rig = Inbox::start().await;
    let conv = rig.venue_writes("thanks").await;
    rig.close_window().await;
    let v = member(&rig, Role::Manager).await;
    let page = v.get(&format!("/inbox/{conv}")).await;
    assert!(page.text.contains("24-hour window is closed"), "{}", page.text);
    assert!(!page.text.contains(r#"id="reply-text""#) && page.text.contains(r#"value="conversation_reopen|en_US""#));
    let csrf = page.csrf();
    let text = v.post(&format!("/inbox/{conv}/reply"), &[("csrf", &csrf), ("text", "hi again")]).await;
    assert!(text.location().ends_with("failed=window"), "{}", text.location());
    let tpl =
        v.post(&format!("/inbox/{conv}/template"), &[("csrf", &csrf), ("template", "conversation_reopen|en_US")]).await;
    assert!(tpl.location().ends_with("done=template"), "{}", tpl.location());
    rig.drain().await;
    let sent = rig.wa.sent();
    assert_eq!((sent.len(), sent[0].kind.as_str()), (1, "template"));
}

#[tokio::test]
async fn message_content_renders_as_text_and_a_viewer_gets_no_controls_and_no_forged_reply() {
    let rig = Inbox::start().await;
    let evil = r#"<img src=x onerror="alert(1)"><script>alert(2)</script>"#;
    let conv = rig.venue_writes(evil).await;
    let v = member(&rig, Role::Viewer).await;
    let page = v.get(&format!("/inbox/{conv}?list=waiting")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains(evil) && !page.text.contains("<script>alert"), "markup from a venue is escaped");
    assert!(page.text.contains("alert(2)"), "but shown as text");
    assert!(!page.text.contains(r#"action="/inbox/"#), "no controls for a viewer");
    let csrf = page.csrf();
    for (path, form) in [("reply", vec![("text", "hi")]), ("assign", vec![("to", "me")]), ("close", vec![])] {
        let mut f = vec![("csrf", csrf.as_str())];
        f.extend(form);
        assert_eq!(v.post(&format!("/inbox/{conv}/{path}"), &f).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    rig.drain().await;
    assert!(rig.wa.sent().is_empty());
}

#[tokio::test]
async fn script_in_a_venue_message_a_reply_or_a_campaign_renders_as_text() {
    let rig = Inbox::start().await;
    let evil = "<script>alert(1)</script>";
    let img = r#"<img src=x onerror="alert(2)">"#;
    let conv = rig.venue_writes(&format!("Lobby {evil} {img}")).await;
    let v = member(&rig, Role::Manager).await;
    let csrf = v.get(&format!("/inbox/{conv}")).await.csrf();
    v.post(&format!("/inbox/{conv}/note"), &[("csrf", &csrf), ("text", &format!("Note {evil}"))]).await;
    let token = rig.app.token(Role::Manager).await;
    let (venue, _) = venue_with_lobby(&rig.app, &token, venue_body("Lotus Sukhumvit")).await;
    let body = serde_json::json!({"name": format!("Songkran {evil}"), "type": "holiday", "channel": "email",
        "target_venues": [venue], "message_template": format!("Hello {img}")});
    let campaign = rig.app.post("/api/v1/campaigns", Some(&token), body).await.body["id"].as_str().map(str::to_owned);
    let list = v.get("/inbox").await;
    assert!(!list.text.contains(evil) && !list.text.contains(img), "the inbox list carries live markup");
    let mut pages = vec![format!("/inbox/{conv}"), "/campaigns".to_owned()];
    pages.extend(campaign.map(|id| format!("/campaigns/{id}")));
    assert_eq!(pages.len(), 3, "the campaign was saved as a draft");
    for path in pages {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.text.contains(evil) && !page.text.contains(img), "{path} carries live markup");
        let escaped = ["&lt;script&gt;", "&#60;script&#62;", "&lt;img", "&#60;img"];
        assert!(escaped.iter().any(|e| page.text.contains(e)), "{path} shows it as text");
    }
}
