"""Everything the simulator remembers between requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from heap_destination.sim.deletion_state import DeletionState
from heap_destination.sim.faults import FaultPlan
from heap_destination.sim.rate_limits import RateLimiter
from heap_destination.sim.recorder import Recorder


@dataclass
class SimulatorState:
    recorder: Recorder = field(default_factory=Recorder)
    faults: FaultPlan = field(default_factory=FaultPlan)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    deletion: DeletionState = field(default_factory=DeletionState)
