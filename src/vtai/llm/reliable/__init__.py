"""Reliability around the LLM seam: retries with backoff, fallback chains (also mid-stream), timeouts, a circuit
breaker per model and one clear message when a request finally fails. See docs/reliability.md."""

from vtai.llm.reliable.breaker import CircuitBreaker
from vtai.llm.reliable.chains import FallbackConfig, load_fallbacks, resolve_chain
from vtai.llm.reliable.client import ReliableLLM
from vtai.llm.reliable.policy import explain

__all__ = ["CircuitBreaker", "FallbackConfig", "ReliableLLM", "explain", "load_fallbacks", "resolve_chain"]
