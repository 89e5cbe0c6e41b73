"""What people read: alert and digest messages, the escalation map page, charts, templates."""
