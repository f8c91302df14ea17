"""Models: the ported musicnn taggers, the distilled CNN-LSTM hashing model and the tagger engine.

Nothing is imported here (torch loads only when a model module is imported).

* :mod:`musicapp.models.engine` — ``TaggerEngine(device, threads, half).analyze(samples)`` /
  ``.analyze_path(path)`` -> ``TaggerResult`` (``to_dict()``: moods, valence, arousal, genres,
  hash, embedding, segments, model, device; feature maps on request).
* :mod:`musicapp.models.musicnn` — torch port of MSD/MTT musicnn and VGG; ``load_musicnn``.
* :mod:`musicapp.models.tf_checkpoint` — numpy reader of TensorFlow v2 checkpoints.
* :mod:`musicapp.models.musicnn_convert` / :mod:`~musicapp.models.musicnn_calibrate` — the
  ``convert-musicnn`` and ``calibrate-musicnn`` commands' work.
* :mod:`musicapp.models.weights` — checksum-verified safetensors loading and saving.
* :mod:`musicapp.models.device` — ``select_device``, ``configure_threads``.
* :mod:`musicapp.models.calibration` — ``fit_quantiles``, ``to_percentile``.
* :mod:`musicapp.models.hashnet`, :mod:`~musicapp.models.circumplex` and the training modules —
  the distilled hashing model (see their own documentation).
"""
