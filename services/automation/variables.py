"""Variables in quick messages: `{nome_cliente}`, `{saudacao}` and friends.

Agents write templates once and send them to many clients, some of whom have no name on file.
A missing value must not leave "Olá , tudo bem?" behind, so the whitespace and the comma around
a variable that renders empty are tidied, on that line only: every other line keeps the
agent's formatting byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo

from services.automation.availability import greeting
from services.common.phones import format_phone

VARIABLES = (
    "nome_cliente",
    "primeiro_nome",
    "telefone",
    "saudacao",
    "data",
    "hora",
    "atendente",
)

# Names are ASCII on purpose: "{saudação}" is not a variable and stays as written.
_VARIABLE = re.compile(r"\{[ \t]*([A-Za-z_]+)[ \t]*\}")
_PUNCTUATION = ",.!?;:"
# Marks where an empty value was removed while a line is tidied; it must not occur in the text.
_MARK_CANDIDATES = ["\x00", *map(chr, range(0xE000, 0xE100))]


def render_template(text: str, values: Mapping[str, str | None]) -> str:
    """Replace the known variables (case-insensitive, spaces allowed inside the braces).

    Unknown variables stay exactly as written. A missing, None or blank value renders as
    nothing, and the line it was on loses the space or comma it would leave dangling.
    Values are inserted once: a value that itself contains "{hora}" is not expanded.
    """
    used = text + "".join(v or "" for v in values.values())
    mark = next(c for c in _MARK_CANDIDATES if c not in used)

    def replace(match: re.Match[str]) -> str:
        name = match[1].lower()
        if name not in VARIABLES:
            return match[0]
        value = (values.get(name) or "").strip()
        return value or mark

    rendered = _VARIABLE.sub(replace, text)
    if mark not in rendered:
        return rendered
    return "\n".join(_tidy(line, mark) if mark in line else line for line in rendered.split("\n"))


def template_values(
    *,
    client_name: str | None,
    contact_name: str | None,
    phone_digits: str | None,
    agent_name: str | None,
    now: datetime,
    tz: tzinfo,
) -> dict[str, str | None]:
    """The values for `render_template` at `now` in the business time zone `tz`.

    The client's registered name wins over the contact's WhatsApp name.
    """
    salutation = greeting(now, tz)  # first: it refuses a naive `now`
    name = _usable_name(client_name) or _usable_name(contact_name)
    local = now.astimezone(tz)
    return {
        "nome_cliente": name,
        "primeiro_nome": _first_name(name) if name else None,
        "telefone": format_phone(phone_digits) if phone_digits else None,
        "saudacao": salutation,
        "data": local.strftime("%d/%m/%Y"),
        "hora": local.strftime("%H:%M"),
        "atendente": _usable_name(agent_name),
    }


def _tidy(line: str, mark: str) -> str:
    """Remove the marks of empty values from one line, with the spacing they leave behind."""
    # Keep a Windows line ending out of the way of the end-of-line rules.
    body, cr = (line[:-1], "\r") if line.endswith("\r") else (line, "")
    if not body.replace(mark, "").strip():
        # The line held nothing but empty values: leave it empty, not indented blanks.
        return cr
    m = re.escape(mark)
    p = re.escape(_PUNCTUATION)
    # "Olá, {nome}!" / "Obrigado, {nome}" -> the comma only introduced the name.
    body = re.sub(rf",[ \t]*{m}(?=[ \t]*(?:[{p}]|{m}|$))", mark, body)
    # "{saudacao} {nome}" with both empty -> one gap, not two.
    body = re.sub(rf"{m}(?:[ \t]*{m})+", mark, body)
    # At the start of a line keep the indentation, drop what followed the value:
    # "{nome}, seu pedido chegou" -> "seu pedido chegou".
    body = re.sub(rf"^([ \t]*){m}[ \t]*(?:[,;:][ \t]*)?", r"\1", body)
    # At the end of a line: "Obrigado {nome}" -> "Obrigado".
    body = re.sub(rf"[ \t]*{m}[ \t]*$", "", body)
    # Before punctuation: "Olá {nome}, tudo bem?" -> "Olá, tudo bem?".
    body = re.sub(rf"[ \t]*{m}[ \t]*(?=[{p}])", "", body)
    # Between words: "Olá {nome} tudo bem" -> "Olá tudo bem"; the left space is kept.
    body = re.sub(rf"(?<=[ \t]){m}[ \t]+", "", body)
    return body.replace(mark, "") + cr


def _usable_name(name: str | None) -> str | None:
    # WhatsApp display names can be ".", "~" or the number itself; those are not names to
    # greet someone by.
    name = (name or "").strip()
    return name if any(ch.isalpha() for ch in name) else None


def _first_name(name: str) -> str:
    # Skip leading emoji or symbols ("🌸 Maria Silva" -> "Maria").
    words = name.split()
    return next((word for word in words if any(ch.isalpha() for ch in word)), words[0])
