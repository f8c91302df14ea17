"""Training of the learned chord recogniser (``resources/models/chordcnn.safetensors``).

``python -m musicapp_lab.analysis.chord_model.data``  renders the training songs into features,
``python -m musicapp_lab.analysis.chord_model.train`` trains and writes the weights,
``python -m musicapp_lab.analysis.chord_model.compare`` scores templates vs learned on dev.
"""
