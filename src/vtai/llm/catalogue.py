"""The model catalogue: ``data/models.yaml`` in the package, extended or overridden by ``$VTAI_HOME/models.yaml``."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from vtai.datafiles import read_mapping
from vtai.errors import MissingKeyError, UnknownModelError, UserError
from vtai.settings import PROVIDERS, Settings

CAPABILITIES = frozenset(
    {"chat", "vision", "reasoning", "tools", "image_generation", "speech", "transcription", "embeddings"}
)


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    provider: str
    name: str
    capabilities: frozenset[str]
    context: int = 8192
    aliases: tuple[str, ...] = ()
    note: str = ""
    think_tags: bool = False
    fallbacks: tuple[str, ...] = ()

    @property
    def litellm_model(self) -> str:
        return f"{PROVIDERS[self.provider].litellm_prefix}/{self.name}"

    def can(self, capability: str) -> bool:
        return capability in self.capabilities


@dataclass(slots=True)
class Catalogue:
    models: dict[str, Model]
    default_local: str
    default_provider: str
    _aliases: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for m in self.models.values():
            for alias in (m.id.lower(), m.name.lower(), *(a.lower() for a in m.aliases)):
                self._aliases.setdefault(alias, m.id)

    def __iter__(self):
        return iter(self.models.values())

    def get(self, ref: str) -> Model:
        key = ref.strip().lower()
        if key not in self._aliases and key.startswith("vtai/"):
            key = key.removeprefix("vtai/")
        found = self._aliases.get(key)
        if found is None:
            close = difflib.get_close_matches(key, list(self._aliases), n=3, cutoff=0.5)
            raise UnknownModelError(ref, sorted({self._aliases[c] for c in close}))
        return self.models[found]

    def find(self, ref: str) -> Model | None:
        try:
            return self.get(ref)
        except UnknownModelError:
            return None

    def with_capability(self, capability: str) -> list[Model]:
        return [m for m in self.models.values() if m.can(capability)]


def _model_from(row: dict, source: str) -> Model:
    try:
        caps = frozenset(row.get("capabilities") or ["chat"])
        unknown = caps - CAPABILITIES
        if unknown:
            raise UserError(f"{source}: model {row.get('id')!r} has unknown capabilities {sorted(unknown)}")
        if row["provider"] not in PROVIDERS:
            raise UserError(
                f"{source}: model {row['id']!r} has unknown provider {row['provider']!r} "
                f"(known: {', '.join(PROVIDERS)})"
            )
        return Model(
            id=row["id"],
            provider=row["provider"],
            name=row.get("name") or row["id"],
            capabilities=caps,
            context=int(row.get("context", 8192)),
            aliases=tuple(row.get("aliases") or ()),
            note=row.get("note", ""),
            think_tags=bool(row.get("think_tags", False)),
            fallbacks=tuple(row.get("fallbacks") or ()),
        )
    except KeyError as exc:
        raise UserError(f"{source}: a model entry lacks the field {exc.args[0]!r}: {row}") from None


def _read(text: str, source: str) -> dict:
    return read_mapping(text, source, "a 'models' list")


def load_catalogue(home: Path | None = None) -> Catalogue:
    base = _read(resources.files("vtai.data").joinpath("models.yaml").read_text(), "models.yaml (built-in)")
    rows = {row["id"]: row for row in base["models"]}
    defaults = dict(base.get("defaults") or {})
    user_file = home / "models.yaml" if home else None
    if user_file and user_file.is_file():
        user = _read(user_file.read_text(), str(user_file))
        for row in user.get("models") or []:
            if row.get("disabled"):
                rows.pop(row.get("id"), None)
            else:
                rows[row["id"]] = {**rows.get(row["id"], {}), **row}
        defaults.update(user.get("defaults") or {})
    models = {mid: _model_from(row, "models.yaml") for mid, row in rows.items()}
    return Catalogue(models, defaults.get("local", "local/smollm2-135m"), defaults.get("provider", "gpt-4o-mini"))


def availability(model: Model, settings: Settings) -> tuple[bool, str]:
    """Whether ``model`` can be called now, and if not a one-line hint how to enable it."""
    prov = PROVIDERS[model.provider]
    if model.provider == "local":
        if not settings.local_enabled:
            return False, "local model disabled (VTAI_LOCAL_ENABLED=false)"
        return True, ""
    if prov.needs_key:
        if settings.key_for(model.provider):
            return True, ""
        return False, f"run `vtai keys set {model.provider}` (or set {prov.key_env})"
    if settings.api_bases.get(model.provider):
        return True, ""
    return False, f"start {model.provider} and set {prov.base_env[0]}"


def require_usable(model: Model, settings: Settings) -> None:
    ok, _ = availability(model, settings)
    if not ok:
        prov = PROVIDERS[model.provider]
        if prov.needs_key:
            raise MissingKeyError(model.provider, prov.key_env or "", model.id)
        raise UserError(f"Model '{model.id}' needs {prov.base_env[0]} set to a running {model.provider} server.")


def default_chat_model(catalogue: Catalogue, settings: Settings) -> Model:
    """The user's chosen model, else the provider default when its key is set, else the local model."""
    if settings.model:
        return catalogue.get(settings.model)
    preferred = catalogue.find(settings.provider_default_model) or catalogue.find(catalogue.default_provider)
    if preferred and availability(preferred, settings)[0]:
        return preferred
    return catalogue.get(catalogue.default_local)
