"""A circuit breaker per model: a model that keeps failing is skipped for ``cooldown`` seconds; then one request
may probe it (half-open). A success closes the breaker, a failed probe reopens it.

"Keeps failing" means ``threshold`` failures in a row *and* at least half of its last ``window`` outcomes failed.
The second condition matters under load: a provider with 10 % random errors serving 40 requests/s produces
three failures in a row every half minute, and pausing it each time would do more harm than the errors (which
retries absorb). With little traffic the window is short and ``threshold`` in a row decides alone.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 20


@dataclass(slots=True)
class _State:
    failures: int = 0  # in a row
    opened_at: float | None = None
    probing: bool = False
    last_error: str = ""
    recent: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))  # True: failed


class CircuitBreaker:
    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic):
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self.clock = clock
        self._states: dict[str, _State] = {}

    def state(self, model: str) -> str:
        st = self._states.get(model)
        if st is None or st.opened_at is None:
            return "closed"
        if self.clock() - st.opened_at < self.cooldown:
            return "open"
        return "half_open"

    def retry_in(self, model: str) -> float:
        st = self._states.get(model)
        if st is None or st.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self.clock() - st.opened_at))

    def allow(self, model: str) -> bool:
        """Whether a request may go to ``model`` now. In half-open state only one probe at a time."""
        state = self.state(model)
        if state == "closed":
            return True
        if state == "open":
            return False
        st = self._states[model]
        if st.probing:
            return False
        st.probing = True
        return True

    def success(self, model: str) -> None:
        st = self._states.get(model)
        if st is None or st.opened_at is not None:  # new, or a probe succeeded: start from a clean slate
            st = self._states[model] = _State()
        st.failures = 0
        st.recent.append(False)

    def failure(self, model: str, error: str = "") -> None:
        st = self._states.setdefault(model, _State())
        st.failures += 1
        st.last_error = error
        st.recent.append(True)
        mostly_failing = sum(st.recent) * 2 >= len(st.recent)
        if st.opened_at is not None or (st.failures >= self.threshold and mostly_failing):
            st.opened_at = self.clock()  # a failed probe restarts the cool-down
        st.probing = False

    def release(self, model: str) -> None:
        """A probe ended without a verdict (cancelled, or failed for a reason that says nothing about the model)."""
        st = self._states.get(model)
        if st is not None:
            st.probing = False

    def snapshot(self) -> dict[str, dict]:
        """Models failing now (in a row) or paused: ``{model: {state, failures, retry_in, last_error}}``."""
        return {
            model: {"state": self.state(model), "failures": st.failures, "retry_in": round(self.retry_in(model), 1),
                    "last_error": st.last_error}
            for model, st in self._states.items() if st.failures or st.opened_at is not None
        }
