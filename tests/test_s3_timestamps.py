"""The store's timestamp parser gives botocore's datetimes (value and tzinfo) on every text."""

import datetime as dt
import re

import pytest
from botocore.utils import parse_timestamp

from resources import s3_timestamps

INSTANTS = [dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), dt.datetime(2024, 2, 29, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 27, 10, 4, 5, 120000, tzinfo=dt.UTC)]
TEXTS = [f(t) for t in INSTANTS for f in (
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z",  # S3's XML (a listing's LastModified)
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    lambda t: t.strftime("%a, %d %b %Y %H:%M:%S GMT"),  # S3's headers (a GET's Last-Modified)
)] + ["2026-11-27T10:04:05.1234567Z", "2026-11-27T10:04:05+02:00", "Mon, 27 Nov 2026 10:04:05 GMT",
      "27 Nov 2026 10:04:05 GMT", "1700000000", 1700000000.5]


@pytest.mark.parametrize("text", TEXTS)
def test_every_text_parses_as_botocore_parses_it(text):
    ours, botocore = s3_timestamps.parse(text), parse_timestamp(text)
    assert (ours, repr(ours.tzinfo)) == (botocore, repr(botocore.tzinfo))


@pytest.mark.parametrize("text", ["Tue, 31 Feb 2026 10:04:05 GMT", "2026-02-31T10:04:05Z", "yesterday"])
def test_a_text_that_is_no_time_fails_as_in_botocore(text):
    with pytest.raises(ValueError) as botocore:
        parse_timestamp(text)
    with pytest.raises(ValueError, match=re.escape(str(botocore.value))):
        s3_timestamps.parse(text)


def test_a_listing_read_by_the_store_has_the_same_times_as_a_plain_client(store, s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="decision_artifacts/x.json", Body=b"{}")
    plain = s3_client.list_objects_v2(Bucket=bucket)["Contents"]
    ours = list(store.list_prefix("decision_artifacts/"))
    assert [(o["Key"], o["LastModified"], repr(o["LastModified"].tzinfo)) for o in ours] == \
        [(o["Key"], o["LastModified"], repr(o["LastModified"].tzinfo)) for o in plain]
