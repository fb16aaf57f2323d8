use crate::support::{PASSWORD, Visitor, admin_with_mfa, portal};
use axum::http::StatusCode;
use bma_domain::access::Role;

#[tokio::test]
async fn a_member_changes_their_password_only_with_the_current_one() {
    let app = portal().await;
    let email = app.member(Role::Manager).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let csrf = v.get("/profile").await.csrf();
    let new = "a much longer new password";
    let wrong = v.post("/profile/password", &[("csrf", &csrf), ("current", "not it"), ("new", new)]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text.contains("The current password is incorrect"));
    let ok = v.post("/profile/password", &[("csrf", &csrf), ("current", PASSWORD), ("new", new)]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert!(ok.text.contains("Your password has been changed"));
    let fresh = Visitor::new(&app);
    let r = fresh.post("/sign-in", &[("email", &email), ("password", new)]).await;
    assert_eq!(r.location(), "/dashboard");
}

#[tokio::test]
async fn a_manager_turns_mfa_off_with_a_code_but_an_admin_may_not() {
    let app = portal().await;
    let (admin, admin_secret) = admin_with_mfa(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&admin, Some(&admin_secret)).await;
    let page = v.get("/profile").await;
    assert!(!page.text.contains("/profile/mfa/disable"), "no control for an admin");
    let code = bma_app::security::totp::code_at(&admin_secret, crate::support::helpers::now());
    let r = v.post("/profile/mfa/disable", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let manager = app.member(Role::Manager).await;
    let login = app.login(&manager, None).await;
    let token = login.body["access_token"].as_str().expect("token").to_owned();
    let (_, secret) = app.enrol_mfa(&token).await;
    let m = Visitor::new(&app);
    m.sign_in(&manager, Some(&secret)).await;
    let page = m.get("/profile").await;
    assert!(page.text.contains("/profile/mfa/disable"));
    let wrong = m.post("/profile/mfa/disable", &[("csrf", &page.csrf()), ("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A minute passes: the codes spent at enrolment and sign-in lie behind.
    sqlx::query("UPDATE team_members SET totp_last_step = totp_last_step - 2 WHERE email = $1")
        .bind(&manager)
        .execute(&app.ctx.db)
        .await
        .expect("rewind");
    let code = bma_app::security::totp::code_at(&secret, crate::support::helpers::now());
    let off = m.post("/profile/mfa/disable", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert!(off.text.contains("Two-factor sign-in is now off"), "{}", off.text);
    let again = Visitor::new(&app);
    assert_eq!(again.sign_in(&manager, None).await.location(), "/dashboard", "no code asked any more");
}
