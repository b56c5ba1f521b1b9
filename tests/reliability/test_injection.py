"""Names full of SQL, HTML, JavaScript, Markdown, Mermaid, path and shell metacharacters survive
every door unchanged, and are inert in every output format.

One catalog holds a dataset per hostile name (each with an open breach, so every report has
findings about it) and a model trained on all of them, itself hostile-named. It goes in through
`headwater load` and through the API; it comes out through the API, the Markdown report (rendered
with a CommonMark parser, so what a browser would build is what is checked), its Mermaid chart,
and the gate's JUnit, SARIF, Markdown and GitHub-annotation outputs.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import httpx

from catalog.ids import node_id
from tests.reliability.conftest import AUTH

NAMES = [
    "robert'); DROP TABLE datasets;--",
    "x' OR '1'='1",
    "<script>alert('ds')</script>",
    '<img src=x onerror="alert(1)">',
    "[click me](javascript:alert(1))",
    "`code` | pipe | **bold** _it_ \\ back",
    '"]; click n0 call alert("m") ;["',
    "a --> b ==> c ; classDef x fill:#f00",
    "../../etc/passwd",
    "C:\\Windows\\system32",
    "$(touch /tmp/pwned) `id` ; rm -rf ~ && echo ${HOME} > /dev/null",
    "%0A::error::injected %25 50%",
    "title=x,file=y::z",
    "名前 ünïcödé — 🚀",
    "{{7*7}} ${7*7} #{7*7}",
    "& &amp; &lt; #quot;",
]
MODEL = "<b>model</b>'; DROP TABLE models;-- $(id)"
ENTITIES = {"quot": '"', "lt": "<", "gt": ">", "amp": "&", "96": "`", "35": "#", "37": "%", "123": "{",
            "125": "}"}  # Mermaid's #name; entities


class _Tags(HTMLParser):
    """Collect the elements and the text a browser would build from an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _rendered(markdown: str) -> _Tags:
    from markdown_it import MarkdownIt

    parser = _Tags()
    parser.feed(MarkdownIt("commonmark").enable("table").render(markdown))
    return parser


def _assert_inert_markdown(markdown: str, *, whole: bool = True) -> None:
    """No element a name could have brought in, no javascript: link, and every name readable
    (whole, or, in the risk summary, which has no graph to name nodes by, cut at its last ':')."""
    page = _rendered(markdown)
    allowed = {"h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "code",
               "pre", "strong", "em", "a", "blockquote", "hr", "br", "details", "summary"}
    assert {tag for tag, _ in page.tags} <= allowed, {tag for tag, _ in page.tags} - allowed
    for tag, attrs in page.tags:
        for key, value in attrs:
            assert not key.startswith("on") and "javascript:" not in (value or "").lower(), (tag, key, value)
    text = "".join(page.text)
    for name in NAMES:
        assert (name if whole else name.rsplit(":", 1)[-1]) in text, name


def _assert_inert_mermaid(markdown: str) -> int:
    """Every line of every chart is a node with one quoted, escaped label, an edge or a style line."""
    charts = re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)
    node = re.compile(r'^  n\d+(\[\[|\[\(|\(\[)"([^"]*)"(\]\]|\)\]|\]\))$')
    edge = re.compile(r"^  n\d+ (-->|==>) n\d+$")
    style = re.compile(r"^  (classDef \w+ [\w:#,-]+|class [n\d,]+ \w+|linkStyle [\d,]+ [\w:#,-]+)$")
    labels = []
    for chart in charts:
        lines = chart.strip("\n").split("\n")
        assert lines[0] == "flowchart LR"
        for line in lines[1:]:
            found = node.match(line)
            assert found or edge.match(line) or style.match(line), line
            if found:
                labels.append(re.sub(r"#(\w+);", lambda m: ENTITIES[m.group(1)], found.group(2)))
    for name in NAMES:
        assert name in labels, name
    return len(charts)


def test_hostile_names_round_trip_and_stay_inert(headwater, serve, tmp_path: Path, sqlite_url: str,
                                                figures: Counter[str]) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({
        "catalog": "inj",
        "datasets": [{"name": n, "owner": "o@x", "origin": "vendor", "licence": "CC-BY-4.0"} for n in NAMES],
        "models": [{"name": MODEL, "risk_tier": "high", "deployed": True,
                    "trained_on": [{"dataset": f"dataset:inj:{n}"} for n in NAMES]}],
        "incidents": [{"dataset": f"dataset:inj:{n}", "kind": "breach", "opened": "2026-11-01", "note": n} for n in NAMES],
    }), encoding="utf-8")
    loaded = headwater("load", str(catalog), db=sqlite_url)
    assert loaded.returncode == 0, loaded.stderr

    server = serve(sqlite_url)  # a real server: the test client decodes paths twice, uvicorn once
    with httpx.Client(base_url=server.base, timeout=60) as client:
        listed = client.get("/api/v1/datasets", params={"namespace": "inj", "limit": 1000}).json()
        assert sorted(d["name"] for d in listed["items"]) == sorted(NAMES)
        for name in NAMES:
            node = node_id("dataset", "inj", name)  # a ':' or '%' in a name is percent-encoded (catalog/ids.py)
            assert client.get(f"/api/v1/datasets/{quote(node, safe='')}").json()["name"] == name
            put_path = f"/api/v1/datasets/{quote(node_id('dataset', 'api', name), safe='')}"
            put = client.put(put_path, json={"description": name}, headers=AUTH)
            assert put.status_code == 201, put.text
            echoed = client.get(put_path).json()
            assert (echoed["name"], echoed["description"]) == (name, name)
            assert client.get(f"/api/v1/impact/{quote(node, safe='')}").json()["models"][0]["model"]["name"] == MODEL
        # every row is there, and no statement ran but ours
        assert client.get("/api/v1/datasets").json()["total"] == 2 * len(NAMES)
        report = client.get(f"/api/v1/reports/{quote('model:inj:' + MODEL, safe='')}")
        assert report.status_code == 200, report.text
        api_markdown = report.text

    cli_report = headwater("report", f"model:inj:{MODEL}", db=sqlite_url)
    assert cli_report.returncode == 0, cli_report.stderr
    assert cli_report.stdout.strip() == api_markdown.strip()  # one renderer, two doors
    _assert_inert_markdown(api_markdown)
    assert _assert_inert_mermaid(api_markdown) >= 1
    summary_md = headwater("risk", "--format", "markdown", db=sqlite_url)
    assert summary_md.returncode == 0, summary_md.stderr
    _assert_inert_markdown(summary_md.stdout, whole=False)

    out = tmp_path / "out"
    out.mkdir()
    summary = tmp_path / "summary.md"
    gate = headwater("gate", "--all", "--junit", str(out / "gate.xml"), "--sarif", str(out / "gate.sarif"),
                     "--markdown", str(out / "gate.md"), "--github", db=sqlite_url,
                     env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert gate.returncode == 1, gate.stderr  # breaches on a high-risk model: the gate fails, by design
    junit = ET.parse(out / "gate.xml").getroot()
    junit_text = " ".join(" ".join([*case.attrib.values(), *(c.text or "" for c in case.iter())])
                          for case in junit.iter("testcase"))
    sarif = json.loads((out / "gate.sarif").read_text())
    sarif_text = json.dumps(sarif, ensure_ascii=False)
    for name in NAMES:
        assert node_id("dataset", "inj", name) in junit_text, name
        assert json.dumps(node_id("dataset", "inj", name), ensure_ascii=False) in sarif_text, name
    _assert_inert_markdown((out / "gate.md").read_text())
    _assert_inert_mermaid((out / "gate.md").read_text())
    commands = [line for line in gate.stdout.splitlines() if line.startswith("::")]
    assert len(commands) >= len(NAMES)
    for line in commands:  # one workflow command per line; properties cannot be closed early
        assert re.fullmatch(r"::(error|warning|notice) (file=[^,:]*,line=\d+,)?title=[^,:]*::.*", line), line
    assert not [line for line in gate.stdout.splitlines() if line.startswith("::error::injected")]
    figures["hostile names round-tripped"] += len(NAMES) + 1
    figures["output formats checked for injection"] += 8  # API JSON, report, Mermaid, risk summary, JUnit, SARIF, gate Markdown, annotations


# Names that would be Mermaid directives (read anywhere in a chart, labels included) or comments.
DIRECTIVES = [
    '%%{init: {"themeCSS": "svg { display: none } body { background: red }"}}%%',
    "x %%{initialize: {'theme': 'dark', 'securityLevel': 'loose'}}%% y",
    "%%{wrap}%%",
    '%%{ init : { "flowchart": { "htmlLabels": true } } }%%',
    "a %% comment %%{init: {'theme': 'forest'}}%%",  # with line breaks: refused as a name (test_lookalikes.py)
    "}%% {{ }} %%{",
]
# Mermaid's own pattern (packages/mermaid/src/utils.ts, directiveRegex), as it runs over the whole text.
MERMAID_DIRECTIVE = re.compile(r"%{2}{\s*(?:(\w+)\s*:|(\w+))\s*(?:(\w+)|((?:(?!}%{2}).|\r?\n)*))?\s*(?:}%{2})?", re.I)


def _charts(markdown: str) -> list[str]:
    """Each Mermaid chart's text as the page hands it to Mermaid: rendered by a CommonMark parser,
    then the code element's text (entities decoded, as `textContent` gives them)."""
    from html import unescape
    from markdown_it import MarkdownIt

    page = MarkdownIt("commonmark").render(markdown)
    return [unescape(chart) for chart in re.findall(r'<pre><code class="language-mermaid">(.*?)</code></pre>', page, re.S)]


def test_mermaid_directives_in_names_stay_labels(headwater, tmp_path: Path, sqlite_url: str,
                                                figures: Counter[str]) -> None:
    """A name holding `%%{init: …}%%` restyled the whole report (Mermaid applied its themeCSS): in the
    model report and the gate summary, no directive, comment or line break survives, and each name
    still reads whole once Mermaid decodes its label."""
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({
        "catalog": "mm",
        "datasets": [{"name": n, "owner": "o@x", "origin": "vendor", "licence": "CC-BY-4.0"} for n in DIRECTIVES],
        "models": [{"name": "m", "version": "%%{init: {'theme': 'dark'}}%%", "risk_tier": "high", "deployed": True,
                    "trained_on": [{"dataset": f"dataset:mm:{n}"} for n in DIRECTIVES]}],
        "incidents": [{"dataset": f"dataset:mm:{n}", "kind": "breach", "opened": "2026-11-01"} for n in DIRECTIVES],
    }), encoding="utf-8")
    assert headwater("load", str(catalog), db=sqlite_url).returncode == 0
    report = headwater("report", "model:mm:m", db=sqlite_url)
    assert report.returncode == 0, report.stderr
    gate = headwater("gate", "--all", "--markdown", str(tmp_path / "gate.md"), db=sqlite_url)
    assert gate.returncode == 1, gate.stderr  # breaches on a high-risk model
    charts = _charts(report.stdout) + _charts((tmp_path / "gate.md").read_text())
    assert len(charts) == 2
    node = re.compile(r'^  n\d+(\[\[|\[\(|\(\[)"([^"]*)"(\]\]|\)\]|\]\))$')
    for chart in charts:
        assert MERMAID_DIRECTIVE.search(chart) is None, MERMAID_DIRECTIVE.search(chart).group(0)
        assert "%" not in chart and "\r" not in chart and not chart.startswith("---")
        labels = [re.sub(r"#(\w+);", lambda m: ENTITIES[m.group(1)], found.group(2))
                  for found in map(node.match, chart.split("\n")) if found]
        for name in DIRECTIVES:  # readable whole, line breaks shown as spaces
            assert name.replace("\r", " ") in labels, (name, labels)
        assert "m %%{init: {'theme': 'dark'}}%%" in labels  # the model's version is in its label too
    figures["Mermaid directives kept as labels"] += len(DIRECTIVES) + 1
