"""The conversation brain: text in, sentences and actions out; no audio, HTTP or database."""
