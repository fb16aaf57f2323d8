nav-alerts = Alerts
nav-maintenance = Maintenance
maintenance-for-zone = Plan maintenance for this zone
alerts-title = Alerts
alerts-which = Which alerts
alerts-shown-open = Open
alerts-shown-resolved = Resolved
alerts-severity = Severity
alerts-kind = Alert
alerts-where = Where
alerts-opened = Opened
alerts-age = Open for
alerts-none = No alerts here.
alerts-age-minutes = { $n ->
    [one] 1 minute
   *[other] { $n } minutes
}
alerts-age-hours = { $n ->
    [one] 1 hour
   *[other] { $n } hours
}
alerts-age-days = { $n ->
    [one] 1 day
   *[other] { $n } days
}
maintenance-title = Maintenance windows
maintenance-plan = Plan a maintenance window
maintenance-zone = Zone
maintenance-venue = Venue
maintenance-starts = Starts
maintenance-ends = Ends
maintenance-your-time = Times are in your own time zone.
maintenance-reason = Reason
maintenance-save = Plan the window
maintenance-windows = Current and coming windows
maintenance-none = No maintenance is planned.
maintenance-what = Venue or zone
maintenance-venue-time = Times are shown in each venue's own time.
maintenance-planned = The maintenance window was planned. No alerts are raised while it lasts.
maintenance-invalid = Check the times: the end must come after the start, within 31 days.
