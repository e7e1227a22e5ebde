"""Real media files made in the tests with PyAV: a voice note (OGG/Opus), a browser recording
(WebM/Opus), a WAV, a JPEG, a PNG-free tiny video (MP4) and a minimal PDF. Small, but every byte
is a real, decodable file."""

from __future__ import annotations

import array
import io
import math
from fractions import Fraction
from functools import cache

import av

RATE = 48000
FRAME = 960  # 20 ms of Opus


def _tone(samples: int, start: int) -> bytes:
    wave = array.array(
        "h", (int(6000 * math.sin(2 * math.pi * 440 * (start + i) / RATE)) for i in range(samples))
    )
    return wave.tobytes()


def _audio(container: str, codec: str, seconds: float) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=container) as target:
        stream = target.add_stream(codec, rate=RATE)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        position = 0
        while position < int(seconds * RATE):
            frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
            frame.planes[0].update(_tone(FRAME, position))
            frame.sample_rate = RATE
            frame.pts = position
            position += FRAME
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    return out.getvalue()


@cache
def voice_note_ogg(seconds: float = 1.5) -> bytes:
    """A WhatsApp-style voice note: Opus in Ogg, mono, 48 kHz."""
    return _audio("ogg", "libopus", seconds)


@cache
def browser_recording_webm() -> bytes:
    """What Chrome's MediaRecorder makes: Opus in WebM."""
    return _audio("webm", "libopus", 1.0)


@cache
def recording_wav() -> bytes:
    return _audio("wav", "pcm_s16le", 0.5)


@cache
def jpeg(width: int = 32, height: int = 24) -> bytes:
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
    codec.time_base = Fraction(1, 25)
    frame = av.VideoFrame(width, height, "rgb24")
    row = bytes([220, 40, 40] * width) + bytes(frame.planes[0].line_size - width * 3)
    frame.planes[0].update(row * height)
    packets = codec.encode(frame.reformat(format="yuvj420p")) + codec.encode(None)
    return b"".join(bytes(p) for p in packets)


@cache
def mp4_video() -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as target:
        stream = target.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for index in range(5):
            frame = av.VideoFrame(32, 32, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 40 % 256]) * plane.buffer_size)
            frame.pts = index
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    return out.getvalue()


def pdf(text: str = "Nota fiscal 4821") -> bytes:
    """A minimal, valid one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)
