use crate::support::{Visitor, admin_with_mfa, portal};
use axum::http::StatusCode;
use bma_domain::access::Role;

fn member_id(app_email: &str, page: &str) -> String {
    let row = page.split("<tr>").find(|r| r.contains(app_email)).expect("the member's row");
    let at = row.find("/team/").expect("a control") + "/team/".len();
    row[at..at + 36].to_owned()
}

#[tokio::test]
async fn an_admin_invites_a_member_changes_their_role_and_deactivates_them() {
    let app = portal().await;
    let (admin, secret) = admin_with_mfa(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&admin, Some(&secret)).await;
    let page = v.get("/team").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = page.csrf();
    let bad = v
        .post("/team", &[("csrf", &csrf), ("email", "not-an-email"), ("name", "New Person"), ("role", "viewer")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("New Person"), "the form keeps what was typed");
    let ok = v
        .post("/team", &[("csrf", &csrf), ("email", "new.person@bma.test"), ("name", "New Person"), ("role", "viewer")])
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert!(ok.text.contains("The invitation has been sent"));
    let again = v
        .post("/team", &[("csrf", &csrf), ("email", "new.person@bma.test"), ("name", "Twice"), ("role", "viewer")])
        .await;
    assert!(again.text.contains("already exists"));
    let id = member_id("new.person@bma.test", &ok.text);
    let r = v.post(&format!("/team/{id}/role"), &[("csrf", &csrf), ("role", "manager")]).await;
    assert!(r.text.contains("The role has been changed"), "{}", r.text);
    let r = v.post(&format!("/team/{id}/deactivate"), &[("csrf", &csrf)]).await;
    assert!(r.text.contains("deactivated"));
    assert_eq!(
        app.count(
            "SELECT count(*) FROM team_members WHERE email = 'new.person@bma.test' AND role = 'manager' AND NOT active"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_manager_sees_the_team_without_controls_and_may_not_invite_or_change_roles() {
    let app = portal().await;
    let email = app.member(Role::Manager).await;
    let other = app.member(Role::Viewer).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let page = v.get("/team").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains(&other) && !page.text.contains("/deactivate") && !page.text.contains(r#"action="/team""#)
    );
    let r = v.post("/team", &[("csrf", &page.csrf()), ("email", "x@bma.test"), ("name", "X"), ("role", "admin")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM team_members WHERE email = $1")
        .bind(&other)
        .fetch_one(&app.ctx.db)
        .await
        .expect("the member");
    let r = v.post(&format!("/team/{id}/role"), &[("csrf", &page.csrf()), ("role", "admin")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
