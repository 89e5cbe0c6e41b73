"""The owner registry (SPEC §3): typed models, strict loading with line numbers, validation.

Pure: takes the registry's text, returns models or every problem found. Reading the file is
`accountability.registry_file`'s job.
"""

from .issues import RegistryError, RegistryIssue
from .load import LoadedRegistry, parse_registry
from .models import (
    METRICS,
    STAGE_OWNER,
    Alerts,
    Automation,
    Decision,
    DecisionPoint,
    Delegation,
    JiraRiskReview,
    JiraSource,
    Outcome,
    PagerDutySource,
    Person,
    Registry,
    Scorecard,
    Sources,
    Stage,
    Threshold,
    Workflow,
)

__all__ = [
    "METRICS",
    "STAGE_OWNER",
    "Alerts",
    "Automation",
    "Decision",
    "DecisionPoint",
    "Delegation",
    "JiraRiskReview",
    "JiraSource",
    "LoadedRegistry",
    "Outcome",
    "PagerDutySource",
    "Person",
    "Registry",
    "RegistryError",
    "RegistryIssue",
    "Scorecard",
    "Sources",
    "Stage",
    "Threshold",
    "Workflow",
    "parse_registry",
]
