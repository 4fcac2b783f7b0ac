"""Return codes per ZEGO API family (dashboard/zego/codes.py)."""

import pytest

from dashboard.zego import codes
from dashboard.zego.codes import RetryClass, lookup

# MediaThumbnails' own table, from the API page.
MEDIA_THUMBNAILS_PAGE_CODES = {2, 3, 4, 5, 6, 7, 1000, 41003}
GATEWAY_CODES = {
    100000001,
    100000002,
    100000003,
    100000004,
    100000005,
    100000006,
    100000007,
    100000008,
    100000009,
    100000010,
    100000011,
    100000013,
    100000014,
    100000015,
    100000016,
    100000017,
}


def test_it_treats_code_0_as_success_for_every_action():
    for action in ("MediaThumbnails", "DescribeMediaTask", "SomethingElse"):
        info = lookup(action, 0)
        assert info.code == 0
        assert info.known is True
        assert info.retry is RetryClass.NONE


def test_it_means_authentication_failed_by_7_for_media_thumbnails():
    info = lookup("MediaThumbnails", 7)
    assert info.known is True
    assert "authentication failed" in info.meaning.lower()
    assert "rate" not in info.meaning.lower()
    assert "frequent" not in info.meaning.lower()
    assert info.retry is RetryClass.PERMANENT


def test_it_treats_6_too_frequent_as_transient_for_media_thumbnails():
    info = lookup("MediaThumbnails", 6)
    assert info.known is True
    assert "frequent" in info.meaning.lower()
    assert info.retry is RetryClass.TRANSIENT


def test_it_treats_41003_file_missing_as_permanent():
    info = lookup("MediaThumbnails", 41003)
    assert info.known is True
    assert "file does not exist" in info.meaning.lower()
    assert info.retry is RetryClass.PERMANENT


def test_it_treats_1000_request_failed_as_manual_and_hints_at_a_wrong_file_id():
    info = lookup("MediaThumbnails", 1000)
    assert info.known is True
    assert info.retry is RetryClass.MANUAL
    assert "file id" in info.meaning.lower()


@pytest.mark.parametrize(
    ("code", "retry"),
    [
        (2, RetryClass.PERMANENT),
        (3, RetryClass.PERMANENT),
        (4, RetryClass.PERMANENT),
        (5, RetryClass.PERMANENT),
        (6, RetryClass.TRANSIENT),
        (7, RetryClass.PERMANENT),
        (1000, RetryClass.MANUAL),
        (41003, RetryClass.PERMANENT),
    ],
)
def test_it_classifies_every_code_on_the_media_thumbnails_page(code, retry):
    info = lookup("MediaThumbnails", code)
    assert info.code == code
    assert info.known is True
    assert info.retry is retry
    assert info.meaning
    assert info.action


def test_it_lists_exactly_the_pages_codes_plus_the_gateway_codes_for_media_thumbnails():
    assert set(codes.MEDIA_THUMBNAILS) == MEDIA_THUMBNAILS_PAGE_CODES | GATEWAY_CODES


def test_it_lists_every_documented_gateway_code():
    assert set(codes.GATEWAY) == GATEWAY_CODES


@pytest.mark.parametrize("action", ["MediaThumbnails", "DescribeMediaTask"])
def test_it_treats_gateway_100000015_as_transient_in_every_family(action):
    info = lookup(action, 100000015)
    assert info.known is True
    assert info.retry is RetryClass.TRANSIENT


@pytest.mark.parametrize("action", ["MediaThumbnails", "DescribeMediaTask"])
def test_it_treats_gateway_100000005_wrong_signature_as_permanent(action):
    info = lookup(action, 100000005)
    assert info.known is True
    assert "signature wrong" in info.meaning.lower()
    assert info.retry is RetryClass.PERMANENT


def test_it_treats_gateway_100000004_expired_signature_as_manual():
    info = lookup("MediaThumbnails", 100000004)
    assert "expired" in info.meaning.lower()
    assert info.retry is RetryClass.MANUAL


@pytest.mark.parametrize("table", [codes.GATEWAY, codes.MEDIA_THUMBNAILS, codes.DESCRIBE_MEDIA_TASK])
def test_it_keys_every_table_entry_by_its_own_code(table):
    for code, info in table.items():
        assert info.code == code
        assert info.known is True
        assert info.meaning
        assert info.action
        assert info.retry is not RetryClass.NONE


def test_it_keeps_describe_media_tasks_table_separate_from_media_thumbnails():
    assert codes.CATALOGUES["MediaThumbnails"] is codes.MEDIA_THUMBNAILS
    assert codes.CATALOGUES["DescribeMediaTask"] is codes.DESCRIBE_MEDIA_TASK
    # 41003 belongs to MediaThumbnails' page only.
    assert lookup("MediaThumbnails", 41003).known is True
    assert lookup("DescribeMediaTask", 41003).known is False
    assert lookup("DescribeMediaTask", 6).retry is RetryClass.TRANSIENT
    assert "authentication failed" in lookup("DescribeMediaTask", 7).meaning.lower()


def test_it_marks_an_unknown_code_unknown_and_still_describes_it():
    info = lookup("MediaThumbnails", 424242)
    assert info.known is False
    assert info.code == 424242
    assert "424242" in info.meaning
    assert "MediaThumbnails" in info.meaning
    assert info.retry is RetryClass.MANUAL
    assert info.action


def test_it_falls_back_to_gateway_codes_for_an_action_without_a_table():
    assert lookup("StartCDNRecord", 100000005) == codes.GATEWAY[100000005]
    unknown = lookup("StartCDNRecord", 7)
    assert unknown.known is False


def test_it_labels_every_retry_class():
    labels = {retry: retry.label for retry in RetryClass}
    assert set(labels) == {RetryClass.NONE, RetryClass.TRANSIENT, RetryClass.MANUAL, RetryClass.PERMANENT}
    assert all(labels.values())
    assert len(set(labels.values())) == 4
    assert RetryClass.TRANSIENT.value == "transient"
