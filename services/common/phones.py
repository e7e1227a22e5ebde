"""Phone numbers and WhatsApp JIDs.

Numbers are stored as canonical E.164 digits without "+" ("5511999990001"), which is also the
user part of a person JID. Brazilian mobiles exist in two forms: with the ninth digit (13 digits,
what people type) and without it (12 digits, what WhatsApp still registers for many older
numbers; see CONTRACT.md §11.3). Both forms name the same phone, so matching goes through
`phone_key`/`phone_variants` and never through plain equality.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers

JidKind = Literal["person", "lid", "group", "broadcast", "status", "newsletter", "unknown"]

# "c.us" is the legacy spelling of "s.whatsapp.net" still used by some clients and exports.
_PERSON_SERVERS = frozenset({"s.whatsapp.net", "c.us"})
_SERVER_KINDS: dict[str, JidKind] = {
    "lid": "lid",
    "g.us": "group",
    "broadcast": "broadcast",
    "newsletter": "newsletter",
}

BRAZIL = "55"
BRAZIL_CODE = 55
# The 8-digit local part of a Brazilian mobile started with 6–9 before the ninth digit was
# prepended; landlines start with 2–5 and never take the extra 9.
_MOBILE_FIRST_DIGITS = frozenset("6789")

# What a typed phone number may contain besides digits. Anything else (letters, "ramal",
# "#", "*") means the text is not just a phone number, and guessing would store a wrong one.
_TYPED_PHONE = re.compile(r"\+?[0-9 ()./\-]+")
_SEARCH_SEPARATORS = re.compile(r"[\s()+\-]")


@dataclass(frozen=True)
class Jid:
    kind: JidKind
    user: str
    server: str
    # Digits of the phone number, only for person JIDs ("…@s.whatsapp.net"): a LID, group,
    # broadcast or newsletter id is made of digits too, but it is not a phone number.
    phone: str | None = None


def parse_jid(jid: str) -> Jid:
    """Split a WhatsApp JID into its kind, user part (without `:device`) and server."""
    user, at, server = jid.strip().rpartition("@")
    if not at:
        return Jid(kind="unknown", user=jid.strip(), server="")
    server = server.lower()
    # "5511999990001:12@s.whatsapp.net" is one device of the account; the account is the same.
    user = user.split(":", 1)[0]
    if server in _PERSON_SERVERS:
        phone = user if user.isascii() and user.isdigit() else None
        return Jid(kind="person", user=user, server=server, phone=phone)
    if server == "broadcast" and user.lower() == "status":
        return Jid(kind="status", user=user, server=server)
    return Jid(kind=_SERVER_KINDS.get(server, "unknown"), user=user, server=server)


def normalize_phone(text: str, default_region: str = "BR") -> str | None:
    """Canonical E.164 digits (country code, no "+") of a typed number or a person JID.

    Returns None when the text is not a plausible phone number: letters, too few or too many
    digits, a number without area code, or a JID that is not a person's phone (group, LID...).
    """
    text = text.strip()
    if not text:
        return None
    if "@" in text:
        jid = parse_jid(text)
        if jid.phone is None:
            return None
        # A JID always carries the country code, so it is read as an international number.
        candidates = [_parse("+" + jid.phone, None)]
    else:
        if not _TYPED_PHONE.fullmatch(text):
            return None
        candidates = [_parse(text, default_region)]
        digits = _digits(text)
        if not text.startswith("+") and not digits.startswith("0"):
            # "12125550100" may be a US number copied without its "+"; tried only after the
            # default region, which wins whenever both readings are valid.
            candidates.append(_parse("+" + digits, None))
    for number in candidates:
        if number is not None and phonenumbers.is_valid_number(number):
            return _e164(number)
    # Metadata says "valid" only for allocated ranges. WhatsApp still uses 12-digit Brazilian
    # mobiles, and new ranges appear before the library learns them, so a possible number is
    # kept as given. Only the first reading counts here, so a national typo never turns into
    # a foreign number.
    first = candidates[0]
    if first is not None and _acceptable_possible(first):
        return _e164(first)
    return None


def phone_key(digits: str) -> str:
    """A key equal for every form of the same number: a Brazilian mobile with or without the
    ninth digit gets the 13-digit form ("551199990001" -> "5511999990001")."""
    digits = _digits(digits)
    if _is_brazilian_mobile_without_ninth(digits):
        return digits[:4] + "9" + digits[4:]
    return digits


def phone_variants(digits: str) -> list[str]:
    """Every stored form that `phone_key` maps to the same key, the given form first.

    For a Brazilian mobile that is the 13-digit and the 12-digit form; anything else has one.
    """
    digits = _digits(digits)
    if _is_brazilian_mobile_without_ninth(digits):
        return [digits, digits[:4] + "9" + digits[4:]]
    if _is_brazilian_mobile_with_ninth(digits):
        return [digits, digits[:4] + digits[5:]]
    return [digits]


def format_phone(digits: str) -> str:
    """A human form, "+55 11 99999-0001"; "+" and the digits when the library cannot format it."""
    digits = _digits(digits)
    if not digits:
        return ""
    number = _parse("+" + digits, None)
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return "+" + digits


def search_digits(text: str) -> str | None:
    """The digits of a search string that looks like part of a phone number, else None.

    "(11) 9999", "+55 11" and "99999-0001" qualify; "Maria", "12" and "rua 123" do not, so a
    name search never turns into a phone search by accident.
    """
    compact = _SEARCH_SEPARATORS.sub("", text)
    if len(compact) >= 3 and compact.isascii() and compact.isdigit():
        return compact
    return None


def _digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def _acceptable_possible(number: phonenumbers.PhoneNumber) -> bool:
    if not phonenumbers.is_possible_number(number):
        return False
    if number.country_code == BRAZIL_CODE:
        # Brazil's "possible" lengths include 8–9 digit numbers without area code, which
        # cannot be reached on WhatsApp. Require a DDD (11–99, never a zero) followed by an
        # 8-digit local number (landline 2–5, pre-ninth-digit mobile 6–9) or 9 + 8 digits.
        national = _e164(number)[len(BRAZIL) :]
        if "0" in national[:2]:
            return False
        if len(national) == 10:
            return national[2] in "23456789"
        return len(national) == 11 and national[2] == "9"
    return True


def _is_brazilian_mobile_without_ninth(digits: str) -> bool:
    # "55" + DDD (two digits, no zero: DDDs run 11–99) + 8-digit local part starting 6–9.
    return (
        len(digits) == 12
        and digits.startswith(BRAZIL)
        and "0" not in digits[2:4]
        and digits[4] in _MOBILE_FIRST_DIGITS
    )


def _is_brazilian_mobile_with_ninth(digits: str) -> bool:
    return (
        len(digits) == 13
        and digits.startswith(BRAZIL)
        and "0" not in digits[2:4]
        and digits[4] == "9"
        and digits[5] in _MOBILE_FIRST_DIGITS
    )
