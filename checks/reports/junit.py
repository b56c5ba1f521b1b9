"""JUnit XML, the test-report format GitLab, Jenkins and GitHub test reporters all read.

Two suites: governance (one test case per model × condition × root; a failing finding is a
<failure> carrying the risk note and citations) and data quality (one test case per expectation
of every dataset the models in scope rest on; a critical failure is a <failure>, an expectation
that could not be evaluated an <error>).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from catalog.ids import short_name
from catalog.secrets import mask_secrets
from checks.gate import GateResult


def render(result: GateResult) -> str:
    """Strict Apache Ant JUnit XML (the schema all the readers accept): every suite carries its
    package, id, timestamp, hostname, properties, system-out and system-err; notes about waived
    findings and warnings go to the suite's system-out, since a test case may only hold a
    failure or an error."""
    import socket

    stamp = result.as_of.strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites")
    governance, notes = _suite(root, "governance", 0, stamp, socket.gethostname(), result), []
    failures = errors = 0
    for item in result.items:
        f = item.finding
        name = f"{f.root_condition} from {short_name(f.root)}"
        case = ET.SubElement(governance, "testcase", classname=short_name(item.model), name=name, time="0")
        text = "\n".join([
            f"{f.severity.upper()} {f.title} ({f.condition}); {f.mode}; {mask_secrets(f.detail)}",
            *(" -> ".join(path) for path in f.paths),
            "", f.note, "", "Citations: " + "; ".join(f.citations),
            "Actions:", *(f"- {a}" for a in f.actions),
        ])
        if item.status == "failing":
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{f.severity}: {f.title} from {short_name(f.root)}",
                                    type=f.root_condition)
            failure.text = text
        elif item.status == "waived":
            notes.append(f"{short_name(item.model)} / {name}: waived: {item.waiver}")
        else:
            notes.append(f"{short_name(item.model)} / {name}: {f.severity}, below the gate's threshold ({result.fail_on})")
    for check in result.errored:
        case = ET.SubElement(governance, "testcase", classname=short_name(check.dataset), name="check_errored", time="0")
        if check.status == "failing":
            errors += 1
            ET.SubElement(case, "error", message="the data could not be checked", type="check_errored").text = mask_secrets(check.error)
        else:
            notes.append(f"{short_name(check.dataset)} / check_errored: waived: {check.waiver}")
    _close(governance, failures, errors, notes)

    quality, q_notes = _suite(root, "data quality", 1, stamp, socket.gethostname(), result), []
    q_failures = q_errors = 0
    for run in result.checks:
        for expectation in run.results:
            arguments = ", ".join(f"{k}={v!r}" for k, v in expectation.kwargs.items())
            name = f"#{expectation.position} {expectation.expectation}({arguments})"
            case = ET.SubElement(quality, "testcase", classname=short_name(run.dataset), name=name, time="0")
            detail = (f"{expectation.unexpected_count} unexpected ({expectation.unexpected_percent}%)"
                      if expectation.unexpected_count is not None else "")
            if expectation.errored:
                q_errors += 1
                error = mask_secrets(expectation.error or "")
                ET.SubElement(case, "error", message=error or "error", type="errored").text = error
            elif expectation.success is False and expectation.severity == "critical":
                q_failures += 1
                ET.SubElement(case, "failure", message=f"critical expectation failed: {detail}",
                              type=expectation.expectation).text = detail
            elif expectation.success is False:
                q_notes.append(f"{short_name(run.dataset)} {name}: warning: {detail}")
    _close(quality, q_failures, q_errors, q_notes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(parent: ET.Element, name: str, number: int, stamp: str, host: str, result: GateResult) -> ET.Element:
    suite = ET.SubElement(parent, "testsuite", name=name, package="headwater", id=str(number), timestamp=stamp,
                          hostname=host or "localhost", tests="0", failures="0", errors="0", time="0")
    properties = ET.SubElement(suite, "properties")
    for key, value in (("fail_on", result.fail_on), ("passed", str(result.passed).lower()),
                       ("scope", " ".join(result.scope))):
        ET.SubElement(properties, "property", name=key, value=value)
    return suite


def _close(suite: ET.Element, failures: int, errors: int, notes: list[str]) -> None:
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    ET.SubElement(suite, "system-out").text = "\n".join(notes)
    ET.SubElement(suite, "system-err").text = ""
