"""Labelled face data for training and evaluation: loaders for class folders, the FER2013 CSV, ``.npy``
arrays and FER+ votes, all read into one ``ImageSet``, a seeded stratified split, and summaries.

Imports only ``emotions``, ``image_io`` and ``errors``, and no training framework, so ``storemood evaluate``
works on the runtime install.
"""
