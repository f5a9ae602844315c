"""Whether a policy's citations resolve: its document is found (beside the policy file, in
a deployment's folder or among the shipped seeds) and every article it cites is in that
text. `medaid policy validate` reports each article that is not, at its YAML line, and
warns of a document not at hand (its articles then unchecked); settlement itself never
reads the text, so a file whose document is not at hand still settles."""

from __future__ import annotations

from pydantic import BaseModel

from medaid.policy import model
from medaid.policy import schema as s
from medaid.policy.articles import ArticleNotFound, DocumentNotFound, document_text
from medaid.policy.schema_errors import Step, dotted


def cited(spec: s.PolicyFile) -> list[tuple[list[Step], str]]:
    """Every article the file cites, with the YAML path of its `article` key, in the
    file's order (a framework's floors cite theirs under `framework.article`)."""
    out: list[tuple[list[Step], str]] = []

    def walk(node: object, steps: list[Step]) -> None:
        if isinstance(node, BaseModel):
            fields = type(node).model_fields
            for key, f in fields.items():
                value = getattr(node, key)
                if key == "article" and "rule" in fields and isinstance(value, str):
                    out.append(([*steps, key], value))
                else:
                    walk(value, [*steps, f.alias or key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, [*steps, i])
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*steps, str(key)])

    walk(spec, [])
    if spec.framework.get("article"):
        out.append((["framework", "article"], spec.framework["article"]))
    return out


def missing_document(policy: model.Policy) -> tuple[list[Step], str] | None:
    """(YAML path, message) when the policy's document cannot be found; None: found."""
    try:
        document_text(policy.spec.document.file, model.document_folders(policy.path))
    except DocumentNotFound as e:
        zh, _, en = str(e).partition(" / ")
        return ["document", "file"], (f"document.file: {zh}；条文未核对 / "
                                      f"{en or zh}; articles not checked")
    return None


def problems(policy: model.Policy) -> list[tuple[list[Step], str]]:
    """(YAML path, message) of each article not found in the policy's document; none when
    every citation resolves or the document is not at hand (`missing_document`)."""
    if missing_document(policy) is not None:
        return []
    out = []
    for steps, article in cited(policy.spec):
        try:
            policy.article_text(article)
        except ArticleNotFound as e:
            out.append((steps, f"{dotted(steps)}: {e}"))
    return out
