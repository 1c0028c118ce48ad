"""Typed settings of each recommender, as they appear in a Tuner spec (pydantic v2; camelCase on the wire).

A discriminated union on ``name`` (the recommender's registry name), so the CRD schema can carry it and an
unknown knob is refused with its field named. Every field is optional: unset means the recommender's own
default (the one its backtest figures were measured with). Field names equal the recommender dataclass
fields they set.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DAY = 86400
GIB = 2**30


class _Settings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    min_history_seconds: float | None = Field(None, ge=0, le=90 * DAY,
                                              description="History needed before any estimate.")

    def to_kwargs(self) -> dict[str, Any]:
        """The set fields as keyword arguments of the recommender (``name`` left out)."""
        return {k: v for k, v in self.model_dump(exclude={"name"}).items() if v is not None}


class RikugameSettings(_Settings):
    """``rikugame``: CPU arg-min ensemble, memory = time-of-day peak + byte headroom."""

    name: Literal["rikugame"] = "rikugame"
    memory_window_seconds: int | None = Field(None, ge=3600, le=90 * DAY,
                                              description="Window of the memory peak that caps the "
                                                          "time-of-day rule (default 7 days).")
    memory_headroom_fraction: float | None = Field(None, ge=0, le=10,
                                                   description="Headroom as a fraction of the peak, when "
                                                               "larger than the capped headroom (0).")
    memory_headroom_cap_bytes: float | None = Field(
        None, ge=0, le=64 * GIB,
        description="The memory risk knob: bytes of headroom above the peak, at most the peak itself "
                    "(default 1 GiB). Smaller is cheaper and riskier; the README and docs/memory.md show "
                    "memory requested against OOM-free days for 0 to 2 GiB.")
    switch_margin: float | None = Field(None, ge=0, lt=1, description="How much cheaper a CPU model must be "
                                                                       "to be switched to (0.3).")


class VPASettings(_Settings):
    """``vpa``: the VPA recommender's percentiles, margin and half-lives."""

    name: Literal["vpa"] = "vpa"
    cpu_percentile: float | None = Field(None, gt=0, le=1, description="CPU percentile (0.9).")
    memory_percentile: float | None = Field(None, gt=0, le=1, description="Percentile of daily peaks (0.9).")
    margin_fraction: float | None = Field(None, ge=0, le=10, description="Safety margin (0.15).")
    cpu_half_life_seconds: float | None = Field(None, gt=0, description="CPU histogram half-life (24 h).")
    memory_half_life_seconds: float | None = Field(None, gt=0, description="Memory peaks' half-life (24 h).")
    memory_interval_seconds: int | None = Field(None, ge=60, le=7 * DAY,
                                                description="Length of a memory peak interval (24 h).")


class TortoiseSettings(VPASettings):
    """``tortoise``: VPA's settings plus Tortoise's buffer."""

    name: Literal["tortoise"] = "tortoise"  # type: ignore[assignment]
    buffer_ratio: float | None = Field(None, ge=0, le=10, description="Buffer on the VPA target (0.1).")


class KRRSimpleSettings(_Settings):
    """``krr-simple``: KRR's simple strategy."""

    name: Literal["krr-simple"] = "krr-simple"
    window_seconds: int | None = Field(None, ge=3600, le=90 * DAY, description="History window (14 days).")
    cpu_percentile: float | None = Field(None, gt=0, le=1, description="CPU percentile (0.95).")
    memory_buffer_fraction: float | None = Field(None, ge=0, le=10, description="Buffer on the memory max "
                                                                                 "(0.15).")


class WindowSettings(_Settings):
    """``window``: Autopilot's moving window."""

    name: Literal["window"] = "window"
    cpu_percentile: float | None = Field(None, gt=0, le=1, description="Load-adjusted CPU percentile (0.95).")
    memory_percentile: float | None = Field(None, gt=0, le=1,
                                            description="Load-adjusted memory percentile (0.98).")
    margin_fraction: float | None = Field(None, ge=0, le=10, description="Safety margin (0.1).")


RecommenderSettings = Annotated[
    RikugameSettings | VPASettings | TortoiseSettings | KRRSimpleSettings | WindowSettings,
    Field(discriminator="name"),
]
"""One recommender's settings; ``name`` says which."""
