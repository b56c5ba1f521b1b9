"""GitHub Actions: workflow commands for annotations, and the job's step summary in Markdown."""

from __future__ import annotations

from catalog.secrets import mask_secrets
from checks.gate import GateResult
from checks.reports.sarif import relative


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, *, file: str | None, line: int | None, title: str) -> str:
    props = []
    where = relative(file)
    if where:
        props.append(f"file={_property(where)}")
        if line:
            props.append(f"line={line}")
    props.append(f"title={_property(title)}")
    return f"::{kind} {','.join(props)}::{_data(message)}"


def annotations(result: GateResult) -> list[str]:
    lines = []
    for item in result.items:
        f = item.finding
        kind = {"failing": "error", "waived": "notice", "below_threshold": "warning"}[item.status]
        message = f"{item.model}: {f.severity} {f.title} from {f.root} ({f.mode}). {mask_secrets(f.detail)}"
        if item.status == "waived":
            message += f"\nwaived: {item.waiver}"
        if item.expired_waiver:
            message += f"\nan expired waiver no longer applies: {item.expired_waiver}"
        lines.append(_command(kind, message, file=item.file, line=item.line, title=f"{f.root_condition} ({f.severity})"))
    for check in result.errored:
        kind = "error" if check.status == "failing" else "notice"
        lines.append(_command(kind, f"{check.dataset} could not be checked: {mask_secrets(check.error)}", file=check.file,
                              line=check.line, title="check_errored"))
    for note in result.waivers:
        lines.append(_command("warning", f"{note.state} waiver: {note.condition} on {note.dataset}"
                              f"{' for ' + note.model if note.model else ''} (expires {note.expires})",
                              file=note.file, line=note.line, title=f"{note.state} waiver"))
    return lines
