/* Count the lookups in blocks of a log without a Python object per line.
 *
 * A `Tally` reads whole lines of a dnsmasq query log or of a Zeek TSV log from a bytes block
 * and counts them in a hash table keyed by (local day, name, client, port, flag), keeping
 * how often each key was seen, its first and last time and the line it was first seen on.
 * When the table is drained its keys are handed over grouped by (day, name, port, flag),
 * each group's clients as arrays: only a group and a client become Python objects.
 *
 * It reads only the common, exactly specified shape of each format. Any other line (a header,
 * an untagged or non-ASCII dnsmasq line, a time it cannot read, too few fields) is handed
 * back by number and position, and the format's Python parser reads it as it reads every
 * line without this module, so both give the same result: the tests compare them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* A counted key: this header, then the key's bytes (name, client, port), in one arena, so
 * the one cache miss of a lookup brings both. */
typedef struct {
    double first, last;
    long long line;          /* the line number the key was first seen on */
    uint32_t count;
    uint16_t lengths[3];
    uint16_t day;            /* index into `days` */
    uint8_t flag;
} Record;

#define RECORD_SIZE ((Py_ssize_t)((sizeof(Record) + 7) & ~(size_t)7))
#define MAX_FIELD 0xffff

typedef struct {
    uint32_t tag;            /* the high half of the key's hash (tag_of); 0: an empty slot */
    uint32_t record;         /* offset of the record in the arena, in units of 8 bytes */
} Slot;

/* A key's tag, which is also where its slot is: growing the table moves a slot by its tag
 * alone, without a visit to each record (a cache miss apiece) to hash its key again. */
static inline uint32_t
tag_of(uint64_t hash)
{
    uint32_t tag = (uint32_t)(hash >> 32);
    return tag ? tag : 1;
}

/* A key read but not yet counted: its table slot (and then its record) is fetched from
 * memory while the next lines are read, since a lookup mostly waits for memory. */
typedef struct {
    const char *spans[3];
    Py_ssize_t lengths[3];
    uint64_t hash;
    double moment;
    long long line;
    Py_ssize_t day;
    int flag;
} Pending;

#define PIPELINE 8  /* keys in flight; a power of two */

typedef struct {
    PyObject_HEAD
    Pending pending[PIPELINE];
    int pending_count, pending_first;
    PyObject *day_of_hour;   /* hour since the epoch -> the local day it belongs to */
    PyObject *days;          /* the distinct days seen, in order */
    long long cached_hour;
    double cached_start;     /* the first second of cached_hour */
    Py_ssize_t cached_day;
    Slot *slots;             /* open addressing, linear probing, at most half full */
    Py_ssize_t capacity, size;
    char *arena;             /* the records, 8-byte aligned, in the order first seen */
    Py_ssize_t arena_used, arena_capacity;
    char minute_text[16];    /* 'Sep  8 16:32' or '2025-05-01 10:33' and its POSIX time, */
    Py_ssize_t minute_length;  /* the last one read (0: none yet) */
    double minute_base;
    /* While a block is counted the GIL is let go (the thread reading the next block, and
     * zlib decompressing it, go on meanwhile); a reader that calls Python takes it back
     * for the call (with_python). NULL: the GIL is held. */
    PyThreadState *released;
    int counting;            /* a block is being counted: no other call may use the table */
} Tally;

/* Take the GIL back for a call into Python while a block is counted without it (a no-op
 * when it is held); hand what this returns to without_python() after the call. */
static PyThreadState *
with_python(Tally *self)
{
    PyThreadState *state = self->released;
    if (state != NULL) {
        self->released = NULL;
        PyEval_RestoreThread(state);
    }
    return state;
}

static void
without_python(Tally *self, PyThreadState *state)
{
    if (state != NULL) {
        self->released = PyEval_SaveThread();
    }
}

/* Python's own float // (floatobject.c), so an hour here is the hour Python computes. */
static double
floor_divide(double value, double by)
{
    double mod = fmod(value, by);
    double div = (value - mod) / by;
    double result;
    if (mod && ((by < 0) != (mod < 0))) {
        div -= 1.0;
    }
    if (div) {
        result = floor(div);
        if (div - result > 0.5) {
            result += 1.0;
        }
    }
    else {
        result = copysign(0.0, value / by);
    }
    return result;
}

/* A word at a time: keys are short and there is one hash per counted line. */
static uint64_t
hash_bytes(uint64_t hash, const char *text, Py_ssize_t length)
{
    uint64_t word;
    while (length >= 8) {
        memcpy(&word, text, 8);
        hash = (hash ^ word) * 0x9E3779B97F4A7C15ULL;
        hash ^= hash >> 29;
        text += 8;
        length -= 8;
    }
    word = 0;
    memcpy(&word, text, (size_t)length);
    hash = (hash ^ word ^ ((uint64_t)length << 56)) * 0x9E3779B97F4A7C15ULL;
    return hash ^ (hash >> 32);
}

static uint64_t
hash_key(Py_ssize_t day, int flag, const char *const spans[3], const Py_ssize_t lengths[3])
{
    uint64_t hash = 1469598103934665603ULL ^ ((uint64_t)day * 0x9E3779B97F4A7C15ULL) ^
                    (uint64_t)flag;
    for (int i = 0; i < 3; i++) {
        hash = hash_bytes(hash, spans[i], lengths[i]);
    }
    return hash;
}

static int
grow_slots(Tally *self)
{
    Py_ssize_t capacity = self->capacity ? self->capacity * 2 : 4096;
    Slot *slots = PyMem_RawCalloc((size_t)capacity, sizeof(Slot));  /* no GIL needed */
    if (slots == NULL) {
        PyThreadState *held = with_python(self);
        PyErr_NoMemory();
        without_python(self, held);
        return -1;
    }
    for (Py_ssize_t i = 0; i < self->capacity; i++) {
        Slot old = self->slots[i];
        if (old.tag == 0) {
            continue;
        }
        Py_ssize_t slot = (Py_ssize_t)(old.tag & (uint64_t)(capacity - 1));
        while (slots[slot].tag != 0) {
            slot = (slot + 1) & (capacity - 1);
        }
        slots[slot] = old;
    }
    PyMem_RawFree(self->slots);
    self->slots = slots;
    self->capacity = capacity;
    return 0;
}

/* Room for a record and its key at the end of the arena; its offset, or -1 (no memory). */
static Py_ssize_t
new_record(Tally *self, Py_ssize_t key_length)
{
    Py_ssize_t need = (RECORD_SIZE + key_length + 7) & ~(Py_ssize_t)7;
    if (self->arena_used + need > self->arena_capacity) {
        Py_ssize_t capacity = self->arena_capacity ? self->arena_capacity : 1 << 20;
        while (self->arena_used + need > capacity) {
            capacity *= 2;
        }
        char *arena = capacity / 8 > UINT32_MAX ? NULL
                      : PyMem_RawRealloc(self->arena, (size_t)capacity);
        if (arena == NULL) {
            PyThreadState *held = with_python(self);
            if (capacity / 8 > UINT32_MAX) {
                PyErr_SetString(PyExc_MemoryError, "too many distinct keys; drain more often");
            }
            else {
                PyErr_NoMemory();
            }
            without_python(self, held);
            return -1;
        }
        self->arena = arena;
        self->arena_capacity = capacity;
    }
    Py_ssize_t at = self->arena_used;
    self->arena_used += need;
    return at;
}

/* The index in `days` of the local day `hour` (since the epoch) starts on, as
 * `day_of_hour` says; -1 with an exception set. Calls Python: the GIL must be held. */
static Py_ssize_t
day_of(Tally *self, long long hour)
{
    PyObject *day = PyObject_CallFunction(self->day_of_hour, "L", hour);
    if (day == NULL) {
        return -1;
    }
    Py_ssize_t count = PyList_GET_SIZE(self->days), found = -1;
    for (Py_ssize_t i = count - 1; i >= 0 && found < 0; i--) {
        int same = PyObject_RichCompareBool(PyList_GET_ITEM(self->days, i), day, Py_EQ);
        if (same < 0) {
            Py_DECREF(day);
            return -1;
        }
        if (same) {
            found = i;
        }
    }
    if (found < 0) {
        if (PyList_Append(self->days, day) < 0) {
            Py_DECREF(day);
            return -1;
        }
        found = count;
    }
    Py_DECREF(day);
    return found;
}

/* The index in `days` of the local day `moment` falls on (-1 with an exception set). */
static Py_ssize_t
day_index(Tally *self, double moment)
{
    if (self->cached_day >= 0 && moment >= self->cached_start &&
        moment < self->cached_start + 3600.0) {
        return self->cached_day;  /* the hour of the line before: no division */
    }
    double hour_value = floor_divide(moment, 3600.0);
    int in_range = fabs(hour_value) < 9e15;
    long long hour = in_range ? (long long)hour_value : 0;
    if (in_range && self->cached_day >= 0 && hour == self->cached_hour) {
        return self->cached_day;
    }
    PyThreadState *held = with_python(self);  /* a new hour: once in thousands of lines */
    Py_ssize_t found = -1;
    if (!in_range) {
        PyErr_SetString(PyExc_OverflowError, "time out of range");
    }
    else {
        found = day_of(self, hour);
    }
    without_python(self, held);
    if (found < 0) {
        return -1;
    }
    self->cached_hour = hour;
    self->cached_start = (double)hour * 3600.0;
    self->cached_day = found;
    return found;
}

/* Count a key whose hash is known: find its record, or make one. 0, or -1 on an error. */
static int
settle(Tally *self, const Pending *key)
{
    const Py_ssize_t *lengths = key->lengths;
    uint16_t short_lengths[3] = {(uint16_t)lengths[0], (uint16_t)lengths[1],
                                 (uint16_t)lengths[2]};
    uint32_t tag = tag_of(key->hash);
    if ((self->size + 1) * 2 > self->capacity && grow_slots(self) < 0) {
        return -1;
    }
    Py_ssize_t mask = self->capacity - 1;
    for (Py_ssize_t slot = (Py_ssize_t)(tag & (uint64_t)mask);; slot = (slot + 1) & mask) {
        Slot *found = &self->slots[slot];
        if (found->tag == 0) {
            Py_ssize_t at = new_record(self, lengths[0] + lengths[1] + lengths[2]);
            if (at < 0) {
                return -1;
            }
            Record *record = (Record *)(self->arena + at);
            char *bytes = (char *)record + RECORD_SIZE;
            for (int i = 0; i < 3; i++) {
                memcpy(bytes, key->spans[i], (size_t)lengths[i]);
                bytes += lengths[i];
            }
            record->first = record->last = key->moment;
            record->line = key->line;
            record->count = 1;
            memcpy(record->lengths, short_lengths, sizeof(short_lengths));
            record->day = (uint16_t)key->day;
            record->flag = (uint8_t)key->flag;
            found->tag = tag;
            found->record = (uint32_t)(at / 8);
            self->size++;
            return 0;
        }
        if (found->tag != tag) {
            continue;
        }
        Record *record = (Record *)(self->arena + (Py_ssize_t)found->record * 8);
        const char *bytes = (const char *)record + RECORD_SIZE;
        if (record->day != key->day || record->flag != key->flag ||
            memcmp(record->lengths, short_lengths, sizeof(short_lengths)) != 0 ||
            memcmp(bytes, key->spans[0], (size_t)lengths[0]) != 0 ||
            memcmp(bytes + lengths[0], key->spans[1], (size_t)lengths[1]) != 0 ||
            memcmp(bytes + lengths[0] + lengths[1], key->spans[2], (size_t)lengths[2]) != 0) {
            continue;
        }
        record->count++;
        if (key->moment < record->first) {
            record->first = key->moment;
        }
        else if (key->moment > record->last) {
            record->last = key->moment;
        }
        return 0;
    }
}

/* Count what is still in flight; always empties the pipeline. 0, or -1 on an error. */
static int
settle_pending(Tally *self)
{
    int failed = 0;
    for (int i = 0; i < self->pending_count && !failed; i++) {
        failed = settle(self, &self->pending[(self->pending_first + i) & (PIPELINE - 1)]) < 0;
    }
    self->pending_count = self->pending_first = 0;
    return failed ? -1 : 0;
}

/* Count one sighting of (day of `moment`, name, client, port, flag) first seen on `line`:
 * the oldest key in flight is counted, this one is sent ahead to memory. The spans must
 * stay valid until settle_pending(). Returns 1, 0 when a field is too long to count here
 * (Python reads the line), -1 on an error. */
static int
count_key(Tally *self, const char *const spans[3], const Py_ssize_t lengths[3], int flag,
          double moment, long long line)
{
    if (lengths[0] > MAX_FIELD || lengths[1] > MAX_FIELD || lengths[2] > MAX_FIELD) {
        return 0;
    }
    Py_ssize_t day = day_index(self, moment);
    if (day < 0) {
        return -1;
    }
    if (day > 0xffff) {
        PyThreadState *held = with_python(self);
        PyErr_SetString(PyExc_OverflowError, "too many days in one tally");
        without_python(self, held);
        return -1;
    }
    if (self->pending_count == PIPELINE) {
        int oldest = self->pending_first;
        if (settle(self, &self->pending[oldest]) < 0) {
            self->pending_count = self->pending_first = 0;
            return -1;
        }
        self->pending_first = (oldest + 1) & (PIPELINE - 1);
        self->pending_count--;
    }
    Pending *key = &self->pending[(self->pending_first + self->pending_count) & (PIPELINE - 1)];
    self->pending_count++;
    memcpy(key->spans, spans, sizeof(key->spans));
    memcpy(key->lengths, lengths, sizeof(key->lengths));
    key->hash = hash_key(day, flag, spans, lengths);
    key->moment = moment;
    key->line = line;
    key->day = day;
    key->flag = flag;
    if (self->capacity) {
        Py_ssize_t mask = self->capacity - 1;
        __builtin_prefetch(&self->slots[tag_of(key->hash) & (uint64_t)mask]);
        /* the key half way through the pipeline: its slot has arrived, fetch its record */
        const Pending *halfway =
            &self->pending[(self->pending_first + self->pending_count - 1 - PIPELINE / 2) &
                           (PIPELINE - 1)];
        if (self->pending_count > PIPELINE / 2) {
            const Slot *slot = &self->slots[tag_of(halfway->hash) & (uint64_t)mask];
            if (slot->tag != 0) {
                __builtin_prefetch(self->arena + (Py_ssize_t)slot->record * 8);
            }
        }
    }
    return 1;
}

/* Whitespace as Python's \s sees it in ASCII text. */
static inline int
is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static inline int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int
is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The first ']: ' of a line (the end of 'program[pid]: '), or NULL. memchr finds the few
 * brackets of a line faster than memmem finds the text. */
static const char *
find_tag(const char *line, const char *end)
{
    for (const char *at = line; (at = memchr(at, ']', (size_t)(end - at))) != NULL; at++) {
        if (end - at >= 3 && at[1] == ':' && at[2] == ' ') {
            return at;
        }
    }
    return NULL;
}

/* The first ' query[' of a line, or NULL; found by its '[' as find_tag finds its ']'. */
static const char *
find_query(const char *line, const char *end)
{
    for (const char *at = line; (at = memchr(at, '[', (size_t)(end - at))) != NULL; at++) {
        if (at - line >= 6 && memcmp(at - 6, " query", 6) == 0) {
            return at - 6;
        }
    }
    return NULL;
}

static int
hand_back(PyObject *punted, Py_ssize_t index, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *item = Py_BuildValue("(nnn)", index, start, end);
    if (item == NULL) {
        return -1;
    }
    int failed = PyList_Append(punted, item);
    Py_DECREF(item);
    return failed;
}

/* The POSIX time of the minute written in the `length` bytes at `line` (at most 16), as
 * `minute_of` reads it, in `base`; the last minute read is kept, as a minute repeats for
 * thousands of lines. Returns 1 when read, 0 when the line must go to Python (the minute
 * does not read as a minute whose seconds are linear), -1 on an error. */
static int
minute_time(Tally *self, const char *line, Py_ssize_t length, PyObject *minute_of,
            double *base)
{
    if (self->minute_length != length || memcmp(self->minute_text, line, (size_t)length) != 0) {
        PyThreadState *held = with_python(self);  /* a new minute: Python reads it */
        double read = -1.0;
        int result = 1;
        PyObject *text = PyUnicode_DecodeASCII(line, length, NULL);
        PyObject *value = text == NULL ? NULL : PyObject_CallOneArg(minute_of, text);
        Py_XDECREF(text);
        if (value == NULL) {
            result = -1;
            if (PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyErr_Clear();  /* Python's parser says what is wrong, with the line */
                result = 0;
            }
        }
        else {
            read = PyFloat_AsDouble(value);
            Py_DECREF(value);
            if (read == -1.0 && PyErr_Occurred()) {
                result = -1;
            }
        }
        without_python(self, held);
        if (result <= 0) {
            return result;
        }
        memcpy(self->minute_text, line, (size_t)length);
        self->minute_length = length;
        self->minute_base = read;
    }
    *base = self->minute_base;
    return 1;
}

/* The POSIX time of a syslog time at the start of a line, 'Sep  8 16:32:19 ', in `moment`.
 * Returns 1 when read, 0 when the line must go to Python, -1 on an error. */
static int
syslog_time(Tally *self, const char *line, const char *end, PyObject *minute_of,
            double *moment)
{
    const unsigned char *s = (const unsigned char *)line;
    if (end - line < 16 || !is_letter(s[0]) || !is_letter(s[1]) || !is_letter(s[2]) ||
        s[3] != ' ' || !(s[4] == ' ' || is_digit(s[4])) || !is_digit(s[5]) || s[6] != ' ' ||
        !is_digit(s[7]) || !is_digit(s[8]) || s[9] != ':' || !is_digit(s[10]) ||
        !is_digit(s[11]) || s[12] != ':' || !is_digit(s[13]) || !is_digit(s[14]) ||
        s[15] != ' ' || s[13] > '5') {
        return 0;
    }
    double base;
    int read = minute_time(self, line, 12, minute_of, &base);
    if (read > 0) {
        *moment = base + (s[13] - '0') * 10 + (s[14] - '0');
    }
    return read;
}

/* Whether a line starts as Pi-hole v6 writes it, '2025-05-01 10:33:48.949 ' (or with 'T'):
 * 'YYYY-MM-DD HH:MM:SS', then anything but whitespace, then a space, as the Python parser's
 * pattern takes it. The length of the time and what follows it up to the space, or 0. */
static Py_ssize_t
iso_prefix(const char *line, const char *end)
{
    const unsigned char *s = (const unsigned char *)line;
    if (end - line < 20 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) ||
        !is_digit(s[3]) || s[4] != '-' || !is_digit(s[5]) || !is_digit(s[6]) || s[7] != '-' ||
        !is_digit(s[8]) || !is_digit(s[9]) || (s[10] != ' ' && s[10] != 'T') ||
        !is_digit(s[11]) || !is_digit(s[12]) || s[13] != ':' || !is_digit(s[14]) ||
        !is_digit(s[15]) || s[16] != ':' || !is_digit(s[17]) || !is_digit(s[18])) {
        return 0;
    }
    const char *c = line + 19;
    while (c < end && !is_space((unsigned char)*c)) {
        c++;
    }
    return c < end && *c == ' ' ? c - line : 0;
}

/* The POSIX time of the `length` bytes of an ISO time at the start of a line (see
 * iso_prefix), in `moment`: the second, and its fraction added as Python's Clock adds it.
 * A time with anything else after the second (a zone, a comma) goes to Python: returns 0;
 * 1 when read, -1 on an error. */
static int
iso_time(Tally *self, const char *line, Py_ssize_t length, PyObject *minute_of,
         double *moment)
{
    const unsigned char *s = (const unsigned char *)line;
    long long micro = 0;
    if (length > 19) {
        if (s[19] != '.' || length == 20) {
            return 0;
        }
        int digits = 0;
        for (Py_ssize_t at = 20; at < length; at++) {
            if (!is_digit(s[at])) {
                return 0;
            }
            if (digits < 6) {
                micro = micro * 10 + (s[at] - '0');
                digits++;
            }
        }
        for (; digits < 6; digits++) {
            micro *= 10;
        }
    }
    if (s[17] > '5') {
        return 0;
    }
    double base;
    int read = minute_time(self, line, 16, minute_of, &base);
    if (read > 0) {
        double second = base + (s[17] - '0') * 10 + (s[18] - '0');
        *moment = length > 19 ? second + (double)micro / 1e6 : second;
    }
    return read;
}

/* One dnsmasq line: 1 counted or read without a name, 0 for Python, -1 on an error.
 * The shape: 'Mmm dd HH:MM:SS ...]: ... query[TYPE] name from client', all ASCII,
 * with the first ']: ' before ' query['. */
static int
dnsmasq_line(Tally *self, void *minute_of, const char *line, const char *end, long long number)
{
    uint64_t word, high = 0;
    const char *c = line;
    for (; end - c >= 8; c += 8) {
        memcpy(&word, c, 8);
        high |= word;
    }
    for (; c < end; c++) {
        high |= (unsigned char)*c;
    }
    if (high & 0x8080808080808080ULL) {
        return 0;
    }
    const char *tag = find_tag(line, end);
    const char *at = find_query(line, end);
    if (at == NULL) {  /* forwarded, reply, cached, config...: a record without a name */
        return tag != NULL || iso_prefix(line, end) > 0;
    }
    Py_ssize_t iso = 0;  /* no 'program[pid]: ' before the query: Pi-hole v6's own log */
    if (tag == NULL || tag > at) {
        iso = iso_prefix(line, end);
        if (iso == 0) {
            return 0;
        }
    }
    const char *close = memchr(at + 7, ']', (size_t)(end - at - 7));
    if (close == NULL || close + 1 >= end || close[1] != ' ') {
        return 0;
    }
    const char *name = close + 2, *name_end = name;
    while (name_end < end && !is_space((unsigned char)*name_end)) {
        name_end++;
    }
    if (name_end == name || end - name_end < 7 || memcmp(name_end, " from ", 6) != 0) {
        return 0;
    }
    const char *client = name_end + 6, *client_end = client;
    while (client_end < end && !is_space((unsigned char)*client_end)) {
        client_end++;
    }
    if (client_end == client) {
        return 0;
    }
    double moment;
    int read = iso ? iso_time(self, line, iso, (PyObject *)minute_of, &moment)
                   : syslog_time(self, line, end, (PyObject *)minute_of, &moment);
    if (read <= 0) {
        return read;
    }
    const char *spans[3] = {name, client, ""};
    const Py_ssize_t lengths[3] = {name_end - name, client_end - client, 0};
    return count_key(self, spans, lengths, 0, moment, number);
}

/* Reads one line: 1 counted or read without a name, 0 for Python, -1 on an error. */
typedef int (*LineReader)(Tally *self, void *context, const char *line, const char *end,
                          long long number);

/* Hand each line of `block` from `offset` on to `read`, until its end or (with
 * `stop_at_comment`) a line starting with '#'. Returns the lines handed back for Python as
 * [(index, start, end)], and where and after how many lines it stopped; NULL on an error. */
static PyObject *
read_lines(Tally *self, const Py_buffer *block, Py_ssize_t offset, long long first_line,
           LineReader read, void *context, int stop_at_comment, Py_ssize_t *stopped_at,
           Py_ssize_t *lines)
{
    if (self->counting) {
        PyErr_SetString(PyExc_RuntimeError, "this Tally is counting a block in another thread");
        return NULL;
    }
    PyObject *punted = PyList_New(0);
    if (punted == NULL) {
        return NULL;
    }
    const char *start = block->buf, *stop = start + block->len;
    const char *line = start + (offset < 0 ? 0 : offset > block->len ? block->len : offset);
    Py_ssize_t index = 0;
    int failed = 0;
    self->counting = 1;
    self->released = PyEval_SaveThread();
    while (!failed && line < stop && !(stop_at_comment && *line == '#')) {
        const char *newline = memchr(line, '\n', (size_t)(stop - line));
        const char *end = newline ? newline : stop;
        int done = read(self, context, line, end, first_line + index);
        if (done == 0) {
            PyThreadState *held = with_python(self);
            failed = hand_back(punted, index, line - start, end - start) < 0;
            without_python(self, held);
        }
        else {
            failed = done < 0;
        }
        line = newline ? newline + 1 : stop;
        index++;
    }
    if (settle_pending(self) < 0) {
        failed = 1;
    }
    PyEval_RestoreThread(self->released);
    self->released = NULL;
    self->counting = 0;
    if (failed) {
        Py_CLEAR(punted);
    }
    *stopped_at = line - start;
    *lines = index;
    return punted;
}

static PyObject *
Tally_dnsmasq(Tally *self, PyObject *args)
{
    Py_buffer block;
    long long first_line;
    PyObject *minute_of;
    Py_ssize_t stopped_at, lines;
    if (!PyArg_ParseTuple(args, "y*LO:dnsmasq", &block, &first_line, &minute_of)) {
        return NULL;
    }
    PyObject *punted = read_lines(self, &block, 0, first_line, dnsmasq_line, minute_of, 0,
                                  &stopped_at, &lines);
    PyBuffer_Release(&block);
    return punted == NULL ? NULL : Py_BuildValue("(Nn)", punted, lines);
}

typedef struct {
    int separator, name_at, time_at, client_at, port_at, qtype_at, rd_at, limit, strip_last;
} Layout;

static int
is_unset(const char *text, Py_ssize_t length)
{
    return length == 0 || (length == 1 && text[0] == '-') ||
           (length == 7 && memcmp(text, "(empty)", 7) == 0);
}

/* timestamps.LATEST: 9999-12-31 UTC. A later time is no day's (Python reads the line). */
#define LATEST_TIME 253402214400.0

/* A Zeek time: digits with at most one point, read as Python's float() reads it. */
static int
zeek_time(Tally *self, const char *text, Py_ssize_t length, double *moment)
{
    char buffer[64];
    if (length == 0 || length >= (Py_ssize_t)sizeof(buffer)) {
        return 0;
    }
    long long digits = 0;
    int count = 0, decimals = 0, points = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        if (text[i] == '.') {
            points++;
            continue;
        }
        if (!is_digit((unsigned char)text[i])) {
            return 0;
        }
        if (count < 18) {
            digits = digits * 10 + (text[i] - '0');
        }
        count++;
        decimals += points;
    }
    if (points > 1 || (length == 1 && points == 1)) {
        return 0;
    }
    /* Digits up to 2**53 and a power of ten up to 1e18 are exact doubles, so one division
     * is correctly rounded: the value float() gives (Clinger's fast path), without
     * strtod's cost. */
    static const double powers[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    if (count <= 18 && digits <= (1LL << 53)) {
        *moment = (double)digits / powers[decimals];
        return *moment < LATEST_TIME;
    }
    memcpy(buffer, text, (size_t)length);
    buffer[length] = '\0';
    char *parsed_to;
    PyThreadState *held = with_python(self);  /* over 18 digits: rare */
    *moment = PyOS_string_to_double(buffer, &parsed_to, NULL);
    int unread = *moment == -1.0 && PyErr_Occurred();
    if (unread) {
        PyErr_Clear();
    }
    without_python(self, held);
    return !unread && parsed_to == buffer + length && *moment < LATEST_TIME;
}

/* Where the first `limit` separators of [line, end) are; returns how many there are. A
 * record's fields are short, so they are found sixteen bytes at a time where the processor
 * can (a call to memchr per field cost more than the rest of reading the record). */
static int
find_separators(const char *line, const char *end, int separator, int limit,
                const char **found)
{
    int count = 0;
    const char *at = line;
#if defined(__SSE2__)
    const __m128i wanted = _mm_set1_epi8((char)separator);
    while (count < limit && end - at >= 16) {
        __m128i chunk = _mm_loadu_si128((const __m128i *)at);
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, wanted));
        while (mask != 0 && count < limit) {
            found[count++] = at + __builtin_ctz(mask);
            mask &= mask - 1;
        }
        at += 16;
    }
#endif
    while (count < limit && at < end) {
        const char *next = memchr(at, separator, (size_t)(end - at));
        if (next == NULL) {
            break;
        }
        found[count++] = next;
        at = next + 1;
    }
    return count;
}

/* Field `index` of a record whose first `found` separators are known; the line's last
 * field ends where rstrip('\r\n') ends it. */
static inline void
field(const char *line, const char *end, const char *const *separators, int found, int index,
      const char **start, Py_ssize_t *length)
{
    if (index > found) {  /* never: a caller checks `found` first */
        *start = end;
        *length = 0;
        return;
    }
    const char *at = index == 0 ? line : separators[index - 1] + 1;
    const char *stop = index < found ? separators[index] : end;
    if (index == found) {
        while (stop > at && stop[-1] == '\r') {
            stop--;
        }
    }
    *start = at;
    *length = stop - at;
}

/* One Zeek TSV record: 1 counted or read without a name, 0 for Python, -1 on an error. */
static int
tsv_line(Tally *self, void *context, const char *line, const char *end, long long number)
{
    const Layout *layout = context;
    const char *separators[256];  /* the first `found` are set, and only they are read */
    if (layout->name_at < 0) {
        return 0;
    }
    int found = find_separators(line, end, layout->separator, layout->limit, separators);
    if (found < layout->limit - 1 || (found == layout->limit - 1 && !layout->strip_last)) {
        return 0;  /* fewer fields than the header names, or the last one's end unknown */
    }
    const char *name;
    Py_ssize_t name_length;
    field(line, end, separators, found, layout->name_at, &name, &name_length);
    if (is_unset(name, name_length)) {
        return 1;
    }
    const char *text;
    Py_ssize_t length;
    double moment;
    field(line, end, separators, found, layout->time_at, &text, &length);
    if (!zeek_time(self, text, length, &moment)) {
        return 0;
    }
    const char *spans[3] = {name, "", ""};
    Py_ssize_t lengths[3] = {name_length, 0, 0};
    int iterating = 0;  /* RD=F: a resolver iterating, no device */
    if (layout->rd_at >= 0) {
        field(line, end, separators, found, layout->rd_at, &text, &length);
        iterating = length == 1 && text[0] == 'F';
    }
    if (layout->client_at >= 0 && !iterating) {
        field(line, end, separators, found, layout->client_at, &spans[1], &lengths[1]);
    }
    if (layout->port_at >= 0) {
        field(line, end, separators, found, layout->port_at, &spans[2], &lengths[2]);
    }
    int flag = 0;
    if (layout->qtype_at >= 0) {
        const char *qtype;
        Py_ssize_t qtype_length;
        field(line, end, separators, found, layout->qtype_at, &qtype, &qtype_length);
        if (qtype_length == 3 && (memcmp(qtype, "249", 3) == 0 || memcmp(qtype, "250", 3) == 0)) {
            return 0;  /* TKEY, TSIG (dns.KEY_EXCHANGES): a key name, which Python marks */
        }
        flag = qtype_length == 1 && qtype[0] == '-';
    }
    return count_key(self, spans, lengths, flag, moment, number);
}

static PyObject *
Tally_tsv(Tally *self, PyObject *args)
{
    Py_buffer block;
    Py_ssize_t offset;
    long long first_line;
    Layout layout;
    if (!PyArg_ParseTuple(args, "y*nL(iiiiiiiip):tsv", &block, &offset, &first_line,
                          &layout.separator, &layout.name_at, &layout.time_at,
                          &layout.client_at, &layout.port_at, &layout.qtype_at,
                          &layout.rd_at, &layout.limit, &layout.strip_last)) {
        return NULL;
    }
    if (layout.name_at >= 0 &&
        (layout.limit > 256 || layout.time_at < 0 || layout.name_at >= layout.limit ||
         layout.time_at >= layout.limit || layout.client_at >= layout.limit ||
         layout.port_at >= layout.limit || layout.qtype_at >= layout.limit ||
         layout.rd_at >= layout.limit ||
         layout.separator < 0 || layout.separator > 255 || layout.separator == '\n')) {
        PyBuffer_Release(&block);
        PyErr_SetString(PyExc_ValueError, "a layout this reader cannot use");
        return NULL;
    }
    Py_ssize_t stopped_at, lines;
    PyObject *punted = read_lines(self, &block, offset, first_line, tsv_line, &layout, 1,
                                  &stopped_at, &lines);
    PyBuffer_Release(&block);
    return punted == NULL ? NULL : Py_BuildValue("(Nnn)", punted, stopped_at, lines);
}

/* Numbers for drain(): open addressing over (hash, 1 + the number it stands for; 0: empty),
 * grown as it fills. A drain holds far fewer groups and clients than keys, so a table sized
 * by what it holds stays in the processor's cache, where one sized by the keys did not. */
typedef struct {
    uint64_t hash;
    uint32_t index;
} Entry;

#ifndef NUMBERING_START
#define NUMBERING_START 1024  /* a power of two; a build for tests may start smaller */
#endif

typedef struct {
    Entry *entries;
    Py_ssize_t capacity, count;
    uint32_t *first_record;  /* per number, the record where it was first seen */
} Numbering;

static int
numbering_grow(Numbering *numbering)
{
    Py_ssize_t capacity = numbering->capacity * 2, mask = capacity - 1;
    Entry *entries = PyMem_Calloc((size_t)capacity, sizeof(Entry));
    if (entries == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < numbering->capacity; i++) {
        Entry old = numbering->entries[i];
        if (old.index == 0) {
            continue;
        }
        Py_ssize_t slot = (Py_ssize_t)(old.hash & (uint64_t)mask);
        while (entries[slot].index != 0) {
            slot = (slot + 1) & mask;
        }
        entries[slot] = old;
    }
    PyMem_Free(numbering->entries);
    numbering->entries = entries;
    numbering->capacity = capacity;
    return 0;
}

/* The number of the key in `entry`, found for `hash`; if the entry is empty, the next
 * number, first seen in `record`. -1 (with an exception set) if the table could not grow. */
static Py_ssize_t
numbered(Numbering *numbering, Entry *entry, uint64_t hash, Py_ssize_t record)
{
    if (entry->index != 0) {
        return entry->index - 1;
    }
    Py_ssize_t number = numbering->count++;
    entry->hash = hash;
    entry->index = (uint32_t)(number + 1);
    numbering->first_record[number] = (uint32_t)record;
    if (numbering->count * 2 > numbering->capacity && numbering_grow(numbering) < 0) {
        return -1;
    }
    return number;
}

static const char *
record_key(const Record *record)
{
    return (const char *)record + RECORD_SIZE;
}

static PyObject *
decoded(const char *text, Py_ssize_t length)
{
    return PyUnicode_DecodeUTF8(text, length, "replace");
}

/* Hand over the counted keys grouped by (day, name, port, flag), then start empty.
 *
 * Returns (clients, groups, member_clients, member_hits, member_first, member_last): the
 * distinct clients as written; per group (day, name, port, flag, hits, first, last, line,
 * start, stop), its totals and the earliest line; and its keys at [start, stop) of four
 * arrays (uint32 client index, uint32 hits, double first and last time). Only a group and
 * a client become Python objects, not each of their pairs. */
static PyObject *
Tally_drain(Tally *self, PyObject *Py_UNUSED(ignored))
{
    if (self->counting) {
        PyErr_SetString(PyExc_RuntimeError, "this Tally is counting a block in another thread");
        return NULL;
    }
    Py_ssize_t size = self->size, room = size ? size : 1;
    const Record **records = PyMem_Malloc((size_t)room * sizeof(Record *));
    uint32_t *group_of = PyMem_Malloc((size_t)room * sizeof(uint32_t));
    uint32_t *client_of = PyMem_Malloc((size_t)room * sizeof(uint32_t));
    Numbering groups_seen = {PyMem_Calloc(NUMBERING_START, sizeof(Entry)), NUMBERING_START, 0,
                             PyMem_Malloc((size_t)room * sizeof(uint32_t))};
    Numbering clients_seen = {PyMem_Calloc(NUMBERING_START, sizeof(Entry)), NUMBERING_START,
                              0, PyMem_Malloc((size_t)room * sizeof(uint32_t))};
    uint32_t *group_record = groups_seen.first_record, *client_record = clients_seen.first_record;
    Py_ssize_t *group_start = PyMem_Calloc((size_t)size + 1, sizeof(Py_ssize_t));
    PyObject *clients = NULL, *groups = NULL, *result = NULL;
    PyObject *member_clients = NULL, *member_hits = NULL, *member_first = NULL,
             *member_last = NULL;
    if (records == NULL || group_of == NULL || client_of == NULL || group_record == NULL ||
        client_record == NULL || group_start == NULL || groups_seen.entries == NULL ||
        clients_seen.entries == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        const Record *record = (const Record *)(self->arena + at);
        const char *key = record_key(record);
        Py_ssize_t name_length = record->lengths[0], client_length = record->lengths[1],
                   port_length = record->lengths[2];
        const char *client = key + name_length, *port = client + client_length;
        records[i] = record;
        at += (RECORD_SIZE + name_length + client_length + port_length + 7) & ~(Py_ssize_t)7;

        uint64_t hash = hash_bytes(hash_bytes(1469598103934665603ULL ^
                                              ((uint64_t)record->day << 8 | record->flag),
                                              key, name_length), port, port_length) | 1;
        Py_ssize_t mask = groups_seen.capacity - 1, slot = (Py_ssize_t)(hash & (uint64_t)mask);
        for (; groups_seen.entries[slot].index != 0; slot = (slot + 1) & mask) {
            const Record *other = records[group_record[groups_seen.entries[slot].index - 1]];
            const char *other_key = record_key(other);
            if (groups_seen.entries[slot].hash == hash && other->day == record->day &&
                other->flag == record->flag && other->lengths[0] == name_length &&
                other->lengths[2] == port_length &&
                memcmp(other_key, key, (size_t)name_length) == 0 &&
                memcmp(other_key + name_length + other->lengths[1], port,
                       (size_t)port_length) == 0) {
                break;
            }
        }
        Py_ssize_t group = numbered(&groups_seen, &groups_seen.entries[slot], hash, i);

        hash = hash_bytes(1469598103934665603ULL, client, client_length) | 1;
        mask = clients_seen.capacity - 1;
        for (slot = (Py_ssize_t)(hash & (uint64_t)mask); clients_seen.entries[slot].index != 0;
             slot = (slot + 1) & mask) {
            const Record *other = records[client_record[clients_seen.entries[slot].index - 1]];
            if (clients_seen.entries[slot].hash == hash && other->lengths[1] == client_length &&
                memcmp(record_key(other) + other->lengths[0], client,
                       (size_t)client_length) == 0) {
                break;
            }
        }
        Py_ssize_t client_number = numbered(&clients_seen, &clients_seen.entries[slot], hash, i);
        if (group < 0 || client_number < 0) {
            goto done;
        }
        group_of[i] = (uint32_t)group;
        client_of[i] = (uint32_t)client_number;
        group_start[group + 1]++;
    }
    Py_ssize_t group_count = groups_seen.count, client_count = clients_seen.count;
    for (Py_ssize_t group = 0; group < group_count; group++) {
        group_start[group + 1] += group_start[group];
    }
    member_clients = PyBytes_FromStringAndSize(NULL, size * (Py_ssize_t)sizeof(uint32_t));
    member_hits = PyBytes_FromStringAndSize(NULL, size * (Py_ssize_t)sizeof(uint32_t));
    member_first = PyBytes_FromStringAndSize(NULL, size * (Py_ssize_t)sizeof(double));
    member_last = PyBytes_FromStringAndSize(NULL, size * (Py_ssize_t)sizeof(double));
    clients = PyList_New(client_count);
    groups = PyList_New(group_count);
    if (member_clients == NULL || member_hits == NULL || member_first == NULL ||
        member_last == NULL || clients == NULL || groups == NULL) {
        goto done;
    }
    uint32_t *to_client = (uint32_t *)PyBytes_AS_STRING(member_clients);
    uint32_t *to_hits = (uint32_t *)PyBytes_AS_STRING(member_hits);
    double *to_first = (double *)PyBytes_AS_STRING(member_first);
    double *to_last = (double *)PyBytes_AS_STRING(member_last);
    /* each group's next free place, and its totals */
    Py_ssize_t *next = PyMem_Malloc((size_t)(group_count ? group_count : 1) * sizeof(Py_ssize_t));
    unsigned long long *hits = PyMem_Calloc((size_t)group_count + 1, sizeof(unsigned long long));
    if (next == NULL || hits == NULL) {
        PyMem_Free(next);
        PyMem_Free(hits);
        PyErr_NoMemory();
        goto done;
    }
    memcpy(next, group_start, (size_t)group_count * sizeof(Py_ssize_t));
    for (Py_ssize_t i = 0; i < size; i++) {
        const Record *record = records[i];
        Py_ssize_t place = next[group_of[i]]++;
        to_client[place] = client_of[i];
        to_hits[place] = record->count;
        to_first[place] = record->first;
        to_last[place] = record->last;
        hits[group_of[i]] += record->count;
    }
    int failed = 0;
    for (Py_ssize_t client = 0; client < client_count && !failed; client++) {
        const Record *record = records[client_record[client]];
        PyObject *text = decoded(record_key(record) + record->lengths[0], record->lengths[1]);
        failed = text == NULL;
        if (!failed) {
            PyList_SET_ITEM(clients, client, text);
        }
    }
    for (Py_ssize_t group = 0; group < group_count && !failed; group++) {
        const Record *record = records[group_record[group]];
        double first = record->first, last = record->last;
        long long line = record->line;
        for (Py_ssize_t place = group_start[group]; place < group_start[group + 1]; place++) {
            first = to_first[place] < first ? to_first[place] : first;
            last = to_last[place] > last ? to_last[place] : last;
        }
        const char *key = record_key(record);
        PyObject *name = decoded(key, record->lengths[0]);
        PyObject *port = decoded(key + record->lengths[0] + record->lengths[1],
                                 record->lengths[2]);
        PyObject *item = NULL;
        if (name != NULL && port != NULL) {
            item = Py_BuildValue("(OOOiKddLnn)", PyList_GET_ITEM(self->days, record->day),
                                 name, port, (int)record->flag, hits[group], first, last, line,
                                 group_start[group], group_start[group + 1]);
        }
        Py_XDECREF(name);
        Py_XDECREF(port);
        failed = item == NULL;
        if (!failed) {
            PyList_SET_ITEM(groups, group, item);
        }
    }
    PyMem_Free(next);
    PyMem_Free(hits);
    if (!failed) {
        result = PyTuple_Pack(6, clients, groups, member_clients, member_hits, member_first,
                              member_last);
    }
done:
    Py_XDECREF(clients);
    Py_XDECREF(groups);
    Py_XDECREF(member_clients);
    Py_XDECREF(member_hits);
    Py_XDECREF(member_first);
    Py_XDECREF(member_last);
    PyMem_Free(records);
    PyMem_Free(group_of);
    PyMem_Free(client_of);
    PyMem_Free(group_record);
    PyMem_Free(client_record);
    PyMem_Free(group_start);
    PyMem_Free(groups_seen.entries);
    PyMem_Free(clients_seen.entries);
    if (result != NULL) {
        if (self->slots != NULL) {  /* kept, at the size it grew to: the next keys need it */
            memset(self->slots, 0, (size_t)self->capacity * sizeof(Slot));
        }
        self->size = 0;
        self->arena_used = 0;
    }
    return result;
}

static Py_ssize_t
Tally_length(Tally *self)
{
    return self->size;
}

static int
Tally_init(Tally *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"day_of_hour", NULL};
    PyObject *day_of_hour;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:Tally", keywords, &day_of_hour)) {
        return -1;
    }
    if (!PyCallable_Check(day_of_hour)) {
        PyErr_SetString(PyExc_TypeError, "day_of_hour must be callable");
        return -1;
    }
    Py_INCREF(day_of_hour);
    Py_XSETREF(self->day_of_hour, day_of_hour);
    Py_XSETREF(self->days, PyList_New(0));
    self->cached_day = -1;
    return self->days == NULL ? -1 : 0;
}

static void
Tally_dealloc(Tally *self)
{
    Py_XDECREF(self->day_of_hour);
    Py_XDECREF(self->days);
    PyMem_RawFree(self->slots);
    PyMem_RawFree(self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Tally_methods[] = {
    {"dnsmasq", (PyCFunction)Tally_dnsmasq, METH_VARARGS,
     "dnsmasq(block, first_line, minute_of) -> ([(index, start, end)] for Python, lines)"},
    {"tsv", (PyCFunction)Tally_tsv, METH_VARARGS,
     "tsv(block, offset, first_line, layout) -> ([(index, start, end)], stopped_at, lines)"},
    {"drain", (PyCFunction)Tally_drain, METH_NOARGS,
     "drain() -> [(day, name, client, port, flag, count, first, last, first_line)]; empties"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Tally_sequence = {.sq_length = (lenfunc)Tally_length};

static PyTypeObject TallyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "scanner.sources.logs._tally.Tally",
    .tp_basicsize = sizeof(Tally),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Lookups of a log counted per (day, name, client, port, flag).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Tally_init,
    .tp_dealloc = (destructor)Tally_dealloc,
    .tp_methods = Tally_methods,
    .tp_as_sequence = &Tally_sequence,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_tally",
    .m_doc = "Count log lookups in C; see Tally.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__tally(void)
{
    if (PyType_Ready(&TallyType) < 0) {
        return NULL;
    }
    PyObject *created = PyModule_Create(&module);
    if (created == NULL) {
        return NULL;
    }
    Py_INCREF(&TallyType);
    if (PyModule_AddObject(created, "Tally", (PyObject *)&TallyType) < 0) {
        Py_DECREF(&TallyType);
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
