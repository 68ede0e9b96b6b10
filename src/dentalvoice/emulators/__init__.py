"""Local stand-ins for the outside services the agent talks to, for tests and benchmarks."""
