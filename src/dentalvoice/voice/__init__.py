"""The real-time voice path: local and cloud speech models, and the call pipeline."""
