"""Models: the catalogue (data), the LiteLLM adapter (the only ``import litellm``) and the local model runner."""
