"""VT.ai — multimodal, multi-provider AI chat with a semantic router."""

__version__ = "0.1.0"
