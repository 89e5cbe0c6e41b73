"""Fixed reference data both worlds share: Jira statuses, resolutions, priorities, issue types,
and the identities of the sandbox's own accounts. Ids follow Jira Cloud's conventions (system
statuses keep their small ids, custom ones start at 10000)."""

from __future__ import annotations

from .data import Status

#: (id, name, category key)
STATUSES: tuple[tuple[str, str, str], ...] = (
    ("1", "Open", "new"),
    ("10001", "Triage", "new"),
    ("3", "In Progress", "indeterminate"),
    ("10002", "Escalated", "indeterminate"),
    ("10003", "Awaiting approval", "indeterminate"),
    ("10004", "Done", "done"),
    ("6", "Closed", "done"),
    ("10005", "Flagged", "new"),
    ("10006", "Outreach", "indeterminate"),
    ("10007", "Offer review", "indeterminate"),
    ("10008", "Saved", "done"),
    ("10009", "Churned", "done"),
    ("10010", "New", "new"),
    ("10011", "Setup", "indeterminate"),
    ("10012", "Blocked", "indeterminate"),
    ("10013", "Activated", "done"),
    ("10014", "Won't do", "done"),
    ("10015", "To Do", "new"),
    ("10016", "In Review", "indeterminate"),
)

#: name -> id
RESOLUTIONS: dict[str, str] = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002"}
RESOLUTION_NAMES: dict[str, str] = {v: k for k, v in RESOLUTIONS.items()}

#: name -> id
PRIORITIES: dict[str, str] = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
PRIORITY_NAMES: dict[str, str] = {v: k for k, v in PRIORITIES.items()}

#: name -> (id, description, hierarchyLevel)
ISSUE_TYPES: dict[str, tuple[str, str, int]] = {
    "Task": ("10001", "A small, distinct piece of work.", 0),
    "Bug": ("10004", "A problem or error.", 0),
    "Story": ("10002", "Functionality or a feature expressed as a user goal.", 0),
    "Epic": ("10000", "A big user story that needs to be broken down.", 1),
}

# --- the sandbox's own accounts -------------------------------------------------------------------

JIRA_EMAIL = "demo@acme.example"
# Fixture credentials the sandbox accepts (not secrets: they open nothing but the sandbox).
JIRA_API_TOKEN = "sandbox-jira-token"
JIRA_PAT = "sandbox-jira-pat"
PAGERDUTY_API_TOKEN = "sandbox-pd-token"
#: Events API v2 routing keys are 32 characters; the sandbox accepts any well-formed one.
ROUTING_KEY = "sandbox".ljust(31, "0") + "1"

#: The account the API token belongs to (what `/myself` answers). Its zone is deliberately
#: neither UTC nor the registry's Europe/Berlin: naive JQL dates are read in it.
API_ACCOUNT_ID = "712020:7c4e2b9a-1d3f-4a5b-8c6d-9e0f1a2b3c4d"
API_ACCOUNT_NAME = "Acme Sync Service"
API_ACCOUNT_TZ = "America/New_York"

JIRA_AUTOMATION_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
#: A Jira account that acts in the demo but is not in the registry (an unmapped actor).
UNMAPPED_JIRA_ID = "5b10a2844c20165700ede2ff"
UNMAPPED_JIRA_NAME = "Casey Morgan"
#: A PagerDuty user absent from the registry; acts only on the untracked service.
UNMAPPED_PD_ID = "PCONT01"

SITE_HTML = "https://acme-sandbox.atlassian.net"
PD_HTML = "https://acme-sandbox.pagerduty.com"


def status_objects() -> list[Status]:
    return [Status(id=sid, name=name, category=cat) for sid, name, cat in STATUSES]


def pd_id(prefix: str, n: int, width: int = 6) -> str:
    """A deterministic PagerDuty-looking id: prefix + base-36 digits that look scrambled."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    space = 36**width
    value = (n * 2_305_843_009_213_693_951 + 7_777) % space  # a prime, so coprime to 36**width
    digits = []
    for _ in range(width):
        value, rest = divmod(value, 36)
        digits.append(alphabet[rest])
    return prefix + "".join(reversed(digits))


INTEGRATIONS: dict[str, tuple[str, str, str]] = {
    "PEVT001": ("events_api_v2_inbound_integration_reference", "PSUP001", "Support Events API v2"),
    "PGEN001": ("generic_events_api_inbound_integration_reference", "PSUP001",
                "Support Monitoring (generic events API)"),
    "PEML001": ("generic_email_inbound_integration_reference", "PSUP001", "support@acme email"),
    "PNAG001": ("nagios_inbound_integration_reference", "PSUP001", "Support Nagios"),
}
"""The demo's inbound integrations, id → (reference type, service, name). Types from
`IntegrationReference` in PagerDuty's OpenAPI document; log entries name them as agents."""


def integration_ref(integration_id: str) -> tuple[str, str]:
    """The agent `Ref` of one of `INTEGRATIONS`."""
    return (INTEGRATIONS[integration_id][0], integration_id)
