//! Who may do what: the roles of the team and the one table that grants them permissions.
//! Every API route names the permission it needs (see the web crate's route table); this file
//! decides which roles hold it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Manager, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::Invalid> {
        match s {
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "viewer" => Ok(Role::Viewer),
            _ => Err(crate::Invalid::one("role", "must be one of admin, manager, viewer")),
        }
    }

    /// Admins must use a second factor (the specification: MFA for admin accounts).
    pub fn requires_mfa(self) -> bool {
        matches!(self, Role::Admin)
    }

    /// The permission table.
    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Manager => matches!(
                permission,
                VenuesRead
                    | VenuesWrite
                    | MonitoringRead
                    | MonitoringControl
                    | ConversationsRead
                    | ConversationsWrite
                    | CampaignsRead
                    | CampaignsWrite
                    | AnalyticsRead
                    | TeamRead
            ),
            Role::Viewer => matches!(
                permission,
                VenuesRead | MonitoringRead | ConversationsRead | CampaignsRead | AnalyticsRead | TeamRead
            ),
        }
    }
}

crate::sql::text_column!(Role, |s| Role::parse(s).ok());

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Any signed-in member, whatever the role (their own profile, MFA enrolment, logout).
    Authenticated,
    VenuesRead,
    VenuesWrite,
    MonitoringRead,
    MonitoringControl,
    ConversationsRead,
    ConversationsWrite,
    CampaignsRead,
    CampaignsWrite,
    AnalyticsRead,
    TeamRead,
    TeamManage,
    AuditRead,
    JobsManage,
    /// Public status links: make, list and revoke them (admins only).
    StatusLinksManage,
}

impl Permission {
    pub fn granted_to(self, role: Role) -> bool {
        self == Permission::Authenticated || role.grants(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_hold_every_permission_and_viewers_never_write() {
        for p in [
            Permission::VenuesWrite,
            Permission::TeamManage,
            Permission::AuditRead,
            Permission::JobsManage,
            Permission::StatusLinksManage,
            Permission::MonitoringControl,
        ] {
            assert!(Role::Admin.grants(p));
            assert!(!Role::Viewer.grants(p), "{p:?}");
        }
        assert!(Role::Manager.grants(Permission::VenuesWrite));
        assert!(!Role::Manager.grants(Permission::TeamManage));
        assert!(!Role::Manager.grants(Permission::StatusLinksManage));
    }

    #[test]
    fn role_names_round_trip_and_unknown_roles_are_refused() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("root").is_err());
    }
}
