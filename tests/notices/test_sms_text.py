"""SMS segment counter and placeholder rendering (outreach.notices.sms_text)."""
import pytest

from outreach.notices.sms_text import (
    DEFAULT_REPLY_HINT, GSM7, UCS2, count_segments, placeholders_in, render, with_reply_hint,
)


@pytest.mark.parametrize("length, segments, per_segment, remaining", [
    (1, 1, 160, 159),
    (160, 1, 160, 0),
    (161, 2, 153, 145),
    (306, 2, 153, 0),
    (307, 3, 153, 152),
])
def test_gsm7_boundaries(length, segments, per_segment, remaining):
    c = count_segments("a" * length)
    assert (c.encoding, c.chars, c.segments, c.per_segment, c.remaining_in_segment) == (
        GSM7, length, segments, per_segment, remaining)


def test_extension_characters_count_twice_and_are_not_split():
    c = count_segments("€" * 80)
    assert (c.encoding, c.chars, c.segments) == (GSM7, 160, 1)
    c = count_segments("€" * 81)
    assert (c.chars, c.segments) == (162, 2)
    # 152 plain septets then '{': the escape pair cannot straddle the part boundary.
    c = count_segments("a" * 152 + "{" + "b" * 10)
    assert c.chars == 164
    assert c.segments == 2
    assert c.remaining_in_segment == 153 - 12


@pytest.mark.parametrize("length, segments, remaining", [
    (70, 1, 0), (71, 2, 63), (134, 2, 0), (135, 3, 66),
])
def test_chinese_is_ucs2_70_67(length, segments, remaining):
    c = count_segments("通" * length)
    assert (c.encoding, c.chars, c.segments, c.remaining_in_segment) == (UCS2, length, segments, remaining)


def test_one_chinese_character_switches_a_latin_text_to_ucs2():
    c = count_segments("Meeting at 18:30 " * 5 + "好")
    assert c.encoding == UCS2
    assert c.segments == 2  # 86 units: would have been one GSM-7 message without the 好


def test_emoji_take_two_units_and_stay_whole():
    assert count_segments("👍").chars == 2
    assert count_segments("👍" * 35).segments == 1
    c = count_segments("👍" * 36)
    assert (c.chars, c.segments) == (72, 2)
    # 66 units, then an emoji that would straddle the 67-unit boundary moves whole.
    c = count_segments("通" * 66 + "👍" + "通" * 5)
    assert c.segments == 2 and c.remaining_in_segment == 67 - 7


def test_default_reply_hint_makes_a_typical_notice_multi_segment():
    text = render("{name}您好，{village}通知：{date}起暂停一切宴席聚集。{reply_hint}",
                  {"name": "王秀英", "village": "石门村", "date": "11月27日"})
    assert text.endswith(DEFAULT_REPLY_HINT)
    c = count_segments(text)
    assert c.encoding == UCS2 and c.segments == 1 and not c.multi_segment
    assert count_segments(text * 2).multi_segment


def test_empty_text_is_zero_segments():
    c = count_segments("")
    assert (c.segments, c.remaining_in_segment) == (0, 160)


def test_render_rejects_unknown_and_hostile_placeholders():
    with pytest.raises(ValueError, match="unknown placeholder"):
        render("你好{nmae}", {"name": "x"})
    with pytest.raises(ValueError, match="unknown placeholder"):
        render("{name.__class__}", {"name": "x"})
    with pytest.raises(ValueError, match="unknown placeholder"):
        render("{}", {})
    with pytest.raises(ValueError, match="braces"):
        render("你好{name", {"name": "x"})
    with pytest.raises(ValueError, match=r"no value for \{village\}"):
        render("{name}，{village}", {"name": "李"})


def test_render_keeps_values_literal_and_escaped_braces():
    out = render("{{注意}} {name}", {"name": "{village}"})
    assert out == "{注意} {village}"


def test_with_reply_hint_appends_once():
    assert with_reply_hint("今晚停止聚餐") == "今晚停止聚餐。{reply_hint}"
    assert with_reply_hint("今晚停止聚餐！") == "今晚停止聚餐！{reply_hint}"
    placed = "{reply_hint}：今晚停止聚餐"
    assert with_reply_hint(placed) == placed
    assert placeholders_in(with_reply_hint("x")) == ["reply_hint"]
