"""prefect.yaml loads with Prefect's own model, every entrypoint imports, every schedule parses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.cli.deploy._models import DeploymentConfig, PrefectYamlModel
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
DEPLOYMENTS = DOC["deployments"]


def test_prefect_yaml_validates_with_prefects_model() -> None:
    model = PrefectYamlModel.model_validate(DOC)
    assert {d.name for d in model.deployments} == {d["name"] for d in DEPLOYMENTS}


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_deployment_keys_are_known_to_prefect(deployment: dict[str, Any]) -> None:
    # PrefectYamlModel ignores unknown deployment keys silently; a typo would be lost.
    assert set(deployment) <= set(DeploymentConfig.model_fields)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_entrypoint_imports_and_parameters_fit(
    deployment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    flow.validate_parameters(deployment.get("parameters", {}))
