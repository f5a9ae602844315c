"""Articles of the seed policy documents, by the references policy rules cite.

A seed is a Chinese policy document kept verbatim in `medaid.seeds`; a city's own document
is a text file beside its policy file or in a folder of `MEDAID_POLICY_DIR`, found before
the seeds (`document_text`). Its outline is read from numbered headings, each with a level:

    chapter   第N章            1
    section   N、               2   (N in Chinese numerals)
    article   第N条            3
    paragraph （N） or (N)      4   (Chinese numerals)
    item      N． N. "N ."     5   (Arabic numerals)
    sub-item  （N） or (N)      6   (Arabic numerals)

An article runs from its heading to just before the next heading of the same or a higher
level (or a `---` rule). A reference names a path through that outline, outermost first,
and may start at any depth as long as it names one place: "三（二）2", "第十条 4", "（四）",
"3(2)". "第十条 2、3" names items 2 and 3 of 第十条, joined. A text whose paragraphs carry no
numbers (a published standard, an official answer) is cited by position: "第2段" is the
second paragraph after the seed's first `---` rule (its header above it), or of the whole
text when it has none.

Page-break artefacts are cleaned up: lines broken mid-sentence are joined, markdown markup
('#', '**', '- ' bullets) is dropped and runs of whitespace collapse to one space. The text
is otherwise kept verbatim, so both parenthesis widths and dots appear as the document has
them; matching normalises them (NFKC).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

__all__ = ["ArticleNotFound", "DocumentNotFound", "article_text", "document_text", "seed_text"]

_DIGITS = "零一二三四五六七八九"
_CN = _DIGITS + "十百"
_CN_DIGITS = {ch: i for i, ch in enumerate(_DIGITS)}

CHAPTER, SECTION, ARTICLE, PARAGRAPH, ITEM, SUB_ITEM = range(1, 7)
_RULE = 0  # a `---` line: ends every open article, opens none

# Headings at the start of an NFKC-normalised line, most specific first.
_HEADINGS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (CHAPTER, re.compile(rf"第([{_CN}]+)章")),
    (ARTICLE, re.compile(rf"第([{_CN}]+)条")),
    # 一、 — but not a list of numerals that starts a sentence (一、二级残疾人), while a
    # title may start with one (一、一般规定, 二、二次救助)
    (SECTION, re.compile(rf"([{_CN}]+)、(?![{_CN}]+[、级类档等])")),
    (PARAGRAPH, re.compile(rf"\(([{_CN}]+)\)")),
    (SUB_ITEM, re.compile(r"\((\d+)\)")),
    (ITEM, re.compile(r"(\d+) ?\.(?!\d)")),
)

# A paragraph by position, for texts that number none ("第2段").
_BY_POSITION = re.compile(rf"第(\d+|[{_CN}]+)段")

# One step of a reference; a section may be written without its 、 ("三（二）").
_REF_STEPS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (CHAPTER, re.compile(rf"第([{_CN}]+)章")),
    (ARTICLE, re.compile(rf"第([{_CN}]+)条")),
    (SECTION, re.compile(rf"([{_CN}]+)、?")),
    (PARAGRAPH, re.compile(rf"\(([{_CN}]+)\)")),
    (SUB_ITEM, re.compile(r"\((\d+)\)")),
    (ITEM, re.compile(r"(\d+) ?\.?")),
)

_RULE_LINE = re.compile(r"(?:-{3,}|\*{3,}|_{3,})")
# A paragraph that ends like this is complete; anything else continues on the next line.
_CLOSED = re.compile(r"[。；;！!？?：:][)）”’」』\"']*$")
_SENTENCE_PUNCT = re.compile(r"[。，,；;：:]")
# "2、3" in a reference: alternatives for the last step.
_ALTERNATIVES = re.compile(r"(?<=[\d)])\s*、\s*(?=[\d(])")


class ArticleNotFound(LookupError):
    """A reference that names no article (or more than one) of a seed document."""


class DocumentNotFound(ArticleNotFound):
    """A document that is neither beside the policy file, in a deployment's folder nor
    shipped."""


@functools.cache
def seed_text(doc: str) -> str:
    """The verbatim text of a seed document by file name (e.g. '000_a8d7d8e3c7e8d865.txt'),
    read with importlib.resources from the package `medaid.seeds`; cached."""
    if not _plain_name(doc):
        raise FileNotFoundError(f"not a seed document name: {doc!r}")
    return resources.files("medaid.seeds").joinpath(doc).read_text(encoding="utf-8")


def _plain_name(doc: str) -> bool:
    return bool(doc) and not doc.startswith(".") and "/" not in doc and "\\" not in doc


def document_text(doc: str, folders: Sequence[Path] = ()) -> str:
    """A policy's document by its file name: the first of `folders` (the policy file's own,
    then a deployment's) that holds it, else the shipped seed. Raises DocumentNotFound."""
    if _plain_name(doc):
        for folder in folders:
            try:
                return (folder / doc).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
    try:
        return seed_text(doc)
    except (OSError, UnicodeDecodeError):
        places = "、".join([*(str(f.resolve()) for f in folders), "内置文本 src/medaid/seeds"])
        raise DocumentNotFound(
            f"{doc}：找不到政策文件的文本（已查找：{places}） / no such document "
            f"(looked beside the policy file, in MEDAID_POLICY_DIR and in the shipped seeds)"
        ) from None


def article_text(doc: str, article: str, folders: Sequence[Path] = ()) -> str:
    """The text of one article of a document, by the reference used in policy files; the
    document is looked up as `document_text` does. Raises ArticleNotFound (its message
    names doc and article) when it is not there."""
    outline = _outline(document_text(doc, folders))
    by_position = _BY_POSITION.fullmatch(unicodedata.normalize("NFKC", article).strip())
    if by_position:
        return _paragraph_at(outline, _number(by_position.group(1)), doc, article)
    try:
        paths = _parse_reference(article)
    except ValueError as exc:
        meant = _as_written(article)
        zh, en = (f"应照原文写作「{meant}」", f"write it as the text does: {meant}") if meant \
            else ("条款须照原文的编号写，如 第十条、二（三）、第十条 4",
                  "write it as the text numbers it, e.g. 第十条, 二（三）, 第十条 4")
        raise ArticleNotFound(f"{doc}：无法识别条款「{article}」；{zh} / article {article!r}: "
                              f"{exc}; {en}") from exc
    texts = []
    for path in paths:
        nodes = _resolve(outline, path)
        if not nodes:
            near = _nearest(outline, path)
            zh, en = (f"；文本中有：{'、'.join(near)}", f" (the text has: {', '.join(near)})"
                      ) if near else ("", "")
            raise ArticleNotFound(f"{doc}：条款「{article}」在文本中未找到{zh} / article "
                                  f"{article!r} not found{en}")
        if len(nodes) > 1:
            raise ArticleNotFound(f"{doc}：条款「{article}」在文本中有 {len(nodes)} 处，不唯一 / "
                                  f"article {article!r} ambiguous ({len(nodes)} matches)")
        node = nodes[0]
        texts.append("\n".join(outline.paragraphs[node.start : node.end]))
    return "\n".join(texts)


def _resolve(outline: _Outline, path: Sequence[tuple[int, int]]) -> list[_Node]:
    nodes = [outline.root]
    for step in path:
        nodes = [found for node in nodes for found in _descendants(node, step)]
    return nodes


# 第10条, 10、: a number the text writes in Chinese numerals, written in Arabic ones
_ARABIC_HEADING = re.compile(r"第(\d+)([章条])|^(\d+)、")


def _as_written(article: str) -> str | None:
    """The reference with its chapter, article and section numbers in Chinese numerals, as
    the text writes them ("第10条" → "第十条"), if that is a reference; else None."""
    def chinese(m: re.Match[str]) -> str:
        if m.group(1):
            return f"第{_chinese(int(m.group(1)))}{m.group(2)}"
        return f"{_chinese(int(m.group(3)))}、"
    meant = _ARABIC_HEADING.sub(chinese, unicodedata.normalize("NFKC", article).strip())
    try:
        _parse_reference(meant)
    except ValueError:
        return None
    return meant


def _nearest(outline: _Outline, wanted: Sequence[tuple[int, int]], most: int = 5
             ) -> list[str]:
    """References of the headings nearest to a path not in the text: those that share
    most of its steps first, then those whose next step is of the same kind and closest
    in number (二（四） missing: 二（三）、二（二）、二（一）、二、一), given in the text's
    order (二、二（一）、二（二）、二（三）…), "…" last where more were left out."""
    ranked: list[tuple[tuple[int, int, int, int, int], list[tuple[int, int]]]] = []

    def walk(node: _Node, path: list[tuple[int, int]]) -> None:
        for child in node.children:
            full = [*path, (child.level, child.number)]
            steps = [st for st in full if st[0] != CHAPTER] \
                if wanted[0][0] != CHAPTER and child.level != CHAPTER else full
            common = 0
            while common < min(len(steps), len(wanted)) and steps[common] == wanted[common]:
                common += 1
            # a sibling of the missing step, then the heading above it, then the rest
            if common == len(steps):
                kind, apart = 1, 0
            else:
                (level, number), want = steps[common], wanted[min(common, len(wanted) - 1)]
                sibling = level == want[0] and common < len(wanted) and len(steps) == common + 1
                kind, apart = (0 if sibling else 2), abs(number - want[1])
            ranked.append(((-common, kind, len(steps), apart, child.start), steps))
            walk(child, full)

    walk(outline.root, [])
    ranked.sort(key=lambda r: r[0])
    out: dict[str, int] = {}  # reference → its place in the text
    more = False
    for key, steps in ranked:
        text = _reference(steps)
        try:  # only a reference that names one place: one a file can cite
            unique = len(_resolve(outline, _parse_reference(text)[0])) == 1
        except ValueError:
            unique = False
        if unique and text not in out:
            if len(out) == most:
                more = True
                break
            out[text] = key[-1]
    return sorted(out, key=out.__getitem__) + (["…"] if more else [])


def _reference(steps: Sequence[tuple[int, int]]) -> str:
    """An outline path written as policy files cite it: 第十条 4, 二（三）, 第二章 第五条."""
    text = ""
    for level, number in steps:
        if level == CHAPTER:
            part = f"第{_chinese(number)}章"
        elif level == ARTICLE:
            part = f"第{_chinese(number)}条"
        elif level == SECTION:
            part = _chinese(number)
        elif level == PARAGRAPH:
            part = f"（{_chinese(number)}）"
        elif level == SUB_ITEM:
            part = f"（{number}）"
        else:
            part = str(number)
        apart = text and not text.endswith("）") and not part.startswith("（")
        text += (" " if apart else "") + part
    return text


def _chinese(n: int) -> str:
    """12 → 十二, 20 → 二十, 105 → 一百零五: numerals as headings write them."""
    digits = _DIGITS
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    rest = n % 100
    tail = "" if not rest else ("零" + _chinese(rest) if rest < 10 else
                                ("一" + _chinese(rest) if rest < 20 else _chinese(rest)))
    return digits[n // 100] + "百" + tail


def _paragraph_at(outline: _Outline, number: int, doc: str, article: str) -> str:
    """The number-th paragraph after the first `---` rule (a rule is an empty paragraph)."""
    texts = outline.paragraphs
    body = texts[texts.index("") + 1 :] if "" in texts else texts
    body = [text for text in body if text]
    if not 1 <= number <= len(body):
        raise ArticleNotFound(f"{doc}：条款「{article}」在文本中未找到（共 {len(body)} 段） / "
                              f"article {article!r} not found ({len(body)} paragraphs)")
    return body[number - 1]


# --- outline ------------------------------------------------------------------------------


@dataclass
class _Node:
    level: int
    number: int
    start: int  # index of its first paragraph (the heading)
    end: int = 0  # index just past its last paragraph
    children: list[_Node] = field(default_factory=list)


@dataclass
class _Outline:
    paragraphs: list[str]
    root: _Node


@dataclass
class _Paragraph:
    text: str
    heading: tuple[int, int] | None  # (level, number)
    closed: bool  # the next line starts a new paragraph


@functools.lru_cache(maxsize=64)
def _outline(text: str) -> _Outline:
    paragraphs = _paragraphs(text)
    root = _Node(level=-1, number=0, start=0)
    stack = [root]
    for index, para in enumerate(paragraphs):
        if para.heading is None:
            continue
        level, number = para.heading
        while stack[-1].level >= level:
            stack.pop().end = index
        if level != _RULE:
            node = _Node(level, number, index)
            stack[-1].children.append(node)
            stack.append(node)
    for node in stack:
        node.end = len(paragraphs)
    return _Outline([para.text for para in paragraphs], root)


def _paragraphs(text: str) -> list[_Paragraph]:
    """The document as paragraphs: lines joined where a sentence was broken."""
    paragraphs: list[_Paragraph] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if _RULE_LINE.fullmatch(line):
            paragraphs.append(_Paragraph("", (_RULE, 0), closed=True))
            continue
        markdown_heading = line.startswith("#")
        line = re.sub(r"^#+\s*|^[-*+]\s+", "", line).replace("**", "")
        line = re.sub(r"\s+", " ", line).strip()
        if not line:
            continue
        heading = _heading(line)
        if heading is None and paragraphs and not paragraphs[-1].closed:
            last = paragraphs[-1]
            last.text += _joiner(last.text, line) + line
            last.closed = bool(_CLOSED.search(last.text))
            continue
        title_only = heading is not None and not _SENTENCE_PUNCT.search(line)
        closed = markdown_heading or title_only or bool(_CLOSED.search(line))
        paragraphs.append(_Paragraph(line, heading, closed))
    return paragraphs


def _heading(line: str) -> tuple[int, int] | None:
    normal = unicodedata.normalize("NFKC", line)
    for level, pattern in _HEADINGS:
        match = pattern.match(normal)
        if match:
            return level, _number(match.group(1))
    return None


def _joiner(before: str, after: str) -> str:
    """Nothing between Chinese characters; a space between two ASCII words or numbers."""
    ascii_word = before[-1].isascii() and before[-1].isalnum()
    return " " if ascii_word and after[0].isascii() and after[0].isalnum() else ""


# --- references ---------------------------------------------------------------------------


def _parse_reference(reference: str) -> list[list[tuple[int, int]]]:
    """The outline paths a reference names: one, or one per alternative of "X 2、3"."""
    first, *others = _ALTERNATIVES.split(unicodedata.normalize("NFKC", reference).strip())
    path = _parse_path(first)
    paths = [path]
    for other in others:
        tail = _parse_path(other)
        if len(tail) > len(path):
            raise ValueError(f"alternative {other!r} is longer than {first!r}")
        paths.append(path[: len(path) - len(tail)] + tail)
    return paths


def _parse_path(text: str) -> list[tuple[int, int]]:
    steps: list[tuple[int, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        for level, pattern in _REF_STEPS:
            match = pattern.match(text, pos)
            if match:
                steps.append((level, _number(match.group(1))))
                pos = match.end()
                break
        else:
            raise ValueError(f"cannot read {text[pos:]!r}")
    if not steps:
        raise ValueError("empty reference")
    return steps


def _descendants(node: _Node, step: tuple[int, int]) -> list[_Node]:
    """The nearest descendants of node at (level, number)."""
    found: list[_Node] = []
    for child in node.children:
        if (child.level, child.number) == step:
            found.append(child)
        else:
            found.extend(_descendants(child, step))
    return found


def _number(numeral: str) -> int:
    """Arabic or Chinese numerals as an int: "12", "十一", "二十", "一百零五"."""
    if numeral.isdigit():
        return int(numeral)
    total = digit = 0
    for ch in numeral:
        if ch == "十":
            total, digit = total + (digit or 1) * 10, 0
        elif ch == "百":
            total, digit = total + (digit or 1) * 100, 0
        else:
            digit = _CN_DIGITS[ch]
    return total + digit
