"""Start-up configuration of a sandbox server: throttling limits, fault injection, extra apps."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class RateLimits:
    """QBO's per-realm limits (429 / code 3001 when exceeded). Measured on the wall clock."""

    enabled: bool = True
    per_minute: int = 500
    per_second: int = 10
    in_flight: int = 10
    batch_per_minute: int = 120

    @classmethod
    def unlimited(cls) -> RateLimits:
        return cls(enabled=False)


@dataclass(frozen=True)
class FaultSettings:
    """Random faults, drawn from a seeded generator; all off by default.

    Probabilities are per request (0..1). ``slow_seconds`` is how long a slow answer waits
    (choose more than the client's timeout). ``read_lag_seconds``: queries and CDC see a write
    only once the sandbox clock is that far past it.
    """

    throttle: float = 0.0  # 429 / 3001
    server_error: float = 0.0  # 500
    unavailable: float = 0.0  # 503
    slow: float = 0.0
    slow_seconds: float = 5.0
    lost_response: float = 0.0  # writes commit, then the connection drops
    read_lag_seconds: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultSettings:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        for name, value in data.items():
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"fault setting {name} must be a non-negative number, got {value!r}"
                )
        for name in ("throttle", "server_error", "unavailable", "slow", "lost_response"):
            if float(data.get(name, 0.0)) > 1:
                raise ValueError(f"fault probability {name} must be between 0 and 1")
        return cls(**{k: float(v) for k, v in data.items()})

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox instance can be told at start-up."""

    limits: RateLimits = field(default_factory=RateLimits)
    faults: FaultSettings = field(default_factory=FaultSettings)  # every realm
    realm_faults: dict[str, FaultSettings] = field(
        default_factory=dict
    )  # per realm, overrides `faults`
    fault_seed: int = 0
    apps: tuple[tuple[str, str], ...] = ()  # extra (client_id, client_secret) pairs
    requestid_retention_seconds: float = 86_400.0
    cdc_window_days: int = 30
    cdc_max_objects: int = 1000
