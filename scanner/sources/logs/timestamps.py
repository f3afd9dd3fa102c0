"""Timestamps in the forms log files write them, turned into POSIX seconds.

A log line's time is text; the same text repeats for every line written in that second, so
`Clock` parses each distinct text once and keeps the result in a small dict. An ISO 8601 time
with a fraction (eve.json, Zeek JSON, Pi-hole v6) is unique to each line, so it is cached
without the fraction, which is added back. Times that carry
no zone (syslog, BIND, Windows, Palo Alto, ...) are read in the reader's zone: the `timezone`
given to `read_log`, else the format's own default, else the local zone of this machine.
Syslog times carry no year either: the year is the one that puts the line on or before the
file's modification time (plus a day of slack), as rsyslog and logrotate would have it.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from datetime import time as dt_time

MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
MONTHS |= {name: number for number, name in enumerate(  # as some syslog templates write them
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), 1)}
# journalctl and `date` write months in the machine's language (LC_TIME): a Dutch server's
# `journalctl -u unbound` says "mei 04 10:56:07". glibc's abbreviations for the languages of
# Western Europe; none of them means another month in another language.
MONTHS |= {name: number for number, names in enumerate((
    "jan janv ene gen", "feb fév févr fev lut", "mrt mär mrz mars", "apr avr avril abr kwi",
    "mei mai maj mag", "juin giu cze", "juil lug lip", "ago aoû août sie",
    "sept set wrz", "okt ott out", "lis", "dez dic des déc gru"), 1)
    for name in names.split()}
CACHE_LIMIT = 65_536
FUTURE_SLACK = 86_400.0
# The times a calendar day can be given for in any zone: Python's years 1 to 9999, a day
# short at each end. A number outside ('nan', 'inf', twenty digits) is damage, not a time.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC).timestamp()
LATEST = datetime(9999, 12, 31, tzinfo=UTC).timestamp()

_PRI = re.compile(r"<\d{1,3}>(?:1 )?")
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s?(Z|UTC|[+-]\d\d(?::?\d\d)?)?")
_ISO_FRACTION = re.compile(  # the whole text: the second, its fraction, the zone if any
    r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)[.,](\d+)(\s?(?:Z|UTC|[+-]\d\d(?::?\d\d)?)?)\Z")
_YMD_SLASH = re.compile(  # also as Windows writes it in zh-CN and ja-JP: 2024/12/2 9:30:50
    r"(\d{4})/(\d{1,2})/(\d{1,2})[ T](\d{1,2}):(\d\d):(\d\d)(?:\.(\d+))?")
_SOPHOS_UTM = re.compile(r"(\d{4}):(\d\d):(\d\d)-(\d\d):(\d\d):(\d\d)")
_SYSLOG = re.compile(  # a month in any language, as journalctl writes it: 'Mär 04', 'févr. 04'
    r"([^\W\d_]{3,9})\.? +(\d{1,2}) (?:(\d{4}) )?(\d\d):(\d\d):(\d\d)(?:\.(\d+))?")
_CTIME = re.compile(  # OpenWrt logread, ctime(3): 'Sat Nov 28 10:00:00 2026'
    r"[A-Za-z]{3} ([A-Za-z]{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\b")
_BIND = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?")
_WINDOWS = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}),? (\d{1,2}):(\d\d):(\d\d)(?: ?([AaPp])\.?[Mm]\.?)?")
_CLF = re.compile(  # common log format, as web servers and Squid's `logformat combined` write it
    r"\[?(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?: ([+-]\d{4}))?")
_EPOCH = re.compile(r"\[?(\d{9,10}(?:\.\d+)?)\]?(?:\s|$)")
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d\d):(\d\d)(?:[.,](\d+))?(?:\s|$)")  # `pihole -t`
_ZONE_NAMES = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120,
    "MET": 60, "MEST": 120, "EET": 120, "EEST": 180, "IST": 330, "EST": -300, "EDT": -240,
    "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
}


@functools.lru_cache(maxsize=4096)
def local_day(hour: int) -> str:
    """The day, in this machine's zone, that an hour since the epoch starts on: the day an
    inventory counts a lookup under (days can begin on any hour)."""
    return time.strftime("%Y-%m-%d", time.localtime(hour * 3600))


_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d\d))?\Z")


def zone_from_text(text: str) -> tzinfo | None:
    """'+0200', '-05:00', 'UTC+1:00' (FortiAnalyzer), 'Z', 'CEST' → a fixed zone; None when
    not known."""
    text = text.strip().strip('"')
    offset = _OFFSET.match(text)
    if offset:
        sign, hours, minutes = offset.groups()
        total = int(hours) * 60 + int(minutes or 0)
        return timezone(timedelta(minutes=-total if sign == "-" else total))
    named = _ZONE_NAMES.get(text.upper())
    return None if named is None else timezone(timedelta(minutes=named))


def seconds(text: str) -> float:
    """A time written as POSIX seconds ('1700000000.25'); ValueError for text that is no
    number, or no time a day can be given for."""
    moment = float(text)
    if EARLIEST <= moment < LATEST:
        return moment
    raise ValueError(f"time out of range {text[:40]!r}")


def _fraction(digits: str | None) -> int:
    return int((digits or "0")[:6].ljust(6, "0"))


class Clock:
    """Text → POSIX seconds, cached; raises ValueError for text it cannot read."""

    def __init__(self, zone: tzinfo | None, reference: float) -> None:
        self.zone = zone
        self.reference = reference
        self._reference_year = datetime.fromtimestamp(reference, UTC).year
        self._cache: dict[str, float] = {}
        # For 'a/b/YYYY' dates: True when the day comes first, as a reader that has seen its
        # file's dates decides (Windows writes the server's locale); None: line by line.
        self.day_first: bool | None = None

    def __call__(self, text: str) -> float:
        value = self._cache.get(text)  # not try/except: most texts with a fraction are new
        if value is not None:
            return value
        split = _ISO_FRACTION.match(text)
        if split:  # eve.json, Zeek, Pi-hole v6: each time unique, but its second repeats
            whole, digits, zone = split.groups()
            second = whole + zone
            value = self._cache.get(second)
            return (self(second) if value is None else value) + _fraction(digits) / 1e6
        value = self.parse(text)
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[text] = value
        return value

    def local(self, moment: datetime) -> float:
        """A wall-clock time without zone, read in this clock's zone."""
        if moment.tzinfo is None:
            if self.zone is None:
                return moment.timestamp()  # the machine's local zone, DST included
            moment = moment.replace(tzinfo=self.zone)
        return moment.timestamp()

    def parse(self, text: str) -> float:
        """Read the timestamp at the start of `text`; whatever follows it is ignored."""
        text = text.strip()
        pri = _PRI.match(text)
        if pri:
            text = text[pri.end():]
        match = _ISO.match(text)
        if match:
            return self._written(*match.groups())
        match = _SYSLOG.match(text)
        if match and match.group(1).lower() in MONTHS:
            return self._syslog(match)
        match = _CTIME.match(text)
        if match and match.group(1).lower() in MONTHS:
            month, day, hour, minute, second, year = match.groups()
            return self._written(year, MONTHS[month.lower()], day, hour, minute, second)
        match = _EPOCH.match(text)
        if match:
            return float(match.group(1))
        for day_month_year in (_CLF, _BIND):  # 03/Dec/2025:12:42:15 -0700, 04-Sep-2018 12:27:49
            match = day_month_year.match(text)
            if match and match.group(2).lower() in MONTHS:
                day, month, year, *rest = match.groups()
                return self._written(year, MONTHS[month.lower()], day, *rest)
        match = _YMD_SLASH.match(text) or _SOPHOS_UTM.match(text)
        if match:
            year, month, day, hour, minute, second = match.groups()[:6]
            fraction = match.group(7) if match.re is _YMD_SLASH else None
            return self._written(year, month, day, hour, minute, second, fraction)
        match = _WINDOWS.match(text)
        if match:
            return self._windows(match)
        match = _TIME_OF_DAY.match(text)
        if match:
            return self._time_of_day(match)
        raise ValueError(f"unreadable time {text[:40]!r}")

    def _time_of_day(self, match: re.Match[str]) -> float:
        """A time without a date (old `pihole -t` output, '14:51:01 dnsmasq[784]: …'): on
        the day the file was last written, or the day before when that would be later."""
        hour, minute, second, fraction = match.groups()
        written = datetime.fromtimestamp(self.reference, self.zone)
        moment = datetime.combine(written.date(), dt_time(int(hour), int(minute), int(second),
                                                          _fraction(fraction)))
        value = self.local(moment)
        return value - 86_400 if value > self.reference + 60 else value

    def fields(self, date: str, time: str, zone: str | None) -> float:
        """Firewall key=value times: `date` and `time` fields in the zone `zone` names (an
        offset or an abbreviation), else in this clock's."""
        moment = datetime.fromisoformat(f"{date}T{time}")
        named = zone_from_text(zone) if zone else None
        return self.local(moment.replace(tzinfo=named) if named else moment)

    def _written(self, year: str | int, month: str | int, day: str, hour: str, minute: str,
                 second: str, fraction: str | None = None, zone: str | None = None) -> float:
        """A date and time as written, in the zone written with it, else in this clock's."""
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          _fraction(fraction))
        if zone:
            moment = moment.replace(tzinfo=zone_from_text(zone))
        return self.local(moment)

    def _syslog(self, match: re.Match[str]) -> float:
        month_name, day, year, hour, minute, second, fraction = match.groups()
        month = MONTHS[month_name.lower()]
        clock = (int(hour), int(minute), int(second), _fraction(fraction))
        if year:
            return self.local(datetime(int(year), month, int(day), *clock))
        for candidate in range(self._reference_year + 1, self._reference_year - 8, -1):
            try:
                value = self.local(datetime(candidate, month, int(day), *clock))
            except ValueError:  # 29 February in a year without one
                continue
            if value <= self.reference + FUTURE_SLACK:
                return value
        raise ValueError(f"impossible date {match.group(0)!r}")

    def _windows(self, match: re.Match[str]) -> float:
        """Windows writes the server's locale: M/D/YYYY h:mm:ss AM (en-US), D-M-YYYY (nl-NL),
        DD/MM/YYYY (en-GB, fr-FR, it-IT).

        With '/' the month comes first unless `day_first` says otherwise or the first number
        cannot be a month; with '-' or '.' the day comes first.
        """
        first, separator, second, year, hour, minute, seconds, half = match.groups()
        month, day = int(first), int(second)
        if separator != "/" or month > 12 or (self.day_first and day <= 12):
            month, day = day, month
        hours = int(hour)
        if half:
            hours = hours % 12 + (12 if half.lower() == "p" else 0)
        return self.local(datetime(int(year), month, day, hours, int(minute), int(seconds)))
