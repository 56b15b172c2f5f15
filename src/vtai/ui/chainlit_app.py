"""Chainlit callbacks: a thin adapter from the browser to the engine."""

from __future__ import annotations

import logging

import chainlit as cl
from chainlit.input_widget import Select, Slider, Switch, TextInput

from vtai.engine import ChatOptions
from vtai.llm.catalogue import availability
from vtai.messages import AudioPart, Conversation, Message, TextPart
from vtai.ui import state
from vtai.ui.render import ChainlitRenderer

log = logging.getLogger(__name__)
AUTO = "auto (router picks)"
PROFILES = {
    "Chat": "Chat with any model. The router picks a handler and model for each message.",
    "Assistant": "Chat with tools: code interpreter and web search, called by a tool-capable model.",
}
STARTERS = [
    ("Explain something", "Explain how a transistor works, simply."),
    ("Write code", "Write a Python function that checks whether a string is a palindrome."),
    ("Summarize text", "Summarize in one sentence: The quick brown fox jumps over the lazy dog repeatedly."),
    ("Think it through", "A bat and a ball cost $1.10 together; the bat costs $1 more than the ball. "
                         "How much is the ball?"),
]


def runtime():
    return state.RUNTIME


def store():
    return runtime().engine.services.get("store")


@cl.data_layer
def data_layer():
    from vtai.ui.data_layer import VtaiDataLayer

    return VtaiDataLayer(store())


def register_auth(settings) -> None:
    """Chainlit shows history only to a logged-in user: with auth off, everyone is the local user."""
    from chainlit.oauth_providers import get_configured_oauth_providers

    from vtai.store import LOCAL_USER, header_identity

    if get_configured_oauth_providers():  # e.g. OAUTH_GITHUB_CLIENT_ID/SECRET set: Chainlit shows the buttons
        @cl.oauth_callback
        async def oauth_login(provider_id, token, raw_user_data, default_user, id_token=None):
            return default_user  # the data layer creates the user on first login; threads are per user

    if settings.auth == "password":
        @cl.password_auth_callback
        async def password_login(username: str, password: str):
            user = await store().authenticate(username, password)
            return cl.User(identifier=user.identifier, display_name=user.display_name) if user else None
    elif settings.auth == "header":
        @cl.header_auth_callback
        async def proxy_login(headers):
            name = header_identity(headers, settings.auth_header)
            return cl.User(identifier=name) if name else None
    else:
        @cl.header_auth_callback
        async def local_login(headers):
            return cl.User(identifier=LOCAL_USER)


def files_route():
    """``GET /vtai/files/{id}``: a stored upload or generated file, only for its owner."""
    from chainlit.auth import get_current_user
    from fastapi import Depends, HTTPException
    from fastapi.responses import FileResponse
    from fastapi.routing import APIRoute

    from vtai.errors import NotFoundError

    async def serve_file(file_id: str, user=Depends(get_current_user)):  # noqa: B008 - FastAPI dependency
        persisted = await store().get_user(user.identifier) if user else None
        try:
            attachment = await store().get_attachment(persisted.id, file_id) if persisted else None
        except NotFoundError:
            attachment = None
        if attachment is None:
            raise HTTPException(status_code=404, detail="Not found")
        return FileResponse(attachment.path, media_type=attachment.mime, filename=attachment.name)

    return APIRoute("/vtai/files/{file_id}", serve_file, methods=["GET"], include_in_schema=False)


def model_choices() -> list[str]:
    rt = runtime()
    usable = [m.id for m in rt.catalogue.with_capability("chat") if availability(m, rt.settings)[0]]
    return [AUTO, *usable]


def options() -> ChatOptions:
    return cl.user_session.get("options")


@cl.set_chat_profiles
async def chat_profiles(user=None, language=None):
    return [cl.ChatProfile(name=name, markdown_description=desc, default=name == "Chat")
            for name, desc in PROFILES.items()]


@cl.set_starters
async def starters(user=None, language=None):
    return [cl.Starter(label=label, message=message) for label, message in STARTERS]


def settings_widgets(opts: ChatOptions) -> list:
    choices = model_choices()
    current = opts.model if opts.model in choices else AUTO
    return [
        Select(id="model", label="Model", values=choices, initial_index=choices.index(current),
               description="'auto' lets the router choose per message; a model here answers everything."),
        Switch(id="dynamic_routing", label="Dynamic routing", initial=opts.dynamic_routing,
               description="Classify each message and pick a handler and model for it."),
        Slider(id="temperature", label="Temperature", initial=opts.temperature or 0.7, min=0, max=2, step=0.1),
        Slider(id="top_p", label="Top P", initial=opts.top_p or 1.0, min=0.05, max=1, step=0.05),
        TextInput(id="system_prompt", label="System prompt", initial=opts.system_prompt or "", multiline=True),
        Switch(id="thinking", label="Thinking mode", initial=opts.thinking,
               description="Show the model's reasoning as a collapsible Thinking step."),
        Select(id="reasoning_effort", label="Reasoning depth", values=["low", "medium", "high"],
               initial_index=["low", "medium", "high"].index(opts.reasoning_effort or "medium")),
        *media_widgets(opts.extra),
    ]


IMAGE_CHOICES = {
    "image_size": ["auto", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792"],
    "image_quality": ["auto", "low", "medium", "high", "standard", "hd"],
    "image_background": ["auto", "transparent", "opaque"],
    "image_output_format": ["png", "jpeg", "webp"],
}
VOICES = ["alloy", "echo", "fable", "onyx", "nova", "shimmer"]


def media_widgets(extra: dict) -> list:
    widgets = [
        Select(id=key, label=key.replace("_", " ").capitalize(), values=values,
               initial_index=values.index(extra.get(key, values[0])) if extra.get(key, values[0]) in values else 0)
        for key, values in IMAGE_CHOICES.items()
    ]
    widgets += [
        Slider(id="image_compression", label="Image compression (jpeg/webp)",
               initial=extra.get("image_compression", 80), min=0, max=100, step=5),
        Select(id="speech_voice", label="Voice (provider TTS)", values=VOICES,
               initial_index=VOICES.index(extra.get("speech_voice", "alloy"))),
        Switch(id="auto_speak", label="Auto-speak answers", initial=bool(extra.get("auto_speak", False))),
    ]
    return widgets


def apply_settings(opts: ChatOptions, values: dict) -> ChatOptions:
    model = values.get("model")
    opts.model = None if model in (None, AUTO) else model
    opts.dynamic_routing = bool(values.get("dynamic_routing", opts.dynamic_routing)) and opts.model is None
    opts.temperature = float(values.get("temperature", opts.temperature or 0.7))
    opts.top_p = float(values.get("top_p", opts.top_p or 1.0))
    opts.system_prompt = values.get("system_prompt") or None
    opts.thinking = bool(values.get("thinking", opts.thinking))
    opts.reasoning_effort = values.get("reasoning_effort") or opts.reasoning_effort
    for key in (*IMAGE_CHOICES, "image_compression", "speech_voice", "auto_speak"):
        if key in values:
            opts.extra[key] = values[key]
    if opts.extra.get("image_size") == "auto":
        opts.extra.pop("image_size")
    return opts


@cl.on_chat_start
async def start() -> None:
    rt = runtime()
    opts = ChatOptions.from_settings(rt.settings)
    opts.use_tools = cl.user_session.get("chat_profile") == "Assistant"
    if rt.engine.router is None:
        opts.dynamic_routing = False
    cl.user_session.set("options", opts)
    cl.user_session.set("conversation", Conversation())
    await cl.ChatSettings(settings_widgets(opts)).send()
    if rt.routing_error:
        await cl.Message(content=f"Dynamic routing is off: {rt.routing_error}").send()


@cl.on_settings_update
async def settings_update(values: dict) -> None:
    apply_settings(options(), values)


@cl.on_chat_resume
async def resume(thread: dict) -> None:
    from vtai.store import to_engine_messages

    rt = runtime()
    opts = ChatOptions.from_settings(rt.settings)
    if rt.engine.router is None:
        opts.dynamic_routing = False
    cl.user_session.set("options", opts)
    user = cl.user_session.get("user")
    conversation = Conversation(id=thread.get("id"), user_id=getattr(user, "id", None))
    rows = await store().list_messages(user.id, thread["id"]) if user is not None else []
    for message in to_engine_messages(rows):
        conversation.add(message)
    cl.user_session.set("conversation", conversation)
    await cl.ChatSettings(settings_widgets(opts)).send()


def to_message(msg: cl.Message) -> Message:
    from vtai.ui.uploads import attachment_parts

    parts = [TextPart(msg.content or "")]
    parts += attachment_parts(msg.elements or [])
    return Message(role="user", parts=parts)


@cl.on_message
async def on_message(msg: cl.Message) -> None:
    if not (msg.content or "").strip() and not msg.elements:
        await cl.Message(content="Type a message or attach a file to start.").send()
        return
    await answer(to_message(msg), msg.id)


def recorder():
    """The store's loss-free write path for this chat (None when nobody is logged in)."""
    from vtai.store import Recorder

    user = cl.user_session.get("user")
    return Recorder(store(), user.id) if user is not None and store() is not None else None


async def answer(message: Message, message_id: str | None = None) -> None:
    rt = runtime()
    conversation: Conversation = cl.user_session.get("conversation")
    conversation.id = cl.context.session.thread_id
    renderer = ChainlitRenderer()
    rec = recorder()
    if rec is not None:
        conversation.user_id = rec.user_id
        await rec.user_message(conversation.id, message, message_id=message_id)
        await rec.assistant_started(message_id=renderer.message_id, parent_id=message_id)
    try:
        async for event in rt.engine.respond(conversation, message, options()):
            await renderer.render(event)
            if rec is not None:
                await rec.feed(event)
    finally:
        if rec is not None:
            await rec.finish()
    actions = [cl.Action(name="speak", payload={}, label="Speak", icon="volume-2", tooltip="Read this answer aloud")]
    sent = await renderer.finish(actions)
    answers = cl.user_session.get("answers") or {}
    answers[sent.id] = sent.content
    cl.user_session.set("answers", answers)
    if options().extra.get("auto_speak") and sent.content and not renderer.failed:
        await speak_message(sent)


async def speak_message(message: cl.Message) -> None:
    from vtai.errors import VtaiError
    from vtai.media.attach import speak

    rt = runtime()
    try:
        audio = await speak(rt.engine, cl.user_session.get("conversation"), message.content,
                            voice=options().extra.get("speech_voice"))
    except VtaiError as exc:
        await cl.Message(content=f"⚠️ Could not speak the answer: {exc}").send()
        return
    element = cl.Audio(path=audio.path, name="answer.wav", display="inline", mime=audio.mime, auto_play=True)
    await cl.Message(content="", elements=[element], parent_id=message.id).send()


@cl.action_callback("speak")
async def on_speak(action: cl.Action) -> None:
    text = (cl.user_session.get("answers") or {}).get(action.forId)
    if text is None:
        conversation: Conversation = cl.user_session.get("conversation")
        last = next((m for m in reversed(conversation.messages) if m.role == "assistant"), None)
        text = last.content if last else ""
    if not text.strip():
        await cl.Message(content="There is no answer to speak yet.").send()
        return
    await speak_message(cl.Message(content=text, id=action.forId))


# ---- microphone: Chainlit streams PCM16 chunks; on the end we hand one WAV to the engine -------------------------
@cl.on_audio_start
async def audio_start() -> bool:
    cl.user_session.set("audio_chunks", [])
    return True


@cl.on_audio_chunk
async def audio_chunk(chunk) -> None:
    chunks = cl.user_session.get("audio_chunks")
    if chunks is not None:
        chunks.append(chunk.data)


@cl.on_audio_end
async def audio_end() -> None:
    from vtai.ui.uploads import pcm16_to_wav

    chunks = cl.user_session.get("audio_chunks") or []
    cl.user_session.set("audio_chunks", None)
    if not chunks:
        return
    from chainlit.config import config

    wav = pcm16_to_wav(b"".join(chunks), config.features.audio.sample_rate)
    shown = cl.Message(content="🎤 voice message", author="You", type="user_message")
    await shown.send()
    await answer(Message(role="user", parts=[AudioPart(mime="audio/wav", data=wav, name="voice.wav")]), shown.id)
