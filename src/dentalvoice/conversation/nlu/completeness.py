"""Whether a transcript reads as a finished utterance or as one cut off at a pause.

The audio turn model (Smart Turn) hears the caller's intonation; it calls a flat "Yes, I have
insurance." unfinished now and then, and the turn then waits for the silence fallback. The
words say more: Whisper ends a finished sentence with a full stop or a question mark, writes a
comma or an ellipsis where the voice hung, and a sentence that stops on "and", "my" or "um" is
not over whatever the punctuation says. A false "finished" costs little (the agent processor
takes its reply back when the caller goes on at once); a false "unfinished" only keeps today's
wait.
"""

from __future__ import annotations

import re

from dentalvoice.conversation.nlu._text import normalize

# Words a statement does not end on: joiners, articles, possessives, a few prepositions, fillers,
# and the openings of a clause ("I", "it's") that Whisper sometimes closes with a stop anyway.
# Words that do end statements ("that's it", "come on", "I'd like to") stay out.
_HANGING = frozenset(
    {
        "and", "but", "or", "because", "cause", "if", "than",
        "the", "a", "an", "my", "your", "our", "their",
        "of", "with", "from",
        "um", "uh", "er", "erm",
        "i", "i'm", "it's",
    }
)  # fmt: skip
_WORD = re.compile(r"[a-z0-9']+")


def sounds_finished(text: str) -> bool:
    """Whether `text` ends like a finished utterance.

    True for "Yes, I have Delta Dental." and "Is that covered?"; False for "Sure,", "My tooth
    is...", "It started on Monday and." and an empty transcript.

    Args:
        text: A caller transcript, punctuated as Whisper writes it.
    """
    stripped = normalize(text).rstrip(" \"')")
    if not stripped or stripped.endswith("..") or stripped[-1] not in ".?!":
        return False
    if stripped.endswith("?"):
        return True  # a question is finished whatever word it ends on ("What was that?")
    words = _WORD.findall(stripped)
    return bool(words) and words[-1] not in _HANGING
