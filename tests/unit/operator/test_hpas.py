"""The HPA body rikugame applies and reads back: behaviour with per-direction tolerances (KEP-4951)."""

from __future__ import annotations

from rikugame.core.horizontal.hpa import DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, Behavior, HPASettings, ScalingRules
from rikugame.operator.hpas import apply_body, settings_of


def test_tolerances_go_out_as_quantities_and_come_back() -> None:
    behavior = Behavior(scale_up=ScalingRules(DEFAULT_SCALE_UP.policies, 0, tolerance=0.0),
                        scale_down=ScalingRules(DEFAULT_SCALE_DOWN.policies, 0, tolerance=0.03))
    settings = HPASettings(93, 2, 100, behavior)
    body = apply_body("web", "shop", ("shop", "Deployment", "web"), "apps/v1", settings)
    assert body["spec"]["behavior"]["scaleUp"]["tolerance"] == "0m"
    assert body["spec"]["behavior"]["scaleDown"]["tolerance"] == "30m"
    assert body["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 0
    assert settings_of(body) == settings
    body["spec"]["behavior"]["scaleDown"]["tolerance"] = "0.03"  # the apiserver may spell it either way
    assert settings_of(body) == settings


def test_no_tolerance_no_field() -> None:
    body = apply_body("web", "shop", ("shop", "Deployment", "web"), "apps/v1", HPASettings(70, 2, 10))
    assert "tolerance" not in body["spec"]["behavior"]["scaleUp"]
    assert "tolerance" not in body["spec"]["behavior"]["scaleDown"]
    assert settings_of(body) == HPASettings(70, 2, 10)
