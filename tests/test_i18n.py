"""The Chinese catalog is complete and correct, and the language switch behaves.

A string added to the code without a Chinese translation fails here: the test extracts the
source strings afresh (with babel.cfg, into tmp_path) and looks each one up in the zh catalog.
Fix by running bin/update-translations and translating the empty entries.
"""
from __future__ import annotations

import os
import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from outreach.i18n import TRANSLATIONS
from outreach.registry.import_columns import FIELDS, guess_field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZH_PO = os.path.join(TRANSLATIONS, "zh", "LC_MESSAGES", "messages.po")
# The same keywords bin/update-translations passes to pybabel (defaults include _ and N_).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")
# Tokens such as "{n}" or "%s" are filled in by JavaScript (the SMS counter), not by Python.
BARE_TOKEN = re.compile(r"%%|%[a-zA-Z]|\{\w+\}")


def _read(path):
    with open(path, "rb") as fh:
        return read_po(fh, locale="zh" if path.endswith(".po") else None)


@pytest.fixture(scope="module")
def zh():
    return _read(ZH_PO)


@pytest.fixture(scope="module")
def fresh_template(tmp_path_factory):
    """Extract every source string now, as pybabel extract would, into a temporary .pot."""
    with open(os.path.join(ROOT, "babel.cfg")) as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    template = Catalog(project="Dalaba")
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    path = tmp_path_factory.mktemp("i18n") / "messages.pot"
    with open(path, "wb") as fh:
        write_po(fh, template)
    return _read(str(path))


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _label(message) -> str:
    where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
    return f"{_ids(message)[0]!r} ({where})" if where else repr(_ids(message)[0])


def test_extraction_finds_the_app_strings(fresh_template):
    # Guards the completeness check below against an extraction that silently finds nothing.
    ids = {m.id for m in fresh_template if m.id}
    assert {"Log in", "Village secretary", "No working phone"} <= ids  # template, _l and N_ strings
    assert len(ids) > 200


def test_every_source_string_has_a_chinese_translation(zh, fresh_template):
    missing = [_label(m) for m in fresh_template
               if m.id and zh.get(m.id, context=m.context) is None]
    assert not missing, (f"{len(missing)} strings are not in the zh catalog; run bin/update-translations "
                         f"and translate them:\n" + "\n".join(missing))


def test_zh_catalog_has_no_untranslated_or_fuzzy_entries(zh):
    assert not zh.fuzzy, "the zh catalog header is marked fuzzy"
    bad = [_label(m) for m in zh if m.id and (m.fuzzy or not all(s.strip() for s in _strings(m)))]
    assert not bad, "untranslated or fuzzy in zh:\n" + "\n".join(bad)


def _placeholders(message) -> set[str]:
    return set().union(*(PLACEHOLDER.findall(i) for i in _ids(message)))


def test_translations_keep_the_placeholders(zh):
    bad = []
    for m in zh:
        if not m.id:
            continue
        wanted = _placeholders(m)
        bare = sorted(BARE_TOKEN.findall(_ids(m)[0]))
        for s in filter(None, _strings(m)):  # empty ones are reported by the test above
            if set(PLACEHOLDER.findall(s)) != wanted or sorted(BARE_TOKEN.findall(s)) != bare:
                bad.append(f"{_label(m)} -> {s!r}")
            elif wanted or m.pluralizable:
                try:  # these are %-formatted at render time: a stray "%" would crash the page
                    s % dict.fromkeys(wanted | {"num"}, "1")
                except (TypeError, ValueError, KeyError) as exc:
                    bad.append(f"{_label(m)} -> {s!r}: {exc}")
    assert not bad, "placeholders differ:\n" + "\n".join(bad)


def test_exported_chinese_headers_are_read_back_by_the_importer(zh):
    # The resident export writes these labels in the user's language; a re-import must map them back.
    for key, (label, _several) in FIELDS.items():
        chinese = zh[label].string
        assert guess_field(chinese) == key, f"{label!r} → {chinese!r} is read as {guess_field(chinese)!r}"
    assert guess_field(zh["Error reason"].string) == "reason"


def test_pages_are_chinese_by_default_and_english_after_switching(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    assert "Log in" not in page

    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page
    assert "登录" not in page

    client.get("/lang/zh")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_messages_from_python_code_are_translated(client):
    response = client.post("/login", data={"username": "admin", "password": "wrong-password"})
    assert "用户名或密码错误" in response.get_data(as_text=True)
    client.get("/lang/en")
    response = client.post("/login", data={"username": "admin", "password": "wrong-password"})
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_plural_strings_are_served_in_chinese_for_every_count(app, zh):
    from flask_babel import force_locale, ngettext

    plural = next(m for m in zh if m.id and m.pluralizable)  # the first ngettext string, whichever it is
    singular, many = plural.id
    with app.test_request_context(), force_locale("zh"):
        for n in (1, 2, 25):
            text = ngettext(singular, many, n, **dict.fromkeys(_placeholders(plural) - {"num"}, "7"))
            assert text == plural.string[0] % dict(dict.fromkeys(_placeholders(plural), "7"), num=n)
            assert str(n) in text


def test_lazy_labels_follow_the_language(client, login):
    login(client, "admin")
    assert "村支书" in client.get("/admin/users").get_data(as_text=True)  # ROLE_LABELS are lazy_gettext
    client.get("/lang/en")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Village secretary" in page and "村支书" not in page


def test_language_choice_survives_login_and_logout(client, login):
    client.get("/lang/en")
    response = login(client, "sec_a")
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session["lang"] == "en"
        assert session.get("_user_id")  # really logged in, in a fresh session
    assert "Log out" in client.get("/").get_data(as_text=True)

    client.post("/logout")
    assert "Log in" in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("code", ["fr", "zh_TW", "EN", "en-US", "%3Cscript%3E"])
def test_unknown_locale_code_is_ignored(client, code):
    response = client.get(f"/lang/{code}")
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "lang" not in session
    assert "登录" in client.get("/login").get_data(as_text=True)

    client.get("/lang/en")
    client.get(f"/lang/{code}")
    with client.session_transaction() as session:
        assert session["lang"] == "en"  # a bad code does not undo an earlier good choice
    assert "Log in" in client.get("/login").get_data(as_text=True)
