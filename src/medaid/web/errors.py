"""Error pages: a mistyped page address, a wrong parameter in it, a method a page does not
take, an internal error or an unreachable database answer an HTML page in Chinese with
the status (404, 422, 405, 500, 503); the API, the national envelope and the OpenAPI
document keep their JSON. The errors of a page's own work (a use case's 403, 404, 409,
422) are `render.page`'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from medaid.web.render import render

# Paths that are not pages: their errors stay JSON.
NOT_PAGES = ("/api/", "/fsi/", "/docs", "/redoc", "/openapi.json", "/static/")

TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "未找到", 405: "不支持的操作",
          409: "与已有记录冲突", 413: "提交的内容过大", 422: "输入有误", 429: "尝试过于频繁",
          500: "系统内部错误", 503: "系统繁忙"}
MESSAGES = {
    404: "没有这个页面：请检查地址是否输入正确，或从首页进入。",
    405: "此页面不接受这种请求：请使用页面上的按钮或链接。",
    413: "提交的内容超过了允许的大小。",
    500: "处理请求时出现内部错误，已记入日志。请稍后重试；如果问题持续，请联系系统管理员。",
    503: "数据库暂时无法访问或正忙，请稍后重试。",
}
# What a page's address may carry, by the name a caseworker reads.
PARAMETERS = {"year": "年度", "page": "页码", "psn_no": "人员编号", "setl_id": "结算单号",
              "batch_id": "批次号", "warning_id": "预警编号", "app_no": "申请编号",
              "jurisdiction": "参保地", "district": "辖区", "category": "救助身份",
              "hospital": "定点医疗机构", "first": "开始日期", "last": "结束日期",
              "kind": "类别", "status": "状态", "on": "日期"}

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page(request: Request) -> bool:
    path = request.url.path
    return path != "/api" and not path.startswith(NOT_PAGES)


def _parameters(e: RequestValidationError) -> str:
    names = []
    for error in e.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("path", "query", "body")]
        if loc:
            names.append(PARAMETERS.get(loc[-1], "参数"))
    return "、".join(dict.fromkeys(names)) or "参数"


def page_error(e: Exception) -> Response:
    if isinstance(e, HTTPException):
        status = e.status_code
        message = MESSAGES.get(status, TITLES.get(status, "请求未能完成。"))
    elif isinstance(e, RequestValidationError):
        status, message = 422, f"页面地址中的{_parameters(e)}有误：请从页面上的链接或表单进入。"
    elif isinstance(e, OperationalError):
        status, message = 503, MESSAGES[503]
    else:
        status, message = 500, MESSAGES[500]
    response = render(None, "error.html", status, title=TITLES.get(status, "出错了"),
                      code=status, message=message)
    if status == 503:
        response.headers["Retry-After"] = "1"
    return response


def for_pages(api: Handler) -> Handler:
    """`api`'s answer for the API's paths, an HTML error page for the pages'."""
    async def handle(request: Request, e: Exception) -> Response:
        if is_page(request):
            return page_error(e)
        return await api(request, e)

    return handle
