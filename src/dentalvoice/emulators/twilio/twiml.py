"""Parse the TwiML documents the app returns into verbs the call driver can run.

Only the verbs an outbound AI call uses are understood (`Say`, `Play`, `Pause`, `Hangup`,
`Redirect`, `Dial`/`Number`, `Connect`/`Stream`/`Parameter`); others become `Unsupported`
and are skipped with a note. A document Twilio would reject (not XML, no `<Response>` root,
a DTD) raises `TwimlError`, which the driver reports as error 12100.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# twilio.md §1.1: "The combined length of each <Parameter> name and value ... under 500".
_MAX_PARAMETER_CHARS = 499


class TwimlError(ValueError):
    """The document is not valid TwiML (Twilio error 12100, "Document parse failure")."""


@dataclass(frozen=True, slots=True)
class Say:
    """`<Say>`: speak `text`."""

    text: str
    attributes: dict[str, str]
    loop: int = 1


@dataclass(frozen=True, slots=True)
class Play:
    """`<Play>`: play the audio at `url`."""

    url: str
    attributes: dict[str, str]
    loop: int = 1


@dataclass(frozen=True, slots=True)
class Pause:
    """`<Pause length>`: silence for `length_s` seconds."""

    length_s: float
    attributes: dict[str, str]


@dataclass(frozen=True, slots=True)
class Hangup:
    """`<Hangup/>`: end the call."""

    attributes: dict[str, str]


@dataclass(frozen=True, slots=True)
class Redirect:
    """`<Redirect>`: continue with the TwiML at `url`."""

    url: str
    method: str
    attributes: dict[str, str]


@dataclass(frozen=True, slots=True)
class DialNumber:
    """`<Number url method>`: a transfer target with an optional whisper URL."""

    number: str
    url: str | None
    method: str


@dataclass(frozen=True, slots=True)
class Dial:
    """`<Dial>`: bridge the call to one of `numbers`."""

    numbers: tuple[DialNumber, ...]
    caller_id: str | None
    timeout_s: int
    action: str | None
    method: str
    attributes: dict[str, str]


@dataclass(frozen=True, slots=True)
class Stream:
    """`<Stream>` inside `<Connect>`: a bidirectional Media Stream."""

    url: str
    name: str | None
    status_callback: str | None
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Connect:
    """`<Connect>` with its `<Stream>`; `stream` is None for nouns the emulator lacks."""

    stream: Stream | None
    action: str | None
    method: str
    attributes: dict[str, str]


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A verb the emulator does not run (`Gather`, `Record`, ...); skipped."""

    name: str
    attributes: dict[str, str]


Verb = Say | Play | Pause | Hangup | Redirect | Dial | Connect | Unsupported


def parse_twiml(text: str) -> list[Verb]:
    """The verbs of a TwiML document, in order.

    Args:
        text: The document as returned by the app (or given inline).

    Returns:
        The verbs under `<Response>`.

    Raises:
        TwimlError: Not well-formed XML, not a `<Response>` document, a DTD, or a verb
            missing what it needs (a `<Stream>` without `url`, a `<Dial>` without a number).
    """
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        # Twilio refuses DTDs; refusing them here also keeps entity expansion out.
        raise TwimlError("document type declarations are not allowed")
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise TwimlError(f"not well-formed XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(f"the root element must be <Response>, not <{root.tag}>")
    return [_verb(element) for element in root]


def _verb(element: ET.Element) -> Verb:
    attrs = dict(element.attrib)
    text = (element.text or "").strip()
    match element.tag:
        case "Say":
            return Say(text=text, attributes=attrs, loop=_int(attrs, "loop", 1))
        case "Play":
            if not text:
                raise TwimlError("<Play> needs a URL")
            return Play(url=text, attributes=attrs, loop=_int(attrs, "loop", 1))
        case "Pause":
            return Pause(length_s=float(_int(attrs, "length", 1)), attributes=attrs)
        case "Hangup":
            return Hangup(attributes=attrs)
        case "Redirect":
            if not text:
                raise TwimlError("<Redirect> needs a URL")
            return Redirect(url=text, method=_method(attrs), attributes=attrs)
        case "Dial":
            return _dial(element, attrs, text)
        case "Connect":
            return _connect(element, attrs)
        case _:
            return Unsupported(name=element.tag, attributes=attrs)


def _dial(element: ET.Element, attrs: dict[str, str], text: str) -> Dial:
    numbers = [
        DialNumber(
            number=(child.text or "").strip(),
            url=child.attrib.get("url"),
            method=_method(child.attrib),
        )
        for child in element
        if child.tag == "Number"
    ]
    if text:
        numbers.insert(0, DialNumber(number=text, url=None, method="POST"))
    if not numbers or any(not n.number for n in numbers):
        raise TwimlError("<Dial> needs a number")
    return Dial(
        numbers=tuple(numbers),
        caller_id=attrs.get("callerId"),
        timeout_s=_int(attrs, "timeout", 30),
        action=attrs.get("action"),
        method=_method(attrs),
        attributes=attrs,
    )


def _connect(element: ET.Element, attrs: dict[str, str]) -> Connect:
    streams = [child for child in element if child.tag == "Stream"]
    if len(streams) > 1:
        raise TwimlError("<Connect> may hold one <Stream>")
    stream = None
    if streams:
        node = streams[0]
        url = node.attrib.get("url", "").strip()
        if not url:
            raise TwimlError("<Stream> needs a url")
        parameters: dict[str, str] = {}
        for param in node:
            if param.tag != "Parameter":
                continue
            name, value = param.attrib.get("name", ""), param.attrib.get("value", "")
            if not name or len(name) + len(value) > _MAX_PARAMETER_CHARS:
                raise TwimlError("<Parameter> name+value must be 1..499 characters")
            parameters[name] = value
        stream = Stream(
            url=url,
            name=node.attrib.get("name"),
            status_callback=node.attrib.get("statusCallback"),
            parameters=parameters,
        )
    return Connect(
        stream=stream, action=attrs.get("action"), method=_method(attrs), attributes=attrs
    )


def _int(attrs: dict[str, str], name: str, default: int) -> int:
    raw = attrs.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise TwimlError(f"attribute {name}={raw!r} must be an integer") from None


def _method(attrs: dict[str, str]) -> str:
    method = attrs.get("method", "POST").upper()
    if method not in {"GET", "POST"}:
        raise TwimlError(f"method must be GET or POST, not {method}")
    return method
