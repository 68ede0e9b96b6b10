"""The LLM agent: an OpenAI-compatible chat model behind the same agent protocol as the script."""

from dentalvoice.conversation.llm.agent import OpenAIAgent, SentenceSplitter, split_sentences

__all__ = ["OpenAIAgent", "SentenceSplitter", "split_sentences"]
