use crate::support::{Visitor, portal};
use axum::http::StatusCode;

#[tokio::test]
async fn assets_are_served_under_their_fingerprint_with_a_year_long_immutable_cache() {
    let app = portal().await;
    let v = Visitor::new(&app);
    let page = v.get("/sign-in").await;
    for a in bma_portal::assets::all() {
        assert!(a.path.len() > a.name.len() + "/assets/".len(), "{} carries a hash", a.path);
        let r = v.get(&a.path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", a.path);
        assert_eq!(r.headers["cache-control"], "public, max-age=31536000, immutable");
    }
    let htmx = bma_portal::assets::url("htmx.min.js");
    assert!(page.text.contains(htmx), "the layout links the fingerprinted name");
    assert_eq!(v.get("/assets/htmx.min.js").await.status, StatusCode::NOT_FOUND, "never the bare name");
}

#[test]
fn every_asset_the_templates_name_is_embedded() {
    for path in crate::catalogue::templates() {
        let text = std::fs::read_to_string(&path).expect("template");
        for part in text.split("c.asset(\"").skip(1) {
            let name = part.split('"').next().expect("a name");
            assert!(!bma_portal::assets::url(name).is_empty(), "{name} in {}", path.display());
        }
    }
}
