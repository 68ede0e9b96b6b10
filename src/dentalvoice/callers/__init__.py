"""Simulated callers that talk: scenario callers on the emulated phone line, audio only.

`TalkingCaller` plugs into the Twilio emulator as a callee. It hears the agent's audio, finds
the end of each turn by silence, transcribes it with the local Whisper model, answers from the
scenario (`dentalvoice.conversation.evaluation.caller.SimulatedCaller`) in a Piper voice unlike
the agent's, and records per-turn timings — the agent's voice-to-voice latency among them.

Modules: `audio` (μ-law, resampling, levels), `voice` (the caller's voice), `hearing` (turns
and transcription), `recording` (both sides as a stereo WAV), `talking` (the callee).
"""

from dentalvoice.callers.hearing import AgentTurn, Transcriber, TurnSegmenter, mark_questions
from dentalvoice.callers.recording import CallRecording, Piece
from dentalvoice.callers.talking import CallerTurn, TalkingCaller, TranscriptLine
from dentalvoice.callers.voice import CallerVoice, VoiceSettings

__all__ = [
    "AgentTurn",
    "CallRecording",
    "CallerTurn",
    "CallerVoice",
    "Piece",
    "TalkingCaller",
    "Transcriber",
    "TranscriptLine",
    "TurnSegmenter",
    "VoiceSettings",
    "mark_questions",
]
