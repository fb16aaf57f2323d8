use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};
use bma_domain::access::{Permission, Role};
use bma_web::access::{Access, RULES, rule_for};

/// Every (method, path) the router serves, read from the document built with the router.
fn routes(app: &TestApp) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in &app.openapi.paths.paths {
        let ops = [
            (Method::GET, item.get.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::PUT, item.put.is_some()),
            (Method::PATCH, item.patch.is_some()),
            (Method::DELETE, item.delete.is_some()),
        ];
        out.extend(ops.into_iter().filter(|(_, present)| *present).map(|(m, _)| (m, path.clone())));
    }
    out
}

/// The statuses the document lists for one operation.
fn documented(app: &TestApp, method: &Method, path: &str) -> Vec<String> {
    let Some(item) = app.openapi.paths.paths.get(path) else { return Vec::new() };
    let op = match *method {
        Method::GET => &item.get,
        Method::POST => &item.post,
        Method::PUT => &item.put,
        Method::PATCH => &item.patch,
        Method::DELETE => &item.delete,
        _ => return Vec::new(),
    };
    op.as_ref().map(|op| op.responses.responses.keys().cloned().collect()).unwrap_or_default()
}

fn assert_documented(app: &TestApp, method: &Method, path: &str, status: StatusCode, body: &str) {
    let listed = documented(app, method, path);
    assert!(
        listed.iter().any(|s| s == status.as_str()),
        "{method} {path} answered {status} ({body}), the document lists only {listed:?}"
    );
}

fn concrete(path: &str) -> String {
    path.replace("{id}", &uuid::Uuid::now_v7().to_string())
}

#[tokio::test]
async fn every_route_has_an_access_rule_and_every_rule_a_route() {
    let app = TestApp::spawn().await;
    let served = routes(&app);
    assert!(served.len() >= 25, "only {} routes found", served.len());
    for (m, p) in &served {
        assert!(rule_for(m, p).is_some(), "{m} {p} has no access rule");
    }
    for (m, p, _) in RULES {
        assert!(served.iter().any(|(sm, sp)| sm.as_str() == *m && sp == p), "rule for {m} {p} matches no route");
    }
}

#[tokio::test]
async fn every_member_route_refuses_a_caller_without_a_token() {
    let app = TestApp::spawn().await;
    for (m, p) in routes(&app) {
        let Some(Access::Member { .. }) = rule_for(&m, &p) else { continue };
        let r = app.call(m.clone(), &concrete(&p), None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {p}");
        assert_eq!(r.code(), "unauthenticated", "{m} {p}");
        assert_documented(&app, &m, &p, r.status, &r.text);
    }
}

#[tokio::test]
async fn each_role_is_refused_exactly_the_routes_its_permissions_lack_and_every_answer_is_documented() {
    let app = TestApp::spawn().await;
    for role in [Role::Viewer, Role::Manager] {
        let token = app.token(role).await;
        let mut all = routes(&app);
        // Signing out ends the session the walk uses, so it goes last.
        all.sort_by_key(|(_, p)| p.ends_with("/logout"));
        for (m, p) in all {
            let Some(Access::Member { permission, .. }) = rule_for(&m, &p) else { continue };
            let r = app.call(m.clone(), &concrete(&p), Some(&token), None).await;
            if permission.granted_to(role) {
                assert_ne!(r.status, StatusCode::FORBIDDEN, "{role:?} {m} {p}: {}", r.text);
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} {m} {p}");
                assert_eq!(r.code(), "forbidden");
            }
            assert_documented(&app, &m, &p, r.status, &r.text);
        }
    }
    assert!(!Permission::VenuesWrite.granted_to(Role::Viewer));
}

#[tokio::test]
async fn a_viewer_cannot_write_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Viewer).await;
    let r = app.post("/api/v1/venues", Some(&token), crate::helpers::venue_body("Viewer's Hotel")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM venues").await, 0);
}
