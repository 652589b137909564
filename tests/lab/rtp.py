"""A pure-Python RTP/pcap writer: an Asterisk prompt (8 kHz 16-bit WAV) as G.711 mu-law RTP
packets in a pcap file, which SIPp plays into a call (``play_pcap_audio``)."""

from __future__ import annotations

import struct
import wave
from array import array
from pathlib import Path

__all__ = ["mulaw", "wav_to_pcap"]

_BIAS = 0x84
_CLIP = 32635


def _mulaw_byte(sample: int) -> int:
    """One 16-bit linear sample -> G.711 mu-law (ITU-T G.711, as Asterisk's ulaw.c)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, _CLIP) + _BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def mulaw(samples: array[int]) -> bytes:
    return bytes(_mulaw_byte(s) for s in samples)


def _checksum_free_udp(payload: bytes, sport: int, dport: int) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _ipv4(payload: bytes, src: bytes, dst: bytes, ident: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0, 64, 17, 0, src, dst
    )
    total = sum(struct.unpack("!10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return header[:10] + struct.pack("!H", ~total & 0xFFFF) + header[12:] + payload


def wav_to_pcap(
    wav_path: Path, out: Path, *, lead_silence: float = 0.0, ptime_ms: int = 20
) -> float:
    """Write ``wav_path`` (mono, 8 kHz, 16-bit) as RTP (PT 0) in an Ethernet pcap, after
    ``lead_silence`` seconds of mu-law silence. Returns the audio's length in seconds."""
    with wave.open(str(wav_path)) as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, 8000):
            raise ValueError(f"{wav_path}: need mono 16-bit 8 kHz (sox IN -r 8000 -c 1 -b 16 OUT)")
        pcm = array("h", w.readframes(w.getnframes()))
    step = 8 * ptime_ms
    payload = b"\xff" * int(lead_silence * 8000) + mulaw(pcm)
    payload += b"\xff" * (-len(payload) % step)
    src, dst = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])
    frames = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # pcap, Ethernet
    for n, start in enumerate(range(0, len(payload), step)):
        rtp = struct.pack("!BBHII", 0x80, 0x80 if n == 0 else 0, n & 0xFFFF, start, 0x1AB5CAFE)
        udp = _checksum_free_udp(rtp + payload[start : start + step], 6000, 6002)
        frame = b"\x00" * 12 + b"\x08\x00" + _ipv4(udp, src, dst, n)
        at = n * ptime_ms / 1000.0
        frames.append(
            struct.pack("<IIII", int(at), round((at % 1) * 1e6), len(frame), len(frame)) + frame
        )
    out.write_bytes(b"".join(frames))
    return len(payload) / 8000.0
