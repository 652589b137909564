"""VAD speed: ringwatch's speech detection keeps >= 85 % of a bare webrtcvad loop's speed."""

from __future__ import annotations

import pytest

from collectors.audio.bench import bench


@pytest.mark.slow
def test_speech_detection_is_close_to_a_bare_webrtcvad_loop() -> None:
    result = bench(seconds=600.0, rate=8000, parties=2, repeat=5)
    assert result.relative >= 0.85, f"{100 * result.relative:.1f}% of bare webrtcvad"
    assert result.ours_realtime / 2 >= 4000  # per stereo call, x real time
