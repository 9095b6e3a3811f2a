"""botocore's timestamp parsing, without dateutil's cost on the two forms S3 sends.

botocore parses every timestamp of a reply with `dateutil.parser` (a GET's Last-Modified, each
listed object's LastModified): ~0.15 ms of client CPU per GET, ~8% of the GET's whole cost
(bench/results/index_profile.md). S3 writes ISO-8601 UTC (`2026-11-27T10:00:00.000Z`, in XML) and
RFC 1123 GMT (`Fri, 27 Nov 2026 10:00:00 GMT`, in headers); those are read by the standard library
with the very tzinfo botocore's parser gives them in this process (tzlocal() on a UTC machine,
tzutc() elsewhere); every other text goes to botocore's own parser. Same datetimes, same objects.
"""

import datetime as dt
import re

import botocore.session
from botocore.utils import parse_timestamp

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
MONTHS = {name: number for number, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
RFC1123_GMT = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (%s) (\d{4}) (\d\d):(\d\d):(\d\d) GMT"
                         % "|".join(MONTHS))
_ISO_TZ = parse_timestamp("2000-01-01T00:00:00Z").tzinfo
_RFC1123_TZ = parse_timestamp("Sat, 01 Jan 2000 00:00:00 GMT").tzinfo


def parse(value):
    """What `botocore.utils.parse_timestamp(value)` returns, the two S3 forms read without dateutil."""
    try:
        if isinstance(value, str) and ISO_UTC.fullmatch(value):
            return dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=_ISO_TZ)
        if isinstance(value, str) and (rfc := RFC1123_GMT.fullmatch(value)):
            day, month, year, hour, minute, second = rfc.groups()
            return dt.datetime(int(year), MONTHS[month], int(day), int(hour), int(minute), int(second),
                               tzinfo=_RFC1123_TZ)
    except ValueError:
        pass  # no such day (30 February): botocore words the error
    return parse_timestamp(value)


def botocore_session() -> botocore.session.Session:
    """A botocore session whose clients parse timestamps with `parse`."""
    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse)
    return session
