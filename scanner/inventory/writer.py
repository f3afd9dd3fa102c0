"""Batched, transactional writes of observations: what a scan or capture stores.

A batch is aggregated in memory (per domain, per day, per device) and written in one
transaction together with the import's progress, so an interrupted run leaves the database
as it was after the last whole batch and a re-run continues from there without counting twice.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlite_utils

from scanner.extract import Counted, Lookups, Observation, collector_paused
from scanner.signatures.catalog import Catalog
from scanner.sources.logs.timestamps import local_day

# How a name was seen, stored as bits so merging is a bitwise OR in SQL.
SEEN_BITS = {"dns": 1, "answer": 2, "cname": 4, "sni": 8, "http": 16, "quic": 32, "ech": 64}
CONTACTS = {"dns", "sni", "http", "quic"}  # answers, CNAMEs, ECH marks repeat a contact
MAX_CNAME_HOPS = 8
STORED_DEVICE_DAYS = 500_000  # remembered per writer: about 50 MB at most

REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")
# Namespaces of a local network, never an app's on the internet: mDNS's `.local` (RFC 6762),
# `.home.arpa` (RFC 8375), `.internal` (reserved by ICANN for private use), and the suffixes
# routers and directory servers are commonly given instead.
LAN_SUFFIXES = (".local", ".home.arpa", ".internal", ".lan", ".home", ".corp", ".localdomain",
                ".intranet", ".private", ".localhost", ".fritz.box")


def lan_suffixes(own_domains: Iterable[str] = ()) -> tuple[str, ...]:
    """LAN_SUFFIXES and the school's own domains (`privacy.lan_domains`), as suffixes."""
    return LAN_SUFFIXES + tuple("." + domain for domain in own_domains)


def kept_out_rules(own_domains: Iterable[str] = ()) -> str:
    """What the writer keeps out, as one text: names stored under other rules go, once."""
    return " ".join(REVERSE_ZONES + lan_suffixes(own_domains))


def is_reverse_lookup(name: str) -> bool:
    """`3.2.1.10.in-addr.arpa` is an address in another form: it must not reach the database,
    least of all linked to the device that looked itself up."""
    return name.endswith(REVERSE_ZONES) and (
        name in REVERSE_ZONES or name.endswith((".in-addr.arpa", ".ip6.arpa")))


def is_lan_name(name: str, suffixes: tuple[str, ...] = LAN_SUFFIXES) -> bool:
    """A name of the school's own network (`juliets-iphone.lan`, `desktop-7f3k`, `nas.local`
    asked of the DNS server rather than by mDNS, a host of its own Active Directory domain):
    a single label, which the internet's DNS never answers, or one at or under a LAN suffix.
    It names a device, often its owner, never an app: counted, not stored."""
    return "." not in name or ("." + name).endswith(suffixes)


def stays_out(name: str, suffixes: tuple[str, ...] = LAN_SUFFIXES) -> bool:
    """Whether a name is kept out of the database: a LAN name or an address written as one."""
    return is_lan_name(name, suffixes) or (
        name.endswith(REVERSE_ZONES) and is_reverse_lookup(name))


def is_device(client: bytes) -> bool:
    """A client address that is a device: not none, and not loopback, the resolver itself
    (Pi-hole asking for pi.hole, a local process), whose lookups count but whose host is no
    device of the school."""
    return bool(client) and not (len(client) in (4, 16)
                                 and ipaddress.ip_address(client).is_loopback)


def seen_as(bits: int) -> list[str]:
    return [name for name, bit in SEEN_BITS.items() if bits & bit]


Attribution = tuple[str | None, str | None, str | None]  # app, rule, how (rule | cname:…)


def attribute(name: str, catalog: Catalog, target_of: Callable[[str], str | None]
              ) -> Attribution:
    """A rule that covers the name, else the first rule along its CNAME chain.

    A school's own alias (`elo.school.nl` → `school.itslearning.com`) is attributed to the app
    its chain points at.
    """
    found = catalog.match(name)
    if found is not None:
        return found.app, found.rule, "rule"
    current, visited = name, {name}
    for _ in range(MAX_CNAME_HOPS):
        target = target_of(current)
        if target is None or target in visited:
            break
        found = catalog.match(target)
        if found is not None:
            return found.app, found.rule, f"cname:{target}"
        visited.add(target)
        current = target
    return None, None, None


def reattribute(database: sqlite_utils.Database, catalog: Catalog) -> int:
    """Attribute every stored domain again when the signatures changed since the last time.

    Counts are kept per domain, so after an update, a rollback or a school's new local
    signature every report follows at once. Returns how many domains changed app.
    """
    connection = database.conn
    stored = connection.execute("SELECT value FROM meta WHERE key = 'catalog'").fetchone()
    if stored is not None and stored[0] == catalog.fingerprint:
        return 0
    targets = dict(connection.execute("SELECT alias, target FROM cnames ORDER BY last_seen"))
    changed = []
    for domain_id, domain, app, rule, via in connection.execute(
            "SELECT id, domain, app, rule, via FROM domains"):
        found = attribute(domain, catalog, targets.get)
        if found != (app, rule, via):
            changed.append((*found, domain_id))
    with connection:
        connection.execute("BEGIN")
        connection.executemany("UPDATE domains SET app = ?, rule = ?, via = ? WHERE id = ?",
                               changed)
        connection.execute("INSERT INTO meta (key, value) VALUES ('catalog', ?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           (catalog.fingerprint,))
        remember_apps(database, catalog, {row[0] for row in changed if row[0]})
    return len(changed)


def remember_apps(database: sqlite_utils.Database, catalog: Catalog, app_ids: set[str]) -> None:
    """Keep the facts of every app seen, so reports still read after signatures change."""
    rows = []
    for app_id in app_ids:
        app = catalog.apps[app_id]
        rows.append((app.id, app.name, app.kind.value, app.vendor, app.vendor_country,
                     None if app.eea is None else int(app.eea), app.category))
    database.conn.executemany(
        "INSERT INTO apps (id, name, kind, vendor, vendor_country, eea, category) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "kind = excluded.kind, vendor = excluded.vendor, "
        "vendor_country = excluded.vendor_country, eea = excluded.eea, "
        "category = excluded.category",
        rows,
    )


@dataclass
class Batch:
    """Observations folded by (name, how, client, local day, alias) — repeats cost one dict
    hit — and rows and groups a log reader already counted, kept as they came."""

    seen: dict[tuple[str, str, bytes, str, str], list[float]] = field(default_factory=dict)
    counted: list[Counted] = field(default_factory=list)
    grouped: list[Lookups] = field(default_factory=list)
    observations: int = 0


DeviceDay = tuple[str, str, str]  # day, segment, name: a daily row, whose devices are a set


@dataclass
class Folded:
    """A batch regrouped into the shapes the tables take."""

    names: dict[str, list[float]] = field(default_factory=dict)  # hits, first, last, bits
    cnames: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    daily: dict[DeviceDay, int] = field(default_factory=dict)  # hits
    device_days: dict[DeviceDay, set[str]] = field(default_factory=dict)  # pseudonyms


def _count_name(folded: Folded, name: str, how: str, owner: str, hits: float, first: float,
                last: float) -> None:
    """Add sightings of a name to its totals, and of a CNAME to its link from `owner`."""
    entry = folded.names.get(name)
    if entry is None:
        folded.names[name] = [hits, first, last, SEEN_BITS[how]]
    else:
        entry[0] += hits
        entry[1] = min(entry[1], first)
        entry[2] = max(entry[2], last)
        entry[3] = int(entry[3]) | SEEN_BITS[how]
    if how == "cname" and owner:
        link = folded.cnames.setdefault((owner, name), [first, last])
        link[0], link[1] = min(link[0], first), max(link[1], last)


class InventoryWriter:
    """Collect observations; `flush()` writes them in one transaction."""

    def __init__(self, database: sqlite_utils.Database, catalog: Catalog, site: str,
                 pseudonymise: Callable[[bytes], str],
                 segment_of: Callable[[bytes], str], lan_domains: Iterable[str] = ()) -> None:
        self.database = database
        # names that end so are looked at closer, and kept out if LAN names or addresses
        self._lan = lan_suffixes(lan_domains)
        self._closer = REVERSE_ZONES + tuple(suffix[1:] for suffix in self._lan)
        self.catalog = catalog
        self.site = site
        self.pseudonymise = pseudonymise
        self.segment_of = segment_of
        self.batch = Batch()
        reattribute(database, catalog)  # the signatures may have changed since the last run
        self._domain_ids: dict[str, int] = {}
        # Device-day rows this writer committed: a device asks the same names all day, and
        # each batch would otherwise write its rows again (ignored by SQLite, but not free).
        self._stored_device_days: dict[DeviceDay, set[str]] = {}
        self._stored_device_day_count = 0

    def add(self, observations: Iterable[Observation], local_names: bool = False) -> None:
        """Fold observations into the batch; per-observation work is one dictionary hit."""
        seen, day_of, closer, lan = self.batch.seen, local_day, self._closer, self._lan
        count = 0
        for moment, client, name, how, local, owner in observations:
            if (local and not local_names) or "." not in name or (
                    name.endswith(closer) and stays_out(name, lan)):
                continue  # not `_storable`, tested inline: a call per observation costs 10%
            count += 1
            key = (name, how, client, day_of(int(moment // 3600)), owner)
            entry = seen.get(key)
            if entry is None:
                seen[key] = [1, moment, moment]
            else:
                entry[0] += 1
                if moment < entry[1]:
                    entry[1] = moment
                elif moment > entry[2]:
                    entry[2] = moment
        self.batch.observations += count

    def add_counted(self, counted: Iterable[Counted], local_names: bool = False) -> None:
        """Take lookups a log reader already counted per day: they are folded as they are,
        without a second count."""
        kept, storable = self.batch.counted, self._storable
        total = 0
        for row in counted:
            if storable(row[0], row[4], local_names):
                total += row[6]
                kept.append(row)
        self.batch.observations += total

    def add_lookups(self, lookups: Lookups, local_names: bool = False) -> None:
        """Take what `LogReader.counted` hands over: its rows, and its groups of clients,
        which are folded a group at a time."""
        self.add_counted(lookups.rows, local_names)
        storable = self._storable
        groups = [group for group in lookups.groups if storable(group[0], group[3], local_names)]
        if groups:
            lookups = dataclasses.replace(lookups, rows=[], groups=groups)
            self.batch.grouped.append(lookups)
            self.batch.observations += lookups.lookups

    def _storable(self, name: str, local: str, local_names: bool) -> bool:
        """Whether a name is one to store: not a device name on the LAN (unless asked), not
        an address written as a name."""
        return not ((local and not local_names) or "." not in name or (
            name.endswith(self._closer) and stays_out(name, self._lan)))

    def _fold(self, batch: Batch) -> Folded:
        folded = Folded()
        daily, device_days = folded.daily, folded.device_days
        who: dict[bytes, tuple[str, str]] = {}  # client → (segment, pseudonym), once a batch

        def person(client: bytes) -> tuple[str, str]:
            known = who.get(client)
            if known is None:
                known = who[client] = (self.segment_of(client),
                                       self.pseudonymise(client) if is_device(client) else "")
            return known

        added = ((name, how, client, day, "", owner, hits, first, last)
                 for (name, how, client, day, owner), (hits, first, last) in batch.seen.items())
        for name, how, client, day, _local, owner, hits, first, last in itertools.chain(
                added, batch.counted):
            _count_name(folded, name, how, owner, hits, first, last)
            segment, device = who.get(client) or person(client)
            key = (day, segment, name)
            if how in CONTACTS:
                daily[key] = daily.get(key, 0) + int(hits)
            if device:
                group = device_days.get(key)
                if group is None:
                    device_days[key] = {device}
                else:
                    group.add(device)
        for lookups in batch.grouped:
            self._fold_groups(lookups, list(map(person, lookups.clients)), folded)
        return folded

    @staticmethod
    def _fold_groups(lookups: Lookups, people: list[tuple[str, str]], folded: Folded) -> None:
        """Fold groups of (name, how, day) with their clients (`people`: segment and
        pseudonym of each). Where every client is in one segment, a group's devices are one
        set operation over its members; otherwise each member is split by its segment."""
        daily, device_days = folded.daily, folded.device_days
        segments = {segment for segment, _device in people}
        only = next(iter(segments)) if len(segments) == 1 else None  # the one segment
        devices = [device for _segment, device in people]  # '': no device
        members, member_hits = lookups.member_clients, lookups.member_hits
        for name, how, day, _local, owner, hits, first, last, start, stop in lookups.groups:
            _count_name(folded, name, how, owner, hits, first, last)
            if only is not None:
                key = (day, only, name)
                if how in CONTACTS:
                    daily[key] = daily.get(key, 0) + hits
                found = set(map(devices.__getitem__, members[start:stop]))
                found.discard("")
                if found:
                    known = device_days.get(key)
                    if known is None:
                        device_days[key] = found
                    else:
                        known |= found
                continue
            for at in range(start, stop):
                segment, device = people[members[at]]
                key = (day, segment, name)
                if how in CONTACTS:
                    daily[key] = daily.get(key, 0) + member_hits[at]
                if device:
                    device_days.setdefault(key, set()).add(device)

    def flush(self, progress: Callable[[], None] | None = None) -> None:
        """Write the batch and call `progress` (the import's bookkeeping) in one transaction."""
        batch, self.batch = self.batch, Batch()
        connection = self.database.conn
        with collector_paused():
            with connection:  # BEGIN … COMMIT, or ROLLBACK on any exception (Ctrl-C included)
                connection.execute("BEGIN")
                written = self._write(batch)
                if progress is not None:
                    progress()
            self._remember_device_days(written)  # committed: later batches need not write them
            del batch, written  # gone before the collector runs again, not looked through

    def _remember_device_days(self, written: dict[DeviceDay, set[str]]) -> None:
        added = sum(map(len, written.values()))
        if self._stored_device_day_count + added > STORED_DEVICE_DAYS:
            self._stored_device_days.clear()
            self._stored_device_day_count = 0
        stored = self._stored_device_days
        for key, devices in written.items():
            known = stored.get(key)
            if known is None:
                stored[key] = devices
            else:
                known |= devices
        self._stored_device_day_count += added

    def _write(self, unfolded: Batch) -> dict[DeviceDay, set[str]]:
        """Store a batch; returns the device-day rows it wrote, per daily row."""
        batch = self._fold(unfolded)
        targets = {alias: target for alias, target in batch.cnames}
        execute_many = self.database.conn.executemany
        execute_many(
            "INSERT INTO cnames (alias, target, first_seen, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (alias, target) DO UPDATE SET "
            "first_seen = min(first_seen, excluded.first_seen), "
            "last_seen = max(last_seen, excluded.last_seen)",
            [(alias, target, first, last) for (alias, target), (first, last)
             in batch.cnames.items()],
        )
        rows = []
        for name, (hits, first, last, bits) in batch.names.items():
            app, rule, via = self._attribute(name, targets)
            rows.append((name, app, rule, via, int(bits), int(hits), first, last))
        execute_many(
            "INSERT INTO domains (domain, app, rule, via, seen, hits, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (domain) DO UPDATE SET "
            "app = excluded.app, rule = excluded.rule, via = excluded.via, "
            "seen = seen | excluded.seen, "
            "hits = hits + excluded.hits, first_seen = min(first_seen, excluded.first_seen), "
            "last_seen = max(last_seen, excluded.last_seen)",
            rows,
        )
        self._reattribute_aliases(batch, targets)
        ids = self._ids_for(batch.names)
        fresh, grown = self._not_yet_stored(batch.device_days)
        new_device_days = fresh | grown
        devices = set().union(*new_device_days.values())
        execute_many("INSERT OR IGNORE INTO devices (pseudonym) VALUES (?)",
                     [(device,) for device in sorted(devices)])
        # each device's id as JSON writes it, made once: a row's set is its ids in any order
        id_text = {device: str(number) for device, number in self._device_ids(devices).items()}
        stored = date.today().isoformat()
        execute_many(
            "INSERT INTO daily (day, site, segment, domain_id, hits, stored) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day, site, segment, domain_id) "
            "DO UPDATE SET hits = hits + excluded.hits",
            [(day, self.site, segment, ids[name], hits, stored)
             for (day, segment, name), hits in batch.daily.items()],
        )
        insert = ("INSERT INTO device_days (domain_id, day, site, segment, stored, devices) "
                  "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (domain_id, day, site, segment) "
                  "DO UPDATE SET devices = ")

        def arrays(device_days: dict[DeviceDay, set[str]]) -> list[tuple]:
            return sorted((ids[name], day, self.site, segment, stored,
                           "[" + ",".join(map(id_text.__getitem__, devices)) + "]")
                          for (day, segment, name), devices in device_days.items())

        # A row's devices are a set. One another scan may have stored is merged with them;
        execute_many(insert + "(SELECT json_group_array(value) FROM ("
                     "SELECT value FROM json_each(device_days.devices) "
                     "UNION SELECT value FROM json_each(excluded.devices)))", arrays(fresh))
        # one this writer stored lacks only the devices it had not: they are appended (a
        # scan beside it may have added one too; the queries count distinct devices)
        execute_many(insert + "substr(device_days.devices, 1, length(device_days.devices) - 1)"
                     " || ',' || substr(excluded.devices, 2)", arrays(grown))
        remember_apps(self.database, self.catalog, {row[1] for row in rows if row[1]})
        return new_device_days

    def _not_yet_stored(self, device_days: dict[DeviceDay, set[str]]
                        ) -> tuple[dict[DeviceDay, set[str]], dict[DeviceDay, set[str]]]:
        """The rows this writer has not stored, and those it has, with only the devices
        they lack."""
        stored = self._stored_device_days
        fresh, grown = {}, {}
        for key, devices in device_days.items():
            known = stored.get(key)
            if known is None:
                fresh[key] = devices
            elif not devices <= known:
                grown[key] = devices - known
        return fresh, grown

    def _attribute(self, name: str, targets: dict[str, str]) -> Attribution:
        return attribute(name, self.catalog,
                         lambda alias: targets.get(alias) or self._stored_target(alias))

    def _stored_target(self, alias: str) -> str | None:
        row = self.database.conn.execute(
            "SELECT target FROM cnames WHERE alias = ? ORDER BY last_seen DESC LIMIT 1", (alias,)
        ).fetchone()
        return row[0] if row else None

    def _reattribute_aliases(self, batch: Folded, targets: dict[str, str]) -> None:
        """An alias stored before its CNAME was seen now gets the app its target has."""
        for alias, _target in batch.cnames:
            if alias in batch.names:
                continue
            row = self.database.conn.execute(
                "SELECT app FROM domains WHERE domain = ?", (alias,)).fetchone()
            if row is not None and row[0] is None:
                app, rule, via = self._attribute(alias, targets)
                if app is not None:
                    self.database.conn.execute(
                        "UPDATE domains SET app = ?, rule = ?, via = ? WHERE domain = ?",
                        (app, rule, via, alias))

    def _ids_for(self, names: Iterable[str]) -> dict[str, int]:
        missing = [name for name in names if name not in self._domain_ids]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for domain_id, domain in self.database.conn.execute(
                f"SELECT id, domain FROM domains WHERE domain IN ({marks})", chunk
            ):
                self._domain_ids[domain] = domain_id
        return self._domain_ids

    def _device_ids(self, devices: Iterable[str]) -> dict[str, int]:
        result: dict[str, int] = {}
        chunk_list = list(devices)
        for start in range(0, len(chunk_list), 500):
            chunk = chunk_list[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for device_id, pseudonym in self.database.conn.execute(
                f"SELECT id, pseudonym FROM devices WHERE pseudonym IN ({marks})", chunk
            ):
                result[pseudonym] = device_id
        return result
