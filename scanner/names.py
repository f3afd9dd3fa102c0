"""Domain names as values: normalised once, so every later stage can compare plain strings.

A name that cannot be a host name (control bytes, invalid UTF-8, over-long labels, an IP
literal) is rejected here with a reason, and the caller counts it instead of storing it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path

import publicsuffixlist
from publicsuffixlist import PublicSuffixList

from scanner.cache import cache_file, file_stamp, write_whole

MAX_NAME = 253
MAX_LABEL = 63

# Letters, digits, hyphen; '_' for service labels (_sip._udp); '*' for wildcard queries.
_LABEL_OK = re.compile(r"[a-z0-9_*-]{1,63}\Z")
_LABELS_OK = re.compile(r"[a-z0-9_*-]{1,63}(?:\.[a-z0-9_*-]{1,63})*\Z")  # all, at once
_ALNUM = re.compile(r"[a-z0-9]")


@functools.cache
def public_suffixes() -> PublicSuffixList:
    """The Public Suffix List, on first use: commands that never ask for a registrable domain
    need not pay for it. Parsing it (ten thousand rules, each also encoded as IDNA) takes a
    twentieth of a second; its rules, encoded, are kept in the user's cache and read back
    in a fifth of that."""
    shipped = Path(publicsuffixlist.PSLFILE)
    cached = cache_file("public-suffixes", str(shipped), ".txt")
    version = getattr(publicsuffixlist, "__version__", "")
    stamp = file_stamp([version], [shipped]) if cached else ""
    if cached is not None:
        try:
            text = cached.read_text(encoding="utf-8")
        except (OSError, ValueError):
            text = ""
        head, _, kept = text.partition("\n")
        if head == stamp and kept:
            return PublicSuffixList(source=kept, accept_encoded_idn=False)
    parsed = PublicSuffixList()
    rules = getattr(parsed, "_publicsuffix", None)  # the parser's rules, encoded ones too
    if cached is not None and isinstance(rules, frozenset):
        write_whole(cached, stamp + "\n" + "\n".join(sorted(rules)) + "\n")
    return parsed


def registrable(domain: str) -> str:
    """The registrable domain ('school.magister.net' → 'magister.net'), or the name itself."""
    return public_suffixes().privatesuffix(domain) or domain


class InvalidName(ValueError):
    """The bytes seen cannot be a domain name; the message says why."""


def normalise(name: str | bytes) -> str:
    """Lower-case A-label form without trailing dot; raise InvalidName otherwise.

    >>> normalise("WWW.Example.COM.")
    'www.example.com'
    >>> normalise("www.münchen.de")
    'www.xn--mnchen-3ya.de'
    """
    if isinstance(name, bytes):
        try:
            text = name.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidName("bytes that are not UTF-8") from None
    else:
        text = name
    name = text.strip().rstrip(".").lower()
    if not name:
        raise InvalidName("empty name")
    if not name.isascii():
        name = _to_a_labels(name)
    if len(name) > MAX_NAME:
        raise InvalidName(f"longer than {MAX_NAME} characters")
    if not _LABELS_OK.match(name):  # then say which label is wrong, and why
        for label in name.split("."):
            if not _LABEL_OK.match(label):
                if not label:
                    raise InvalidName("empty label")
                if len(label) > MAX_LABEL:
                    raise InvalidName(f"label longer than {MAX_LABEL} characters")
                raise InvalidName("characters not allowed in a host name")
    if not _ALNUM.search(name):
        raise InvalidName("no letter or digit")  # '-', '*', '_': placeholders, not names
    if is_address_literal(name):
        raise InvalidName("an IP address, not a name")
    return name


def _to_a_labels(name: str) -> str:
    labels = []
    for label in name.split("."):
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append("xn--" + label.encode("punycode").decode("ascii"))
        except UnicodeError:
            raise InvalidName("label that cannot be encoded as IDNA") from None
    return ".".join(labels)


def is_address_literal(text: str) -> bool:
    """True for '10.0.0.1', '::1' and '[2001:db8::1]'."""
    text = text.strip("[]")
    if not text or not (text[0].isdigit() or ":" in text):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def host_from_header(value: str) -> str:
    """The host of an HTTP Host header value: port and IPv6 brackets removed."""
    value = value.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value


def is_subdomain(name: str, rule: str) -> bool:
    """Label-wise suffix match: 'a.edu.example' is under 'edu.example', 'badedu.example' is not."""
    return name == rule or name.endswith("." + rule)
