"""Whether a policy's citations resolve: its document is found (beside the policy file, in
a deployment's folder or among the shipped seeds) and every article it cites is in that
text. `medaid policy validate` reports each article that is not, at its YAML line, and
warns of a document not at hand (its articles then unchecked); settlement itself never
reads the text, so a file whose document is not at hand still settles."""

from __future__ import annotations

from medaid.policy import model
from medaid.policy.articles import ArticleNotFound, DocumentNotFound, document_text
from medaid.policy.references import cited
from medaid.policy.schema_errors import Step, dotted


def missing_documents(policy: model.Policy) -> list[tuple[list[Step], str]]:
    """(YAML path, message) of each text the policy cites that cannot be found: its
    document, and the notices that amended it."""
    out: list[tuple[list[Step], str]] = []
    texts: list[tuple[list[Step], str]] = [(["document", "file"], policy.spec.document.file)]
    texts += [(["notices", i, "file"], n.file) for i, n in enumerate(policy.spec.notices)]
    for steps, file in texts:
        try:
            document_text(file, model.document_folders(policy.path))
        except DocumentNotFound as e:
            zh, _, en = str(e).partition(" / ")
            out.append((steps, f"{dotted(steps)}: {zh}；条文未核对 / {en or zh}; articles "
                               "not checked"))
    return out


def problems(policy: model.Policy) -> list[tuple[list[Step], str]]:
    """(YAML path, message) of each article not found in the text it cites (the policy's
    document or a notice); none for a text not at hand (`missing_documents` warns of it)."""
    out = []
    for steps, article, document in cited(policy.spec):
        try:
            policy.article_text(article, document)
        except DocumentNotFound:
            continue
        except ArticleNotFound as e:
            out.append((steps, f"{dotted(steps)}: {e}"))
    return out
