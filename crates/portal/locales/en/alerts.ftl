nav-alerts = Alerts
nav-maintenance = Maintenance
maintenance-for-zone = Plan maintenance for this zone
