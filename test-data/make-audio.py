#!/usr/bin/env python3
"""Writes the small WAVs in test-data/audio/ (Python standard library only; deterministic).

Each covers one decoding path of ssmtk's WAV reader: bit depth, channel count, sample rate, float.
"""
import math
import os
import struct
import wave

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "audio")


def tone(rate, seconds, freq, amp=0.5, chirp_to=None):
    n = int(rate * seconds)
    out = []
    phase = 0.0
    for i in range(n):
        f = freq if chirp_to is None else freq + (chirp_to - freq) * i / n
        phase += 2 * math.pi * f / rate
        out.append(amp * math.sin(phase))
    return out


def pcm(path, rate, bits, channels):
    """channels: list of per-channel sample lists in [-1, 1]."""
    frames = bytearray()
    for i in range(len(channels[0])):
        for ch in channels:
            x = max(-1.0, min(1.0, ch[i]))
            if bits == 8:
                frames += struct.pack("<B", int(round(x * 127)) + 128)
            elif bits == 16:
                frames += struct.pack("<h", int(round(x * 32767)))
            elif bits == 24:
                frames += struct.pack("<i", int(round(x * 8388607)))[:3]
            else:
                frames += struct.pack("<i", int(round(x * 2147483647)))
    with wave.open(path, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(bits // 8)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def float32(path, rate, samples):
    # wave writes PCM only; IEEE float (format code 3) needs its own header.
    data = b"".join(struct.pack("<f", x) for x in samples)
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def main():
    os.makedirs(OUT, exist_ok=True)
    pcm(os.path.join(OUT, "tone-16k-16bit.wav"), 16000, 16, [tone(16000, 0.5, 440)])
    pcm(os.path.join(OUT, "chirp-8k-8bit.wav"), 8000, 8, [tone(8000, 0.5, 200, chirp_to=1500)])
    pcm(os.path.join(OUT, "stereo-16k-24bit.wav"), 16000, 24, [tone(16000, 0.4, 330), tone(16000, 0.4, 660, amp=0.25)])
    pcm(os.path.join(OUT, "tone-22k-32bit.wav"), 22050, 32, [tone(22050, 0.3, 523.25)])
    float32(os.path.join(OUT, "chirp-16k-float.wav"), 16000, tone(16000, 0.3, 1000, amp=0.8, chirp_to=300))


if __name__ == "__main__":
    main()
