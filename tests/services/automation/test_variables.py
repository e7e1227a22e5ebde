from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.automation.variables import VARIABLES, render_template, template_values

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

FULL = {
    "nome_cliente": "Maria Silva",
    "primeiro_nome": "Maria",
    "telefone": "+55 11 99999-0001",
    "saudacao": "Bom dia",
    "data": "04/05/2026",
    "hora": "09:30",
    "atendente": "João",
}


@pytest.mark.parametrize(("name", "value"), FULL.items())
def test_every_variable_renders(name, value):
    assert render_template(f"<{{{name}}}>", FULL) == f"<{value}>"


def test_all_variables_together():
    text = (
        "{saudacao}, {primeiro_nome}! Aqui é {atendente}.\n"
        "Cliente: {nome_cliente} ({telefone})\n"
        "Atendimento em {data} às {hora}."
    )
    assert render_template(text, FULL) == (
        "Bom dia, Maria! Aqui é João.\n"
        "Cliente: Maria Silva (+55 11 99999-0001)\n"
        "Atendimento em 04/05/2026 às 09:30."
    )


def test_the_variable_list():
    assert set(VARIABLES) == set(FULL)


@pytest.mark.parametrize(
    "template",
    [
        "{primeiro_nome}",
        "{PRIMEIRO_NOME}",
        "{Primeiro_Nome}",
        "{ primeiro_nome }",
        "{  primeiro_nome}",
        "{primeiro_nome\t}",
        "{ PRIMEIRO_nome  }",
    ],
)
def test_names_are_case_insensitive_and_may_have_spaces(template):
    assert render_template(template, FULL) == "Maria"


@pytest.mark.parametrize(
    "template",
    [
        "{nome}",
        "{cliente}",
        "{Nome_Do_Cliente}",
        "{saudação}",
        "{ empresa }",
        "{}",
        "{ }",
        "{nome cliente}",
        "{primeiro_nome",
        "primeiro_nome}",
        "{primeiro-nome}",
        "{\nprimeiro_nome\n}",
        "{1}",
        "${data_x}",
    ],
)
def test_unknown_variables_stay_as_written(template):
    text = f"Olá {template} !"
    assert render_template(text, FULL) == text
    assert render_template(text, {}) == text


def test_unknown_next_to_known():
    assert render_template("{saudacao} {empresa}, {Nome}!", FULL) == "Bom dia {empresa}, {Nome}!"


@pytest.mark.parametrize(
    "values",
    [
        {"saudacao": "Bom dia"},
        {"saudacao": "Bom dia", "primeiro_nome": None},
        {"saudacao": "Bom dia", "primeiro_nome": ""},
        {"saudacao": "Bom dia", "primeiro_nome": "   "},
    ],
    ids=["missing", "none", "empty", "blank"],
)
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Olá {primeiro_nome}, tudo bem?", "Olá, tudo bem?"),
        ("{saudacao} {primeiro_nome}!", "Bom dia!"),
        ("{saudacao}, {primeiro_nome}!", "Bom dia!"),
        ("Olá, {primeiro_nome}!", "Olá!"),
        ("Olá, {primeiro_nome}, tudo bem?", "Olá, tudo bem?"),
        ("Olá {primeiro_nome}.", "Olá."),
        ("Olá {primeiro_nome}?", "Olá?"),
        ("Olá {primeiro_nome}; até logo", "Olá; até logo"),
        ("Olá {primeiro_nome}: sua vez", "Olá: sua vez"),
        ("Olá {primeiro_nome} tudo bem", "Olá tudo bem"),
        ("Olá{primeiro_nome}!", "Olá!"),
        ("{primeiro_nome} obrigado", "obrigado"),
        ("{primeiro_nome}, seu pedido chegou", "seu pedido chegou"),
        ("Obrigado {primeiro_nome}", "Obrigado"),
        ("Obrigado, {primeiro_nome}", "Obrigado"),
        ("Obrigado pelo contato, {primeiro_nome}. Até logo", "Obrigado pelo contato. Até logo"),
        ("{primeiro_nome}", ""),
        ("  {primeiro_nome}  ", ""),
        ("{ primeiro_nome }!", "!"),
        ("Olá {primeiro_nome} {primeiro_nome}, tudo bem?", "Olá, tudo bem?"),
        ("Olá, {primeiro_nome}, {primeiro_nome}!", "Olá!"),
        ("{primeiro_nome} {primeiro_nome} oi", "oi"),
        ("Olá {primeiro_nome}, {saudacao}!", "Olá, Bom dia!"),
        ("({primeiro_nome})", "()"),
    ],
)
def test_empty_values_leave_no_stray_spacing(template, expected, values):
    rendered = render_template(template, values)
    assert rendered == expected
    assert "  " not in rendered
    assert rendered == rendered.strip()


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # Untouched lines keep their spacing exactly: double spaces, tabs, trailing blanks.
        (
            "Olá {primeiro_nome},\n\n  Seu pedido  chegou.\t\nAtt,  {atendente}  ",
            "Olá,\n\n  Seu pedido  chegou.\t\nAtt,  João  ",
        ),
        ("  {primeiro_nome} obrigado\n  mais", "  obrigado\n  mais"),  # indentation kept
        ("Olá {primeiro_nome}!\r\nLinha  dois  \r\n", "Olá!\r\nLinha  dois  \r\n"),
        ("Oi  {primeiro_nome}\r\n", "Oi\r\n"),
        ("{primeiro_nome}\nTexto", "\nTexto"),
        ("Texto\n\t{primeiro_nome}\t\nFim", "Texto\n\nFim"),
        ("A  b {primeiro_nome}, c  d", "A  b, c  d"),  # only the gap at the variable changes
        ("\n\n", "\n\n"),
        ("", ""),
    ],
)
def test_formatting_is_kept(template, expected):
    assert render_template(template, {"atendente": "João"}) == expected


def test_values_are_inserted_once():
    values = {**FULL, "nome_cliente": "{hora} & {atendente}"}
    assert render_template("{nome_cliente} {hora}", values) == "{hora} & {atendente} 09:30"


def test_values_are_trimmed():
    assert render_template("Olá {primeiro_nome}!", {"primeiro_nome": "  Ana "}) == "Olá Ana!"


def test_text_containing_control_characters():
    # The internal marker must not collide with what the agent or the client wrote.
    text = "a\x00b {primeiro_nome}, \ue000c"
    assert render_template(text, {"primeiro_nome": None}) == "a\x00b, \ue000c"
    assert render_template("{nome_cliente}: {primeiro_nome}", {"nome_cliente": "\x00"}) == "\x00:"


def test_no_variables_is_identity():
    text = "Bom dia!  Como posso ajudar?\n\n\tAtt."
    assert render_template(text, {}) == text


# --- template_values -------------------------------------------------------------------------

NOW = datetime(2026, 5, 4, 12, 30, tzinfo=UTC)  # 09:30 in São Paulo


@pytest.mark.parametrize(
    ("client_name", "contact_name", "nome", "primeiro"),
    [
        ("Maria Silva", "Mari 🌸", "Maria Silva", "Maria"),
        (None, "Mari 🌸", "Mari 🌸", "Mari"),
        ("", "Carlos", "Carlos", "Carlos"),
        ("   ", "Carlos", "Carlos", "Carlos"),
        ("  Ana  Paula ", None, "Ana  Paula", "Ana"),
        (None, "🌸 Beatriz Souza", "🌸 Beatriz Souza", "Beatriz"),
        (None, "José", "José", "José"),
        # WhatsApp display names without a letter are not names.
        (None, ".", None, None),
        (None, "+55 11 99999-0001", None, None),
        (None, "🙂", None, None),
        (None, None, None, None),
    ],
)
def test_template_values_names(client_name, contact_name, nome, primeiro):
    values = template_values(
        client_name=client_name,
        contact_name=contact_name,
        phone_digits=None,
        agent_name=None,
        now=NOW,
        tz=SAO_PAULO,
    )
    assert values["nome_cliente"] == nome
    assert values["primeiro_nome"] == primeiro


def test_template_values():
    values = template_values(
        client_name="Maria Silva",
        contact_name="Mari",
        phone_digits="5511999990001",
        agent_name=" João ",
        now=NOW,
        tz=SAO_PAULO,
    )
    assert values == {
        "nome_cliente": "Maria Silva",
        "primeiro_nome": "Maria",
        "telefone": "+55 11 99999-0001",
        "saudacao": "Bom dia",
        "data": "04/05/2026",
        "hora": "09:30",
        "atendente": "João",
    }


@pytest.mark.parametrize(
    ("digits", "telefone"),
    [
        ("5511999990001", "+55 11 99999-0001"),
        ("551199990001", "+551199990001"),
        ("12125550100", "+1 212-555-0100"),
        (None, None),
        ("", None),
    ],
)
def test_template_values_phone(digits, telefone):
    values = template_values(
        client_name=None,
        contact_name=None,
        phone_digits=digits,
        agent_name=None,
        now=NOW,
        tz=SAO_PAULO,
    )
    assert values["telefone"] == telefone


@pytest.mark.parametrize(
    ("now", "saudacao", "data", "hora"),
    [
        (datetime(2026, 5, 4, 12, 30, tzinfo=UTC), "Bom dia", "04/05/2026", "09:30"),
        (datetime(2026, 5, 4, 15, 0, tzinfo=UTC), "Boa tarde", "04/05/2026", "12:00"),
        # 01:30 UTC on the 5th is still the evening of the 4th in São Paulo.
        (datetime(2026, 5, 5, 1, 30, tzinfo=UTC), "Boa noite", "04/05/2026", "22:30"),
        (datetime(2026, 1, 9, 7, 5, tzinfo=SAO_PAULO), "Bom dia", "09/01/2026", "07:05"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=SAO_PAULO), "Boa noite", "31/12/2026", "23:59"),
    ],
)
def test_template_values_time(now, saudacao, data, hora):
    values = template_values(
        client_name=None,
        contact_name=None,
        phone_digits=None,
        agent_name=None,
        now=now,
        tz=SAO_PAULO,
    )
    assert (values["saudacao"], values["data"], values["hora"]) == (saudacao, data, hora)


def test_template_values_refuse_naive_now():
    with pytest.raises(ValueError):
        template_values(
            client_name=None,
            contact_name=None,
            phone_digits=None,
            agent_name=None,
            now=datetime(2026, 5, 4, 9, 30),
            tz=SAO_PAULO,
        )


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("Maria Silva", "Bom dia, Maria! Sou João, em que posso ajudar?"),
        (None, "Bom dia! Sou João, em que posso ajudar?"),
    ],
)
def test_rendering_with_template_values(client_name, expected):
    values = template_values(
        client_name=client_name,
        contact_name=None,
        phone_digits="5511999990001",
        agent_name="João",
        now=NOW,
        tz=SAO_PAULO,
    )
    template = "{saudacao}, {primeiro_nome}! Sou {atendente}, em que posso ajudar?"
    assert render_template(template, values) == expected
