"""The pure parts of media: link signatures, byte ranges, content checks, settings."""

from __future__ import annotations

import uuid

import pytest

from resolvers.media_route import _range
from services.media import links as media_links
from services.media.codec import MediaDecodeError, duration_seconds, transcode_audio
from services.media.types import MediaRejected, check_upload, detect
from services.platform.crypto import Vault, new_key
from services.platform.settings import SettingsError, parse_settings
from tests.media_samples import browser_recording_webm, jpeg, mp4_video, pdf, voice_note_ogg

KEY = b"k" * 32
MESSAGE = uuid.UUID("3b241101-e2bb-4255-8caf-4136c566a962")


def test_a_signature_covers_message_format_and_expiry():
    path = media_links.signed_path(KEY, MESSAGE, "original", 2_000_000_000)
    query = dict(part.split("=", 1) for part in path.split("?", 1)[1].split("&"))
    assert path.startswith(f"/media/{MESSAGE}?") and "format" not in query
    args = (query["exp"], query["sig"])
    assert media_links.verify(KEY, str(MESSAGE), "original", *args, now=1_900_000_000)
    assert not media_links.verify(KEY, str(uuid.uuid4()), "original", *args, now=1_900_000_000)
    assert not media_links.verify(KEY, str(MESSAGE), "m4a", *args, now=1_900_000_000)
    assert not media_links.verify(
        KEY, str(MESSAGE), "original", "2000000001", query["sig"], now=1_900_000_000
    )
    assert not media_links.verify(b"x" * 32, str(MESSAGE), "original", *args, now=1_900_000_000)
    assert not media_links.verify(KEY, str(MESSAGE), "original", *args, now=2_000_000_000)
    assert not media_links.verify(KEY, str(MESSAGE), "original", None, query["sig"])
    assert not media_links.verify(KEY, str(MESSAGE), "original", "-5", query["sig"])
    with pytest.raises(ValueError):
        media_links.signed_path(KEY, MESSAGE, "flac", 2_000_000_000)


def test_expiry_is_rounded_so_urls_stay_stable():
    assert media_links.expiry(3600, now=1000) == 5400
    assert media_links.expiry(3600, now=1800) == 5400  # the same URL for a quarter hour
    assert media_links.expiry(3600, now=1801) == 6300
    assert media_links.expiry(3600, now=1000) - 1000 >= 3600


def test_websocket_base_urls_become_http():
    assert media_links.absolute("ws://h:1/", "/media/x") == "http://h:1/media/x"
    assert media_links.absolute("wss://h/", "/media/x") == "https://h/media/x"
    assert media_links.absolute("https://h/base/", "/media/x") == "https://h/base/media/x"


def test_the_media_key_is_not_the_webhook_secret():
    vault = Vault(new_key(), "a-webhook-secret")
    assert vault.media_url_key() == Vault(new_key(), "a-webhook-secret").media_url_key()
    assert vault.media_url_key() != Vault(new_key(), "another-secret").media_url_key()
    assert vault.media_url_key().hex() != vault.webhook_secret("media-url:v1")


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=990-2000", 1000, (990, 999)),
        ("bytes=500-", 1000, (500, 999)),
        ("bytes=-100", 1000, (900, 999)),
        ("bytes=-5000", 1000, (0, 999)),
        ("bytes=0-0, 5-9", 1000, (0, 0)),
        ("bytes=1000-", 1000, None),
        ("bytes=-0", 1000, None),
        ("bytes=0-", 0, None),
    ],
)
def test_byte_ranges(header, size, expected):
    assert _range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=", "bytes=-", "items=0-1", "bytes=a-b"])
def test_malformed_ranges_are_told_apart(header):
    with pytest.raises(ValueError):
        _range(header, 1000)


@pytest.mark.parametrize(
    ("kind", "data", "name", "mime", "file_name"),
    [
        ("audio", voice_note_ogg(), "voz.ogg", "audio/ogg", "voz.ogg"),
        ("audio", browser_recording_webm(), None, "audio/webm", "audio.webm"),
        ("image", jpeg(), "x/../foto.jpg", "image/jpeg", "x_.._foto.jpg"),
        ("video", mp4_video(), "clip.mp4", "video/mp4", "clip.mp4"),
        ("document", pdf(), None, "application/pdf", "documento.pdf"),
        ("document", "Olá, mundo\n".encode(), "leia.txt", "text/plain", "leia.txt"),
        ("document", b"a;b\n1;2\n", "planilha.csv", "text/csv", "planilha.csv"),
    ],
)
def test_uploads_are_typed_by_content(kind, data, name, mime, file_name):
    checked = check_upload(kind, data, name, 10 * 1024 * 1024)
    assert (checked.mime_type, checked.file_name) == (mime, file_name)


@pytest.mark.parametrize(
    ("kind", "data", "needle"),
    [
        ("image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "damaged"),
        ("document", b"MZ" + b"\x90\x00" * 200, "programs"),
        ("document", b"\x00\x01\x02\x03" * 100, "unknown file type"),
        ("audio", jpeg(), "not a recognised audio"),
        ("image", jpeg(), "larger than the limit of 100 bytes"),
    ],
)
def test_bad_uploads(kind, data, needle):
    with pytest.raises(MediaRejected, match=needle):
        check_upload(kind, data, None, 100 if "larger" in needle else 10**6)


def test_text_detection_tolerates_a_character_cut_at_the_limit():
    text = ("ação " * 3000).encode()
    assert detect(text) == "text/plain"
    assert detect(b"\xff\xfe\x00garbage") is None


def test_durations_and_transcodes():
    assert duration_seconds(voice_note_ogg()) == 2
    assert duration_seconds(b"nothing") is None
    assert transcode_audio(voice_note_ogg(), "mp3")[:3] == b"ID3"
    with pytest.raises(MediaDecodeError):
        transcode_audio(jpeg(), "m4a")


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"MEDIA_MAX_BYTES": "lots"}, "MEDIA_MAX_BYTES"),
        ({"MEDIA_MAX_BYTES": "10"}, "MEDIA_MAX_BYTES"),
        ({"MEDIA_URL_TTL_SECONDS": "0"}, "MEDIA_URL_TTL_SECONDS"),
        ({"MEDIA_S3_BUCKET": "Not_A_Bucket"}, "MEDIA_S3_BUCKET"),
        (
            {"MEDIA_S3_BUCKET": "media", "MEDIA_S3_ENDPOINT_URL": "minio:9000"},
            "MEDIA_S3_ENDPOINT_URL",
        ),
        ({"MEDIA_S3_BUCKET": "media", "MEDIA_S3_REGION": "Sao Paulo"}, "MEDIA_S3_REGION"),
        ({"MEDIA_S3_BUCKET": "media", "MEDIA_S3_ACCESS_KEY_ID": "k"}, "MEDIA_S3_SECRET_ACCESS_KEY"),
        ({"MEDIA_S3_ENDPOINT_URL": "http://minio:9000"}, "MEDIA_S3_BUCKET"),
    ],
)
def test_media_settings_name_the_wrong_variable(env, name):
    with pytest.raises(SettingsError, match=name):
        parse_settings(env)


def test_media_settings():
    settings = parse_settings(
        {
            "MEDIA_MAX_BYTES": "1048576",
            "MEDIA_URL_TTL_SECONDS": "600",
            "MEDIA_S3_BUCKET": "atendimento-media",
            "MEDIA_S3_ENDPOINT_URL": "http://minio:9000/",
            "MEDIA_S3_REGION": "sa-east-1",
            "MEDIA_S3_ACCESS_KEY_ID": "id",
            "MEDIA_S3_SECRET_ACCESS_KEY": "secret",
        }
    )
    assert (settings.media_max_bytes, settings.media_url_ttl_seconds) == (1048576, 600)
    assert (settings.media_s3_bucket, settings.media_s3_endpoint_url, settings.media_s3_region) == (
        "atendimento-media",
        "http://minio:9000",
        "sa-east-1",
    )
    assert "secret" not in repr(settings)
    defaults = parse_settings({})
    assert defaults.media_s3_bucket is None and defaults.media_max_bytes == 64 * 1024 * 1024
