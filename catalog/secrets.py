"""Credentials in locations and messages, hidden before anything leaves the process.

A location is a credential as often as it is an address: `postgresql://u:pw@host/db`,
`s3://KEY:SECRET@bucket/key`, a pre-signed URL's `X-Amz-Signature`, an Azure SAS `sig`, an
`AccountKey=` in a connection string. The store keeps the real value (a check must connect with
it); every API answer, report, log line and error message shows `mask_secrets(...)` of it instead.
One function for every output, so a form added here is hidden everywhere at once.

What is hidden, with names compared case-insensitively:
- URL userinfo. A database's password (and that of other schemes whose user is an account name:
  ssh, ftp, brokers), keeping the user so a reader knows which account. Anywhere else the whole
  userinfo, because object stores and HTTP put key ids and tokens in the user slot (`s3://KEY:SECRET@`,
  `https://TOKEN@github.com`); an ABFS/WASB container (`abfss://container@account…`) is kept.
- The values of secret-named parameters (`password`, `token`, `key`, `secret`, `sig`, `api_key`,
  `client_secret`, `X-Amz-Signature`, `X-Amz-Credential`, `X-Goog-Signature`, `AccountKey`, …; see
  `is_secret_name`) in query strings, `;`-separated connection strings (`AccountKey=…;`, `PWD=…;`),
  libpq `key=value` lists, and percent-encoded inside another parameter (`odbc_connect=…%3BPWD%3D…`).

It works on a bare location and on free text quoting locations (a driver's error message): a URL
runs to whitespace, or to the quote or bracket that opened it. Where a secret's end is ambiguous,
more is hidden rather than less, and masking is idempotent: masking a masked text changes nothing.
"""

from __future__ import annotations

import re

MASK = "***"

_SQL = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle", "duckdb", "snowflake", "bigquery",
        "redshift", "cockroachdb", "trino", "presto", "databricks", "clickhouse")
# Schemes whose user is an account name, worth showing; their password is still hidden.
_ACCOUNT_SCHEMES = frozenset(_SQL + ("ssh", "sftp", "ftp", "ftps", "git", "smb", "ldap", "ldaps", "redis", "rediss",
                                     "amqp", "amqps", "mongodb", "kafka", "jdbc"))
# Schemes whose user-only userinfo is a container name, not a credential.
_CONTAINER_SCHEMES = frozenset(("abfs", "abfss", "wasb", "wasbs"))

_SECRET_NAMES = frozenset(("key", "sig", "pass", "pwd", "sas", "auth", "pw"))
_SECRET_ENDINGS = ("key", "keys", "pwd", "pass", "sig")
_SECRET_PARTS = ("password", "passwd", "passphrase", "secret", "token", "signature", "credential", "apikey",
                 "accesskey", "accountkey", "privatekey", "sharedaccess", "authorization", "sessionkey")

_URL = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*)://")
_CLOSERS = {"'": "'", '"': '"', "`": "`", "<": ">", "(": ")", "[": "]", "{": "}"}
# An '@' that can end a userinfo: a host follows it (no further '@'), then the path, the end of the
# URL (whitespace, a closing quote or bracket) or of the text. The first such '@' after `scheme://`
# ends its userinfo, so a password may hold '/' (as AWS secret keys do) and '@'s not followed by a host.
_AT = re.compile(r"@(?=[^@/?#\s'\"`)\]}>]*(?:[/?#\s'\"`)\]}>]|\Z))")
_SPACE = re.compile(r"\s")

# Every secret name holds one of these (separators ignored), so the regex skips every other
# `name=value` in C, and `is_secret_name` decides only for the few that might be secret.
_ROOTS = "|".join("[_.\\-]*".join(root) for root in (
    "pass", "pw", "sig", "key", "sas", "auth", "secret", "token", "credential", "sharedaccess"))
_PAIR = re.compile(
    r"(?:(?<=%3[Ff])|(?<=%26)|(?<=%3[Bb])|(?<=%20)|(?<![A-Za-z0-9_.\-%]))"
    rf"(?P<name>(?=[A-Za-z0-9_.\-]*?(?i:{_ROOTS}))[A-Za-z][A-Za-z0-9_.\-]*)(?P<eq>[ \t]*=(?!=)[ \t]*|%3[Dd])"
)
# Where a value ends, by how its parameter was introduced: at whitespace, except in connection
# strings, whose values may hold spaces (`Driver=ODBC Driver 18;PWD=…`); percent-encoded pairs end
# where the next encoded pair begins. One regex each, so a long value costs one C-speed scan.
_VALUE = {
    "query": re.compile(r"[^&#'\"<>\s]*"),
    "encoded": re.compile(r"(?:(?!%(?:26|3[Bb]|20)[A-Za-z][A-Za-z0-9_.\-]*(?:=|%3[Dd]))[^&#'\"<>\s])*"),
    "word": re.compile(r"[^;&'\"<>\s]*"),
    "connection": re.compile(r"(?:[^;\r\n'\"]|['\"](?!\s|\Z))*"),  # a quote ends it only where the quoted text ends
}
_QUOTED = {"'": re.compile(r"(?:[^'\\]|\\.)*", re.S), '"': re.compile(r'(?:[^"\\]|\\.)*', re.S), "{": re.compile(r"[^}]*")}
_TRAILING = ".,:;)]}!?"


def is_secret_name(name: str) -> bool:
    """Whether a parameter called `name` carries a credential: `X-Amz-Signature`, `client_secret`,
    `AccountKey`, `apikey`, `PWD`… Separators and case are ignored, so every spelling is caught."""
    plain = re.sub(r"[^a-z0-9]", "", name.lower())
    return (plain in _SECRET_NAMES or plain.endswith(_SECRET_ENDINGS)
            or any(part in plain for part in _SECRET_PARTS))


def mask_secrets(text: str) -> str:
    """`text` with every credential it holds replaced by `***` (see the module docstring).

    Linear in the length of `text`, whatever it holds: it runs on every anonymous read of a
    location a write-token holder chose."""
    if not text:
        return text
    if "@" in text and "://" in text:
        text = _mask_userinfo(text)
    if "=" in text or "%3D" in text or "%3d" in text:
        text = _mask_pairs(text)
    return text


def _mask_userinfo(text: str) -> str:
    """Each '@' that can end a userinfo, left to right, is matched with the earliest `scheme://`
    before it (in the same run of non-blank text, not closed by the quote or bracket that opened
    it) whose user part holds no '/', '?', '#' or '@'. Every scheme and '@' is looked at once."""
    out, pos, lo = [], 0, 0
    next_closer: dict[str, int] = {}
    for at in _AT.finditer(text):
        p = at.start()
        if p < lo:
            continue
        blank = None
        for blank in _SPACE.finditer(text, lo, p):
            pass
        for scheme in _URL.finditer(text, blank.end() if blank else lo, p):
            start = scheme.end()
            colon = text.find(":", start, p)
            user_end = p if colon == -1 else colon
            if any(c in text[start:user_end] for c in "/?#@"):
                continue
            closer = _CLOSERS.get(text[scheme.start() - 1]) if scheme.start() else None
            if closer is not None:
                if next_closer.get(closer, -1) < start:
                    found = text.find(closer, start)
                    next_closer[closer] = len(text) if found == -1 else found
                if next_closer[closer] < p:
                    continue
            password = None if colon == -1 else text[colon + 1:p]
            out += [text[pos:start], _shown_userinfo(scheme.group(1), text[start:user_end], password)]
            pos = p
            break
        lo = p + 1
    out.append(text[pos:])
    return "".join(out)


def _shown_userinfo(scheme: str, user: str, password: str | None) -> str:
    base = scheme.lower().split("+", 1)[0]
    if base in _ACCOUNT_SCHEMES:
        return user if password is None else f"{user}:{MASK}"
    if password is None and (base in _CONTAINER_SCHEMES or not user):
        return user
    return MASK


def _mask_pairs(text: str) -> str:
    out, pos = [], 0
    while True:
        match = _PAIR.search(text, pos)
        if match is None:
            break
        if not is_secret_name(match.group("name")):
            out.append(text[pos:match.end()])
            pos = match.end()
            continue
        start = match.end()
        end, (hide_from, hide_to) = _value_span(text, start, _context(text, match.start()))
        out.append(text[pos:hide_from] + (MASK if end > start else "") + text[hide_to:end])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _context(text: str, at: int) -> str:
    """How the parameter is introduced, which decides where its value ends."""
    before = text[max(0, at - 3):at]
    if before.endswith(("?", "&")):
        return "query"
    if before.upper() in ("%3F", "%26", "%3B", "%20"):
        return "encoded"
    if before.endswith(";") or (at == 0 and ";" in text):
        return "connection"
    return "word"


def _value_span(text: str, start: int, context: str) -> tuple[int, tuple[int, int]]:
    """(end of the value, (start, end) of what to hide): quotes and braces around a value stay."""
    opener = text[start:start + 1]
    if opener in _QUOTED:
        inner = _QUOTED[opener].match(text, start + 1).end()
        return min(inner + 1, len(text)), (start + 1, inner)
    end = _VALUE[context].match(text, start).end()
    if context != "connection" and (end == len(text) or text[end].isspace()):
        while end > start and text[end - 1] in _TRAILING:
            end -= 1  # `…?token=abc: refused`, `(…&sig=abc).`: the sentence's punctuation, not the secret's
    return end, (start, end)
