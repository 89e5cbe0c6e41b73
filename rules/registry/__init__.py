"""The owner registry (SPEC §3): typed models, strict loading with line numbers, validation.

Pure: takes the registry's text, returns models or every problem found. Reading the file is
`accountability.registry_file`'s job.
"""

from .issues import RegistryError, RegistryIssue, UnknownWorkflowError
from .load import LoadedRegistry, parse_registry
from .models import (
    INCIDENT_STAGE_KEY,
    METRICS,
    STAGE_OWNER,
    Alerts,
    Automation,
    Decision,
    DecisionPoint,
    Delegation,
    IncidentSource,
    JiraRiskReview,
    JiraSource,
    Outcome,
    PagerDutySource,
    Person,
    Registry,
    Reset,
    Scorecard,
    SourceConfig,
    Sources,
    Stage,
    Threshold,
    TicketSource,
    Workflow,
)

__all__ = [
    "INCIDENT_STAGE_KEY",
    "METRICS",
    "STAGE_OWNER",
    "Alerts",
    "Automation",
    "Decision",
    "DecisionPoint",
    "Delegation",
    "IncidentSource",
    "JiraRiskReview",
    "JiraSource",
    "LoadedRegistry",
    "Outcome",
    "PagerDutySource",
    "Person",
    "Registry",
    "RegistryError",
    "RegistryIssue",
    "Reset",
    "Scorecard",
    "SourceConfig",
    "Sources",
    "Stage",
    "Threshold",
    "TicketSource",
    "UnknownWorkflowError",
    "Workflow",
    "parse_registry",
]
