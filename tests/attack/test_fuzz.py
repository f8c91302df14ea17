"""Hypothesis fuzz of the CLI's argument space and of WAV/FLAC headers (short, for CI).

The long run of the same cases is ``python -m tests.attack.long_fuzz --cases 10000``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attack import fuzzcases as fc

SHORT = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

_number_text = st.one_of(
    st.sampled_from(fc.NASTY_VALUES),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.text(max_size=6),
)


@st.composite
def _cli_case(draw, commands=("chords", "record", "analyze")):
    command = draw(st.sampled_from(commands))
    options = [o for o in fc.NUMERIC_OPTIONS if o[0] == command]
    chosen = draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True))
    values = {option: draw(_number_text) for _, option, _ in chosen}
    return fc.cli_argv(command, values)


@SHORT
@given(argv=_cli_case())
def test_cli_numeric_options_parse_or_refuse_cleanly(argv):
    fc.check_cli_parse(argv)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(argv=_cli_case(commands=("chords",)))
def test_chords_runs_or_refuses_cleanly(argv):
    fc.check_chords_run(argv)


@SHORT
@given(
    payload=st.integers(0, 4096),
    rate=st.one_of(st.sampled_from([0, 1, 999, 1000, 8000, 44100, 768_000, 768_001, 2**31]),
                   st.integers(0, 2**32 - 1)),
    channels=st.one_of(st.sampled_from([0, 1, 2, 64, 65, 65535]), st.integers(0, 65535)),
    bits=st.sampled_from([0, 1, 7, 8, 12, 16, 24, 32, 64, 65535]),
    fmt_tag=st.sampled_from([0, 1, 2, 3, 6, 7, 0x55, 0xFFFE, 0x1234]),
    data_size=st.one_of(st.none(), st.sampled_from([0, 1, 0xFFFFFFFF]), st.integers(0, 2**32 - 1)),
    riff_size=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
)  # fmt: skip
def test_wav_header_fuzz(payload, rate, channels, bits, fmt_tag, data_size, riff_size):
    with tempfile.TemporaryDirectory() as d:
        p = fc.wav_case(Path(d), payload=payload, rate=rate, channels=channels, bits=bits,
                        fmt_tag=fmt_tag, data_size=data_size, riff_size=riff_size)  # fmt: skip
        fc.check_decode(p)


@pytest.fixture(scope="module")
def flac_seed() -> bytes:
    return fc.base_flac()


@SHORT
@given(
    rate=st.one_of(st.sampled_from([0, 1, 999, 1000, 22050, 655350, 2**20 - 1]), st.integers(0, 2**20 - 1)),
    channels_m1=st.integers(0, 7),
    bps_m1=st.integers(0, 31),
    total=st.one_of(st.sampled_from([0, 1, 11025, 2**36 - 1]), st.integers(0, 2**36 - 1)),
    min_block=st.sampled_from([0, 16, 4096, 65535]),
    max_block=st.sampled_from([0, 16, 4096, 65535]),
)  # fmt: skip
def test_flac_streaminfo_fuzz(flac_seed, rate, channels_m1, bps_m1, total, min_block, max_block):
    with tempfile.TemporaryDirectory() as d:
        p = fc.flac_case(Path(d), flac_seed, rate=rate, channels_m1=channels_m1, bps_m1=bps_m1,
                         total=total, min_block=min_block, max_block=max_block)  # fmt: skip
        fc.check_decode(p)
