//! Every form of the venues, team and campaign pages refuses a post without the CSRF token, and
//! names typed by people render as text.

use crate::support::helpers::{venue_body, venue_with_lobby};
use crate::support::{Visitor, admin_with_mfa, portal};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;

#[tokio::test]
async fn posts_without_the_csrf_token_are_refused_on_every_new_form() {
    let app = portal().await;
    let token = app.token(Role::Manager).await;
    let (venue, _) = venue_with_lobby(&app, &token, venue_body("Lotus Sukhumvit")).await;
    let body = serde_json::json!({"name": "Notice", "type": "service", "channel": "email", "target_venues": [venue], "message_template": "Hi"});
    let campaign =
        app.post("/api/v1/campaigns", Some(&token), body).await.body["id"].as_str().expect("a campaign").to_owned();
    let (admin, secret) = admin_with_mfa(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&admin, Some(&secret)).await;
    let me: uuid::Uuid = sqlx::query_scalar("SELECT id FROM team_members WHERE email = $1")
        .bind(&admin)
        .fetch_one(&app.ctx.db)
        .await
        .expect("the admin");
    let forms = [
        "/venues".to_owned(),
        format!("/venues/{venue}"),
        "/venues/import".to_owned(),
        "/team".to_owned(),
        format!("/team/{me}/role"),
        format!("/team/{me}/deactivate"),
        format!("/team/{me}/reactivate"),
        "/campaigns".to_owned(),
        "/campaigns/audience".to_owned(),
        format!("/campaigns/{campaign}"),
        format!("/campaigns/{campaign}/test"),
        format!("/campaigns/{campaign}/do/send"),
        format!("/campaigns/{campaign}/do/pause"),
        format!("/campaigns/{campaign}/do/resume"),
        format!("/campaigns/{campaign}/do/cancel"),
        format!("/campaigns/{campaign}/do/duplicate"),
    ];
    for path in forms {
        let r =
            v.post(&path, &[("name", "Forged"), ("timezone", "Asia/Bangkok"), ("csv", "x"), ("role", "viewer")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} without a token");
        let r = v
            .request(Method::POST, &path, Some("csrf=guess&name=Forged".into()), &[("sec-fetch-site", "same-origin")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with a wrong token");
    }
    assert_eq!(app.count("SELECT count(*) FROM venues WHERE name = 'Forged'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action LIKE 'member.update%'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM campaigns").await, 1, "no copy, no new campaign");
    assert_eq!(app.count("SELECT count(*) FROM campaigns WHERE status = 'draft'").await, 1, "not sent");
}

#[tokio::test]
async fn script_in_a_venue_or_member_name_renders_as_text() {
    let app = portal().await;
    let token = app.token(Role::Manager).await;
    let evil = "<script>alert(1)</script>";
    let (venue, _) = venue_with_lobby(&app, &token, venue_body(&format!("Bar {evil}"))).await;
    let (admin, secret) = admin_with_mfa(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&admin, Some(&secret)).await;
    let csrf = v.get("/team").await.csrf();
    v.post(
        "/team",
        &[("csrf", &csrf), ("email", "evil@bma.test"), ("name", &format!("Eve {evil}")), ("role", "viewer")],
    )
    .await;
    for path in ["/venues".to_owned(), format!("/venues/{venue}"), format!("/venues/{venue}/edit"), "/team".to_owned()]
    {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.text.contains(evil), "{path} runs the script");
        assert!(
            page.text.contains("&lt;script&gt;") || page.text.contains("&#60;script&#62;"),
            "{path} shows it as text"
        );
    }
}
