"""The snapshot callback's parsing, signature check and masking (dashboard/zego/callbacks.py), without Django."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from dashboard.zego import callbacks
from dashboard.zego.callbacks import MAX_BODY_BYTES, CallbackRefused, Refusal
from dashboard.zego.signing import callback_signature
from dashboard.zego.types import Vendor

# ZEGO's official vector (callback signature page).
VECTOR = {"timestamp": "1470820198", "nonce": "123412", "signature": "5bd59fd62953a8059fb7eaba95720f66d19e4517"}


def payload(**overrides) -> dict:
    data = {
        "appid": "12345",
        "event": "snapshot",
        **VECTOR,
        "task_id": "1500030200-procedurev2-abcdef",
        "field_id": "1397757897438985100",
        "vendor": "tencent",
        "snapshot_pic_list": json.dumps(
            [
                {"url": "https://vod.example.com/1.jpg", "offset": 1000},
                {"url": "https://vod.example.com/2.jpg", "offset": 2500.0},
            ]
        ),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def refusal(fn, *args, **kwargs) -> CallbackRefused:
    with pytest.raises(CallbackRefused) as caught:
        fn(*args, **kwargs)
    return caught.value


def test_it_accepts_zegos_official_vector_within_ten_minutes_of_its_timestamp():
    signed = callbacks.signed_part(payload())
    callbacks.verify(signed, secret="secret", now=1470820198 + 600)
    callbacks.verify(signed, secret="secret", now=1470820198 - 600)


def test_it_refuses_the_official_vector_with_another_secret_or_ten_minutes_and_a_second_off():
    signed = callbacks.signed_part(payload())
    assert refusal(callbacks.verify, signed, secret="Secret", now=1470820198).refusal is Refusal.BAD_SIGNATURE
    assert refusal(callbacks.verify, signed, secret="secret", now=1470820198 + 601).refusal is Refusal.STALE
    assert refusal(callbacks.verify, signed, secret="secret", now=1470820198 - 601).refusal is Refusal.STALE


@pytest.mark.parametrize("timestamp", ["1470820198", 1470820198], ids=["string", "number"])
@pytest.mark.parametrize("nonce", ["123412", 123412], ids=["nonce-string", "nonce-number"])
def test_a_timestamp_or_nonce_sent_as_a_number_is_checked_as_its_digits(timestamp, nonce):
    signed = callbacks.signed_part(payload(timestamp=timestamp, nonce=nonce))
    assert (signed.timestamp, signed.nonce) == ("1470820198", "123412")
    callbacks.verify(signed, secret="secret", now=1470820198)


def test_an_upper_case_signature_is_the_same_signature():
    signed = callbacks.signed_part(payload(signature=VECTOR["signature"].upper()))
    callbacks.verify(signed, secret="secret", now=1470820198)


@pytest.mark.parametrize(
    ("overrides", "field", "refused"),
    [
        ({"timestamp": None}, "timestamp", Refusal.MISSING_FIELD),
        ({"nonce": ""}, "nonce", Refusal.MISSING_FIELD),
        ({"signature": None}, "signature", Refusal.MISSING_FIELD),
        ({"timestamp": "1470820198.5"}, "timestamp", Refusal.BAD_FIELD),
        ({"timestamp": 1470820198.0}, "timestamp", Refusal.BAD_FIELD),
        ({"timestamp": -5}, "timestamp", Refusal.BAD_FIELD),
        ({"timestamp": True}, "timestamp", Refusal.BAD_FIELD),
        ({"timestamp": "9" * 5000}, "timestamp", Refusal.BAD_FIELD),
        ({"nonce": "a b"}, "nonce", Refusal.BAD_FIELD),
        ({"nonce": ["123412"]}, "nonce", Refusal.BAD_FIELD),
        ({"signature": "5bd59fd6"}, "signature", Refusal.BAD_FIELD),
        ({"signature": "z" * 40}, "signature", Refusal.BAD_FIELD),
    ],
)
def test_a_missing_or_malformed_signed_value_is_refused_naming_it(overrides, field, refused):
    caught = refusal(callbacks.signed_part, payload(**overrides))
    assert caught.refusal is refused and field in caught.message
    assert caught.task_id == "1500030200-procedurev2-abcdef"  # named in the list even so


def test_it_reads_the_screenshots_from_the_json_array_in_a_string_offsets_in_milliseconds():
    news = callbacks.snapshot(payload())
    assert news.vendor is Vendor.TENCENT and news.task_id == "1500030200-procedurev2-abcdef"
    assert news.file_id == "1397757897438985100" and news.app_id == "12345"
    assert news.pictures == (
        callbacks.Picture("https://vod.example.com/1.jpg", 1000),
        callbacks.Picture("https://vod.example.com/2.jpg", 2500),
    )


def test_it_reads_huawei_without_offsets_and_an_array_sent_as_an_array():
    news = callbacks.snapshot(
        payload(
            vendor="hw",
            field_id=None,
            snapshot_pic_list=[{"url": "snapshots/abc/1.png"}, {"url": "snapshots/abc/2.png"}],
        )
    )
    assert news.vendor is Vendor.HUAWEI
    assert [(p.url, p.offset_ms) for p in news.pictures] == [
        ("snapshots/abc/1.png", None),
        ("snapshots/abc/2.png", None),
    ]


@pytest.mark.parametrize(
    ("pictures", "refused", "says"),
    [
        ("[{", Refusal.BAD_PICTURE_LIST, "JSON array in a string"),
        ("not json", Refusal.BAD_PICTURE_LIST, "JSON array in a string"),
        ('{"url": "https://a/1.jpg"}', Refusal.BAD_PICTURE_LIST, "JSON array"),
        ("[1]", Refusal.BAD_PICTURE_LIST, "item 1"),
        ('[{"offset": 1}]', Refusal.BAD_PICTURE_LIST, "item 1: url"),
        ('[{"url": "javascript:alert(1)"}]', Refusal.BAD_PICTURE_LIST, "http(s)"),
        ('[{"url": "ftp://host/1.jpg"}]', Refusal.BAD_PICTURE_LIST, "http(s)"),
        ('[{"url": "https://a/1.jpg", "offset": -1}]', Refusal.BAD_PICTURE_LIST, "offset"),
        ('[{"url": "https://a/1.jpg", "offset": "soon"}]', Refusal.BAD_PICTURE_LIST, "offset"),
        ('[{"url": "https://a/1.jpg", "offset": true}]', Refusal.BAD_PICTURE_LIST, "offset"),
        ('[{"url": "https://a/1.jpg", "offset": 1e400}]', Refusal.BAD_PICTURE_LIST, "offset"),
        (json.dumps([{"url": f"https://a/{n}.jpg"} for n in range(1001)]), Refusal.BAD_PICTURE_LIST, "more than"),
        (None, Refusal.MISSING_FIELD, "snapshot_pic_list is missing"),
    ],
)
def test_a_bad_snapshot_pic_list_is_refused_saying_what_is_wrong(pictures, refused, says):
    caught = refusal(callbacks.snapshot, payload(snapshot_pic_list=pictures))
    assert caught.refusal is refused and says in caught.message


@pytest.mark.parametrize(
    ("overrides", "refused", "says"),
    [
        ({"event": "record"}, Refusal.BAD_FIELD, "event"),
        ({"event": None}, Refusal.MISSING_FIELD, "event"),
        ({"vendor": "aws"}, Refusal.BAD_FIELD, "tencent or hw"),
        ({"vendor": None}, Refusal.MISSING_FIELD, "vendor"),
        ({"task_id": None}, Refusal.MISSING_FIELD, "task_id"),
        ({"task_id": 42}, Refusal.BAD_FIELD, "task_id"),
        ({"task_id": "x" * 256}, Refusal.BAD_FIELD, "task_id"),
    ],
)
def test_a_missing_or_bad_business_field_is_refused(overrides, refused, says):
    caught = refusal(callbacks.snapshot, payload(**overrides))
    assert caught.refusal is refused and says in caught.message


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text,
        lambda text: quote_plus(text),
        lambda text: quote(text, safe=""),
        lambda text: f"  {text}\n",
    ],
    ids=["plain", "quote_plus", "quote", "padded"],
)
def test_it_decodes_url_encoded_json_and_plain_json(encode):
    data = payload(snapshot_pic_list=json.dumps([{"url": "https://a.example/x%20y+z.jpg?sig=a%2Bb", "offset": 0}]))
    decoded = callbacks.decode_body(encode(json.dumps(data)).encode())
    assert decoded == data


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (b"", Refusal.EMPTY),
        (b" \n", Refusal.EMPTY),
        (b"x" * (MAX_BODY_BYTES + 1), Refusal.OVERSIZED),
        (b"\xff\xfe{}", Refusal.NOT_JSON),
        (b"hello", Refusal.NOT_JSON),
        (b"%7B%22a%22", Refusal.NOT_JSON),
        (b"[1, 2]", Refusal.NOT_JSON),
        (b'"snapshot"', Refusal.NOT_JSON),
        (b"[" * 100_000, Refusal.NOT_JSON),
        (b'{"a": ' * 30_000 + b"1" + b"}" * 30_000, Refusal.NOT_JSON),
        (b'{"n": ' + b"9" * 5000 + b"}", Refusal.NOT_JSON),
    ],
    ids=[
        "empty",
        "blank",
        "oversized",
        "not-utf8",
        "text",
        "cut-encoding",
        "array",
        "string",
        "deep",
        "deep-obj",
        "huge-int",
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(body, refused):
    assert refusal(callbacks.decode_body, body).refusal is refused


def test_the_same_news_has_one_content_key_and_each_signature_one_delivery_key():
    first = callbacks.snapshot(payload())
    again = callbacks.snapshot(payload(timestamp="1470820199", nonce="999999", signature="0" * 40))
    other = callbacks.snapshot(payload(snapshot_pic_list="[]"))
    assert first.content_key == again.content_key != other.content_key
    key = callbacks.signed_part(payload()).delivery_key
    assert key == callbacks.signed_part(payload(signature=VECTOR["signature"].upper())).delivery_key
    assert key != callbacks.signed_part(payload(nonce="123413")).delivery_key
    assert VECTOR["signature"] not in key and "secret" not in repr(callbacks.signed_part(payload()))


def test_the_excerpt_masks_every_signature_and_the_secret_however_written():
    secret = "cb-Secret-42"
    signature = callback_signature(secret, "1470820198", "123412")
    data = payload(
        signature=signature,
        field_id=secret,
        task_id=secret.upper(),
        snapshot_pic_list=json.dumps([{"url": f"https://a/{quote(secret)}.jpg", "note": "\\u0063b-Secret-42"}]),
    )
    for body in (json.dumps(data), quote_plus(json.dumps(data)), "signature=" + signature + "&x=" + signature.upper()):
        text = callbacks.excerpt(body.encode(), secret=secret, signature=signature)
        assert signature not in text.lower() and secret.lower() not in text.lower(), text
        assert "[redacted]" in text


def test_the_excerpt_is_cut_after_masking():
    secret = "s3cr3t-value"
    body = ("x" * 1995 + secret + "y" * 10_000).encode()
    text = callbacks.excerpt(body, secret=secret, limit=2000)
    assert text.startswith("x" * 1995 + "[reda") and "s3cr" not in text and "bytes in all" in text
