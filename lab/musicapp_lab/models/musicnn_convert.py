"""Convert musicnn 0.1.0 TensorFlow checkpoints into the torch modules of
:mod:`musicapp.models.musicnn` (variable names and tensor layouts).

TensorFlow conv kernels are (kh, kw, in, out), torch's (out, in, kh, kw); dense kernels are
(in, out), torch's (out, in). Layers are named in creation order by ``tf.compat.v1.layers``
(``conv2d``, ``conv2d_1``, ...; ``batch_normalization``, ``batch_normalization_1``, ...), which
follows musicnn's ``models.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from musicapp.errors import ModelError

_BN_PARTS = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
             "moving_variance": "running_var"}  # fmt: skip


def _bn(tf_name: str, torch_name: str) -> list[tuple[str, str, str]]:
    return [(f"{tf_name}/{k}", f"{torch_name}.{v}", "vec") for k, v in _BN_PARTS.items()]


def musicnn_name_map() -> list[tuple[str, str, str]]:
    """(TF name, torch name, layout) for the MSD/MTT_musicnn checkpoints."""
    m: list[tuple[str, str, str]] = _bn("batch_normalization", "input_bn")
    blocks = ["timbral.0", "timbral.1", "temporal.0", "temporal.1", "temporal.2"]
    for i, block in enumerate(blocks):
        conv = "conv2d" if i == 0 else f"conv2d_{i}"
        m += [(f"{conv}/kernel", f"{block}.conv.weight", "conv2d"),
              (f"{conv}/bias", f"{block}.conv.bias", "vec")]  # fmt: skip
        m += _bn(f"batch_normalization_{i + 1}", f"{block}.bn")
    for j in range(3):
        conv = f"conv2d_{5 + j}"
        m += [(f"{conv}/kernel", f"mid.{j}.conv.weight", "conv1d"),
              (f"{conv}/bias", f"mid.{j}.conv.bias", "vec")]  # fmt: skip
        m += _bn(f"batch_normalization_{6 + j}", f"mid.{j}.bn")
    m += _bn("batch_normalization_9", "pool_bn")
    m += [("dense/kernel", "dense.weight", "dense"), ("dense/bias", "dense.bias", "vec")]
    m += _bn("batch_normalization_10", "dense_bn")
    m += [("dense_1/kernel", "out.weight", "dense"), ("dense_1/bias", "out.bias", "vec")]
    return m


def vgg_name_map() -> list[tuple[str, str, str]]:
    """(TF name, torch name, layout) for the MSD/MTT_vgg checkpoints."""
    m: list[tuple[str, str, str]] = _bn("batch_normalization", "input_bn")
    for i in range(5):
        m += [(f"{i + 1}CNN/kernel", f"convs.{i}.weight", "conv2d"),
              (f"{i + 1}CNN/bias", f"convs.{i}.bias", "vec")]  # fmt: skip
        m += _bn(f"batch_normalization_{i + 1}", f"bns.{i}")
    m += [("dense/kernel", "out.weight", "dense"), ("dense/bias", "out.bias", "vec")]
    return m


def _convert(value: np.ndarray, layout: str) -> np.ndarray:
    if layout == "conv2d":  # (kh, kw, in, out) -> (out, in, kh, kw)
        return value.transpose(3, 2, 0, 1)
    if layout == "conv1d":  # (7, C_in, 1, C_out) -> (C_out, C_in, 7)
        return value[:, :, 0, :].transpose(2, 1, 0)
    if layout == "dense":  # (in, out) -> (out, in)
        return value.T
    return value


def convert_variables(tf_vars: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """Map the model variables of checkpoint ``name`` to a torch state dict (float32, contiguous).

    Raises :class:`ModelError` when a variable is missing or one is left unused.
    """
    mapping = vgg_name_map() if name.endswith("vgg") else musicnn_name_map()
    missing = [tf for tf, _, _ in mapping if tf not in tf_vars]
    unused = sorted(set(tf_vars) - {tf for tf, _, _ in mapping})
    if missing or unused:
        raise ModelError(
            f"{name}: checkpoint variables do not match the architecture "
            f"(missing {missing[:5]}, unused {unused[:5]})"
        )
    return {
        torch_name: np.ascontiguousarray(_convert(tf_vars[tf], layout), dtype=np.float32)
        for tf, torch_name, layout in mapping
    }


# --------------------------------------------------------------------------- conversion command

ISC_LICENCE = """\
Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. Code developed by Jordi Pons (www.jordipons.me).

Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted, provided that the above copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE."""  # noqa: E501

# Test-set figures published with the checkpoints (experiment.result in the musicnn 0.1.0 wheel),
# used when the source folder lacks that file.
REPORTED_METRICS: dict[str, tuple[float, float]] = {
    "MSD_musicnn": (0.8801927178090048, 0.28906431196994925),
    "MTT_musicnn": (0.9066769123674747, 0.38310571748763617),
    "MSD_vgg": (0.8767615259520635, 0.28192480359001065),
    "MTT_vgg": (0.9030268990308291, 0.382267685217377),
}
CARD_NAME = "MUSICNN_MODEL_CARD.md"
CHECKPOINT_FILES = (".index", ".data-00000-of-00001", "experiment.result")


def locate_checkpoints(src: Path, workdir: Path) -> dict[str, Path]:
    """Find the four musicnn checkpoint folders under ``src`` (a folder, or the musicnn wheel —
    from which only the checkpoint files are extracted into ``workdir``)."""
    import zipfile

    from musicapp.models.musicnn import MODEL_NAMES

    if not src.exists():
        raise ModelError(f"{src}: no such file or folder")
    if src.is_file():
        if not zipfile.is_zipfile(src):
            raise ModelError(f"{src}: neither a folder nor a wheel (zip) file")
        with zipfile.ZipFile(src) as zf:
            for member in zf.namelist():
                parts = member.split("/")
                if (len(parts) >= 2 and parts[-2] in MODEL_NAMES
                        and parts[-1] in CHECKPOINT_FILES):  # fmt: skip
                    target = workdir / parts[-2] / parts[-1]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zf.read(member))
        src = workdir
    found: dict[str, Path] = {}
    for name in MODEL_NAMES:
        hits = sorted(p.parent for p in src.rglob(".index") if p.parent.name == name)
        if hits:
            found[name] = hits[0]
    if not found:
        raise ModelError(f"{src}: no musicnn checkpoints (MSD_musicnn/.index ...) found")
    return found


def _reported(folder: Path, name: str) -> tuple[float, float]:
    import re

    result = folder / "experiment.result"
    if result.exists():
        values = [float(v) for v in re.findall(r"AUC:\s*([0-9.]+)", result.read_text())]
        if len(values) >= 2:
            return values[0], values[1]
    return REPORTED_METRICS[name]


def parity_errors(name: str, state: dict[str, np.ndarray], reference: Path) -> dict[str, float]:
    """Max absolute differences between the port and the TensorFlow outputs in ``reference``."""
    import torch

    from musicapp.models.musicnn import build_model, load_state_into

    ref = np.load(reference)
    model = build_model(name)
    load_state_into(model, {k: torch.from_numpy(v) for k, v in state.items()}, name)
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(ref["input_logmel"]))
    errors = {}
    for key in ("prob", "logits", "penultimate", "mean_pool", "max_pool"):
        if f"{name}_{key}" in ref.files:
            errors[key] = float(np.abs(out[key].numpy() - ref[f"{name}_{key}"]).max())
    return errors


def convert_musicnn(
    src: str | Path,
    out_dir: str | Path,
    names: tuple[str, ...] | None = None,
    reference: str | Path | None = None,
) -> dict[str, dict]:
    """Convert the musicnn checkpoints found in ``src`` into ``out_dir``.

    Writes ``<file>.safetensors`` with checksum sidecars and the model card; returns a summary per
    model: file, sha256, number of parameters, reported metrics and (with ``reference``) parity.
    """
    import tempfile

    import torch

    from musicapp.models.musicnn import MODEL_NAMES, WEIGHT_FILES, tags_for
    from musicapp.models.weights import save_state
    from musicapp_lab.models.tf_checkpoint import TFCheckpoint, sha256_of_files

    out = Path(out_dir)
    names = names or MODEL_NAMES
    summary: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = locate_checkpoints(Path(src), Path(tmp))
        for name in names:
            if name not in folders:
                raise ModelError(f"{src}: checkpoint {name} not found")
            ckpt = TFCheckpoint(folders[name])
            tf_vars = ckpt.read_all(model_only=True, verify_crc=True)
            state = convert_variables(tf_vars, name)
            roc, pr = _reported(folders[name], name)
            meta = {
                "format": "musicapp.musicnn/1",
                "model": name,
                "source": f"musicnn 0.1.0 (PyPI wheel), checkpoint {name}",
                "licence": "ISC, (c) Music Technology Group, Universitat Pompeu Fabra 2019",
                "tags": json.dumps(list(tags_for(name))),
                "input": "(batch, 187, 96) log10(10000*mel+1), 16 kHz, n_fft 512, hop 256",
            }
            path = out / WEIGHT_FILES[name]
            digest = save_state(path, {k: torch.from_numpy(v) for k, v in state.items()}, meta)
            summary[name] = {
                "file": path.name,
                "sha256": digest,
                "parameters": int(sum(v.size for v in state.values())),
                "roc_auc": roc,
                "pr_auc": pr,
                "source_sha256": sha256_of_files(
                    [ckpt.index_path, ckpt.shard_path(0)]
                ),
                "parity": parity_errors(name, state, Path(reference)) if reference else {},
            }
    write_model_card(out / CARD_NAME, summary)
    return summary


def write_model_card(path: Path, summary: dict[str, dict]) -> None:
    """Write the markdown model card of the converted musicnn weights."""
    rows = []
    for name, s in summary.items():
        data = "Million Song Dataset (Last.fm tags)" if name.startswith("MSD") else "MagnaTagATune"
        rows.append(f"| {name} | `{s['file']}` | {s['parameters']:,} | {data} | "
                    f"{s['roc_auc']:.4f} | {s['pr_auc']:.4f} |")  # fmt: skip
    sums = [f"{s['sha256']}  {s['file']}" for s in summary.values()]
    sources = [f"- {name}: " + ", ".join(f"`{f}` {h}" for f, h in s["source_sha256"].items())
               for name, s in summary.items()]  # fmt: skip
    keys = ("prob", "logits", "penultimate", "mean_pool", "max_pool")
    parity = [f"| {name} | " + " | ".join(f"{s['parity'][k]:.2e}" if k in s["parity"] else "n/a"
                                          for k in keys) + " |"
              for name, s in summary.items() if s["parity"]]  # fmt: skip
    parity_block = ""
    if parity:
        parity_block = (
            "\n## Port parity\n\nMaximum absolute difference between this torch port and the\n"
            "original TensorFlow graph (musicnn 0.1.0 under TensorFlow 2.21) on the fixed batch\n"
            "`tests/models/data/musicnn_reference.npz` (8 patches; checked by\n"
            "`tests/models/test_musicnn_port.py`; the reference holds no pooled features of the\n"
            "VGG models):\n\n"
            "| model | prob | logits | penultimate | mean_pool | max_pool |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(parity) + "\n"
        )
    text = f"""# musicnn taggers (ported to PyTorch)

Pretrained music auto-tagging CNNs from the Music Technology Group, Universitat Pompeu Fabra:
J. Pons and X. Serra, *musicnn: pre-trained convolutional neural networks for music audio
tagging*, ISMIR 2019 late-breaking/demo; the architecture follows J. Pons et al., *End-to-end
learning for music audio tagging at scale*, ISMIR 2018. Source: the `musicnn` 0.1.0 wheel on PyPI
(<https://github.com/jordipons/musicnn>).

The TensorFlow checkpoints were read with musicapp's own numpy reader
(`musicapp/models/tf_checkpoint.py`, CRC32C of every tensor checked; no TensorFlow involved),
mapped onto the torch modules of `musicapp/models/musicnn.py` and written as safetensors by
`musicapp convert-musicnn --src musicnn-0.1.0-py3-none-any.whl`. Only model variables are kept
(weights, biases, batch-norm statistics); Adam optimiser slots are dropped.

## Models

| model | file | parameters | training data | ROC-AUC | PR-AUC |
|---|---|---|---|---|---|
{chr(10).join(rows)}

ROC-AUC / PR-AUC: the authors' figures on the test split of each data set (macro over the 50
tags), as published with the checkpoints (`experiment.result`); not re-measured here.

Input: 16 kHz mono audio, `librosa.feature.melspectrogram(n_fft=512, hop_length=256, n_mels=96)`
(power 2, Slaney mel), `log10(10000 * S + 1)` computed in float32 (the original code's float16
cast overflows on loud music), patches of 187 frames (3 s). Output: 50 sigmoid tag probabilities
(tag lists in `musicapp.models.musicnn.MSD_TAGS` / `MTT_TAGS`). The MSD models also give a
200-unit penultimate embedding. Raw probabilities of rare tags are small; musicapp shows
percentiles against a reference distribution instead of thresholding at 0.5.

Intended use: tagging and as a teacher/front end for musicapp's own models. Limitations: trained
on Western commercial music (MSD, Last.fm tags) and MagnaTagATune clips; tags reflect the biases
of crowd-sourced tagging; decade tags are unreliable outside the training distribution.
{parity_block}
## Checksums (sha256)

Each file has a sidecar `<file>.sha256`; `musicapp.models.weights` refuses a file whose digest
differs, and `cd resources/models && sha256sum -c musicnn_*.sha256` checks them by hand.

```
{chr(10).join(sums)}
```

Source checkpoint files (sha256):

{chr(10).join(sources)}

## Licence (ISC)

The weights are distributed under the musicnn licence:

```
{ISC_LICENCE}
```
"""
    section = "## Calibration table"  # written by musicapp calibrate-musicnn: keep it
    if path.exists() and section in (old := path.read_text(encoding="utf-8")):
        start = old.index(section)
        end = old.find("\n## ", start + len(section))
        kept = old[start : end + 1 if end >= 0 else len(old)]
        i = text.index("## Checksums")
        text = text[:i] + kept.rstrip("\n") + "\n\n" + text[i:]
    from musicapp_lab.cli._out import write_text

    write_text(path, text, force=True, kind="model card")  # the command checked --force
