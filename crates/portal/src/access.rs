//! What a member may see and do in the portal, decided by the API's own access table: a page or
//! control is shown only when the API call behind it is allowed to the member's role.

use axum::http::Method;
use bma_domain::access::Role;
use bma_web::access::{Access, rule_for};

/// Whether `role` may make the API call `method api_path` (the route as registered, e.g.
/// `/api/v1/zones/{id}/volume`). A route missing from the table is allowed to nobody.
pub fn can(role: Role, method: &Method, api_path: &str) -> bool {
    match rule_for(method, api_path) {
        Some(Access::Public) => true,
        Some(Access::Member { permission, .. }) => permission.granted_to(role),
        None => false,
    }
}

/// One entry of the navigation: the message naming it, its page, and the API call behind it.
#[derive(Debug, Clone)]
pub struct NavEntry {
    pub key: &'static str,
    pub href: &'static str,
    pub api: (Method, &'static str),
}

/// The navigation, in order. A new page adds its line here.
pub const NAV: &[NavEntry] = &[
    NavEntry { key: "nav-dashboard", href: "/dashboard", api: (Method::GET, "/api/v1/analytics/dashboard") },
    NavEntry { key: "nav-monitoring", href: "/monitoring", api: (Method::GET, "/api/v1/monitoring/status") },
    NavEntry { key: "nav-inbox", href: "/inbox", api: (Method::GET, "/api/v1/conversations") },
    NavEntry { key: "nav-alerts", href: "/alerts", api: (Method::GET, "/api/v1/monitoring/alerts") },
    NavEntry { key: "nav-venues", href: "/venues", api: (Method::GET, "/api/v1/venues") },
    NavEntry { key: "nav-campaigns", href: "/campaigns", api: (Method::GET, "/api/v1/campaigns") },
    NavEntry { key: "nav-analytics", href: "/analytics", api: (Method::GET, "/api/v1/analytics/satisfaction") },
    NavEntry { key: "nav-team", href: "/team", api: (Method::GET, "/api/v1/team/members") },
    NavEntry { key: "nav-audit", href: "/audit", api: (Method::GET, "/api/v1/audit-log") },
    NavEntry { key: "nav-status-links", href: "/status-links", api: (Method::GET, "/api/v1/status-links") },
];

/// The entries `role` may see.
pub fn nav_for(role: Role) -> impl Iterator<Item = &'static NavEntry> {
    NAV.iter().filter(move |e| can(role, &e.api.0, e.api.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nav_entry_names_a_route_of_the_api_table() {
        for e in NAV {
            assert!(rule_for(&e.api.0, e.api.1).is_some(), "{} names no API route", e.key);
        }
    }

    #[test]
    fn a_viewer_may_read_but_not_resolve_alerts() {
        assert!(can(Role::Viewer, &Method::GET, "/api/v1/monitoring/alerts"));
        assert!(!can(Role::Viewer, &Method::POST, "/api/v1/monitoring/alerts/{id}/resolve"));
        assert!(can(Role::Manager, &Method::POST, "/api/v1/monitoring/alerts/{id}/resolve"));
        assert!(!can(Role::Admin, &Method::GET, "/api/v1/not-a-route"));
    }
}
