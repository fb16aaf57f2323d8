use crate::support::helpers::{venue_body, venue_with_lobby};
use crate::support::{Visitor, portal};
use axum::http::StatusCode;
use bma_domain::access::Role;

#[tokio::test]
async fn a_member_reads_each_report_with_a_range_and_grouping_and_downloads_the_apis_csv() {
    let app = portal().await;
    let token = app.token(Role::Manager).await;
    venue_with_lobby(&app, &token, venue_body("Lotus Sukhumvit")).await;
    let email = app.member(Role::Viewer).await;
    let v = Visitor::new(&app);
    v.sign_in(&email, None).await;
    let page = v.get("/analytics").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(r#"href="/analytics""#), "in the navigation");
    assert!(
        page.text.contains(r#"id="report""#) && page.text.contains("Satisfied (4–5)") && page.text.contains(">All<")
    );
    for report in ["uptime", "conversations"] {
        let p = v.get(&format!("/analytics?report={report}&group=country&offset=420")).await;
        assert_eq!(p.status, StatusCode::OK, "{report}: {}", p.text);
        assert!(p.text.contains(r#"<option value="country" selected>"#));
    }
    let uptime = v.get("/analytics?report=uptime&group=venue").await;
    assert!(
        uptime.text.contains("Lotus Sukhumvit") && uptime.text.contains(r#"data-chart="chart-data""#),
        "{}",
        uptime.text
    );
    assert!(uptime.text.contains("uplot.min") && uptime.text.contains("charts."), "the chart's scripts");
    let daily = v.get("/analytics?report=conversations&group=day&tz=Asia/Bangkok").await;
    assert_eq!(daily.status, StatusCode::OK, "{}", daily.text);
    let csv = v.get("/analytics/csv?report=satisfaction&group=channel").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap_or("").starts_with("text/csv"));
    assert!(csv.text.starts_with("key,label,surveys_sent"), "{}", csv.text);
    let too_long = v.get("/analytics?from=2020-01-01&to=2026-01-01").await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.text.contains(r#"role="alert""#));
}
