"""Pydantic models of the OpenAI wire format at the API's edge (requests validated, responses documented).

Unknown request fields are accepted and ignored, as OpenAI-compatible servers do, so any client works.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="allow")


class TextContent(_In):
    type: Literal["text"]
    text: str


class ImageURL(_In):
    url: str = Field(min_length=1, description="https:// URL or data:image/...;base64,... URL")
    detail: Literal["auto", "low", "high"] | None = None


class ImageContent(_In):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(_In):
    data: str = Field(description="base64-encoded audio")
    format: Literal["wav", "mp3"]


class AudioContent(_In):
    type: Literal["input_audio"]
    input_audio: InputAudio


UserPart = Annotated[TextContent | ImageContent | AudioContent, Field(discriminator="type")]


class FunctionCall(_In):
    name: str
    arguments: str = ""


class ToolCallIn(_In):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_In):
    role: Literal["system", "developer"]
    content: str | list[TextContent]
    name: str | None = None


class UserMessage(_In):
    role: Literal["user"]
    content: str | list[UserPart]
    name: str | None = None


class AssistantMessage(_In):
    role: Literal["assistant"]
    content: str | list[TextContent] | None = None
    tool_calls: list[ToolCallIn] | None = None
    name: str | None = None
    reasoning_content: str | None = None


class ToolMessage(_In):
    role: Literal["tool"]
    content: str | list[TextContent]
    tool_call_id: str = Field(min_length=1)


ChatMessage = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")]


class FunctionDef(_In):
    name: str = Field(pattern=FUNCTION_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="A JSON Schema object")
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _schema_object(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type", "object") != "object":
            raise ValueError("function parameters must be a JSON Schema with type 'object'")
        if value is not None and not isinstance(value.get("properties", {}), dict):
            raise ValueError("'properties' must be an object")
        return value


class Tool(_In):
    type: Literal["function"]
    function: FunctionDef


class FunctionName(_In):
    name: str


class NamedToolChoice(_In):
    type: Literal["function"]
    function: FunctionName


class JsonSchemaFormat(_In):
    name: str = Field(pattern=FUNCTION_NAME)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None
    description: str | None = None


class ResponseFormat(_In):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _needs_schema(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type 'json_schema' needs a 'json_schema' object")
        return self


class StreamOptions(_In):
    include_usage: bool = False


class ChatCompletionRequest(_In):
    model: str = Field(min_length=1, description="A catalogue model id or alias, or `vtai/auto` to route")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    n: int | None = Field(None, ge=1, le=1, description="Only 1 is supported")
    tools: list[Tool] | None = Field(None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    user: str | None = None
    # VT.ai extension: models to try, in order, if `model` fails (replaces the configured fallback chain).
    fallbacks: list[str] | None = Field(None, max_length=16)

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None:
            return None
        stops = [value] if isinstance(value, str) else value
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        return stops or None

    @model_validator(mode="after")
    def _tool_choice_names_a_tool(self) -> ChatCompletionRequest:
        if isinstance(self.tool_choice, NamedToolChoice):
            names = {t.function.name for t in self.tools or []}
            if self.tool_choice.function.name not in names:
                raise ValueError(f"tool_choice names function '{self.tool_choice.function.name}', "
                                 "which is not in 'tools'")
        elif self.tool_choice in ("auto", "required") and not self.tools:
            raise ValueError(f"tool_choice '{self.tool_choice}' needs 'tools'")
        return self


# ---- responses (documented in /openapi.json) ----------------------------------------------------------------

class ToolCallOut(BaseModel):
    index: int | None = None
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class VtaiInfo(BaseModel):
    route: str | None = Field(None, description="The route chosen for vtai/auto (None when routing did not run)")
    model: str
    score: float | None = None
    reason: str = ""
    handler: str | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallOut] | None = None


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"]
    logprobs: None = None


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: UsageOut
    vtai: VtaiInfo


class ChatCompletionChunk(BaseModel):
    """One `data:` event of a streamed reply; the stream ends with `data: [DONE]`."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: UsageOut | None = None
    vtai: VtaiInfo | None = None


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class ModelInfo(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str
    vtai: dict[str, Any] = Field(default_factory=dict)


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelInfo]


class EmbeddingRequest(_In):
    model: str = Field("vtai/encoder", description="`vtai/encoder` (the router's encoder) or its id")
    input: str | list[str] = Field(description="A text or up to 256 texts")
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None

    @field_validator("input")
    @classmethod
    def _bounded(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not 1 <= len(value) <= 256:
            raise ValueError("send between 1 and 256 texts")
        return value


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: dict[str, int]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": desc}
    for code, desc in [(400, "Invalid request"), (401, "Missing or invalid API key"), (404, "Model not found"),
                       (413, "Request body too large"), (429, "Rate limit reached (see Retry-After)"),
                       (502, "Upstream model failure"), (504, "Upstream model timed out"),
                       (503, "Feature unavailable (routing off)"),
                       ("4XX", "Other client errors (invalid requests are 400, never 422)")]
}
