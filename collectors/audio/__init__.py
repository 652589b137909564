"""Call-audio analysis: sources -> VAD -> facts (``monitor.record.AudioFacts``).

Needs the ``[audio]`` extra (numpy, soxr, webrtcvad-wheels, PyAudio, Pillow); webrtcvad,
PyAudio, soxr and Pillow are imported only when used and raise AudioError when missing.
"""

from __future__ import annotations

from collectors.audio.analysis import (
    Analysis,
    AnalysisSettings,
    analyze,
    analyze_detailed,
    analyze_files,
    analyze_recording,
    holds_relative,
)
from collectors.audio.rings import CADENCES, Cadence
from collectors.audio.source import (
    DEFAULT_PARTIES,
    DeviceSpec,
    Recording,
    iter_device_blocks,
    load_recording,
    record_device,
)
from collectors.audio.vad import VadSettings

__all__ = [
    "CADENCES",
    "DEFAULT_PARTIES",
    "Analysis",
    "AnalysisSettings",
    "Cadence",
    "DeviceSpec",
    "Recording",
    "VadSettings",
    "analyze",
    "analyze_detailed",
    "analyze_files",
    "analyze_recording",
    "holds_relative",
    "iter_device_blocks",
    "load_recording",
    "record_device",
]
