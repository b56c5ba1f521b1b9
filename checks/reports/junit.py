"""JUnit XML, the test-report format GitLab, Jenkins and GitHub test reporters all read.

Two suites: governance (one test case per model × condition × root; a failing finding is a
<failure> carrying the risk note and citations) and data quality (one test case per expectation
of every dataset the models in scope rest on; a critical failure is a <failure>, an expectation
that could not be evaluated an <error>).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from checks.gate import GateResult


def _short(node: str) -> str:
    return node.rsplit(":", 1)[-1]


def render(result: GateResult) -> str:
    root = ET.Element("testsuites", name="headwater gate")
    governance = ET.SubElement(root, "testsuite", name="governance")
    failures = errors = 0
    for item in result.items:
        f = item.finding
        case = ET.SubElement(governance, "testcase", classname=_short(item.model),
                             name=f"{f.root_condition} from {_short(f.root)}", time="0")
        text = "\n".join([
            f"{f.severity.upper()} {f.title} ({f.condition}); {f.mode}; {f.detail}",
            *(" -> ".join(path) for path in f.paths),
            "", f.note, "", "Citations: " + "; ".join(f.citations),
            "Actions:", *(f"- {a}" for a in f.actions),
        ])
        if item.status == "failing":
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{f.severity}: {f.title} from {_short(f.root)}",
                                    type=f.root_condition)
            failure.text = text
        else:
            out = ET.SubElement(case, "system-out")
            out.text = (f"waived: {item.waiver}\n\n" if item.status == "waived" else
                        f"below the gate's threshold ({result.fail_on})\n\n") + text
    for check in result.errored:
        case = ET.SubElement(governance, "testcase", classname=_short(check.dataset), name="check_errored", time="0")
        if check.status == "failing":
            errors += 1
            ET.SubElement(case, "error", message="the data could not be checked", type="check_errored").text = check.error
        else:
            ET.SubElement(case, "system-out").text = f"waived: {check.waiver}\n{check.error}"
    governance.set("tests", str(len(governance)))
    governance.set("failures", str(failures))
    governance.set("errors", str(errors))
    governance.set("skipped", "0")

    quality = ET.SubElement(root, "testsuite", name="data quality")
    q_failures = q_errors = 0
    for run in result.checks:
        for expectation in run.results:
            arguments = ", ".join(f"{k}={v!r}" for k, v in expectation.kwargs.items())
            case = ET.SubElement(quality, "testcase", classname=_short(run.dataset),
                                 name=f"#{expectation.position} {expectation.expectation}({arguments})", time="0")
            detail = (f"{expectation.unexpected_count} unexpected ({expectation.unexpected_percent}%)"
                      if expectation.unexpected_count is not None else "")
            if expectation.errored:
                q_errors += 1
                ET.SubElement(case, "error", message=expectation.error or "error", type="errored").text = expectation.error
            elif expectation.success is False and expectation.severity == "critical":
                q_failures += 1
                ET.SubElement(case, "failure", message=f"critical expectation failed: {detail}",
                              type=expectation.expectation).text = detail
            elif expectation.success is False:
                ET.SubElement(case, "system-out").text = f"warning: expectation failed: {detail}"
    quality.set("tests", str(len(quality)))
    quality.set("failures", str(q_failures))
    quality.set("errors", str(q_errors))
    quality.set("skipped", "0")
    root.set("tests", str(len(governance) + len(quality)))
    root.set("failures", str(failures + q_failures))
    root.set("errors", str(errors + q_errors))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
