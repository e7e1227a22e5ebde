from __future__ import annotations

import dataclasses

import pytest

from services.common.phones import (
    Jid,
    format_phone,
    normalize_phone,
    parse_jid,
    phone_key,
    phone_variants,
    search_digits,
)


@pytest.mark.parametrize(
    ("jid", "expected"),
    [
        (
            "5511999990001@s.whatsapp.net",
            Jid("person", "5511999990001", "s.whatsapp.net", "5511999990001"),
        ),
        # A device-specific JID names the same account (CONTRACT.md §11.1).
        (
            "5511999990001:12@s.whatsapp.net",
            Jid("person", "5511999990001", "s.whatsapp.net", "5511999990001"),
        ),
        (
            "551199990001@s.whatsapp.net",
            Jid("person", "551199990001", "s.whatsapp.net", "551199990001"),
        ),
        ("5511999990001@c.us", Jid("person", "5511999990001", "c.us", "5511999990001")),
        (
            " 5511999990001@S.WhatsApp.Net ",
            Jid("person", "5511999990001", "s.whatsapp.net", "5511999990001"),
        ),
        ("abc@s.whatsapp.net", Jid("person", "abc", "s.whatsapp.net", None)),
        ("123456789012345@lid", Jid("lid", "123456789012345", "lid", None)),
        ("123456789012345:7@lid", Jid("lid", "123456789012345", "lid", None)),
        ("120363012345678901@g.us", Jid("group", "120363012345678901", "g.us", None)),
        ("5511999990001-1600000000@g.us", Jid("group", "5511999990001-1600000000", "g.us", None)),
        ("status@broadcast", Jid("status", "status", "broadcast", None)),
        ("1600000000@broadcast", Jid("broadcast", "1600000000", "broadcast", None)),
        ("120363123456789012@newsletter", Jid("newsletter", "120363123456789012", "newsletter")),
        ("5511999990001", Jid("unknown", "5511999990001", "", None)),
        ("maria@example.com", Jid("unknown", "maria", "example.com", None)),
        ("", Jid("unknown", "", "", None)),
    ],
)
def test_parse_jid(jid, expected):
    assert parse_jid(jid) == expected


@pytest.mark.parametrize(
    "jid",
    [
        "5511999990001@g.us",
        "5511999990001-1600000000@g.us",
        "5511999990001@broadcast",
        "status@broadcast",
        "5511999990001@newsletter",
        "5511999990001@lid",
    ],
)
def test_only_person_jids_carry_a_phone(jid):
    # Every one of these has digits that look like a phone number, and none of them is one.
    assert parse_jid(jid).phone is None
    assert normalize_phone(jid) is None


def test_jid_is_frozen():
    jid = parse_jid("5511999990001@s.whatsapp.net")
    with pytest.raises(dataclasses.FrozenInstanceError):
        jid.kind = "group"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(11) 99999-0001", "5511999990001"),
        ("+55 11 9 9999-0001", "5511999990001"),
        ("+55 (11) 99999-0001", "5511999990001"),
        ("011 99999-0001", "5511999990001"),
        ("0 15 11 99999-0001", "5511999990001"),  # trunk 0 + carrier code
        ("11999990001", "5511999990001"),
        ("11 99999.0001", "5511999990001"),
        ("5511999990001", "5511999990001"),
        ("  5511999990001  ", "5511999990001"),
        ("+5511999990001", "5511999990001"),
        ("5511999990001@s.whatsapp.net", "5511999990001"),
        ("5511999990001:3@s.whatsapp.net", "5511999990001"),
        ("55 21 98765-4321", "5521987654321"),
        # Landlines.
        ("(11) 3333-4444", "551133334444"),
        ("+55 11 3333-4444", "551133334444"),
        # WhatsApp's 12-digit Brazilian mobiles: "possible", not "valid"; kept as given.
        ("551199990001", "551199990001"),
        ("+55 11 9999-0001", "551199990001"),
        ("(31) 8888-0001", "553188880001"),
        ("(61) 8888-0001", "556188880001"),
        ("551199990001@s.whatsapp.net", "551199990001"),
        # Foreign numbers, with or without the "+".
        ("+1 212 555 0100", "12125550100"),
        ("+1-202-555-0143", "12025550143"),
        ("12125550100", "12125550100"),
        ("+351 912 345 678", "351912345678"),
        ("351912345678", "351912345678"),
        ("+44 7911 123456", "447911123456"),
        ("447911123456@s.whatsapp.net", "447911123456"),
        ("0015 1 212 555 0100", "12125550100"),  # Brazilian international prefix
    ],
)
def test_normalize_phone(text, expected):
    assert normalize_phone(text) == expected
    # Canonical digits are a fixed point, also when read back as a JID.
    assert normalize_phone(expected) == expected
    assert normalize_phone(expected + "@s.whatsapp.net") == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "+",
        "()-",
        "Maria",
        "abc123",
        "11 9999-0001 ramal 23",
        "tel: +55 11 99999-0001",
        "12",
        "123",
        "1155",
        "99999-0001",  # no area code: cannot be dialled
        "9999-0001",
        "+55 10 98888-0001",  # DDD 10 does not exist
        "+55 11 99999-00011",  # one digit too many
        "55119999900012",
        "1" * 20,
        "++5511999990001",
        "55+11999990001",
        "１１９９９９９０００１",  # full-width digits are not typed phone input
        "120363012345678901@g.us",
        "status@broadcast",
        "123456789012345@lid",
        "abc@s.whatsapp.net",
    ],
)
def test_normalize_phone_rejects(text):
    assert normalize_phone(text) is None


def test_normalize_phone_default_region():
    assert normalize_phone("912 345 678", default_region="PT") == "351912345678"
    assert normalize_phone("(212) 555-0100", default_region="US") == "12125550100"
    # An explicit country code wins over the default region.
    assert normalize_phone("+55 11 99999-0001", default_region="US") == "5511999990001"


@pytest.mark.parametrize(
    ("digits", "key"),
    [
        ("5511999990001", "5511999990001"),
        ("551199990001", "5511999990001"),
        ("553188880001", "5531988880001"),
        ("5531988880001", "5531988880001"),
        ("552177770001", "5521977770001"),
        ("556166660001", "5561966660001"),
        # Landlines (local part 2–5) never take the ninth digit.
        ("551133334444", "551133334444"),
        ("552122220001", "552122220001"),
        ("554155550001", "554155550001"),
        ("551144440001", "551144440001"),
        # Not the 12-digit Brazilian mobile shape.
        ("5511912340001", "5511912340001"),
        ("551012345678", "551012345678"),  # DDD 10 does not exist
        ("12125550100", "12125550100"),
        ("351912345678", "351912345678"),
        ("447911123456", "447911123456"),
        # Non-Brazilian numbers that happen to be 12 digits keep their key.
        ("491511234567", "491511234567"),
        ("+55 11 9999-0001", "5511999990001"),
        ("", ""),
    ],
)
def test_phone_key(digits, key):
    assert phone_key(digits) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("5511999990001", "551199990001"),
        ("5531988880001", "553188880001"),
        ("5584977770001", "558477770001"),
        ("5561966660001", "556166660001"),
    ],
)
def test_ninth_digit_forms_match(a, b):
    assert phone_key(a) == phone_key(b) == a
    assert phone_key(normalize_phone(a) or "") == phone_key(normalize_phone(b) or "")
    assert phone_key(normalize_phone(a + "@s.whatsapp.net") or "") == phone_key(
        normalize_phone(b + "@s.whatsapp.net") or ""
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("551133334444", "5511933334444"),  # a landline and a different mobile
        ("5511999990001", "5511999990002"),
        ("5511999990001", "5521999990001"),
        ("12125550100", "112125550100"),
    ],
)
def test_different_numbers_keep_different_keys(a, b):
    assert phone_key(a) != phone_key(b)


@pytest.mark.parametrize(
    ("digits", "variants"),
    [
        ("5511999990001", ["5511999990001", "551199990001"]),
        ("551199990001", ["551199990001", "5511999990001"]),
        ("5531988880001", ["5531988880001", "553188880001"]),
        ("553188880001", ["553188880001", "5531988880001"]),
        ("551133334444", ["551133334444"]),
        ("5511912340001", ["5511912340001"]),
        ("12125550100", ["12125550100"]),
        ("351912345678", ["351912345678"]),
    ],
)
def test_phone_variants(digits, variants):
    assert phone_variants(digits) == variants
    # The variants are exactly the forms sharing the key, so "= ANY(variants)" finds them all.
    assert {phone_key(v) for v in variants} == {phone_key(digits)}


@pytest.mark.parametrize(
    ("digits", "formatted"),
    [
        ("5511999990001", "+55 11 99999-0001"),
        ("5521987654321", "+55 21 98765-4321"),
        ("551133334444", "+55 11 3333-4444"),
        ("12125550100", "+1 212-555-0100"),
        ("351912345678", "+351 912 345 678"),
        # Not valid for the library: shown as "+" and the digits, never dropped.
        ("551199990001", "+551199990001"),
        ("999123456", "+999123456"),
        ("", ""),
    ],
)
def test_format_phone(digits, formatted):
    assert format_phone(digits) == formatted


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("5511999990001", "5511999990001"),
        ("(11) 99999-0001", "11999990001"),
        ("+55 11 9999", "55119999"),
        ("99999-0001", "999990001"),
        ("123", "123"),
        (" 12 3 ", "123"),
        ("+55", None),  # two digits: "+" is not a digit
        ("12", None),
        ("+1", None),
        ("", None),
        ("Maria", None),
        ("rua 123", None),
        ("123abc", None),
        ("11.9999", None),
        ("١٢٣٤", None),  # Arabic-Indic digits are not phone digits here
    ],
)
def test_search_digits(text, digits):
    assert search_digits(text) == digits
