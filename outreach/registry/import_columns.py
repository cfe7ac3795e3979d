"""What the columns of an uploaded roster mean, and one row turned into a :class:`ResidentInput`.

Headers are recognised in Chinese and English (姓名/name, 手机/电话/phone, 网格/grid, …). A column
is mapped to one field key or ignored; the user can change the guess on the preview page. ID card
numbers (身份证) are recognised only to be ignored: the registry never stores them.

Messages are English msgids marked with :func:`N_`; callers translate them with their gettext.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import phones as phone_numbers
from .residents import (HARD_OF_HEARING, HOME_MONITORING, LIVES_ALONE, MANDARIN, NO_PHONE, ResidentInput,
                        current_year)


def N_(message: str) -> str:
    """Mark a msgid for extraction; translated later by whoever shows it."""
    return message


# key -> (label msgid, several columns allowed)
FIELDS = {
    "name": (N_("Name"), False),
    "phone": (N_("Phone"), True),
    "grid": (N_("Grid"), False),
    "subgrid": (N_("Sub-grid"), False),
    "house_number": (N_("House number"), False),
    "address": (N_("Address"), False),
    "birth_year": (N_("Birth year"), False),
    "age": (N_("Age"), False),
    "sex": (N_("Sex"), False),
    "language": (N_("Language or dialect"), False),
    "lives_alone": (N_("Lives alone"), False),
    "no_phone": (N_("No working phone"), False),
    "hard_of_hearing": (N_("Hard of hearing"), False),
    "home_monitoring": (N_("Home health monitoring"), False),
    "tags": (N_("Tags"), True),
    "relation": (N_("Relation to head of household"), False),
    "lives_elsewhere": (N_("Lives elsewhere"), False),
    "notes": (N_("Notes"), True),
}
ID_CARD = "id_card"  # recognised, never stored (privacy)
REASON = "reason"    # the reason column of our own error file: ignored on re-import

# Exact header spellings (after normalisation), checked before the keyword rules.
_EXACT = {
    "name": "姓名 名字 名称 人员姓名 居民姓名 name fullname",
    "phone": "手机 手机号 手机号码 电话 电话号码 联系电话 联系方式 固话 座机 phone mobile tel telephone cell",
    "grid": "网格 所属网格 网格名称 大网格 grid",
    "subgrid": "小网格 子网格 小组 subgrid",
    "house_number": "门牌号 门牌 户号 门牌号码 housenumber houseno house",
    "address": "地址 住址 家庭住址 现住址 居住地址 address",
    "birth_year": "出生年份 出生年 出生年月 出生日期 birthyear yearofbirth born",
    "age": "年龄 岁数 age",
    "sex": "性别 sex gender",
    "language": "方言 语言 language dialect",
    "lives_alone": "独居 是否独居 独居老人 livesalone",
    "no_phone": "无手机 无电话 没有手机 nophone noworkingphone",
    "hard_of_hearing": "听力 耳背 听力障碍 hardofhearing",
    "home_monitoring": "居家监测 健康监测 居家健康监测 homemonitoring homehealthmonitoring",
    "tags": "标签 tags tag",
    "relation": "关系 与户主关系 relation relationtoheadofhousehold",
    "lives_elsewhere": "外出 在外 是否外出 liveselsewhere",
    "notes": "备注 notes note remarks",
}
_EXACT_INDEX = {spelling: key for key, spellings in _EXACT.items() for spelling in spellings.split()}
_EXACT_INDEX.update(dict.fromkeys(("错误原因", "原因", "reason", "errorreason", "error"), REASON))

# Keyword rules in priority order: the first that matches decides. None = a known column we ignore
# (e.g. the grid worker's own name must not become the resident's name).
_RULES: list[tuple[str | None, str]] = [
    (ID_CARD, r"身份证|身份号|证件号|\bid\s*(card|number|no)\b"),
    (None, r"网格员|网格长|负责人|联户|包保|联系人|户主姓名|户主电话"),
    ("no_phone", r"(无|没有|没)\S{0,3}(手机|电话)|\bno\s*(working\s*)?phone\b"),
    ("subgrid", r"小网格|子网格|小组|\bsub-?grid\b"),
    ("grid", r"网格|\bgrid\b"),
    ("name", r"姓名|名字|\bname\b"),
    ("phone", r"手机|电话|联系方式|座机|固话|\bphone\b|\bmobile\b|\btel\b"),
    ("house_number", r"门牌|户号|房号|\bhouse\b"),
    ("address", r"地址|住址|\baddress\b"),
    ("birth_year", r"出生|\bbirth\b|\bborn\b"),
    ("age", r"年龄|岁|\bage\b"),
    ("sex", r"性别|\bsex\b|\bgender\b"),
    ("lives_alone", r"独居|\balone\b"),
    ("hard_of_hearing", r"听力|耳背|听障|耳聋|\bhearing\b"),
    ("home_monitoring", r"监测|\bmonitoring\b"),
    ("language", r"方言|语言|口音|\blanguage\b|\bdialect\b"),
    ("tags", r"标签|\btags?\b"),
    ("relation", r"关系|\brelation"),
    ("lives_elsewhere", r"外出|在外|外地|\belsewhere\b|\baway\b"),
    ("notes", r"备注|说明|\bnotes?\b|\bremarks?\b|\bcomments?\b"),
]
_RULES_RE = [(key, re.compile(pattern, re.I)) for key, pattern in _RULES]
_DECORATION = re.compile(r"[*＊:：\s]|[(（][^)）]*[)）]|\d+$")


def _normalise_header(header: str) -> str:
    return _DECORATION.sub("", (header or "").strip().lower())


def guess_field(header: str) -> str | None:
    """The field key a header names, ID_CARD / REASON for columns we ignore on purpose, else None."""
    exact = _EXACT_INDEX.get(_normalise_header(header))
    if exact:
        return exact
    text = (header or "").strip()
    for key, pattern in _RULES_RE:
        if pattern.search(text):
            return key
    return None


def header_score(cells: list[str]) -> int:
    """How many cells look like known headers (finds the header under a title row)."""
    return sum(1 for c in cells if c and len(c) <= 30 and guess_field(c) not in (None, REASON))


def guess_mapping(header: list[str]) -> list[str]:
    """A field key per column, "" for ignored; exact spellings win over keyword guesses."""
    guesses = [guess_field(h) for h in header]
    exact = [_EXACT_INDEX.get(_normalise_header(h)) for h in header]
    mapping = [""] * len(header)
    taken: set[str] = set()
    for pass_exact in (True, False):
        for i, key in enumerate(guesses):
            if mapping[i] or key not in FIELDS or (pass_exact and not exact[i]):
                continue
            if key in taken and not FIELDS[key][1]:
                continue
            mapping[i] = key
            taken.add(key)
    return mapping


def check_mapping(mapping: list[str]) -> list[tuple[str, dict]]:
    """Problems that stop an import, as (msgid, params)."""
    problems = []
    unknown = [k for k in mapping if k and k not in FIELDS]
    if unknown:
        problems.append((N_("Unknown field: %(field)s"), {"field": unknown[0]}))
    if "name" not in mapping:
        problems.append((N_("No column is mapped to Name."), {}))
    for key, (label, multi) in FIELDS.items():
        if not multi and mapping.count(key) > 1:
            problems.append((N_("%(field)s is chosen for more than one column."), {"field": label}))
    return problems


def mapping_warnings(header: list[str], mapping: list[str]) -> list[tuple[str, dict]]:
    """What the user should know about ignored columns, as (msgid, params)."""
    warnings = []
    for i, h in enumerate(header):
        if mapping[i] if i < len(mapping) else "":
            continue
        kind = guess_field(h)
        if kind == ID_CARD:
            warnings.append((N_("Column “%(column)s” is ignored: ID card numbers are never stored."),
                             {"column": h}))
        elif kind != REASON and h:
            warnings.append((N_("Column “%(column)s” is ignored."), {"column": h}))
    if "phone" not in mapping:
        warnings.append((N_("No phone column: everyone will be tagged as having no working phone."), {}))
    return warnings


# ---- cells -------------------------------------------------------------------------------

class RowError(ValueError):
    """A row that cannot be imported; ``message`` is a msgid, ``params`` fill it."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translated(self, gettext=str) -> str:
        text = gettext(self.message)
        return text % self.params if self.params else text


_TRUE = {"是", "y", "yes", "1", "√", "✓", "✔", "☑", "true", "t", "对", "有"}
_FALSE = {"", "否", "n", "no", "0", "false", "f", "×", "✗", "无", "不", "不是", "没有", "-", "—", "/"}
_TRUE_EXTRA = {
    "lives_alone": {"独居", "独居老人", "空巢"},
    "no_phone": {"无手机", "无电话", "没有手机", "没有电话"},
    "hard_of_hearing": {"差", "耳背", "重听", "聋", "弱", "听力差", "听不清"},
}
_FALSE_EXTRA = {"hard_of_hearing": {"正常", "好", "良好"}}
_LENIENT = {"hard_of_hearing", "home_monitoring", "lives_elsewhere"}  # any other text means yes
_SEX = {"男": "M", "男性": "M", "m": "M", "male": "M", "女": "F", "女性": "F", "f": "F", "female": "F"}
_MANDARIN = {"普通话", "国语", "汉语", "中文", "mandarin", "putonghua"}
_NO_NUMBER = {"无", "没有", "无手机", "无电话", "-", "—", "/", "none", "n/a", "na"}
_TAG_ALIASES = {
    "独居": LIVES_ALONE, "独居老人": LIVES_ALONE, "无手机": NO_PHONE, "无电话": NO_PHONE,
    "耳背": HARD_OF_HEARING, "听力差": HARD_OF_HEARING, "听障": HARD_OF_HEARING,
    "居家监测": HOME_MONITORING, "健康监测": HOME_MONITORING, "居家健康监测": HOME_MONITORING,
    LIVES_ALONE: LIVES_ALONE, NO_PHONE: NO_PHONE, HARD_OF_HEARING: HARD_OF_HEARING,
    HOME_MONITORING: HOME_MONITORING,
}
_PHONE_SPLIT = re.compile(r"[/／，,;；、|]+")
_TAG_SPLIT = re.compile(r"[，,;；、\s]+")
_YEAR = re.compile(r"\d{4}")
_SLASH = re.compile(r"\s*[/／]\s*")
_NEUTRALISED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def clean(cell: str) -> str:
    """Strip spaces (also full-width) and the quote our exports put before = + - @."""
    text = cell.strip(" \t\r\n\u3000\xa0") if cell else ""
    return text[1:] if text[:1] == "'" and text.startswith(_NEUTRALISED) else text


def parse_flag(key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _FALSE or v in _FALSE_EXTRA.get(key, ()):
        return False
    if v in _TRUE or v in _TRUE_EXTRA.get(key, ()) or key in _LENIENT:
        return True
    raise RowError(N_("%(field)s: cannot read “%(value)s” (use 是 or 否)"), field=FIELDS[key][0], value=value)


def parse_phones(value: str) -> list[str]:
    """E.164 numbers in a cell that may hold several (“138… / 139…”, “138… 139…”)."""
    return [e164 for e164, _kind in phones_with_kinds(value)]


# Chinese mobile numbers are allocated by 号段, their first seven digits, and phonenumbers' CN
# patterns decide an 11-digit "1…" number by at most its first five: one lookup per 号段 holds for
# all its numbers. This keeps a 50,000-row import from spending most of its time in phonenumbers.
_CN_MOBILE = re.compile(r"1\d{10}")
_BY_PREFIX: dict[str, str] = {}  # 号段 -> kind ("" when numbers of that 号段 are invalid)


def normalise_phone(text: str) -> tuple[str, str]:
    """:func:`phones.normalise`, answered per 号段 for plain 11-digit Chinese mobile numbers."""
    if not _CN_MOBILE.fullmatch(text):
        return phone_numbers.normalise(text)
    kind = _BY_PREFIX.get(text[:7])
    if kind is None:
        if len(_BY_PREFIX) > 100_000:
            _BY_PREFIX.clear()
        try:
            e164, kind = phone_numbers.normalise(text)
        except phone_numbers.InvalidPhone:
            _BY_PREFIX[text[:7]] = ""
            raise
        _BY_PREFIX[text[:7]] = kind
        return e164, kind
    if not kind:
        raise phone_numbers.InvalidPhone(f"invalid phone number: {text!r}")
    return "+86" + text, kind


def phones_with_kinds(value: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if value.strip().lower() in _NO_NUMBER:
        return found
    for part in _PHONE_SPLIT.split(value):
        part = part.strip()
        if not part or part.lower() in _NO_NUMBER:
            continue
        try:
            found.append(normalise_phone(part))
            continue
        except phone_numbers.InvalidPhone:
            pieces = part.split()
        if len(pieces) < 2:
            raise RowError(N_("Not a valid phone number: %(number)s"), number=part)
        for piece in pieces:
            try:
                found.append(normalise_phone(piece))
            except phone_numbers.InvalidPhone:
                raise RowError(N_("Not a valid phone number: %(number)s"), number=piece) from None
    return found


def parse_birth_year(value: str, year: int) -> int:
    match = _YEAR.search(value)
    if not match:
        raise RowError(N_("Cannot read the birth year: %(value)s"), value=value)
    born = int(match.group(0))
    if not year - 120 <= born <= year:
        raise RowError(N_("Impossible birth year: %(value)s"), value=value)
    return born


def parse_age(value: str, year: int) -> int:
    match = re.fullmatch(r"(\d{1,3})(\.0+)?\s*(岁|周岁)?", value)
    if not match:
        raise RowError(N_("Cannot read the age: %(value)s"), value=value)
    age = int(match.group(1))
    if age > 120:
        raise RowError(N_("Impossible age: %(value)s"), value=value)
    return year - age


@dataclass
class ParsedRow:
    data: ResidentInput
    auto_no_phone: bool  # no phone and no 无手机 mark: tagged no_phone so a grid worker visits
    kinds: dict[str, str]  # e164 -> mobile / landline


def parse_row(cells: list[str], mapping: list[str], *, default_language: str = MANDARIN,
              year: int | None = None) -> ParsedRow:
    """Turn one row into a ResidentInput; RowError names the first problem."""
    year = year or current_year()
    values: dict[str, list[str]] = {}
    width = len(cells)
    for i, key in enumerate(mapping):
        if key and i < width and cells[i]:
            text = clean(cells[i])
            if text:
                values.setdefault(key, []).append(text)
    first = {key: found[0] for key, found in values.items()}.get

    name = first("name", "")
    if not name:
        raise RowError(N_("Name is missing"))
    if len(name) > 50:
        raise RowError(N_("Name is longer than 50 characters"))
    kinds: dict[str, str] = {}  # insertion-ordered: the first number is the primary one
    for cell in values.get("phone", ()):
        for e164, kind in phones_with_kinds(cell):
            kinds.setdefault(e164, kind)  # the same number in 手机 and 电话 columns is one number
    e164s = list(kinds)
    data = ResidentInput(name=name, phones=e164s)
    grid, sub = first("grid", ""), first("subgrid", "")
    if "/" in grid or "／" in grid:
        grid = _SLASH.sub("/", grid).strip("/")
    data.grid_name = f"{grid}/{sub}" if grid and sub else grid or sub
    data.house_number = first("house_number", "")
    data.address = first("address", "")
    for key, value, limit in (("grid", data.grid_name, 100), ("house_number", data.house_number, 50),
                              ("address", data.address, 200)):
        if len(value) > limit:
            raise RowError(N_("%(field)s is too long"), field=FIELDS[key][0])
    born, age, sex = first("birth_year"), first("age"), first("sex")
    if born:
        data.birth_year = parse_birth_year(born, year)
    elif age:
        data.birth_year = parse_age(age, year)
    if sex:
        data.sex = _SEX.get(sex.lower())
        if data.sex is None:
            raise RowError(N_("Sex: cannot read “%(value)s” (use 男 or 女)"), value=sex)
    language = first("language", "")
    data.language = MANDARIN if language.lower() in _MANDARIN else (language[:20] or default_language)
    for key in (LIVES_ALONE, NO_PHONE, HARD_OF_HEARING, HOME_MONITORING):
        flag = first(key)
        if flag and parse_flag(key, flag):
            data.tags.add(key)
    for cell in values.get("tags", ()):
        for tag in _TAG_SPLIT.split(cell):
            if len(tag) > 30:
                raise RowError(N_("Tag is too long: %(tag)s"), tag=tag[:30])
            if tag:
                data.tags.add(_TAG_ALIASES.get(tag, _TAG_ALIASES.get(tag.lower(), tag)))
    data.relation = first("relation", "")[:20]
    elsewhere = first("lives_elsewhere")
    data.lives_elsewhere = bool(elsewhere) and parse_flag("lives_elsewhere", elsewhere)
    if "notes" in values:
        data.notes = "; ".join(values["notes"])[:500]
    auto = not e164s and NO_PHONE not in data.tags
    if auto:
        data.tags.add(NO_PHONE)
    return ParsedRow(data, auto, kinds)
