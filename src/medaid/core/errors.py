"""Errors that reach a user as one clear line, never a traceback."""

from __future__ import annotations


class MedaidError(Exception):
    """Base of every error medaid reports to a user."""


class InputError(MedaidError):
    """Bad input, located by its JSON path (`visits[2].medfee_sumamt`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class PolicyError(MedaidError):
    """A policy file that does not validate, or a rule that cannot be applied."""


class MissingParameter(InputError):
    """A local parameter the policy leaves open, needed here, and set by nobody."""

    def __init__(self, jurisdiction: str, name: str, needed_by: str,
                 label: str | None = None) -> None:
        said = f"「{label}」（{name}）" if label else f" {name} "
        super().__init__(
            f"local.{name}",
            f"{jurisdiction}：本地参数{said}尚未设定（{needed_by} 需要）：结算服务中由管理员"
            f"登记（medaid parameter set 或 POST /api/v1/parameters），案例中写在 local，或写入"
            f"政策文件 / {jurisdiction}: local parameter {name} is required ({needed_by}); "
            f"record it in the service (medaid parameter set, POST /api/v1/parameters), set it "
            f"under \"local\" in the case, or in the policy file",
        )
        self.name = name


class NotFound(InputError):
    """A person, institution or settlement the input names that does not exist."""


class Conflict(MedaidError):
    """A request that contradicts what is stored (a settlement id reused with another body,
    a settlement cancelled twice)."""


class Forbidden(MedaidError):
    """An authenticated caller acting outside its role or scope."""


class Unauthenticated(MedaidError):
    """No valid credentials."""
