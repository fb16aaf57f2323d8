status-title = Service status
status-overall-operational = All systems operational
status-overall-degraded = Some systems are degraded
status-overall-not-configured = Some systems are not set up
status-components = Components
status-api = Portal and API
status-workers = Background workers
status-soundtrack = Soundtrack connection
status-whatsapp = WhatsApp
status-line = LINE
status-email = Email
status-state-operational = Operational
status-state-degraded = Degraded
status-state-not-configured = Not set up
status-incidents = Incident history
status-no-incidents = No incidents recorded.
status-incident-soundtrack = Soundtrack platform disruption
status-incident-started = Started
status-incident-resolved = Resolved
status-incident-ongoing = Ongoing
status-link-title = Music status
status-link-kind-brand = The music at every venue of this brand, shared by BMA.
status-link-kind-venue = The music at this venue, shared by BMA.
status-link-now = Now
status-link-today = Today
status-link-30-days = Last 30 days
status-link-today-hours = Today, hour by hour (UTC)
status-link-updated = Updated
status-link-definition = Uptime counts opening hours only; planned maintenance and time without a reading are left out. Today covers the hours completed so far.
status-link-more-zones = { $count ->
    [one] One more zone is not listed.
   *[other] { $count } more zones are not listed.
}
status-link-no-zones = There are no monitored zones to show.
status-link-zone = Zone
status-link-music = Music now
status-link-hours-up = { $n ->
    [one] { $n } hour with music
   *[other] { $n } hours with music
}
status-link-hours-mixed = { $n ->
    [one] { $n } hour partly silent
   *[other] { $n } hours partly silent
}
status-link-hours-down = { $n ->
    [one] { $n } hour silent
   *[other] { $n } hours silent
}
status-link-hours-no-data = { $n ->
    [one] { $n } hour without a reading
   *[other] { $n } hours without a reading
}
status-link-legend-up = Music
status-link-legend-mixed = Partly silent
status-link-legend-down = Silent
status-link-legend-no-data = No reading (closed or not checked)
status-link-legend-ahead = Not yet
