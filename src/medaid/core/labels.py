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
    "reassistance": ("医疗再救助", "re-assistance"),
    "chain": ("结算", "settlement"),
}
APPLICATION_STATES = {
    "draft": ("草稿", "draft"),
    "submitted": ("已提交", "submitted"),
    "under_review": ("审核中", "under review"),
    "approved": ("已批准", "approved"),
    "rejected": ("已驳回", "rejected"),
    "withdrawn": ("已撤回", "withdrawn"),
}
REFERRALS = {
    "ok": ("已按规定转诊或备案", "referred"),
    "unreferred": ("未按规定转诊", "unreferred"),
    "unreferred_hardship": ("未转诊但确有困难", "unreferred, hardship"),
}
HOSPITAL_LEVELS = {
    "0": ("未定级", "no level"), "1": ("一级", "level 1"), "2": ("二级", "level 2"),
    "3": ("三级", "level 3"),
}
LOCATIONS = {
    "city": ("本统筹区", "in the city"),
    "province": ("省内异地", "elsewhere in the province"),
    "out_of_province": ("省外", "out of the province"),
}
# A person-year's referral to a charity programme (medaid.app.charity).
REFERRAL_STATES = {
    "referred": ("已转介", "referred"),
    "accepted": ("已接受", "accepted"),
    "declined": ("已拒绝", "declined"),
}
# A month's payment batch to an institution (medaid.app.funds).
BATCH_STATES = {
    "created": ("已生成", "created"),
    "approved": ("已审核", "approved"),
    "paid": ("已支付", "paid"),
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
# The parts of a policy file and the names of their facts, as the rules page and
# `medaid policy show` head them (medaid.policy.explain gives the facts).
POLICY_PARTS = {
    "windows": ("身份认定与在保期", "windows"),
    "highest": ("多重身份", "several identities"),
    "lookback": ("回溯期", "look-back"),
    "grace": ("渐退期", "grace period"),
    "referral": ("转诊", "referral"),
    "critical_illness_tilt": ("大病保险倾斜", "critical-illness tilt"),
    "line": ("救助标准", "lines"),
    "refusal": ("不予救助", "refusals"),
    "tilted": ("倾斜救助", "tilted assistance"),
    "stage": ("救助后续阶段", "stages after assistance"),
    "premium_subsidy": ("参保资助", "premium subsidy"),
    "framework": ("省级底线", "framework floors"),
}
POLICY_FACTS = {name: (zh, name) for name, zh in {
    "tier": "层次", "categories": "身份", "kinds": "就诊类别", "pool": "额度池",
    "deductible": "起付线", "segments": "救助比例", "caps": "年度封顶", "label": "名称",
    "grant": "定额", "start": "在保期起", "end": "在保期止", "stay rule": "住院跨期",
    "covers": "覆盖", "ratio in the period": "回溯期比例", "unreferred": "未转诊",
    "unreferred_hardship": "未转诊（困难）", "segment ratios": "分段比例",
    "reason": "原因", "base": "基数", "requires application": "须申请",
    "referral": "转诊", "locations": "就医地", "look-back": "回溯",
    "only visits flagged": "仅限", "disability grades": "残疾等级",
    "exclusive": "排他", "alternative": "就高择一", "defined": "已规定", "timing": "时点",
    "note": "说明", "statuses": "人员状态", "not_statuses": "不具有的人员状态",
    "referrals": "转诊", "hospital levels": "医院等级",
    "when": "时点", "above": "超过", "ceiling": "封顶线",
    "disability grades, in full": "全额资助的残疾等级", "recognised": "认定", "exited": "退出",
    "application": "申请", "paid": "支付", "choice": "就高方式"}.items()}
PARAMETER_TYPES = {
    "money": ("金额", "money"),
    "ratio": ("比例", "ratio"),
    "critical_illness": ("大病保险参数", "critical_illness"),
    "basic_insurance": ("基本医保参数", "basic_insurance"),
}
# A city's rules against a provincial framework's floors (medaid.policy.conformance): the
# framework's classes of categories, and a floor's verdict.
JS_CLASSES = {
    "key": ("重点救助对象", "key"),
    "low_income": ("低收入救助对象", "low_income"),
    "other": ("其他救助对象", "other"),
}
VERDICTS = {
    "meet": ("符合", "meet"),
    "break": ("不符合", "break"),
    "undetermined": ("待定", "undetermined"),
}
ROLES = {
    "hospital": ("定点医院", "hospital"),
    "caseworker": ("区经办", "caseworker"),
    "finance": ("财务", "finance"),
    "admin": ("市级管理员", "administrator"),
    "auditor": ("审计", "auditor"),
}
# What the audit log's actions are (store.audit; an action not listed reads as its code).
AUDIT_ACTIONS = {
    "settle": ("结算", "settle"),
    "cancel": ("撤销结算", "cancel a settlement"),
    "settlement.read": ("查看结算", "read a settlement"),
    "settlement.list": ("查看结算列表", "list settlements"),
    "person.create": ("新增人员", "create a person"),
    "person.read": ("查看人员", "read a person"),
    "person.search": ("查找人员", "search persons"),
    "person.list": ("查看人员列表", "list persons"),
    "person.tilted_application": ("登记倾斜救助申请日期", "record a tilted application"),
    "institution.create": ("新增医疗机构", "create an institution"),
    "parameter.set": ("设置本地参数", "set a local parameter"),
    "roster.import": ("导入名单", "import a roster"),
    "roster.dry_run": ("试导入名单", "check a roster"),
    "roster.refused": ("名单有错误行，未导入", "roster refused"),
    "roster.exits_unconfirmed": ("名单退出未确认，未导入", "roster exits not confirmed"),
    "application.create": ("录入申请", "create an application"),
    "application.visits": ("添加发票", "add invoices"),
    "application.submit": ("提交申请", "submit an application"),
    "application.checklist": ("核对材料", "check documents"),
    "application.approve": ("批准申请并结算", "approve an application"),
    "application.reject": ("驳回申请", "reject an application"),
    "application.withdraw": ("撤回申请", "withdraw an application"),
    "application.read": ("查看申请", "read an application"),
    "application.list": ("查看申请列表", "list applications"),
    "warning.run": ("运行预警", "run warnings"),
    "warning.read": ("查看预警", "read a warning"),
    "warning.list": ("查看预警列表", "list warnings"),
    "warning.export": ("导出预警", "export warnings"),
    "warning.verify": ("核实预警", "verify a warning"),
    "warning.enroll": ("预警纳入救助", "enroll a warning"),
    "warning.dismiss": ("排除预警", "dismiss a warning"),
    "charity.create": ("登记慈善项目", "register a programme"),
    "charity.update": ("修改慈善项目", "update a programme"),
    "charity.delete": ("删除慈善项目", "delete a programme"),
    "charity.match": ("匹配慈善项目", "match programmes"),
    "charity.refer": ("转介慈善项目", "refer to a programme"),
    "charity.accept": ("慈善项目接受转介", "referral accepted"),
    "charity.decline": ("慈善项目拒绝转介", "referral declined"),
    "charity.referrals": ("查看转介记录", "list referrals"),
    "person.lookup": ("按人员编号查询姓名", "look up a person"),
    "batch.settlements": ("查看支付批次结算明细", "read a batch's settlements"),
    "fund.batch.approve": ("审核支付批次", "approve a payment batch"),
    "fund.batch.pay": ("支付批次付款", "pay a payment batch"),
    "fund.budget": ("设置基金预算", "set a fund budget"),
    "fund.receipt": ("登记资金到账", "record a receipt"),
    "fund.batches": ("生成支付批次", "create payment batches"),
    "fund.clearing": ("年度清算", "run a clearing"),
    "year_end": ("支付年终救助", "pay year-end stages"),
    "year_end.failed": ("年终救助未支付", "year-end stages not paid"),
    "year_end.run": ("办理年终救助", "run the year-end stages"),
    "login": ("登录", "sign in"),
    "login.failed": ("登录失败", "failed sign-in"),
    "logout": ("退出登录", "sign out"),
    "token.create": ("签发令牌", "issue a token"),
    "token.revoke": ("吊销令牌", "revoke a token"),
    "token.rotate": ("轮换令牌", "rotate a token"),
    "token.list": ("查看令牌", "list tokens"),
    "user.set": ("设置用户", "set a user"),
    "user.deactivate": ("停用用户", "deactivate a user"),
    "audit.read": ("查看审计日志", "read the audit log"),
    "audit.verify": ("校验审计日志哈希链", "verify the audit chain"),
    "indicators.read": ("查看指标", "read indicators"),
    "premium.list": ("查看参保资助名单", "list premium subsidies"),
    "demo.seed": ("生成演示数据", "seed the demo"),
}


def label(table: dict[str, tuple[str, str]], code: str, lang: str = "zh") -> str:
    """The label of `code` in `lang` (zh or en); the code itself when it has none."""
    found = table.get(code)
    if found is None:
        return code
    return found[0] if lang == "zh" else found[1]
