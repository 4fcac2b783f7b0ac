"""ZEGO's request signature (SignatureVersion 2.0) and completion-callback signature."""

import hashlib
import re
import time

import pytest

from dashboard.zego import signing

# ZEGO's official known-answer vector (Go sample on the "accessing server APIs" page).
OFFICIAL_APP_ID = 12345
OFFICIAL_NONCE = "4fd24687296dd9f3"
OFFICIAL_SECRET = "9193cc662a4c0ec135ec71fb57194b38"
OFFICIAL_TIMESTAMP = 1615186943
OFFICIAL_SIGNATURE = "43e5cfcca828314675f91b001390566a"


def test_it_reproduces_zegos_official_request_signature_vector():
    assert (
        signing.request_signature(OFFICIAL_APP_ID, OFFICIAL_NONCE, OFFICIAL_SECRET, OFFICIAL_TIMESTAMP)
        == OFFICIAL_SIGNATURE
    )


def test_it_signs_appid_nonce_secret_timestamp_concatenated_in_that_order():
    expected = hashlib.md5(b"12345" + b"4fd24687296dd9f3" + b"9193cc662a4c0ec135ec71fb57194b38" + b"1615186943")
    assert expected.hexdigest() == OFFICIAL_SIGNATURE
    # Any other order gives a different signature, so the order is really what the vector pins down.
    swapped = signing.request_signature(OFFICIAL_APP_ID, OFFICIAL_SECRET, OFFICIAL_NONCE, OFFICIAL_TIMESTAMP)
    assert swapped != OFFICIAL_SIGNATURE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("app_id", 12346),
        ("nonce", "4fd24687296dd9f4"),
        ("server_secret", "9193cc662a4c0ec135ec71fb57194b39"),
        ("timestamp", 1615186944),
    ],
)
def test_it_changes_the_signature_when_any_signed_value_changes(field, value):
    args = {
        "app_id": OFFICIAL_APP_ID,
        "nonce": OFFICIAL_NONCE,
        "server_secret": OFFICIAL_SECRET,
        "timestamp": OFFICIAL_TIMESTAMP,
    }
    args[field] = value
    assert signing.request_signature(**args) != OFFICIAL_SIGNATURE


def test_it_returns_32_lowercase_hex_characters():
    signature = signing.request_signature(987654321, "00ff00ff00ff00ff", "ABCDEF", 1700000000)
    assert re.fullmatch(r"[0-9a-f]{32}", signature)


def test_it_makes_a_nonce_of_16_lowercase_hex_characters():
    for _ in range(200):
        nonce = signing.new_nonce()
        assert re.fullmatch(r"[0-9a-f]{16}", nonce)
        assert signing.NONCE_RE.match(nonce)


def test_it_makes_a_fresh_nonce_each_time():
    nonces = [signing.new_nonce() for _ in range(500)]
    assert len(set(nonces)) == len(nonces)


@pytest.mark.parametrize(
    ("candidate", "ok"),
    [
        ("4fd24687296dd9f3", True),
        ("4FD24687296DD9F3", False),
        ("4fd24687296dd9f", False),
        ("4fd24687296dd9f30", False),
        ("4fd24687296dd9g3", False),
        ("12345678901234", False),
    ],
)
def test_it_accepts_only_16_lowercase_hex_characters_as_a_nonce(candidate, ok):
    assert bool(signing.NONCE_RE.match(candidate)) is ok


def test_it_uses_unix_seconds_for_the_timestamp():
    before = int(time.time())
    stamp = signing.now_timestamp()
    after = int(time.time())
    assert isinstance(stamp, int)
    assert before <= stamp <= after


def test_it_declares_signature_version_2_0():
    assert signing.SIGNATURE_VERSION == "2.0"


def test_it_matches_signatures_only_when_equal():
    assert signing.signature_matches(OFFICIAL_SIGNATURE, "43e5cfcca828314675f91b001390566a")
    assert not signing.signature_matches(OFFICIAL_SIGNATURE, "43e5cfcca828314675f91b001390566b")
    assert not signing.signature_matches(OFFICIAL_SIGNATURE, "")
    assert not signing.signature_matches(OFFICIAL_SIGNATURE, OFFICIAL_SIGNATURE.upper())


def test_it_reproduces_zegos_official_callback_signature_vector():
    assert signing.callback_signature("secret", "1470820198", "123412") == ("5bd59fd62953a8059fb7eaba95720f66d19e4517")


def test_it_accepts_numeric_callback_timestamp_and_nonce():
    assert signing.callback_signature("secret", 1470820198, 123412) == ("5bd59fd62953a8059fb7eaba95720f66d19e4517")


def test_it_sorts_the_callback_values_as_strings_before_hashing():
    # "123412" < "1470820198" < "secret" as strings.
    expected = hashlib.sha1(b"123412" + b"1470820198" + b"secret").hexdigest()
    assert signing.callback_signature("secret", "1470820198", "123412") == expected
    # Unsorted concatenation would give another digest, so the sorting is what is being checked.
    assert hashlib.sha1(b"secret" + b"1470820198" + b"123412").hexdigest() != expected


def test_it_changes_the_callback_signature_with_the_secret():
    assert signing.callback_signature("secreT", "1470820198", "123412") != ("5bd59fd62953a8059fb7eaba95720f66d19e4517")
