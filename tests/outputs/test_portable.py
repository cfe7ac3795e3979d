"""The propaganda vehicle: the bundle an operator carries, and the SMS that confirms a play."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from schedules.outputs import make_output
from schedules.outputs.mp3frames import duration_s
from schedules.outputs.portable import build_bundle, parse_played_sms

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour, minute):
    return datetime(2026, 3, 9, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def bundle(tmp_path, mp3_2s, mp3_3s):
    path = tmp_path / "杨家坪村-0309.zip"
    names = build_bundle(str(path), [
        (18, "森林防火：清明期间禁止野外用火", mp3_3s, at(12, 0)),
        (17, "春耕备耕会议通知", mp3_2s, at(7, 0)),
        (19, '=HYPERLINK("x") <b>测试</b>', mp3_2s, at(18, 30)),
    ], heading="杨家坪村 宣传车1号", sms_number="+8610690000")
    return path, names


def test_the_bundle_holds_the_audio_in_playing_order(bundle, mp3_2s, mp3_3s):
    path, names = bundle
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        audio = sorted(n for n in zf.namelist() if n.startswith("audio/"))
        assert audio == ["audio/01-17.mp3", "audio/02-18.mp3", "audio/03-19.mp3"]
        assert zf.read("audio/01-17.mp3") == open(mp3_2s, "rb").read()
        assert zf.read("audio/02-18.mp3") == open(mp3_3s, "rb").read()
        playlist = zf.read("playlist.m3u").decode("utf-8").splitlines()
    assert set(names) == {*audio, "playlist.m3u", "day-sheet.html", "day-sheet.csv"}
    assert playlist[0] == "#EXTM3U"
    assert [line for line in playlist if not line.startswith("#")] == audio
    assert playlist[1] == "#EXTINF:2,07:00 编号17 春耕备耕会议通知"


def test_the_day_sheet_tells_the_operator_how_to_confirm_each_play(bundle):
    path, _ = bundle
    with zipfile.ZipFile(path) as zf:
        page = zf.read("day-sheet.html").decode("utf-8")
        sheet = zf.read("day-sheet.csv")
    assert "杨家坪村 宣传车1号 2026年03月09日 播放单" in page
    assert "播放后发短信 PLAYED 17 确认" in page and "播放后发短信 PLAYED 18 确认" in page
    assert "+8610690000" in page
    assert "<b>测试</b>" not in page and "&lt;b&gt;测试&lt;/b&gt;" in page
    assert page.index("春耕备耕会议通知") < page.index("森林防火")
    assert sheet.startswith("\ufeff".encode("utf-8"))  # Excel needs the BOM to read Chinese
    rows = list(csv.reader(io.StringIO(sheet.decode("utf-8-sig"))))
    assert rows[0][:4] == ["顺序", "播放编号", "计划时间", "标题"]
    assert [r[1:3] for r in rows[1:]] == [["17", "07:00"], ["18", "12:00"], ["19", "18:30"]]
    assert rows[1][5] == "0:02" and rows[2][5] == "0:03"
    assert rows[3][3].startswith("'=")  # a title is never run as a spreadsheet formula
    assert rows[1][6] == "播放后发短信 PLAYED 17 确认"


def test_a_bad_item_leaves_no_half_written_bundle(tmp_path, mp3_2s):
    path = tmp_path / "b.zip"
    for items in ([(17, "a", mp3_2s, at(7, 0)), (17, "b", mp3_2s, at(8, 0))],
                  [(17, "a", str(tmp_path / "missing.mp3"), at(7, 0))],
                  [(0, "a", mp3_2s, at(7, 0))], []):
        with pytest.raises(ValueError):
            build_bundle(str(path), items)
    assert list(tmp_path.iterdir()) == []


def test_playing_on_a_portable_unit_waits_for_the_operator(mp3_2s, started):
    out = make_output("portable", {"name": "宣传车1号"})
    result = out.play(mp3_2s, expected_s=2.0, timeout_s=10, on_started=started)

    assert (result.ok, result.retryable, result.error) == (False, False, "manual")
    assert result.detail["reason"] == "manual"
    assert started.calls == []
    assert "宣传车1号" in out.describe()


@pytest.mark.parametrize("body, ids", [
    ("PLAYED 17", [17]), ("played 17 18", [17, 18]), ("已播 17", [17]), ("已播放17", [17]),
    ("  Played: 17,18，19 ", [17, 18, 19]), ("已经播放 17、18", [17, 18]), ("PLAYED #17", [17]),
    ("ＰＬＡＹＥＤ　１７", [17]), ("已播 17 和 18。", [17, 18]), ("播完了17", [17]),
    ("PLAYED 17 17", [17]), ("played17!", [17]),
])
def test_confirmation_texts_operators_send(body, ids):
    assert parse_played_sms(body) == ids


@pytest.mark.parametrize("body", [
    "PLAYED", "17", "已播", "PLAYED 17 but the van broke down", "没播 17", "play 17", "", "PLAYED 0",
    "STOP", "PLAYED " + " ".join(str(n) for n in range(1, 60)), None,
])
def test_texts_that_do_not_confirm_a_play(body):
    assert parse_played_sms(body) is None


def test_durations_on_the_sheet_come_from_the_mp3_frames(mp3_3s):
    assert duration_s(open(mp3_3s, "rb").read()) == pytest.approx(3.0, abs=0.08)
