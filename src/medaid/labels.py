"""The one vocabulary of labels: what people read for medaid's codes, Chinese and English.

Categories are labelled by their policy file (each city names its own); everything else
that medaid itself names — visit kinds, tiers, referral and location, the common pools,
roles — is labelled here, once, for the trace, the pages, the workbooks and the CLI.
"""

from __future__ import annotations

# (中文, English) by code.
KINDS = {
    "general_outpatient": ("普通门诊", "general outpatient"),
    "special_outpatient": ("门诊特殊病种", "special outpatient"),
    "inpatient": ("住院", "inpatient"),
    "dual_channel_drug": ("双通道药品", "dual-channel drugs"),
    "rare_disease_drug": ("罕见病用药", "rare-disease drugs"),
    "rehabilitation": ("康复", "rehabilitation"),
    "childbirth": ("生育", "childbirth"),
}
TIERS = {
    "hifp": ("基本医保", "basic insurance"),
    "hifmi": ("大病保险", "critical-illness insurance"),
    "assistance": ("医疗救助", "assistance"),
    "tilted": ("倾斜救助", "tilted assistance"),
    "special": ("专项救助", "special grants"),
    "chain": ("结算", "settlement"),
}
REFERRALS = {
    "ok": ("已按规定转诊或备案", "referred"),
    "unreferred": ("未按规定转诊", "unreferred"),
    "unreferred_hardship": ("未转诊但确有困难", "unreferred, hardship"),
}
LOCATIONS = {
    "city": ("本统筹区", "in the city"),
    "province": ("省内异地", "elsewhere in the province"),
    "out_of_province": ("省外", "out of the province"),
}
# The pools the shipped policy files name; a pool of another file reads as its id.
POOLS = {
    "main": ("年度救助基数", "the year's base"),
    "main_cap": ("年度救助限额", "the annual cap"),
    "annual": ("年度起付线累计", "the annual deductible pool"),
    "outpatient": ("门诊救助基数", "the outpatient base"),
    "outpatient_cap": ("门诊救助年度限额", "the outpatient cap"),
    "annual_cap": ("年度救助封顶线", "the annual cap"),
    "tilted": ("倾斜救助基数", "the tilted base"),
    "tilted_cap": ("倾斜救助限额", "the tilted cap"),
    "rehab": ("康复救助基数", "the rehabilitation base"),
    "rehab_cap": ("康复救助年度限额", "the rehabilitation cap"),
    "rare_disease": ("罕见病专项救助", "rare-disease assistance"),
    "rare_disease_drug": ("罕见病用药救助", "rare-disease drug assistance"),
    "heroic": ("见义勇为救助", "heroic-injury assistance"),
}
ROLES = {
    "hospital": ("定点医院", "hospital"),
    "caseworker": ("区经办", "caseworker"),
    "finance": ("财务", "finance"),
    "admin": ("市级管理员", "administrator"),
    "auditor": ("审计", "auditor"),
}


def label(table: dict[str, tuple[str, str]], code: str, lang: str = "zh") -> str:
    """The label of `code` in `lang` (zh or en); the code itself when it has none."""
    found = table.get(code)
    if found is None:
        return code
    return found[0] if lang == "zh" else found[1]
