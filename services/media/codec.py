"""Audio and video through PyAV (FFmpeg's libraries, bundled in the `av` wheels: a fresh
machine needs nothing else). Every function is synchronous and CPU-bound: call it with
`asyncio.to_thread`.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tempfile
from typing import cast

import av

log = logging.getLogger("atendimento.media")

# AAC's standard sampling rates; anything else is resampled to 48 kHz.
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
RENDITIONS = {
    # format: (codec, container, container options, MIME type)
    "m4a": ("aac", "mp4", {"movflags": "+faststart"}, "audio/mp4"),
    "mp3": ("libmp3lame", "mp3", {}, "audio/mpeg"),
}


class MediaDecodeError(ValueError):
    """The bytes are not a playable file of the kind they claim to be."""


def check_decodes(data: bytes, kind: str) -> None:
    """Decode the first frame of the first `kind` ("audio", "video") stream, or raise.

    Catches corrupt and truncated uploads whose first bytes look right.
    """
    try:
        with av.open(io.BytesIO(data), "r") as container:
            streams = container.streams.audio if kind == "audio" else container.streams.video
            if not streams:
                raise MediaDecodeError(f"the file has no {kind}")
            for _frame in container.decode(streams[0]):
                return
    except MediaDecodeError:
        raise
    except (av.FFmpegError, EOFError, ValueError, IndexError) as error:
        raise MediaDecodeError(str(error)) from None
    raise MediaDecodeError(f"the file has no decodable {kind}")


def duration_seconds(data: bytes) -> int | None:
    """Length of an audio or video file in whole seconds (rounded up), None when unknown."""
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if container.duration:
                return max(1, math.ceil(container.duration / av.time_base))
            stream = (container.streams.audio or container.streams.video or [None])[0]
            if stream is not None and stream.duration and stream.time_base:
                return max(1, math.ceil(float(stream.duration * stream.time_base)))
    except (av.FFmpegError, EOFError, ValueError):
        return None
    return None


def transcode_audio(data: bytes, fmt: str) -> bytes:
    """The first audio stream of `data` re-encoded as `fmt` ("m4a": AAC in MP4, "mp3")."""
    codec, container_format, options, _mime = RENDITIONS[fmt]
    with tempfile.TemporaryDirectory(prefix="atendimento-") as folder:
        # A real file: MP4's faststart (index first, so playback starts at once) rewrites it.
        path = os.path.join(folder, f"rendition.{fmt}")
        try:
            with av.open(io.BytesIO(data), "r") as source:
                if not source.streams.audio:
                    raise MediaDecodeError("the file has no audio")
                incoming = source.streams.audio[0]
                with av.open(path, "w", format=container_format, options=options) as target:
                    rate = incoming.rate if incoming.rate in AAC_RATES else 48000
                    stream = cast(av.AudioStream, target.add_stream(codec, rate=rate))
                    mono = (incoming.channels or 1) == 1
                    stream.layout = "mono" if mono else "stereo"
                    stream.bit_rate = 64000 if mono else 96000
                    for frame in source.decode(incoming):
                        frame.pts = None  # the encoder re-times; inputs may restart at zero
                        for packet in stream.encode(frame):
                            target.mux(packet)
                    for packet in stream.encode(None):
                        target.mux(packet)
        except MediaDecodeError:
            raise
        except (av.FFmpegError, EOFError, ValueError, IndexError) as error:
            raise MediaDecodeError(str(error)) from None
        with open(path, "rb") as rendition:
            return rendition.read()
