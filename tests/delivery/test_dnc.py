"""The do-not-call list: by hand, by file (bad lines reported by line, duplicates ignored), exported safely
for spreadsheets, and honoured by every campaign."""
import io

import pytest

from outreach.delivery import campaigns, dnc, interactions
from outreach.registry import phones


@pytest.fixture
def english(client, login):
    login(client, "sec_a")
    client.get("/lang/en")
    return client


def listed(db, village_id):
    return {r[0]: r[1] for r in db.execute("SELECT e164, reason FROM do_not_call WHERE village_id = ?", [village_id])}


def upload(client, village_id, data: bytes, name="numbers.csv", **fields):
    return client.post(f"/villages/{village_id}/do-not-call/import", data={"file": (io.BytesIO(data), name), **fields},
                       content_type="multipart/form-data")


def test_add_normalises_and_ignores_a_second_time(db, ids):
    assert dnc.add(db, ids["yang"], "139-0000-1111", "家属要求") == ("+8613900001111", True)
    assert dnc.add(db, ids["yang"], "+86 13900001111", "again") == ("+8613900001111", False)
    assert listed(db, ids["yang"]) == {"+8613900001111": "家属要求"}
    assert dnc.add(db, ids["shimen"], "13900001111")[1]  # each village keeps its own list
    with pytest.raises(phones.InvalidPhone):
        dnc.add(db, ids["yang"], "12345")
    assert dnc.remove(db, ids["yang"], "+8613900001111") and not dnc.remove(db, ids["yang"], "+8613900001111")
    assert listed(db, ids["yang"]) == {} and len(listed(db, ids["shimen"])) == 1


def test_add_and_remove_through_the_page(english, db, ids):
    yang = ids["yang"]
    response = english.post(f"/villages/{yang}/do-not-call", data={"phone": "139 0000 2222", "reason": "本人要求"},
                            follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "139 0000 2222 will not be called or texted." in page and "李德明" in page  # whose number it is
    bad = english.post(f"/villages/{yang}/do-not-call", data={"phone": "not a number"}, follow_redirects=True)
    assert "Not added: not a phone number" in bad.get_data(as_text=True)
    assert listed(db, yang) == {"+8613900002222": "本人要求"}
    english.post(f"/villages/{yang}/do-not-call/remove", data={"e164": "+8613900002222"})
    assert listed(db, yang) == {}
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'dnc%' ORDER BY id")]
    assert actions == ["dnc_added", "dnc_removed"]


def test_import_reports_bad_lines_and_skips_duplicates(english, db, ids):
    yang = ids["yang"]
    dnc.add(db, yang, "13900001111")
    text = ("电话号码,原因\n"
            "13900002222,外出务工\n"
            "139 0000 3333\n"
            "\n"
            "abc\n"
            "13900001111,already there\n"
            "+86 139-0000-2222\n"
            "12345\n"
            "0571-12345678,村委座机\n")
    response = upload(english, yang, text.encode("gb18030"), reason="批量导入")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Added 3 numbers; 2 were already on the list." in page
    assert "2 lines were not numbers and were skipped:" in page
    assert '<td class="num">5</td><td>abc</td>' in page and '<td class="num">8</td><td>12345</td>' in page
    assert listed(db, yang) == {"+8613900001111": "", "+8613900002222": "外出务工", "+8613900003333": "批量导入",
                                "+8657112345678": "村委座机"}


def test_unreadable_upload_says_why_and_adds_nothing(english, db, ids):
    response = upload(english, ids["yang"], b"", name="empty.txt")
    assert response.status_code == 400 and "The file is empty." in response.get_data(as_text=True)
    response = upload(english, ids["yang"], b"\x00\x01binary\x00" * 100, name="x.csv")
    assert response.status_code == 400
    assert listed(db, ids["yang"]) == {}


def test_export_neutralises_formulas_and_reimports_unchanged(english, db, ids):
    yang = ids["yang"]
    dnc.add(db, yang, "13900001111", '=HYPERLINK("http://evil.example","点我")')
    dnc.add(db, yang, "+44 20 7946 0958", "+1 tourist")
    response = english.get(f"/villages/{yang}/do-not-call.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8-sig")
    assert text.splitlines()[0] == "Phone,Reason,Added at,Added by"
    assert "'=HYPERLINK" in text and "'+1 tourist" in text and "'+44 20 7946 0958" in text
    assert not any(line.startswith(("=", "+", "-", "@")) for cell_line in text.splitlines()
                   for line in cell_line.split(","))
    # The export goes back in without errors and adds nothing new.
    dnc.remove(db, yang, "+8613900001111")
    result = dnc.import_file(db, yang, response.data)
    assert result.errors == [] and result.added == ["+8613900001111"] and result.duplicates == ["+442079460958"]


def test_other_villages_list_is_not_found(client, login, ids):
    login(client, "sec_b")
    assert client.get(f"/villages/{ids['yang']}/do-not-call").status_code == 404
    assert upload(client, ids["yang"], b"13900001111\n").status_code == 404
    removal = client.post(f"/villages/{ids['yang']}/do-not-call/remove", data={"e164": "+8613900001111"})
    assert removal.status_code == 404


def test_opted_out_numbers_are_listed_beside_the_list(english, db, ids):
    interactions.opt_out(db, "+8613900002222", "sms")
    interactions.opt_out(db, "+8613900003333", "sms")  # 石门村's resident: not shown to 杨家坪村
    page = english.get(f"/villages/{ids['yang']}/do-not-call").get_data(as_text=True)
    section = page.split("Opted out of text messages")[1]
    assert "139 0000 2222" in section and "李德明" in section and "139 0000 3333" not in section


def test_campaigns_skip_numbers_on_the_list(db, ids):
    dnc.add(db, ids["yang"], "13900002222")
    selection = campaigns.select_targets(db, campaigns.Audience(village_id=ids["yang"]), "voice")
    assert [t[0] for t in selection.targets] == [ids["res_a1"]]
    assert selection.skipped == {campaigns.SKIP_DO_NOT_CALL: 1}
