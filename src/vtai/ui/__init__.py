"""The Chainlit web UI. Only this package imports chainlit."""
