"""Regenerate the import fixtures beside this script: ``python tests/data/make_import_fixtures.py``.

Names, numbers and ID numbers are fictitious. The same five residents of 杨家坪村 are written as a
GBK CSV with a title row (what Excel in China saves), a UTF-8 CSV with a BOM, a plain UTF-8 CSV,
a UTF-16 tab-separated "Unicode text" file and an XLSX with a title row and a separate sub-grid
column. ``bad_rows_gbk.csv`` holds one problem per row; the tests name each by its row number.
"""
from __future__ import annotations

import csv
import datetime
import io
import os

import openpyxl

HERE = os.path.dirname(os.path.abspath(__file__))

HEADER = ["姓名", "性别", "出生年份", "手机号码", "联系电话", "网格", "门牌号", "家庭住址", "独居", "方言", "标签",
          "备注", "身份证号"]
GOOD = [
    ["王秀英", "女", "1938", "13900010001", "", "一网格/1小组", "1组003号", "杨家坪村1组", "√", "普通话", "耳背", "",
     "500000193801010000"],
    ["刘长福", "男", "1945", "13900010002 / 13900010003", "", "一网格", "1组004号", "", "否", "重庆话", "",
     "儿子在重庆打工", "500000194502020000"],
    ["陈玉兰", "女", "1951", "", "023-67123456", "二网格", "2组011号", "", "是", "", "居家监测、低保", "", ""],
    ["周大山", "男", "1960", "", "", "二网格", "2组012号", "", "", "", "", "无手机", ""],
    ["李德明", "男", "1980", "13900002222", "", "二网格", "2组010号", "", "否", "", "", "村会计", ""],
]

BAD_HEADER = ["姓名", "手机", "出生年份", "年龄", "性别", "网格", "门牌号", "独居"]
BAD = [  # spreadsheet rows 2.. (row 13 is blank)
    ["赵一", "13900020001", "1950", "", "男", "一网格", "1组020号", ""],               # 2 ok
    ["", "13900020002", "1951", "", "女", "一网格", "1组021号", ""],                   # 3 no name
    ["钱二", "12345", "1952", "", "男", "一网格", "1组022号", ""],                     # 4 bad phone
    ["孙三", "13900020001", "1953", "", "男", "一网格", "1组023号", ""],               # 5 duplicate of 2
    ["李四", "13900020003", "1820", "", "男", "二网格", "2组030号", ""],               # 6 birth year
    ["周五", "13900020004", "2150", "", "女", "二网格", "2组031号", ""],               # 7 birth year
    ["吴六", "13900020005", "", "150", "女", "二网格", "2组032号", ""],                # 8 age
    ["郑七", "13900020006", "1960", "", "未知", "二网格", "2组033号", ""],             # 9 sex
    ["冯八", "13900001111/13900002222", "1961", "", "男", "二网格", "2组034号", ""],   # 10 two owners
    ["陈九", "电话坏了", "1962", "", "男", "二网格", "2组035号", ""],                   # 11 bad phone text
    ["褚十", "13900020007", "1963", "", "男", "二网格", "2组036号", "也许"],           # 12 flag
    [],                                                                                 # 13 blank line
    ["卫十一", "13900020008", "", "80岁", "女", "二网格", "2组037号", "是"],           # 14 ok (age)
    ["  ", "13900020010", "1964", "", "男", "二网格", "2组038号", ""],                 # 15 no name
]


def _csv_text(header, rows, delimiter=",", title=None, blank_after: int | None = 1) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    if title:
        writer.writerow([title] + [""] * (len(header) - 1))
    writer.writerow(header)
    for i, row in enumerate(rows):
        writer.writerow(row)
        if i == blank_after:
            writer.writerow([])  # a blank line is not a row
    return out.getvalue()


def _write(name: str, data: bytes) -> None:
    with open(os.path.join(HERE, name), "wb") as fh:
        fh.write(data)


def _xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    header = ["序号", "姓名", "性别", "出生日期", "手机号码", "网格", "小网格", "门牌号", "独居", "方言", "身份证号"]
    ws.append(["杨家坪村村民花名册（2022年1月）"])
    ws.merge_cells("A1:K1")
    ws.append([])
    ws.append(header)
    births = {"王秀英": datetime.datetime(1938, 5, 1), "刘长福": datetime.datetime(1945, 3, 9),
              "陈玉兰": datetime.datetime(1951, 11, 30), "周大山": datetime.datetime(1960, 1, 1),
              "李德明": datetime.datetime(1980, 8, 8)}
    for i, r in enumerate(GOOD, 1):
        grid, _, sub = r[5].partition("/")
        phone = r[3] or r[4]
        ws.append([i, r[0], r[1], births[r[0]], int(phone) if phone.isdigit() else phone, grid, sub, r[6],
                   r[8], r[9], r[12]])
        ws.cell(row=ws.max_row, column=4).number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def main() -> None:
    _write("residents_gbk.csv", _csv_text(HEADER, GOOD, title="杨家坪村村民花名册").encode("gbk"))
    _write("residents_utf8_bom.csv", _csv_text(HEADER, GOOD).encode("utf-8-sig"))
    _write("residents_utf8.csv", _csv_text(HEADER, GOOD).encode("utf-8"))
    _write("residents_utf16.txt", _csv_text(HEADER, GOOD, delimiter="\t").encode("utf-16"))
    _write("residents.xlsx", _xlsx())
    _write("bad_rows_gbk.csv", _csv_text(BAD_HEADER, BAD, blank_after=None).encode("gbk"))
    _write("header_only.csv", "姓名,手机,网格\r\n".encode("utf-8"))
    _write("empty.csv", b"")
    _write("garbage.bin", bytes(range(256)) * 8)
    _write("old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)


if __name__ == "__main__":
    main()
