"""Districts by name from their administrative-division code (行政区划代码, admdvs).

Source: 中华人民共和国民政部《2023年中华人民共和国县以上行政区划代码》(published 2024-02),
the codes of the five jurisdictions medaid ships and the cities their demo data names. A
name that repeats in another city (鼓楼区 is in Nanjing and Xuzhou) carries its city. A
code not listed reads as the code itself.
"""

from __future__ import annotations

AS_OF = "2023-12-31"
SOURCE = "民政部《2023年中华人民共和国县以上行政区划代码》"

NAMES = {
    "310100": "上海市市辖区",
    "320100": "南京市", "320102": "玄武区", "320104": "秦淮区", "320105": "建邺区",
    "320106": "南京市鼓楼区", "320111": "浦口区", "320113": "栖霞区", "320114": "雨花台区",
    "320115": "江宁区", "320116": "六合区", "320117": "溧水区", "320118": "高淳区",
    "320300": "徐州市", "320302": "徐州市鼓楼区",
    "320400": "常州市", "320402": "天宁区", "320404": "钟楼区", "320411": "新北区",
    "320412": "武进区", "320413": "金坛区", "320481": "溧阳市",
    "320500": "苏州市",
    "321000": "扬州市", "321002": "广陵区",
    "330100": "杭州市",
    "330200": "宁波市", "330203": "海曙区", "330205": "江北区", "330206": "北仑区",
    "330211": "镇海区", "330212": "鄞州区", "330213": "奉化区",
    "360900": "宜春市", "360902": "袁州区", "360921": "奉新县", "360922": "万载县",
    "360923": "上高县", "360924": "宜丰县", "360925": "靖安县", "360926": "铜鼓县",
    "360981": "丰城市", "360982": "樟树市", "360983": "高安市",
}


def name(code: str | None) -> str:
    """The district's name ('320102' → '玄武区'); the code when it is not listed."""
    if not code:
        return "—"
    return NAMES.get(code, code)
