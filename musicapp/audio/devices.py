"""Listing audio devices (PortAudio via sounddevice) with clear errors when there are none."""

from __future__ import annotations

from dataclasses import dataclass

from musicapp.errors import AudioDeviceError


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device as the user sees it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_sample_rate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def to_dict(self) -> dict:
        """A JSON-serialisable view."""
        return dict(self.__dict__)


def _sd():
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise AudioDeviceError(
            f"audio system unavailable: PortAudio could not be loaded ({exc}); "
            "install the PortAudio library (Debian/Ubuntu: libportaudio2)"
        ) from exc
    return sd


def refresh() -> None:
    """Re-scan devices (PortAudio enumerates only at initialisation)."""
    sd = _sd()
    sd._terminate()
    sd._initialize()


def list_devices() -> list[DeviceInfo]:
    """All devices PortAudio knows."""
    sd = _sd()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"cannot query audio devices: {exc}") from exc
    out = []
    for d in devices:
        out.append(
            DeviceInfo(
                index=int(d["index"]),
                name=str(d["name"]),
                hostapi=str(hostapis[d["hostapi"]]["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_sample_rate=float(d["default_samplerate"]),
                is_default_input=d["index"] == default_in,
                is_default_output=d["index"] == default_out,
            )
        )
    return out


def list_input_devices() -> list[DeviceInfo]:
    """Devices that can record."""
    return [d for d in list_devices() if d.max_input_channels > 0]


def list_output_devices() -> list[DeviceInfo]:
    """Devices that can play."""
    return [d for d in list_devices() if d.max_output_channels > 0]


def resolve_device(device: int | str | None, kind: str) -> DeviceInfo:
    """Find the input or output device meant by an index, a name fragment, or ``None`` (default).

    Raises:
        AudioDeviceError: no such device, or no device of that kind at all.
    """
    candidates = list_input_devices() if kind == "input" else list_output_devices()
    if not candidates:
        raise AudioDeviceError(
            f"no audio {kind} device found: connect a device or check the system audio settings"
        )
    if device is None:
        for d in candidates:
            if d.is_default_input if kind == "input" else d.is_default_output:
                return d
        return candidates[0]
    if isinstance(device, int) or (isinstance(device, str) and device.isdigit()):
        for d in candidates:
            if d.index == int(device):
                return d
        raise AudioDeviceError(f"audio {kind} device #{device} does not exist (or has no {kind} channels)")
    matches = [d for d in candidates if str(device).lower() in d.name.lower()]
    if not matches:
        names = ", ".join(d.name for d in candidates)
        raise AudioDeviceError(f"no audio {kind} device matches {device!r}; available: {names}")
    return matches[0]


def close_stream(stream) -> None:
    """Stop and close a PortAudio stream, ignoring errors from a device that has already vanished."""
    if stream is None:
        return
    try:
        stream.stop()
        stream.close()
    except Exception:
        pass
